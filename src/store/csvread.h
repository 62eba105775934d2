/* SPDX-License-Identifier: MIT */
/* Reading the results CSV back: for `epmon report` and the status page's
 * history. Tolerates damaged or partial lines (reported, skipped). */
#ifndef EPMON_STORE_CSVREAD_H
#define EPMON_STORE_CSVREAD_H

#include <stddef.h>
#include <time.h>
#include "probe/site.h"

/* One row. Numeric fields that were empty in the file are NAN. */
struct csv_record {
	time_t ts;                  /* from the ISO 8601 timestamp, offset honoured */
	int ts_ms;
	char site[64];
	int ok;
	enum site_step failed_step;
	double external_rtt_ms, external_loss_pct;
	double login_ms;
	double internal_rtt_ms, internal_loss_pct;
	double teardown_ms;
	char detail[512];
};

/* Parses one line (without its '\n'). 0, or -1 when it is the header or
 * damaged (wrong field count, bad timestamp, bad number, bad result). */
int csv_parse_row(const char *line, size_t len, struct csv_record *out);

typedef int (*csv_row_fn)(const struct csv_record *rec, void *arg); /* non-zero stops */
typedef void (*csv_bad_fn)(const char *path, unsigned long line, const char *why, void *arg);

/* Every row of DIR/results-YYYY-MM-DD.csv for the local days from..to
 * (inclusive; times), in file order, with ts in [from, to]. Damaged lines go
 * to `bad` (may be NULL) with file and line number. Missing files are
 * skipped. 0, or -1 when dir cannot be read. */
int csv_scan(const char *dir, time_t from, time_t to, csv_row_fn fn,
	     csv_bad_fn bad, void *arg);

#endif
