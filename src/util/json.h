/* SPDX-License-Identifier: MIT */
/* JSON output helpers shared by /status, webhooks and Alertmanager. */
#ifndef EPMON_UTIL_JSON_H
#define EPMON_UTIL_JSON_H

#include <stdio.h>
#include <time.h>

/* A JSON string literal of s, quotes included; invalid UTF-8 bytes
 * become U+FFFD. */
void json_string(FILE *out, const char *s);

/* "2026-12-01T03:04:05Z" (UTC, RFC 3339), quotes included. */
void json_time_utc(FILE *out, time_t t);

#endif
