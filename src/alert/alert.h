/* SPDX-License-Identifier: MIT */
/* Per-site alert state: OK -> FAILING (n consecutive failures) -> ALERTED
 * (one DOWN mail, optional reminders) -> RECOVERED (one UP mail, after
 * success_threshold good cycles in a row) -> OK.
 * Fed with each cycle's results; says which mails are due. Persisted in
 * STATE_DIR/alert-state so a restart neither resends nor forgets. */
#ifndef EPMON_ALERT_ALERT_H
#define EPMON_ALERT_ALERT_H

#include <stddef.h>
#include <time.h>
#include "config/config.h"
#include "probe/site.h"

#define ALERT_HISTORY 6          /* results kept per site, shown in mails */
#define ALERT_STATE_FILE "alert-state"

enum alert_status {
	ALERT_OK = 0,
	ALERT_FAILING,   /* failed, fewer than failure_threshold times in a row */
	ALERT_ALERTED,   /* DOWN decided; stays until a success */
	ALERT_RECOVERED, /* first success after ALERTED; OK after the next */
};

const char *alert_status_name(enum alert_status s); /* "ok", "failing", ... */

/* One past site test, as a mail's table shows it. */
struct alert_sample {
	time_t at;                  /* start of the test (wall clock) */
	int ok;
	enum site_step failed_step;
	double external_ms;         /* average RTT; < 0: not measured */
	double login_ms;            /* < 0: no login */
	double internal_ms;         /* < 0: not measured */
	char detail[160];
};

struct alert_site {
	char name[64];
	enum alert_status status;
	int failures;               /* consecutive failed cycles */
	time_t failing_since;       /* start of the streak's first failed test; 0: none */
	time_t alerted_at;          /* when DOWN was decided; 0: not alerted */
	time_t last_mail_at;        /* last DOWN or reminder */
	int reminders;              /* reminders since DOWN */
	int successes;              /* ALERTED: good cycles in a row (success_threshold) */
	time_t recover_since;       /* the first of those good tests; 0: none */
	time_t resolved_at;         /* the last outage's end (RECOVERED); 0: none */
	time_t resolved_started_at; /* ... and its alerted_at */
	enum site_step down_step;   /* the failed step at DOWN: the outage's label */
	int degraded;               /* DEGRADED sent, UNDEGRADED not yet */
	time_t degraded_at;         /* when it was sent (0: never) */
	time_t undegraded_at;       /* the last UNDEGRADED; 0: none */
	time_t undegraded_started_at; /* ... and its degraded_at */
	char degraded_figures[200]; /* the figures of the last judgement */
	char down_id[192];          /* Message-ID of the DOWN mail, threads the others */
	struct alert_sample history[ALERT_HISTORY]; /* oldest first */
	size_t nhistory;
};

enum alert_kind { ALERT_DOWN = 0, ALERT_REMINDER, ALERT_UP, ALERT_DEGRADED,
	ALERT_UNDEGRADED };

const char *alert_kind_name(enum alert_kind k); /* "DOWN", "REMINDER", "UP", ... */
const char *alert_kind_word(enum alert_kind k); /* "down", "reminder", "up", ... */

/* A mail that is due: the site as it was at the transition. */
struct alert_event {
	enum alert_kind kind;
	time_t at;                  /* the clock of alert_update */
	double outage_s;            /* UP: first failed test -> first good test */
	char figures[200];          /* (UN)DEGRADED: "login p95 3.8 s over the last 1 h, baseline 1.1 s" */
	char probe[64];             /* probe_name, set by the notifier; "" unknown */
	struct alert_site site;     /* copy; history includes the triggering result */
};

struct alert_state;

struct alert_state *alert_state_new(void);
void alert_state_free(struct alert_state *st);

/* Adds a fresh (OK) entry for each site of cfg without one and drops the
 * entries of sites cfg no longer has (config reload). 0, or -1 out of memory. */
int alert_state_sync(struct alert_state *st, const struct config *cfg);

/* Feeds one cycle's results (n of them); `now` is the wall clock. The
 * mails due are returned in *events (malloc'd, the caller frees; NULL when
 * none) and their number in *nevents. Thresholds come from the sites of
 * cfg. 0, or -1 out of memory (the state is then unchanged). */
int alert_update(struct alert_state *st, const struct config *cfg,
		 const struct site_result *results, size_t n, time_t now,
		 struct alert_event **events, size_t *nevents);

/* Why a site raises nothing this cycle (indexed like cfg->sites). */
enum alert_quiet { QUIET_NO = 0, QUIET_MAINTENANCE, QUIET_MUTED };

/* alert_update with quiet (NULL: none): a quiet site is tested and its
 * state kept, but it does not become DOWN (its failures go on counting:
 * a failure after the quiet time makes it DOWN at once) and sends no
 * reminder; an UP still goes out. */
int alert_update_quiet(struct alert_state *st, const struct config *cfg,
		       const struct site_result *results, size_t n, time_t now,
		       const unsigned char *quiet, struct alert_event **events,
		       size_t *nevents);

/* The degradation judgement of a passing site (degraded.h): 1 slow, 0 not;
 * figures say why. Returns 1 with *ev set when it changes what was said
 * (DEGRADED; UNDEGRADED), else 0; a quiet site is never made DEGRADED. */
int alert_judge_degraded(struct alert_state *st, const char *site, int slow,
			 const char *figures, int quiet, time_t now,
			 struct alert_event *ev);

/* Remembers the Message-ID of a site's DOWN mail (In-Reply-To of the rest). */
void alert_set_down_id(struct alert_state *st, const char *site, const char *id);

size_t alert_count(const struct alert_state *st);
const struct alert_site *alert_at(const struct alert_state *st, size_t i);
const struct alert_site *alert_find(const struct alert_state *st, const char *site);
/* For metrics: 0 for unknown sites. */
int alert_failures(const struct alert_state *st, const char *site);
int alert_active(const struct alert_state *st, const char *site); /* 1: ALERTED */

/* alert_store.c: DIR/alert-state, written to a temp file, fsynced and
 * renamed over the old one (a crash leaves the old or the new, never half).
 * 0, or -1 with the reason logged. */
int alert_state_save(const struct alert_state *st, const char *dir);

/* The batch number saved with the state: the mails staged for it are
 * committed (spool.h, spool_stage/spool_settle). */
unsigned long alert_state_batch(const struct alert_state *st);
void alert_state_set_batch(struct alert_state *st, unsigned long batch);
/* A missing file is an empty state; unreadable lines are logged and skipped.
 * NULL only when out of memory. */
struct alert_state *alert_state_load(const char *dir);

/* Internal to alert*.c: add an entry (returns it) while loading. */
struct alert_site *alert_state_add(struct alert_state *st, const char *site);

#endif
