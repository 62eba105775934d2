/* SPDX-License-Identifier: MIT */
/* The alert state on disk: DIR/alert-state, one line per record:
 *   site NAME STATUS FAILURES FAILING_SINCE ALERTED_AT LAST_MAIL_AT REMINDERS DOWN_ID
 *   sample NAME AT OK STEP EXTERNAL_MS LOGIN_MS INTERNAL_MS DETAIL
 *   outage NAME SUCCESSES RECOVER_SINCE RESOLVED_AT RESOLVED_STARTED_AT DOWN_STEP
 *   degraded NAME ACTIVE DEGRADED_AT UNDEGRADED_AT UNDEGRADED_STARTED_AT FIGURES
 *   batch N   (the spooled mails of batches <= N belong to this state)
 * (outage and degraded came later: a file without them reads as no streak,
 * no past outage, not degraded)
 * Text fields are %XX-escaped (space, %, control bytes) and "-" when empty:
 * a human can read it, and a partial or foreign line is easy to reject. */
#include "alert/alert.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/fsutil.h"
#include "util/log.h"
#include "util/utf8.h"

#define HEADER "# epmon alert state v1; rewritten after every cycle\n"

static void put_text(FILE *f, const char *s)
{
	if (!*s || !strcmp(s, "-")) {
		fputs(*s ? "%2D" : "-", f);
		return;
	}
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p <= ' ' || *p == '%' || *p == 0x7f)
			fprintf(f, "%%%02X", *p);
		else
			fputc(*p, f);
	}
}

/* Decodes in place; "-" is the empty string. */
static void get_text(char *s)
{
	char *out = s;

	if (!strcmp(s, "-")) {
		*s = '\0';
		return;
	}
	for (char *p = s; *p; p++) {
		unsigned hex;
		if (*p == '%' && sscanf(p + 1, "%2x", &hex) == 1 && p[1] && p[2]) {
			*out++ = (char)hex;
			p += 2;
		} else {
			*out++ = *p;
		}
	}
	*out = '\0';
}

static void put_site(FILE *f, const struct alert_site *s)
{
	fprintf(f, "site %s %s %d %lld %lld %lld %d ", s->name,
		alert_status_name(s->status), s->failures,
		(long long)s->failing_since, (long long)s->alerted_at,
		(long long)s->last_mail_at, s->reminders);
	put_text(f, s->down_id);
	fputc('\n', f);
	if (s->successes || s->resolved_at || s->down_step)
		fprintf(f, "outage %s %d %lld %lld %lld %s\n", s->name, s->successes,
			(long long)s->recover_since, (long long)s->resolved_at,
			(long long)s->resolved_started_at,
			s->down_step ? site_step_name(s->down_step) : "-");
	if (s->degraded || s->degraded_at || s->undegraded_at) {
		fprintf(f, "degraded %s %d %lld %lld %lld ", s->name, s->degraded,
			(long long)s->degraded_at, (long long)s->undegraded_at,
			(long long)s->undegraded_started_at);
		put_text(f, s->degraded_figures);
		fputc('\n', f);
	}
	for (size_t i = 0; i < s->nhistory; i++) {
		const struct alert_sample *x = &s->history[i];
		fprintf(f, "sample %s %lld %d %s %.3f %.3f %.3f ", s->name,
			(long long)x->at, x->ok,
			x->failed_step ? site_step_name(x->failed_step) : "-",
			x->external_ms, x->login_ms, x->internal_ms);
		put_text(f, x->detail);
		fputc('\n', f);
	}
}

int alert_state_save(const struct alert_state *st, const char *dir)
{
	char path[4096];
	char *text = NULL;
	size_t len = 0;
	FILE *f;
	int rc;

	if (snprintf(path, sizeof(path), "%s/%s", dir, ALERT_STATE_FILE) >=
	    (int)sizeof(path)) {
		log_error(NULL, "state directory name too long (%zu bytes): %.64s...",
			  strlen(dir), dir);
		return -1;
	}
	if (mkdir_p(dir, 0755) < 0) {
		log_error(NULL, "cannot create state directory %s: %s", dir,
			  strerror(errno));
		return -1;
	}
	if (!(f = open_memstream(&text, &len))) {
		log_error(NULL, "cannot write alert state %s: %s", path, strerror(errno));
		return -1;
	}
	fputs(HEADER, f);
	fprintf(f, "batch %lu\n", alert_state_batch(st));
	for (size_t i = 0; i < alert_count(st); i++)
		put_site(f, alert_at(st, i));
	rc = fclose(f) != 0 ? -1 : file_replace(path, text, len, 0600);
	if (rc < 0)
		log_error(NULL, "cannot write alert state %s: %s", path, strerror(errno));
	free(text);
	return rc;
}

static int parse_status(const char *s, enum alert_status *out)
{
	for (int i = ALERT_OK; i <= ALERT_RECOVERED; i++) {
		if (!strcmp(s, alert_status_name((enum alert_status)i))) {
			*out = (enum alert_status)i;
			return 0;
		}
	}
	return -1;
}

