/* SPDX-License-Identifier: MIT */
/* What the HTTP side shows: per site the last result, counters, alert
 * state, a login-time histogram and the history of the last 24 h (charts)
 * and 7 d (availability). The main thread updates it after each cycle; the
 * HTTP thread reads it through monitor_read(), both under one mutex. At
 * start the history comes from the results CSV. */
#ifndef EPMON_WEB_MONITOR_H
#define EPMON_WEB_MONITOR_H

#include <stddef.h>
#include <time.h>
#include "alert/alert.h"
#include "config/config.h"
#include "probe/cycle.h"
#include "probe/site.h"

#define MONITOR_SLOT_S 60           /* chart resolution */
#define MONITOR_SLOTS 1440          /* 24 h of one-minute slots */
#define MONITOR_HOURS 168           /* 7 d of hourly counts */
#define MONITOR_DAY_S 86400
#define MONITOR_WEEK_S (7 * 86400)
#define MONITOR_LOGIN_BUCKETS 12    /* histogram bounds, +Inf not counted */

/* Upper bounds (seconds) of the login-time histogram buckets. */
extern const double monitor_login_bounds_s[MONITOR_LOGIN_BUCKETS];

/* The tests of one site that started in one minute; sums, to average. */
struct monitor_slot {
	long minute;                /* start time / 60; stale when not in the window */
	unsigned short tests, failures;
	unsigned short login_n, external_n, internal_n;
	unsigned short phases_n;    /* successful logins with a phase known */
	float login_ms, external_ms, internal_ms;
	float phase_ms[VPN_PHASES]; /* over those logins, an unknown phase as 0 */
};

struct monitor_hour {
	long hour;                  /* start time / 3600 */
	unsigned tests, failures;
};

struct monitor_site {
	char name[64];
	int has_vpn, has_internal;  /* which steps the site has (config) */
	int quiet;                  /* enum alert_quiet of the last cycle */
	int degraded;               /* DEGRADED sent, not UNDEGRADED yet */
	const char *vpn_client;     /* static strings; NULL without vpn */
	const char *vpn_implementation;
	int has_last;               /* a result is known (live or from the CSV) */
	int last_from_csv;          /* last came from the CSV: avg RTT and loss, no min/max/mdev/median */
	struct site_result last;
	enum alert_status alert_status;
	int failures;               /* consecutive failed cycles */
	int alert_active;
	unsigned long stale_killed;     /* totals since start */
	unsigned long resolv_repaired;
	/* login time, seconds: count per bucket (last: above every bound) */
	unsigned long login_hist[MONITOR_LOGIN_BUCKETS + 1];
	unsigned long login_count;
	double login_sum_s;
	struct monitor_slot slots[MONITOR_SLOTS];   /* by minute % MONITOR_SLOTS */
	struct monitor_hour hours[MONITOR_HOURS];   /* by hour % MONITOR_HOURS */
};

/* Everything the renderers read (under the lock). */
struct monitor_data {
	char version[32];
	char probe[64];             /* probe_name: the probe label of every series */
	time_t started;             /* epmon start, wall clock */
	double frequency_s;
	unsigned long cycles;       /* since start */
	unsigned long overruns;
	time_t last_cycle_at;       /* start of the last cycle; 0: none yet */
	double last_cycle_s;        /* its duration */
	size_t spooled;             /* alert mails waiting */
	size_t history_rows;        /* rows loaded from the CSV at start */
	size_t history_bad;         /* damaged lines skipped there */
	unsigned long generation;   /* changes with every update */
	struct monitor_site *sites; /* config order */
	size_t nsites;
};

struct monitor;

/* NULL only when out of memory. */
struct monitor *monitor_new(const struct config *cfg, const char *version, time_t now);
void monitor_free(struct monitor *m);

/* Fills the history from DIR's CSV files of the 7 days before now (sites
 * of the config only). Call before the first cycle. Returns the rows
 * used, or -1 with errno set when the directory cannot be read. */
long monitor_load_history(struct monitor *m, const char *dir, time_t now);

/* After a cycle (rep may be NULL: only alerts and spool); alerts may be
 * NULL (consecutive failures are then counted here). */
void monitor_after_cycle(struct monitor *m, const struct cycle_report *rep,
			 unsigned long overruns, const struct alert_state *alerts,
			 size_t spooled);

/* SIGHUP: sites kept by name (with their history), new ones added, gone
 * ones dropped; frequency updated. -1 when out of memory (unchanged). */
int monitor_reload(struct monitor *m, const struct config *cfg);

/* The last cycle's maintenance/mute state of each site (enum alert_quiet),
 * quiet[i] for the i-th site of the config in force. */
void monitor_set_quiet(struct monitor *m, const unsigned char *quiet, size_t n);

/* Calls fn with the data, under the lock: fn must be quick. */
void monitor_read(struct monitor *m,
		  void (*fn)(const struct monitor_data *d, void *arg), void *arg);

/* A copy of the data, taken under the lock (a memcpy: about 70 kB a site),
 * to render without holding it. NULL when out of memory. */
struct monitor_data *monitor_snapshot(struct monitor *m);
void monitor_snapshot_free(struct monitor_data *d);

unsigned long monitor_generation(struct monitor *m);

/* Share of successful tests in (now - window_s, now]: 24 h from the
 * minute slots, longer windows from the hourly counts. NAN when none. */
double monitor_availability(const struct monitor_site *s, time_t now,
			    double window_s);

/* The slot of `minute` when it holds data of that minute, else NULL. */
const struct monitor_slot *monitor_slot_at(const struct monitor_site *s, long minute);

#endif
