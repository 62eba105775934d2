/* SPDX-License-Identifier: MIT */
/* The login dialogue: wait for each step's prompt, answer it, until the
 * connected pattern, a failed pattern, the client's exit or a timeout. */
#include "vpn/session_int.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include "util/log.h"

#define PASSWORD_TOKEN "{password}"
#define STOP_POLL_MS 100   /* how often a set stop flag is noticed at worst */

enum hit_kind { HIT_NONE, HIT_FAILED, HIT_STEP, HIT_CONNECTED };

struct hit {
	enum hit_kind kind;
	size_t index;          /* failed pattern */
	size_t so, eo;         /* absolute offsets in buf */
};

/* Looked up in the shared cache (or the session's own): regcomp and the
 * match cache that regexec builds are the costly part of matching. */
int session_compile(struct session *s, char *err, size_t errlen)
{
	const struct session_spec *sp = &s->spec;
	struct pattern_cache *cache = sp->patterns;

	if (!cache && !(cache = s->own_patterns = pattern_cache_new()))
		goto oom;
	if (sp->nsteps && !(s->step_re = calloc(sp->nsteps, sizeof(*s->step_re))))
		goto oom;
	for (size_t i = 0; i < sp->nsteps; i++) {
		const struct session_step *st = &sp->steps[i];
		if (st->send && strstr(st->send, PASSWORD_TOKEN) && !sp->secret) {
			snprintf(err, errlen, "step %zu sends %s but no password is set",
				 i + 1, PASSWORD_TOKEN);
			return -1;
		}
		if (st->expect && *st->expect &&
		    !(s->step_re[i] = pattern_cache_get(cache, st->expect, err, errlen)))
			return -1;
	}
	if (sp->connected && *sp->connected &&
	    !(s->connected_re = pattern_cache_get(cache, sp->connected, err, errlen)))
		return -1;
	if (sp->nfailed && !(s->failed_re = calloc(sp->nfailed, sizeof(*s->failed_re))))
		goto oom;
	for (size_t i = 0; i < sp->nfailed; i++) {
		if (!(s->failed_re[i] = pattern_cache_get(cache, sp->failed[i], err, errlen)))
			return -1;
		s->ncompiled_failed++;
	}
	if (sp->nmarks && (!(s->mark_re = calloc(sp->nmarks, sizeof(*s->mark_re))) ||
			   !(s->mark_at = calloc(sp->nmarks, sizeof(*s->mark_at))) ||
			   !(s->mark_line = calloc(sp->nmarks, sizeof(*s->mark_line)))))
		goto oom;
	for (size_t i = 0; i < sp->nmarks; i++) {
		s->mark_at[i] = -1;
		if (!sp->marks[i] || !*sp->marks[i])
			continue;
		if (!(s->mark_re[i] = pattern_cache_get(cache, sp->marks[i], err, errlen)))
			return -1;
		s->marks_left++;
	}
	return 0;
oom:
	snprintf(err, errlen, "out of memory");
	return -1;
}

void session_free_patterns(struct session *s)
{
	free(s->step_re);
	free(s->failed_re);
	free(s->mark_re);
	free(s->mark_at);
	free(s->mark_line);
	pattern_cache_free(s->own_patterns);
	s->step_re = NULL;
	s->failed_re = NULL;
	s->mark_re = NULL;
	s->mark_at = NULL;
	s->mark_line = NULL;
	s->marks_left = 0;
	s->own_patterns = NULL;
}

/* Searches the unmatched output; offsets become absolute. */
static int search(const struct session *s, const regex_t *re, size_t *so, size_t *eo)
{
	regmatch_t m;
	size_t pos = s->match_pos;
	int bol = pos == 0 ? s->buf_bol : s->buf[pos - 1] == '\n';

	if (regexec(re, s->buf + pos, 1, &m, bol ? 0 : REG_NOTBOL) != 0)
		return 0;
	*so = pos + (size_t)m.rm_so;
	*eo = pos + (size_t)m.rm_eo;
	return 1;
}

static void consider(struct hit *h, enum hit_kind kind, size_t index, size_t so, size_t eo)
{
	/* the earliest match wins; on a tie the first considered */
	if (h->kind != HIT_NONE && so >= h->so)
		return;
	*h = (struct hit){ kind, index, so, eo };
}

/* Which pattern matches first in the unmatched output: a failed pattern,
 * the current step's prompt or the connected pattern. */
