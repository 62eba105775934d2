/* SPDX-License-Identifier: MIT */
/* Fuzzes the results CSV reader: each input is one day's results file.
 * Every line goes through csv_parse_row (the row parser, layout by field
 * count), then the whole input, written as DIR/results-2024-06-01.csv on a
 * tmpfs, through csv_scan as `epmon report` and the status page's history
 * read it (header-driven layouts, long and torn lines, line numbers). These
 * files outlive crashes, short writes, full disks and hand edits: whatever
 * they hold must come out as rows or as reported damage, never a crash. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "scratch.h"
#include "store/csvread.h"
#include "util/log.h"

static char dir[600], file[700];
static time_t day_from, day_to;

/* A row read: every text field must be a terminated string of its buffer. */
static int row(const struct csv_record *rec, void *arg)
{
	size_t *rows = arg;

	if (strnlen(rec->site, sizeof(rec->site)) == sizeof(rec->site) ||
	    strnlen(rec->detail, sizeof(rec->detail)) == sizeof(rec->detail) ||
	    rec->ts < day_from || rec->ts > day_to)
		abort();
	(*rows)++;
	return 0;
}

static void bad(const char *path, unsigned long line, const char *why, void *arg)
{
	(void)path;
	(void)line;
	(void)arg;
	if (!why || !*why)
		abort();
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct tm tm = { .tm_year = 2024 - 1900, .tm_mon = 5, .tm_mday = 1, .tm_isdst = -1 };

	(void)argc;
	(void)argv;
	log_init(-1);
	/* a zone with DST: local days are not 86,400 s apart everywhere */
	setenv("TZ", "Europe/Paris", 1);
	tzset();
	snprintf(dir, sizeof(dir), "%s", scratch_dir("csv"));
	snprintf(file, sizeof(file), "%s/results-2024-06-01.csv", dir);
	day_from = mktime(&tm);
	day_to = day_from + 86399;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data, *end = p + size;
	struct csv_record rec;
	size_t rows = 0;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = (size_t)((nl ? nl : end) - p);
		if (csv_parse_row(p, len, &rec) == 0 &&
		    (strnlen(rec.site, sizeof(rec.site)) == sizeof(rec.site) ||
		     strnlen(rec.detail, sizeof(rec.detail)) == sizeof(rec.detail)))
			abort();
		p += len + 1;
	}
	if (scratch_write(file, data, size, 0600) < 0) {
		perror(file);
		abort();
	}
	if (csv_scan(dir, day_from, day_to, row, bad, &rows) < 0) {
		perror(dir);
		abort();
	}
	return 0;
}
