/* SPDX-License-Identifier: MIT */
/* `epmon report`: the dates and format of the command line (main.c parses
 * it) around report.c. */
#include "report/report.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"

#define DAMAGED_SHOWN 100   /* damaged lines printed; the rest are counted */
#define DEFAULT_DAYS 7

struct scan_ctx {
	struct report *report;
	int out_of_memory;
};

/* YYYY-MM-DD -> local midnight of that day (or of the day after when
 * next_day). -1 when not a valid date. */
static int parse_date(const char *s, int next_day, time_t *out)
{
	struct tm tm;
	int y, m, d, n = 0;

	if (sscanf(s, "%4d-%2d-%2d%n", &y, &m, &d, &n) != 3 || n != 10 || s[n] != '\0' ||
	    strspn(s, "0123456789-") != 10)
		return -1;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = m - 1;
	tm.tm_mday = d;
	tm.tm_isdst = -1;
	if (mktime(&tm) == (time_t)-1 || tm.tm_year != y - 1900 || tm.tm_mon != m - 1 ||
	    tm.tm_mday != d)
		return -1; /* 2026-02-30 and the like */
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = m - 1;
	tm.tm_mday = d + (next_day ? 1 : 0);
	tm.tm_isdst = -1;
	*out = mktime(&tm);
	return *out == (time_t)-1 ? -1 : 0;
}

static int on_row(const struct csv_record *rec, void *arg)
{
	struct scan_ctx *ctx = arg;

	if (report_add(ctx->report, rec) < 0) {
		ctx->out_of_memory = 1;
		return 1;
	}
	return 0;
}

static void on_bad(const char *path, unsigned long line, const char *why, void *arg)
{
	struct scan_ctx *ctx = arg;

	if (ctx->report->damaged++ < DAMAGED_SHOWN)
		fprintf(stderr, "%s:%lu: %s\n", path, line, why);
}

/* Reads the range and prints the report. */
static int run_report(const struct config *cfg, time_t from, time_t to,
		      const char *const *only, size_t nonly, enum report_format format)
{
	struct scan_ctx ctx = { 0 };
	int rc = 0;

	ctx.report = report_new(from, to, only, nonly);
	if (!ctx.report) {
		fprintf(stderr, "epmon report: out of memory\n");
		return 1;
	}
	if (csv_scan(cfg->results_dir, from, to, on_row, on_bad, &ctx) < 0) {
		fprintf(stderr, "epmon report: cannot read %s: %s\n", cfg->results_dir,
			strerror(errno));
		report_free(ctx.report);
		return 1;
	}
	if (ctx.out_of_memory) {
		fprintf(stderr, "epmon report: out of memory after %lu rows\n", ctx.report->rows);
		report_free(ctx.report);
		return 1;
	}
	if (ctx.report->damaged > DAMAGED_SHOWN)
		fprintf(stderr, "epmon report: %lu damaged lines skipped (first %d shown)\n",
			ctx.report->damaged, DAMAGED_SHOWN);
	report_finish(ctx.report);
	report_print(ctx.report, format, stdout);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "epmon report: cannot write the report: %s\n", strerror(errno));
		rc = 1;
	}
	report_free(ctx.report);
	return rc;
}

int report_cmd(const char *config_path, const char *const *sites, size_t nsites,
	       const char *from_s, const char *to_s, const char *format_s)
{
	enum report_format format = REPORT_TEXT;
	time_t from = 0, to = 0;
	struct config *cfg;
	int rc;

	if (!format_s || strcmp(format_s, "text") == 0) {
		format = REPORT_TEXT;
	} else if (strcmp(format_s, "csv") == 0) {
		format = REPORT_CSV;
	} else if (strcmp(format_s, "json") == 0) {
		format = REPORT_JSON;
	} else {
		fprintf(stderr, "epmon report: unknown format '%s' (text, csv or json)\n",
			format_s);
		return EXIT_USAGE;
	}
	if ((from_s && parse_date(from_s, 0, &from) < 0) ||
	    (to_s && parse_date(to_s, 1, &to) < 0)) {
		fprintf(stderr, "epmon report: '%s' is not a date (YYYY-MM-DD)\n",
			from_s && parse_date(from_s, 0, &from) < 0 ? from_s : to_s);
		return EXIT_USAGE;
	}
	to = to_s ? to - 1 : time(NULL);
	if (!from_s)
		from = to + 1 - DEFAULT_DAYS * 86400;
	if (from > to) {
		fprintf(stderr, "epmon report: --from %s is after --to %s\n",
			from_s ? from_s : "(7 days before --to)", to_s ? to_s : "(now)");
		return EXIT_USAGE;
	}
	cfg = config_load_print(config_path, 0);
	if (!cfg)
		return EXIT_USAGE;
	rc = run_report(cfg, from, to, sites, nsites, format);
	config_free(cfg);
	return rc;
}
