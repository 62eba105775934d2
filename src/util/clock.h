/* SPDX-License-Identifier: MIT */
/* Time in seconds as a double, and the one conversion to struct timespec:
 * it clamps, so no value (negative, huge, infinite, NaN) can overflow. */
#ifndef EPMON_UTIL_CLOCK_H
#define EPMON_UTIL_CLOCK_H

#include <time.h>

/* The largest span clock_timespec converts: 10 years (longer is clamped). */
#define CLOCK_SPAN_MAX_S (10.0 * 366 * 86400)

/* CLOCK_MONOTONIC in seconds. */
double monotonic_s(void);

/* s seconds as a timespec, s clamped to [0, CLOCK_SPAN_MAX_S] (NaN: 0). */
struct timespec clock_timespec(double s);

/* ts + s seconds (s clamped as above). */
struct timespec clock_add(struct timespec ts, double s);

#endif
