/* SPDX-License-Identifier: MIT */
/* RTT statistics of the ping engine, apart from sockets so the math can be
 * unit tested (like fping's stats.c). */
#include "probe/icmp.h"

#include <math.h>
#include <stdlib.h>

void rtt_acc_add(struct rtt_acc *a, double rtt_ms)
{
	if (a->n == 0 || rtt_ms < a->min)
		a->min = rtt_ms;
	if (a->n == 0 || rtt_ms > a->max)
		a->max = rtt_ms;
	a->n++;
	a->sum += rtt_ms;
	a->sumsq += rtt_ms * rtt_ms;
}

/* Sets received from the accumulator (one RTT per answered request) and
 * derives loss and min/avg/max/mdev; `sent` must already be set. mdev is
 * what iputils prints: sqrt(mean(x^2) - mean(x)^2). */
void ping_stats_finish(struct ping_stats *s, const struct rtt_acc *a)
{
	double var;

	s->received = a->n;
	s->loss_pct = s->sent > 0 ? 100.0 * (s->sent - s->received) / s->sent : 100.0;
	if (s->loss_pct < 0)
		s->loss_pct = 0; /* more replies than requests cannot be loss */
	if (a->n == 0) {
		s->min_ms = s->avg_ms = s->max_ms = s->mdev_ms = 0;
		return;
	}
	s->min_ms = a->min;
	s->max_ms = a->max;
	s->avg_ms = a->sum / a->n;
	var = a->sumsq / a->n - s->avg_ms * s->avg_ms;
	s->mdev_ms = var > 0 ? sqrt(var) : 0; /* rounding may go just below 0 */
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* A sort: a ping step has a handful of replies, at most `count`. */
double rtt_median(double *v, size_t n)
{
	if (n == 0)
		return 0;
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}
