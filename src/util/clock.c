/* SPDX-License-Identifier: MIT */
#include "util/clock.h"

#include <math.h>

double monotonic_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct timespec clock_timespec(double s)
{
	struct timespec ts;

	if (!(s > 0))                   /* also NaN */
		s = 0;
	if (s > CLOCK_SPAN_MAX_S)
		s = CLOCK_SPAN_MAX_S;
	ts.tv_sec = (time_t)s;
	ts.tv_nsec = (long)((s - (double)ts.tv_sec) * 1e9);
	if (ts.tv_nsec > 999999999L)
		ts.tv_nsec = 999999999L;
	return ts;
}

struct timespec clock_add(struct timespec ts, double s)
{
	struct timespec d = clock_timespec(s);

	ts.tv_sec += d.tv_sec;
	ts.tv_nsec += d.tv_nsec;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	return ts;
}
