/* SPDX-License-Identifier: MIT */
/* GET /status: the monitor as one JSON object. */
#ifndef EPMON_WEB_STATUS_JSON_H
#define EPMON_WEB_STATUS_JSON_H

#include <stdio.h>
#include <time.h>
#include "web/monitor.h"

/* Writes the status of every site and of the daemon as of `now`. */
void status_json_write(const struct monitor_data *d, time_t now, FILE *out);

#endif
