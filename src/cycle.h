/* SPDX-License-Identifier: MIT */
/* One monitoring cycle: every selected site, up to `concurrency` at a time. */
#ifndef EPMON_CYCLE_H
#define EPMON_CYCLE_H

#include <stddef.h>
#include <stdio.h>
#include "config.h"
#include "site.h"

struct results;

struct cycle_report {
	struct site_result *results;    /* one per site tested, in config order */
	size_t nresults;
	size_t nfailed;
	double duration_s;
	int aborted;                    /* stopped by a signal before the end */
};

/* Tests the sites of cfg (only those named in `only`, when nonly > 0),
 * writes one CSV row per site through `csv` (may be NULL) and fills rep. */
void cycle_run(const struct config *cfg, const char *const *only, size_t nonly,
	       struct results *csv, const struct site_env *env,
	       struct cycle_report *rep);
void cycle_report_free(struct cycle_report *rep);

/* The human-readable table `epmon once` prints. */
void cycle_print_table(const struct cycle_report *rep, FILE *out);

#endif
