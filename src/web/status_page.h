/* SPDX-License-Identifier: MIT */
/* GET /: an HTML status page. No script and no external resource: a table
 * of the sites and per site an inline SVG chart of the last 24 h (login
 * time, RTTs, failures). Refreshes itself with <meta http-equiv=refresh>. */
#ifndef EPMON_WEB_STATUS_PAGE_H
#define EPMON_WEB_STATUS_PAGE_H

#include <stdio.h>
#include <time.h>
#include "web/monitor.h"

#define STATUS_PAGE_CONTENT_TYPE "text/html; charset=utf-8"
/* Sent with the page: it loads nothing, runs nothing. */
#define STATUS_PAGE_CSP "default-src 'none'; style-src 'unsafe-inline'; img-src data:"

void status_page_write(const struct monitor_data *d, time_t now, FILE *out);

/* One site's chart: <svg>...</svg>, 24 h up to `now`. */
void status_page_chart(const struct monitor_site *s, double frequency_s,
		       time_t now, FILE *out);

/* s with & < > " ' as entities; invalid UTF-8 bytes as U+FFFD. */
void status_page_escape(FILE *out, const char *s);

#endif
