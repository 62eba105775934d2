/* SPDX-License-Identifier: MIT */
/* Reading the results CSV back: for `epmon report` and the status page's
 * history. Goes by each file's header, so files written by an older epmon
 * (fewer columns) stay readable, and a row whose field count does not fit
 * its header but fits a layout epmon has written (a day's file begun by an
 * older epmon, continued by a newer one) is read by that layout.
 * Tolerates damaged or partial lines (reported, skipped). */
#ifndef EPMON_STORE_CSVREAD_H
#define EPMON_STORE_CSVREAD_H

#include <stddef.h>
#include <time.h>
#include "probe/site.h"

#define CSV_COLUMNS_MAX 64     /* a header with more is not used */

/* One row. Numeric fields that were empty in the file, or whose column
 * the file does not have, are NAN. */
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
	double internal_first_ms;   /* the first echo through the new tunnel */
	double login_phase_ms[VPN_PHASES];  /* by enum vpn_phase */
};

/* Parses one line (without its '\n') in a layout epmon writes, told by its
 * field count (the current one, or the 11 columns before the phases). 0, or
 * -1 when it is a header or damaged (wrong field count, bad timestamp, bad
 * number, bad result). */
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
