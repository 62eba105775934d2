/* SPDX-License-Identifier: MIT */
/* One monitoring cycle: every selected site, up to `concurrency` at a time. */
#ifndef EPMON_PROBE_CYCLE_H
#define EPMON_PROBE_CYCLE_H

#include <stddef.h>
#include <stdio.h>
#include "config/config.h"
#include "probe/site.h"

struct cycle_report {
	struct site_result *results;    /* one per site tested, in config order */
	size_t nresults;
	size_t nfailed;
	double duration_s;
	int aborted;                    /* stopped by a signal before the end */
	/* per site of the config (its index), why it raises no alert this
	 * cycle (enum alert_quiet); NULL: none. env->quiet of the cycle. */
	const unsigned char *quiet;
	/* set by the daemon before cycle_deliver: cycles that outlasted the
	 * frequency so far */
	unsigned long overruns;
};

/* Where results go (the CSV writer, the alerts, the monitor): the one way
 * out of a cycle. Either hook may be NULL. */
struct cycle_sink {
	/* as each site test ends, one at a time (under the cycle's lock), in
	 * the order they end: the CSV row is on disk before the next test ends */
	void (*site_done)(void *arg, const struct site_result *r);
	/* after the cycle, in the order of the list (cycle_deliver) */
	void (*cycle_done)(void *arg, const struct cycle_report *rep);
	void *arg;
};

/* Tests the sites of cfg (only those named in `only`, when nonly > 0),
 * hands each result to the sinks' site_done and fills rep. */
void cycle_run(const struct config *cfg, const char *const *only, size_t nonly,
	       const struct site_env *env, const struct cycle_sink *sinks,
	       size_t nsinks, struct cycle_report *rep);

/* The finished cycle to each sink's cycle_done, in order. */
void cycle_deliver(const struct cycle_sink *sinks, size_t nsinks,
		   const struct cycle_report *rep);
void cycle_report_free(struct cycle_report *rep);

/* The human-readable table `epmon once` prints. */
void cycle_print_table(const struct cycle_report *rep, FILE *out);

#endif