static int parse_step(const char *s, enum site_step *out)
{
	if (!strcmp(s, "-")) {
		*out = STEP_NONE;
		return 0;
	}
	for (int i = STEP_EXTERNAL_PING; i <= STEP_TEARDOWN; i++) {
		if (!strcmp(s, site_step_name((enum site_step)i))) {
			*out = (enum site_step)i;
			return 0;
		}
	}
	return -1;
}

/* Splits line into at most max space-separated fields; returns the count. */
static int split(char *line, char **fields, int max)
{
	char *save = NULL, *tok;
	int n = 0;

	line[strcspn(line, "\n")] = '\0';
	for (tok = strtok_r(line, " ", &save); tok && n < max;
	     tok = strtok_r(NULL, " ", &save))
		fields[n++] = tok;
	return tok ? max + 1 : n;
}

static int load_site(struct alert_state *st, char **f)
{
	struct alert_site *s;
	enum alert_status status;

	if (parse_status(f[2], &status) < 0 || !(s = alert_state_add(st, f[1])))
		return -1;
	s->status = status;
	s->failures = atoi(f[3]);
	s->failing_since = (time_t)strtoll(f[4], NULL, 10);
	s->alerted_at = (time_t)strtoll(f[5], NULL, 10);
	s->last_mail_at = (time_t)strtoll(f[6], NULL, 10);
	s->reminders = atoi(f[7]);
	get_text(f[8]);
	utf8_copy(s->down_id, sizeof(s->down_id), f[8]);
	return 0;
}

static int parse_step(const char *s, enum site_step *out);

static int load_outage(struct alert_state *st, char **f)
{
	enum site_step step;
	struct alert_site *s;

	if (parse_step(f[6], &step) < 0 || !(s = alert_state_add(st, f[1])))
		return -1;
	s->down_step = step;
	s->successes = atoi(f[2]);
	s->recover_since = (time_t)strtoll(f[3], NULL, 10);
	s->resolved_at = (time_t)strtoll(f[4], NULL, 10);
	s->resolved_started_at = (time_t)strtoll(f[5], NULL, 10);
	return 0;
}

static int load_degraded(struct alert_state *st, char **f)
{
	struct alert_site *s = alert_state_add(st, f[1]);

	if (!s)
		return -1;
	s->degraded = atoi(f[2]) != 0;
	s->degraded_at = (time_t)strtoll(f[3], NULL, 10);
	s->undegraded_at = (time_t)strtoll(f[4], NULL, 10);
	s->undegraded_started_at = (time_t)strtoll(f[5], NULL, 10);
	get_text(f[6]);
	utf8_copy(s->degraded_figures, sizeof(s->degraded_figures), f[6]);
	return 0;
}

static int load_sample(struct alert_state *st, char **f)
{
	struct alert_sample x = { 0 };
	struct alert_site *s;

	if (parse_step(f[4], &x.failed_step) < 0 || !(s = alert_state_add(st, f[1])))
		return -1;
	x.at = (time_t)strtoll(f[2], NULL, 10);
	x.ok = atoi(f[3]) != 0;
	x.external_ms = strtod(f[5], NULL);
	x.login_ms = strtod(f[6], NULL);
	x.internal_ms = strtod(f[7], NULL);
	get_text(f[8]);
	utf8_copy(x.detail, sizeof(x.detail), f[8]);
	if (s->nhistory == ALERT_HISTORY) {
		memmove(&s->history[0], &s->history[1],
			(ALERT_HISTORY - 1) * sizeof(x));
		s->nhistory--;
	}
	s->history[s->nhistory++] = x;
	return 0;
}

static int load_batch(struct alert_state *st, const char *v)
{
	char *end;
	unsigned long b = strtoul(v, &end, 10);

	if (end == v || (*end && *end != '\n'))
		return -1;
	alert_state_set_batch(st, b);
	return 0;
}

struct alert_state *alert_state_load(const char *dir)
{
	struct alert_state *st = alert_state_new();
	char path[4096], *line = NULL, *f[10];
	size_t cap = 0;
	unsigned lineno = 0;
	FILE *in;

	if (!st)
		return NULL;
	snprintf(path, sizeof(path), "%s/%s", dir, ALERT_STATE_FILE);
	file_replace_cleanup(path);
	in = fopen(path, "re");
	if (!in) {
		if (errno != ENOENT)
			log_error(NULL, "cannot read alert state %s: %s; starting "
				  "with every site OK", path, strerror(errno));
		return st;
	}
	while (getline(&line, &cap, in) > 0) {
		int n, bad;
		lineno++;
		if (line[0] == '#' || line[0] == '\n')
			continue;
		n = split(line, f, 9);
		if (n == 9 && !strcmp(f[0], "site"))
			bad = load_site(st, f);
		else if (n == 9 && !strcmp(f[0], "sample"))
			bad = load_sample(st, f);
		else if (n == 7 && !strcmp(f[0], "outage"))
			bad = load_outage(st, f);
		else if (n == 7 && !strcmp(f[0], "degraded"))
			bad = load_degraded(st, f);
		else if (n == 2 && !strcmp(f[0], "batch"))
			bad = load_batch(st, f[1]);
		else
			bad = -1;
		if (bad)
			log_warn(NULL, "%s:%u: unreadable alert state line; skipped",
				 path, lineno);
	}
	free(line);
	fclose(in);
	return st;
}