static int earliest(const struct session *s, size_t step, struct hit *h)
{
	size_t so, eo;

	*h = (struct hit){ HIT_NONE, 0, 0, 0 };
	for (size_t i = 0; i < s->ncompiled_failed; i++)
		if (search(s, s->failed_re[i], &so, &eo))
			consider(h, HIT_FAILED, i, so, eo);
	if (step < s->spec.nsteps) {
		if (!s->step_re[step])
			consider(h, HIT_STEP, 0, s->match_pos, s->match_pos);
		else if (search(s, s->step_re[step], &so, &eo))
			consider(h, HIT_STEP, 0, so, eo);
	}
	if (s->connected_re) {
		if (search(s, s->connected_re, &so, &eo))
			consider(h, HIT_CONNECTED, 0, so, eo);
	} else if (step >= s->spec.nsteps) {
		/* no connected pattern: answering the last prompt is success */
		consider(h, HIT_CONNECTED, 0, s->match_pos, s->match_pos);
	}
	return h->kind != HIT_NONE;
}

/* Output read in one piece is timed line by line before the patterns see
 * it: a mark on a line after the one that failed the login did not happen
 * before the failure (the phase it failed in goes by the order of lines). */
static void unmark_after(struct session *s, unsigned long long failed_at)
{
	for (size_t i = 0; i < s->spec.nmarks && s->mark_at; i++)
		if (s->mark_at[i] >= 0 && s->mark_line[i] > failed_at)
			s->mark_at[i] = -1;
}

/* Writes the step's answer; the text holding the password is wiped. */
static int send_step(struct session *s, size_t step)
{
	const char *tmpl = s->spec.steps[step].send;
	const char *secret = s->spec.secret ? s->spec.secret : "";
	size_t tok = strlen(PASSWORD_TOKEN), slen = strlen(secret), n = 0, cap, shown = 0;
	char *out, logged[256];
	const char *p;
	int rc;

	if (!tmpl)
		return 0;
	cap = strlen(tmpl) + 2;
	for (p = strstr(tmpl, PASSWORD_TOKEN); p; p = strstr(p + tok, PASSWORD_TOKEN))
		cap += slen;
	out = malloc(cap);
	if (!out)
		return -1;
	for (p = tmpl; *p;) {
		int is_token = strncmp(p, PASSWORD_TOKEN, tok) == 0;
		const char *shown_text = is_token ? SESSION_MASK_TEXT : p;
		size_t shown_len = is_token ? strlen(SESSION_MASK_TEXT) : 1;
		if (is_token) {
			memcpy(out + n, secret, slen);
			n += slen;
			p += tok;
		} else {
			out[n++] = *p++;
		}
		if (shown + shown_len < sizeof(logged)) {
			memcpy(logged + shown, shown_text, shown_len);
			shown += shown_len;
		}
	}
	logged[shown] = '\0';
	out[n++] = '\r';   /* the pty's ICRNL makes it the newline a client reads */
	rc = session_write_all(s, out, n);
	int e = errno;
	/* the moment the credentials left: where an auth phase may start */
	if (rc == 0 && slen && strstr(tmpl, PASSWORD_TOKEN) && s->secret_sent_at < 0)
		s->secret_sent_at = session_now_ms();
	explicit_bzero(out, cap);
	free(out);
	if (rc < 0)
		log_debug(s->spec.site, "cannot send step %zu's answer: %s", step + 1, strerror(e));
	else
		log_debug(s->spec.site, "step %zu: sent '%s'", step + 1, logged);
	return rc;
}

static enum session_outcome finish(struct session *s, enum session_outcome o)
{
	s->login_done = 1;
	s->outcome = o;
	s->expecting = 0;
	s->match_pos = s->len;
	session_log_partial(s);
	log_debug(s->spec.site, "login %s: %s", session_outcome_name(o), s->detail);
	return o;
}

/* Quotes the output line holding the failed match, never unsettled bytes. */
static void failed_detail(struct session *s, const struct hit *h)
{
	size_t start = h->so, end = h->eo;
	char line[256];

	while (start > 0 && s->buf[start - 1] != '\n')
		start--;
	while (end < s->len && s->buf[end] != '\n')
		end++;
	if (end > s->settled)
		end = s->settled > h->so ? s->settled : h->so;
	session_unmask(line, sizeof(line), s->buf + start, end - start);
	char *l = line;
	while (*l == ' ' || *l == '\t')
		l++;
	size_t n = strlen(l);
	while (n > 0 && (l[n - 1] == ' ' || l[n - 1] == '\t'))
		l[--n] = '\0';
	snprintf(s->detail, sizeof(s->detail), "login failed: client said '%s'", l);
}

static void exit_detail(struct session *s)
{
	int st = s->wstatus;

	if (s->status_unknown)
		snprintf(s->detail, sizeof(s->detail), "client exited (status unknown)");
	else if (WIFEXITED(st))
		snprintf(s->detail, sizeof(s->detail), "client exited with status %d",
			 WEXITSTATUS(st));
	else if (WIFSIGNALED(st))
		snprintf(s->detail, sizeof(s->detail), "client killed by signal %d",
			 WTERMSIG(st));
	else
		snprintf(s->detail, sizeof(s->detail), "client ended (wait status %d)", st);
}

