/* SPDX-License-Identifier: MIT */
/* Reading the results CSV back: for `epmon report` and the status page's
 * history. Goes by each file's header, so files written by an older epmon
 * (fewer columns) stay readable, and a row with more fields than its header
 * that fits a layout epmon has written (a day's file begun by an older
 * epmon, continued by a newer one) is read by that layout.
 * Damaged lines are reported and skipped: a NUL byte anywhere, fewer fields
 * than the header, a row without its end mark (`end`, "."), so that a row
 * cut by a crash or a short write is never counted, even when the writer
 * then writes it again whole. Rows of older epmons have no end mark: an
 * empty unquoted detail or a number without its decimals, last, is taken
 * for a cut row, as is such a row last in the file without its '\n'; a cut
 * that leaves a complete-looking field (just after the last ',', or after a
 * '"' of the detail) cannot be told from a whole row. */
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
 * field count (the current one, the 16 columns before the end mark or the
 * 11 before the phases). 0, or -1 when it is a header or damaged (a NUL,
 * wrong field count, no end mark, bad timestamp, bad number, bad result). */
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
