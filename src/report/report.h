/* SPDX-License-Identifier: MIT */
/* `epmon report`: per-site figures over the results CSV of a time range:
 * availability, failed cycles by step, outages, login time (and its
 * phases) and RTT percentiles. report.c holds the math, report_print.c the three output
 * formats, report_cli.c the command line. */
#ifndef EPMON_REPORT_REPORT_H
#define EPMON_REPORT_REPORT_H

#include <stddef.h>
#include <stdio.h>
#include <time.h>
#include "store/csvread.h"

enum report_format { REPORT_TEXT = 0, REPORT_CSV, REPORT_JSON };

/* The values of one measure, kept to compute exact percentiles. float: a
 * year of 50 sites is ~16 M values, and 24 bits of mantissa keep a ms
 * figure to 0.001 below 8 s (to 0.1 far beyond any login). */
struct report_values {
	float *v;
	size_t n, cap;
};

/* Figures of a measure; NAN when there were no values. */
struct report_stats {
	size_t n;
	double p50, p95, max;
};

/* Consecutive failed cycles of one site. */
struct report_outage {
	time_t start;           /* the first failed row */
	time_t end;             /* the first OK row after it; open: the last failed row */
	enum site_step step;    /* failed step of the first failed row */
	unsigned long cycles;   /* failed rows */
	int open;               /* still failing at the site's last row in range */
};

struct report_site {
	char name[64];
	unsigned long cycles, failed;
	unsigned long failed_by_step[5];    /* by enum site_step; [STEP_NONE]: no step given */
	/* login time of the logins that succeeded; RTTs of pings that got replies */
	struct report_values login_ms, external_rtt_ms, internal_rtt_ms;
	struct report_stats login, external_rtt, internal_rtt; /* set by report_finish */
	/* the phases of those logins (where known), the first echo through the
	 * new tunnel (where it was answered) */
	struct report_values phase_ms[VPN_PHASES], internal_first_ms;
	struct report_stats phase[VPN_PHASES], internal_first;
	struct report_outage *outages;
	size_t noutages, outage_cap;
	int in_outage;          /* the last outage is still going on */
};

struct report {
	time_t from, to;
	int filtered;           /* only the sites given to report_new */
	struct report_site *sites;  /* sorted by name after report_finish */
	size_t nsites, site_cap;
	size_t *slots;          /* open-addressing hash of names: index + 1, 0 empty */
	size_t nslots;
	unsigned long rows, damaged;
};

/* A report of [from, to]. only/nonly: only these sites (each listed even
 * without rows); nonly 0: every site found. NULL when out of memory. */
struct report *report_new(time_t from, time_t to, const char *const *only, size_t nonly);
void report_free(struct report *r);

/* Accounts one row (rows of a site in time order). 0, or -1 when out of
 * memory. Rows of sites not asked for are ignored. */
int report_add(struct report *r, const struct csv_record *rec);

/* Percentiles, and the sites sorted by name. Call once, after the last row. */
void report_finish(struct report *r);

/* Availability in %, NAN without cycles. */
double report_availability(const struct report_site *s);
double report_outage_duration(const struct report_outage *o);

/* Nearest-rank percentile p (0 < p <= 100) of v[0..n) by selection
 * (quickselect: linear on average, no full sort); reorders v. NAN if n 0. */
double report_percentile(float *v, size_t n, double p);

/* report_print.c: the report in one of the formats. */
void report_print(const struct report *r, enum report_format format, FILE *out);

/* cli.c: `epmon report` with the command line's values (NULL: not given):
 * dates YYYY-MM-DD (local days, --to inclusive; default the last 7 days),
 * format text|csv|json. Exit status: 0, 1 when the results cannot be read,
 * 2 on a usage or configuration error. */
int report_cmd(const char *config_path, const char *const *sites, size_t nsites,
	       const char *from, const char *to, const char *format);

#endif
