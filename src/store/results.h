/* SPDX-License-Identifier: MIT */
/* Results CSV: one row per site test, one file per local day
 * (DIR/results-YYYY-MM-DD.csv). Rows that cannot be written (disk full,
 * read-only, missing directory) wait in a bounded in-memory queue and are
 * written, in order, by the next results_write() or results_flush(). A row
 * cut by a short write is written again whole; a reader never counts the
 * cut one (nor one cut by a crash): its `end` field is missing. */
#ifndef EPMON_STORE_RESULTS_H
#define EPMON_STORE_RESULTS_H

#include <stddef.h>
#include <time.h>
#include "probe/cycle.h"
#include "probe/site.h"

#define RESULTS_PENDING_MAX 10000 /* rows kept in memory while unwritable */
#define RESULTS_ROW_MAX 4096      /* longest formatted row, '\n' included */

/* The first line of every file, with '\n'; written again before a row
 * appended to a file whose last line is not a whole row of this layout (a
 * file begun by an older epmon, a torn row), after a '\n' when the file
 * ends inside a line: an appended row always starts a line of its own. */
extern const char results_header[];

struct results;

/* Never fails for a bad directory: errors surface on write. NULL only when
 * out of memory. NULL or "" directory: the current directory. */
struct results *results_new(const char *directory);
/* Same with a pending queue of at most max_pending rows (>= 1). */
struct results *results_new_bounded(const char *directory, size_t max_pending);
/* Tries a final flush; rows still pending are logged as lost. */
void results_free(struct results *r);

/* Appends the row of `res` to its day's file, after every pending row.
 * 0: this row and all pending rows written; -1: rows kept pending (logged
 * once per failure episode). */
int results_write(struct results *r, const struct site_result *res);

/* A cycle's sink writing one row per site as each test ends (r may be
 * NULL: nothing is written). */
struct cycle_sink results_sink(struct results *r);
/* Writes pending rows. 0: none left; -1: some still pending. */
int results_flush(struct results *r);
size_t results_pending(const struct results *r);
size_t results_dropped(const struct results *r); /* total, since results_new */

/* The CSV row of `res`, '\n'-terminated and NUL-terminated in buf.
 * Returns its length (with '\n', without NUL) or -1 when it does not fit. */
int results_format_row(const struct site_result *res, char *buf, size_t len);
/* DIR/results-YYYY-MM-DD.csv for the local date of t. */
void results_file_path(const struct results *r, time_t t, char *buf, size_t len);

#endif
