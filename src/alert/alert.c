/* SPDX-License-Identifier: MIT */
/* The per-site alert state machine (persistence: alert_store.c). */
#include "alert/alert.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/utf8.h"

struct alert_state {
	struct alert_site *sites;
	size_t n, cap;
	unsigned long batch;    /* of the mails staged with the last save (spool_stage) */
};

unsigned long alert_state_batch(const struct alert_state *st)
{
	return st->batch;
}

void alert_state_set_batch(struct alert_state *st, unsigned long batch)
{
	st->batch = batch;
}

const char *alert_status_name(enum alert_status s)
{
	switch (s) {
	case ALERT_OK: return "ok";
	case ALERT_FAILING: return "failing";
	case ALERT_ALERTED: return "alerted";
	case ALERT_RECOVERED: return "recovered";
	}
	return "unknown";
}

/* The one name table of enum alert_kind: mail subjects and logs say the
 * name, spool files, webhooks and CSV-side words the word. */
static const struct {
	const char *name, *word;
} kinds[] = {
	[ALERT_DOWN] = { "DOWN", "down" },
	[ALERT_REMINDER] = { "REMINDER", "reminder" },
	[ALERT_UP] = { "UP", "up" },
	[ALERT_DEGRADED] = { "DEGRADED", "degraded" },
	[ALERT_UNDEGRADED] = { "UNDEGRADED", "undegraded" },
};

const char *alert_kind_name(enum alert_kind k)
{
	return (unsigned)k < sizeof(kinds) / sizeof(kinds[0]) ? kinds[k].name : "unknown";
}

const char *alert_kind_word(enum alert_kind k)
{
	return (unsigned)k < sizeof(kinds) / sizeof(kinds[0]) ? kinds[k].word : "unknown";
}

struct alert_state *alert_state_new(void)
{
	return calloc(1, sizeof(struct alert_state));
}

void alert_state_free(struct alert_state *st)
{
	if (!st)
		return;
	free(st->sites);
	free(st);
}

static struct alert_site *find(const struct alert_state *st, const char *site)
{
	for (size_t i = 0; i < st->n; i++)
		if (!strcmp(st->sites[i].name, site))
			return &st->sites[i];
	return NULL;
}

struct alert_site *alert_state_add(struct alert_state *st, const char *site)
{
	struct alert_site *s = find(st, site);

	if (s)
		return s;
	if (st->n == st->cap) {
		size_t cap = st->cap ? st->cap * 2 : 8;
		struct alert_site *grown = realloc(st->sites, cap * sizeof(*grown));
		if (!grown)
			return NULL;
		st->sites = grown;
		st->cap = cap;
	}
	s = &st->sites[st->n++];
	memset(s, 0, sizeof(*s));
	snprintf(s->name, sizeof(s->name), "%s", site);
	return s;
}

int alert_state_sync(struct alert_state *st, const struct config *cfg)
{
	size_t kept = 0;

	for (size_t i = 0; i < st->n; i++)
		if (config_find_site(cfg, st->sites[i].name))
			st->sites[kept++] = st->sites[i];
	st->n = kept;
	for (size_t i = 0; i < cfg->nsites; i++)
		if (!alert_state_add(st, cfg->sites[i].name))
			return -1;
	return 0;
}

static double rtt_or_none(int ran, const struct ping_stats *p)
{
	return ran && p->received > 0 ? p->avg_ms : -1;
}

static void push_sample(struct alert_site *s, const struct site_result *r)
{
	struct alert_sample *x;

	if (s->nhistory == ALERT_HISTORY) {
		memmove(&s->history[0], &s->history[1],
			(ALERT_HISTORY - 1) * sizeof(s->history[0]));
		s->nhistory--;
	}
	x = &s->history[s->nhistory++];
	memset(x, 0, sizeof(*x));
	x->at = r->started.tv_sec;
	x->ok = r->ok;
	x->failed_step = r->ok ? STEP_NONE : r->failed_step;
	x->external_ms = rtt_or_none(r->external_ran, &r->external);
	x->login_ms = r->login_ran ? r->login_ms : -1;
	x->internal_ms = rtt_or_none(r->internal_ran, &r->internal);
	utf8_copy(x->detail, sizeof(x->detail), r->detail);
}

static void add_event(struct alert_event *ev, enum alert_kind kind, time_t now,
		      const struct alert_site *s)
{
	memset(ev, 0, sizeof(*ev));
	ev->kind = kind;
	ev->at = now;
	ev->site = *s;
}

/* One result of site s; returns 1 when it made a mail due (in *ev). */
static int step(struct alert_site *s, const struct alert_settings *a,
		const struct site_result *r, time_t now, int quiet,
		struct alert_event *ev)
{
	int due = 0;

