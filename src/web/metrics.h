/* SPDX-License-Identifier: MIT */
/* GET /metrics: the Prometheus text exposition format 0.0.4, names in the
 * style of blackbox_exporter. */
#ifndef EPMON_WEB_METRICS_H
#define EPMON_WEB_METRICS_H

#include <stdio.h>
#include <time.h>
#include "web/monitor.h"

#define METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

/* Writes every metric of d (availability as of `now`) to out. */
void metrics_write(const struct monitor_data *d, time_t now, FILE *out);

/* A label value with \, " and newline escaped. */
void metrics_label_value(FILE *out, const char *s);

#endif
