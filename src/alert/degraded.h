/* SPDX-License-Identifier: MIT */
/* DEGRADED: a site that passes but is slow against its own history. Each
 * site's good results of the last `baseline` (from the results CSV at start,
 * then from every cycle) are kept; after a cycle the last `window` is judged
 * against the time before it: login p95 above login_factor x the baseline's
 * p95 (and login_floor_ms more), or the internal RTT median above rtt_factor
 * x the baseline's median (and rtt_floor_ms more). */
#ifndef EPMON_ALERT_DEGRADED_H
#define EPMON_ALERT_DEGRADED_H

#include <stddef.h>
#include <time.h>
#include "config/config.h"
#include "probe/site.h"

struct degraded;

struct degraded *degraded_new(void);
void degraded_free(struct degraded *d);

/* The good rows of the last a->baseline_s before now from the CSV in dir.
 * Returns the rows taken, or -1 when dir cannot be read (errno). */
long degraded_load(struct degraded *d, const struct alerting_settings *a,
		   const char *dir, time_t now);

/* A cycle's result (only good ones count); samples older than baseline_s
 * before it are dropped. 0, or -1 out of memory. */
int degraded_add(struct degraded *d, const struct alerting_settings *a,
		 const struct site_result *r);

/* 1: slow, 0: not, -1: too few samples to say. figures (may be set in
 * every case): "login p95 3.8 s over the last 1 h, baseline 1.1 s". */
int degraded_judge(const struct degraded *d, const struct alerting_settings *a,
		   const char *site, time_t now, char *figures, size_t len);

#endif