	push_sample(s, r);
	if (r->ok) {
		if (s->status == ALERT_ALERTED) {
			if (s->successes++ == 0)
				s->recover_since = r->started.tv_sec;
			if (s->successes < a->success_threshold)
				return 0;   /* still down until the streak is long enough */
			s->status = ALERT_RECOVERED;
			s->resolved_at = now;
			s->resolved_started_at = s->alerted_at;
			if (a->notify_recovery) {
				add_event(ev, ALERT_UP, now, s);
				ev->outage_s = difftime(s->recover_since, s->failing_since);
				due = 1;
			}
		} else {
			s->status = ALERT_OK;
		}
		s->failures = 0;
		s->failing_since = 0;
		s->alerted_at = 0;
		s->last_mail_at = 0;
		s->reminders = 0;
		s->successes = 0;
		s->recover_since = 0;
		s->down_id[0] = '\0';
		return due;
	}
	s->successes = 0;
	s->recover_since = 0;
	if (s->failures++ == 0 || !s->failing_since)
		s->failing_since = r->started.tv_sec;
	if (s->status != ALERT_ALERTED) {
		if (s->failures < a->failure_threshold || quiet) {
			s->status = ALERT_FAILING;
			return 0;
		}
		s->status = ALERT_ALERTED;
		s->alerted_at = now;
		s->down_step = r->failed_step;
		s->last_mail_at = now;
		s->reminders = 0;
		add_event(ev, ALERT_DOWN, now, s);
		return 1;
	}
	if (a->reminder_interval_s > 0 && !quiet &&
	    difftime(now, s->last_mail_at) >= a->reminder_interval_s) {
		s->last_mail_at = now;
		s->reminders++;
		add_event(ev, ALERT_REMINDER, now, s);
		return 1;
	}
	return 0;
}

int alert_update(struct alert_state *st, const struct config *cfg,
		 const struct site_result *results, size_t n, time_t now,
		 struct alert_event **events, size_t *nevents)
{
	return alert_update_quiet(st, cfg, results, n, now, NULL, events, nevents);
}

int alert_update_quiet(struct alert_state *st, const struct config *cfg,
		       const struct site_result *results, size_t n, time_t now,
		       const unsigned char *quiet, struct alert_event **events,
		       size_t *nevents)
{
	struct alert_event *evs = NULL;
	size_t count = 0;

	*events = NULL;
	*nevents = 0;
	if (n == 0)
		return 0;
	evs = calloc(n, sizeof(*evs));
	if (!evs)
		return -1;
	for (size_t i = 0; i < n; i++)
		if (!alert_state_add(st, results[i].site)) {
			free(evs);
			return -1;
		}
	for (size_t i = 0; i < n; i++) {
		const struct site *site = config_find_site(cfg, results[i].site);
		const struct alert_settings *a = site ? &site->alert
						      : &cfg->logging.alert;
		int q = site && quiet ? quiet[site - cfg->sites] != QUIET_NO : 0;

		count += (size_t)step(find(st, results[i].site), a, &results[i],
				      now, q, &evs[count]);
	}
	if (count == 0) {
		free(evs);
		return 0;
	}
	*events = evs;
	*nevents = count;
	return 0;
}

int alert_judge_degraded(struct alert_state *st, const char *site, int slow,
			 const char *figures, int quiet, time_t now,
			 struct alert_event *ev)
{
	struct alert_site *s = find(st, site);

	if (!s)
		return 0;
	snprintf(s->degraded_figures, sizeof(s->degraded_figures), "%s", figures);
	if (slow == s->degraded || (slow && quiet))
		return 0;
	s->degraded = slow;
	if (slow) {
		s->degraded_at = now;
	} else {
		s->undegraded_at = now;
		s->undegraded_started_at = s->degraded_at;
	}
	add_event(ev, slow ? ALERT_DEGRADED : ALERT_UNDEGRADED, now, s);
	snprintf(ev->figures, sizeof(ev->figures), "%s", figures);
	return 1;
}

void alert_set_down_id(struct alert_state *st, const char *site, const char *id)
{
	struct alert_site *s = find(st, site);

	if (s)
		snprintf(s->down_id, sizeof(s->down_id), "%s", id);
}

size_t alert_count(const struct alert_state *st)
{
	return st->n;
}

const struct alert_site *alert_at(const struct alert_state *st, size_t i)
{
	return i < st->n ? &st->sites[i] : NULL;
}

const struct alert_site *alert_find(const struct alert_state *st, const char *site)
{
	return find(st, site);
}

int alert_failures(const struct alert_state *st, const char *site)
{
	const struct alert_site *s = find(st, site);
	return s ? s->failures : 0;
}

int alert_active(const struct alert_state *st, const char *site)
{
	const struct alert_site *s = find(st, site);
	return s && s->status == ALERT_ALERTED;
}
