/* SPDX-License-Identifier: MIT */
/* `epmon report [-c FILE] [--from DATE] [--to DATE] [--site NAME]...
 * [--format text|csv|json]`: the command line around report.c. */
#include "report/report.h"

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"

#define DAMAGED_SHOWN 100   /* damaged lines printed; the rest are counted */
#define DEFAULT_DAYS 7

struct scan_ctx {
	struct report *report;
	int out_of_memory;
};

static void report_usage(FILE *out)
{
	fprintf(out,
		"usage: epmon report [-c FILE] [--from DATE] [--to DATE] [--site NAME]...\n"
		"                    [--format text|csv|json]\n"
		"  DATE is YYYY-MM-DD, local time; --from starts at 00:00:00 of its day,\n"
		"  --to ends at 23:59:59 of its day. Default: the last %d days until now.\n",
		DEFAULT_DAYS);
}

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

int report_cmd(const char *config_path, const char *const *only, size_t nonly,
	       int argc, char **argv)
{
	enum { OPT_FROM = 256, OPT_TO, OPT_FORMAT };
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "site", required_argument, NULL, 's' },
		{ "from", required_argument, NULL, OPT_FROM },
		{ "to", required_argument, NULL, OPT_TO },
		{ "format", required_argument, NULL, OPT_FORMAT },
		{ "verbose", no_argument, NULL, 'v' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char **sites = calloc((size_t)argc + nonly + 1, sizeof(*sites));
	const char *from_s = NULL, *to_s = NULL;
	enum report_format format = REPORT_TEXT;
	time_t from = 0, to = 0;
	struct config *cfg;
	size_t nsites = 0;
	int c, rc;

	if (!sites)
		return 1;
	for (size_t i = 0; i < nonly; i++)
		sites[nsites++] = only[i];
	optind = 0; /* a fresh getopt over the command's own arguments */
	while ((c = getopt_long(argc, argv, "c:s:vqh", opts, NULL)) != -1) {
		switch (c) {
		case 'c': config_path = optarg; break;
		case 's': sites[nsites++] = optarg; break;
		case 'v': case 'q': break; /* nothing is logged below errors */
		case OPT_FROM: from_s = optarg; break;
		case OPT_TO: to_s = optarg; break;
		case OPT_FORMAT:
			if (strcmp(optarg, "text") == 0) {
				format = REPORT_TEXT;
			} else if (strcmp(optarg, "csv") == 0) {
				format = REPORT_CSV;
			} else if (strcmp(optarg, "json") == 0) {
				format = REPORT_JSON;
			} else {
				fprintf(stderr, "epmon report: unknown format '%s' "
					"(text, csv or json)\n", optarg);
				free(sites);
				return EXIT_USAGE;
			}
			break;
		case 'h': report_usage(stdout); free(sites); return 0;
		default: report_usage(stderr); free(sites); return EXIT_USAGE;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "epmon report: unexpected argument '%s'\n", argv[optind]);
		report_usage(stderr);
		free(sites);
		return EXIT_USAGE;
	}
	if ((from_s && parse_date(from_s, 0, &from) < 0) ||
	    (to_s && parse_date(to_s, 1, &to) < 0)) {
		fprintf(stderr, "epmon report: '%s' is not a date (YYYY-MM-DD)\n",
			from_s && parse_date(from_s, 0, &from) < 0 ? from_s : to_s);
		free(sites);
		return EXIT_USAGE;
	}
	to = to_s ? to - 1 : time(NULL);
	if (!from_s)
		from = to + 1 - DEFAULT_DAYS * 86400;
	if (from > to) {
		fprintf(stderr, "epmon report: --from %s is after --to %s\n",
			from_s ? from_s : "(7 days before --to)", to_s ? to_s : "(now)");
		free(sites);
		return EXIT_USAGE;
	}
	cfg = config_load_print(config_path ? config_path : config_default_path(), 0);
	if (!cfg) {
		free(sites);
		return EXIT_USAGE;
	}
	rc = run_report(cfg, from, to, sites, nsites, format);
	config_free(cfg);
	free(sites);
	return rc;
}