static int ms_until(double deadline, double now)
{
	double left = deadline - now;

	if (isinf(deadline))
		return -1;
	return left > 1e9 ? 1000000000 : (int)ceil(left);
}

enum session_outcome session_login(struct session *s)
{
	const struct session_spec *sp = &s->spec;
	size_t step = 0;
	double step_start = s->started_ms;
	double login_end = sp->login_timeout_s > 0 ? s->started_ms + sp->login_timeout_s * 1000.0
						   : INFINITY;
	int exit_seen = 0;
	struct hit h = { HIT_NONE, 0, 0, 0 };

	if (s->login_done)
		return s->outcome;
	for (;;) {
		while (earliest(s, step, &h)) {
			if (h.kind == HIT_FAILED) {
				unmark_after(s, s->trimmed + h.so);
				s->failed_index = (int)h.index;
				failed_detail(s, &h);
				s->match_pos = h.eo;
				return finish(s, SESSION_FAILED_PATTERN);
			}
			if (h.kind == HIT_CONNECTED) {
				s->connected_ms = session_now_ms() - s->started_ms;
				s->match_pos = h.eo;
				snprintf(s->detail, sizeof(s->detail), "connected in %.1f ms",
					 s->connected_ms);
				return finish(s, SESSION_CONNECTED);
			}
			/* consumed: the same prompt is never answered twice */
			s->match_pos = h.eo;
			session_log_partial(s);
			send_step(s, step);
			step++;
			step_start = session_now_ms();
		}
		if (exit_seen) {
			exit_detail(s);
			return finish(s, SESSION_EXITED);
		}
		if (s->reaped) {
			/* match once more on what the client wrote before exiting */
			session_drain_after_exit(s);
			exit_seen = 1;
			continue;
		}
		if (sp->stop && *sp->stop) {
			snprintf(s->detail, sizeof(s->detail), "login aborted: epmon is stopping");
			return finish(s, SESSION_ABORTED);
		}
		double now = session_now_ms();
		double step_end = INFINITY;
		if (step < sp->nsteps && sp->steps[step].timeout_s > 0)
			step_end = step_start + sp->steps[step].timeout_s * 1000.0;
		if (now >= step_end) {
			snprintf(s->detail, sizeof(s->detail), "no '%.100s' prompt after %g s",
				 sp->steps[step].expect, sp->steps[step].timeout_s);
			return finish(s, SESSION_STEP_TIMEOUT);
		}
		if (now >= login_end) {
			if (step < sp->nsteps)
				snprintf(s->detail, sizeof(s->detail),
					 "no '%.100s' prompt after %g s", sp->steps[step].expect,
					 sp->login_timeout_s);
			else
				snprintf(s->detail, sizeof(s->detail), "no tunnel after %g s",
					 sp->login_timeout_s);
			return finish(s, SESSION_TIMEOUT);
		}
		int wait_ms = ms_until(step_end < login_end ? step_end : login_end, now);
		if (sp->stop && (wait_ms < 0 || wait_ms > STOP_POLL_MS))
			wait_ms = STOP_POLL_MS;
		session_wait_io(s, wait_ms);
	}
}

const char *session_outcome_name(enum session_outcome o)
{
	switch (o) {
	case SESSION_CONNECTED: return "connected";
	case SESSION_FAILED_PATTERN: return "failed_pattern";
	case SESSION_EXITED: return "exited";
	case SESSION_TIMEOUT: return "timeout";
	case SESSION_STEP_TIMEOUT: return "step_timeout";
	case SESSION_SPAWN_ERROR: return "spawn_error";
	case SESSION_ABORTED: return "aborted";
	}
	return "unknown";
}

double session_connected_ms(const struct session *s)
{
	return s->outcome == SESSION_CONNECTED && s->login_done ? s->connected_ms : 0.0;
}

double session_mark_at(const struct session *s, size_t i)
{
	return i < s->spec.nmarks && s->mark_at ? s->mark_at[i] : -1;
}

double session_secret_sent_at(const struct session *s)
{
	return s->secret_sent_at;
}

/* One line of output (masked, without its newline) against the marks that
 * have not matched yet: the first match of each is timed now. */
void session_mark_line(struct session *s, const char *line, unsigned long long at)
{
	double now = -1;

	for (size_t i = 0; i < s->spec.nmarks && s->marks_left; i++) {
		if (!s->mark_re[i] || s->mark_at[i] >= 0 ||
		    regexec(s->mark_re[i], line, 0, NULL, 0) != 0)
			continue;
		if (now < 0)
			now = session_now_ms();
		s->mark_at[i] = now;
		s->mark_line[i] = at;
		s->marks_left--;
	}
}

const char *session_detail(const struct session *s)
{
	return s->login_done ? s->detail : "login not finished";
}

int session_failed_index(const struct session *s)
{
	return s->failed_index;
}

const char *session_output_tail(const struct session *s)
{
	return s->tail;
}
