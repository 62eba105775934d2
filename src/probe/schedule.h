/* SPDX-License-Identifier: MIT */
/* Cycle starts on a fixed monotonic grid: start + k * period. */
#ifndef EPMON_PROBE_SCHEDULE_H
#define EPMON_PROBE_SCHEDULE_H

struct schedule {
	double period_s;
	double next_s;      /* monotonic time the next cycle starts */
};

/* The first cycle starts at now_s. */
void schedule_init(struct schedule *s, double period_s, double now_s);

/* Called when the cycle that started at s->next_s has ended at now_s:
 * moves next_s to the next grid point. When the cycle took longer than the
 * period, the next cycle starts right away (next_s = now_s, the grid is
 * re-anchored there: no overlap and no burst of catch-up cycles) and 1 is
 * returned; else 0. */
int schedule_advance(struct schedule *s, double now_s);

/* A new period (config reload) applies from the cycle that just started. */
void schedule_set_period(struct schedule *s, double period_s);

#endif
