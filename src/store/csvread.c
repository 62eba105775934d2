/* SPDX-License-Identifier: MIT */
/* Reading the results CSV back. One pass over each line, by hand: a year of
 * 5-minute rows for 50 sites is ~5 M lines, so no sscanf/strtod per field.
 * Files are read with read(2) into one large buffer rather than mmap(2): a
 * file truncated under us (copytruncate) must not SIGBUS the daemon's HTTP
 * thread, and the copy costs little next to the parsing. */
#include "store/csvread.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define READ_CHUNK (1u << 20)     /* bytes per read(2) */
#define LINE_MAX_LEN (64u << 10)  /* longer lines are damaged (a row is < 2 KiB) */

/* parse_row()'s answer for the header line: skipped, not damaged. */
static const char why_header[] = "header";

/* A field being parsed: [p, end) is the rest of the line. */
struct cursor {
	const char *p, *end;
};

/* ---- timestamp ---- */

/* Days from 1970-01-01 to y-m-d of the proleptic Gregorian calendar (the
 * usual era-based computation: eras of 400 years of 146097 days). */
static long long days_from_civil(int y, int m, int d)
{
	long long era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static int digits(const char *p, int n, int *out)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		unsigned d = (unsigned char)p[i] - '0';
		if (d > 9)
			return -1;
		v = v * 10 + (int)d;
	}
	*out = v;
	return 0;
}

/* YYYY-MM-DDTHH:MM:SS[.fff...](Z|+HH:MM|-HH:MM), as results.c writes it
 * (also 'T' or ' ' between date and time, and any number of fraction
 * digits, for hand-made files). No timegm(): plain arithmetic is exact
 * and much faster. */
static const char *parse_timestamp(struct cursor *c, struct csv_record *out)
{
	const char *p = c->p, *end = c->end;
	int y, mo, d, h, mi, s, oh = 0, om = 0, ms = 0;
	long long off = 0;

	if (end - p < 20 || digits(p, 4, &y) || p[4] != '-' || digits(p + 5, 2, &mo) ||
	    p[7] != '-' || digits(p + 8, 2, &d) || (p[10] != 'T' && p[10] != ' ') ||
	    digits(p + 11, 2, &h) || p[13] != ':' || digits(p + 14, 2, &mi) ||
	    p[16] != ':' || digits(p + 17, 2, &s))
		return "bad timestamp";
	if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60)
		return "bad timestamp";
	p += 19;
	if (*p == '.') {
		int n = 0;
		for (p++; p < end && (unsigned)(*p - '0') <= 9; p++, n++)
			if (n < 3)
				ms = ms * 10 + (*p - '0');
		if (n == 0)
			return "bad timestamp";
		for (; n < 3; n++)
			ms *= 10;
	}
	if (p < end && *p == 'Z') {
		p++;
	} else if (end - p >= 6 && (*p == '+' || *p == '-') && !digits(p + 1, 2, &oh) &&
		   p[3] == ':' && !digits(p + 4, 2, &om) && oh <= 23 && om <= 59) {
		off = (long long)oh * 3600 + om * 60;
		if (*p == '-')
			off = -off;
		p += 6;
	} else {
		return "bad timestamp";
	}
	if (p < end && *p != ',')
		return "bad timestamp";
	out->ts = (time_t)(days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s - off);
	out->ts_ms = ms;
	c->p = p;
	return NULL;
}

/* ---- fields ---- */

/* Moves past the ',' ending a field; NULL, or why the line is damaged. */
static const char *next_field(struct cursor *c)
{
	if (c->p >= c->end)
		return "too few fields";
	if (*c->p != ',')
		return "bad field";
	c->p++;
	return NULL;
}

/* One RFC 4180 field into buf[size] (NUL-terminated). Quoted: "" is a
 * quote, and the closing quote must end the field. *truncated is set when
 * it did not fit (the rest is skipped). */
static const char *parse_text(struct cursor *c, char *buf, size_t size, int *truncated)
{
	const char *p = c->p, *end = c->end;
	size_t n = 0;

	*truncated = 0;
	if (p < end && *p == '"') {
		p++;
		for (;;) {
			const char *q = memchr(p, '"', (size_t)(end - p));
			size_t k;
			if (!q)
				return "unterminated quoted field";
			k = (size_t)(q - p);
			if (n + k >= size) {
				*truncated = 1;
				k = n < size - 1 ? size - 1 - n : 0;
			}
			memcpy(buf + n, p, k);
			n += k;
			p = q + 1;
			if (p < end && *p == '"') {
				if (n + 1 < size)
					buf[n++] = '"';
				else
					*truncated = 1;
				p++;
				continue;
			}
			break;
		}
		if (p < end && *p != ',')
			return "text after a closing quote";
	} else {
		const char *q = memchr(p, ',', (size_t)(end - p));
		size_t k;
		if (!q)
			q = end;
		k = (size_t)(q - p);
		if (k >= size) {
			*truncated = 1;
			k = size - 1;
		}
		memcpy(buf, p, k);
		n = k;
		p = q;
	}
	buf[n] = '\0';
	c->p = p;
	return NULL;
}

/* Exact powers of ten as doubles (all below 2^53 * 10^k are exact). */
static const double pow10_tab[] = {
	1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9,
	1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18,
};

/* A decimal number as results.c writes it ([-]digits[.digits]); empty is
 * NAN. With at most 15 significant digits, mantissa / 10^k is one correctly
 * rounded division, so the result is what strtod() would give; longer or
 * exponent forms go through strtod() on a copy. */
static const char *parse_number(struct cursor *c, double *out)
{
	const char *p = c->p, *end = c->end, *start = p;
	unsigned long long mant = 0;
	int ndig = 0, nfrac = 0, neg = 0, seen_dot = 0, any = 0;

	if (p >= end || *p == ',') {
		*out = NAN;
		return NULL;
	}
	if (*p == '-') {
		neg = 1;
		p++;
	}
	for (; p < end && *p != ','; p++) {
		unsigned d = (unsigned char)*p - '0';
		if (d <= 9) {
			any = 1;
			if (ndig < 18)
				mant = mant * 10 + d;
			else
				goto slow;
			if (mant > 0 || seen_dot)
				ndig++;
			nfrac += seen_dot;
		} else if (*p == '.' && !seen_dot) {
			seen_dot = 1;
		} else {
			goto slow;
		}
	}
	if (!any || ndig > 15)
		goto slow;
	*out = (double)mant / pow10_tab[nfrac];
	if (neg)
		*out = -*out;
	c->p = p;
	return NULL;
slow:
	{
		char buf[64], *stop;
		const char *q = memchr(start, ',', (size_t)(end - start));
		size_t k = (size_t)((q ? q : end) - start);
		double v;

		if (k == 0 || k >= sizeof(buf))
			return "bad number";
		memcpy(buf, start, k);
		buf[k] = '\0';
		errno = 0;
		v = strtod(buf, &stop);
		if (*stop || errno || !isfinite(v) || isspace((unsigned char)buf[0]))
			return "bad number";
		*out = v;
		c->p = start + k;
		return NULL;
	}
}

/* The word [p, end) up to the next ','. */
static int field_is(const struct cursor *c, const char *word, size_t n)
{
	return (size_t)(c->end - c->p) >= n && memcmp(c->p, word, n) == 0 &&
	       (c->p + n == c->end || c->p[n] == ',');
}

static const char *parse_result(struct cursor *c, struct csv_record *out)
{
	if (field_is(c, "OK", 2)) {
		out->ok = 1;
		c->p += 2;
	} else if (field_is(c, "FAIL", 4)) {
		out->ok = 0;
		c->p += 4;
	} else {
		return "bad result (not OK or FAIL)";
	}
	return NULL;
}

static const char *parse_step(struct cursor *c, struct csv_record *out)
{
	static const struct { const char *name; size_t len; enum site_step step; } steps[] = {
		{ "", 0, STEP_NONE },
		{ "external_ping", 13, STEP_EXTERNAL_PING },
		{ "vpn_login", 9, STEP_VPN_LOGIN },
		{ "internal_ping", 13, STEP_INTERNAL_PING },
		{ "teardown", 8, STEP_TEARDOWN },
	};

	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		if (field_is(c, steps[i].name, steps[i].len)) {
			/* an OK row has no failed step, whatever the file says */
			out->failed_step = out->ok ? STEP_NONE : steps[i].step;
			c->p += steps[i].len;
			return NULL;
		}
	}
	return "bad failed_step";
}

/* NULL when the line is a row (out filled), why_header, or why it is damaged. */
static const char *parse_row(const char *line, size_t len, struct csv_record *out)
{
	struct cursor c = { line, line + len };
	double *nums[6] = { &out->external_rtt_ms, &out->external_loss_pct, &out->login_ms,
			    &out->internal_rtt_ms, &out->internal_loss_pct, &out->teardown_ms };
	const char *why;
	int truncated;

	if (len > 0 && line[len - 1] == '\r')
		c.end--;
	if (len >= 10 && memcmp(line, "timestamp,", 10) == 0)
		return why_header;
	if ((why = parse_timestamp(&c, out)) || (why = next_field(&c)))
		return why;
	if ((why = parse_text(&c, out->site, sizeof(out->site), &truncated)))
		return why;
	if (truncated)
		return "site name too long";
	if (out->site[0] == '\0')
		return "empty site name";
	if ((why = next_field(&c)) || (why = parse_result(&c, out)) ||
	    (why = next_field(&c)) || (why = parse_step(&c, out)))
		return why;
	for (int i = 0; i < 6; i++)
		if ((why = next_field(&c)) || (why = parse_number(&c, nums[i])))
			return why;
	if ((why = next_field(&c)))
		return why;
	/* a long detail is cut, not a reason to lose the row */
	if ((why = parse_text(&c, out->detail, sizeof(out->detail), &truncated)))
		return why;
	if (c.p != c.end)
		return "too many fields";
	return NULL;
}

int csv_parse_row(const char *line, size_t len, struct csv_record *out)
{
	return parse_row(line, len, out) ? -1 : 0;
}

/* ---- files ---- */

/* What csv_scan() carries from file to file. */
struct scan {
	time_t from, to;
	csv_row_fn fn;
	csv_bad_fn bad;
	void *arg;
	char *buf;
	size_t cap;
	struct csv_record rec;
	int stopped;
};

static void bad_line(struct scan *s, const char *path, unsigned long lineno, const char *why)
{
	if (s->bad)
		s->bad(path, lineno, why, s->arg);
}

static void one_line(struct scan *s, const char *path, unsigned long lineno,
		     const char *line, size_t len)
{
	const char *why;

	if (len == 0 || (len == 1 && line[0] == '\r'))
		return; /* blank: nothing lost */
	why = parse_row(line, len, &s->rec);
	if (why == why_header)
		return;
	if (why) {
		bad_line(s, path, lineno, why);
		return;
	}
	if (s->rec.ts < s->from || s->rec.ts > s->to)
		return;
	if (s->fn(&s->rec, s->arg))
		s->stopped = 1;
}

/* Every line of one file. A line longer than LINE_MAX_LEN is reported and
 * skipped up to its end; a last line without '\n' is parsed like the others
 * (a partial row fails to parse: its quoted detail is never closed). */
static void scan_file(struct scan *s, const char *path)
{
	size_t have = 0;
	unsigned long lineno = 1;
	int fd, skipping = 0;

	do
		fd = open(path, O_RDONLY | O_CLOEXEC);
	while (fd < 0 && errno == EINTR);
	if (fd < 0) {
		if (errno != ENOENT) /* gone since readdir: nothing to say */
			bad_line(s, path, 0, strerror(errno));
		return;
	}
	posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	while (!s->stopped) {
		ssize_t n = read(fd, s->buf + have, s->cap - have);
		const char *p, *nl, *end;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			bad_line(s, path, lineno, strerror(errno));
			break;
		}
		if (n == 0) {
			if (have > 0 && !skipping)
				one_line(s, path, lineno, s->buf, have);
			break;
		}
		p = s->buf;
		end = s->buf + have + n;
		while (!s->stopped && (nl = memchr(p, '\n', (size_t)(end - p))) != NULL) {
			if (!skipping && (size_t)(nl - p) >= LINE_MAX_LEN)
				bad_line(s, path, lineno, "line too long");
			else if (!skipping)
				one_line(s, path, lineno, p, (size_t)(nl - p));
			skipping = 0;
			lineno++;
			p = nl + 1;
		}
		have = (size_t)(end - p);
		if (have >= LINE_MAX_LEN) {
			if (!skipping)
				bad_line(s, path, lineno, "line too long");
			skipping = 1;
			have = 0;
		}
		memmove(s->buf, p, have);
	}
	close(fd);
}

/* results-YYYY-MM-DD.csv -> YYYYMMDD, or -1. */
static long day_of_name(const char *name)
{
	int y, m, d;

	if (strlen(name) != 22 || memcmp(name, "results-", 8) != 0 ||
	    digits(name + 8, 4, &y) || name[12] != '-' || digits(name + 13, 2, &m) ||
	    name[15] != '-' || digits(name + 16, 2, &d) || strcmp(name + 18, ".csv") != 0)
		return -1;
	return (long)y * 10000 + m * 100 + d;
}

static long local_day(time_t t)
{
	struct tm tm;

	if (!localtime_r(&t, &tm))
		return t < 0 ? 0 : 99991231;
	return ((long)tm.tm_year + 1900) * 10000 + (tm.tm_mon + 1) * 100 + tm.tm_mday;
}

static int cmp_long(const void *a, const void *b)
{
	long x = *(const long *)a, y = *(const long *)b;

	return (x > y) - (x < y);
}

/* The days from..to that have a file, sorted; NULL with *n = 0 when none
 * (or out of memory: treated as an unreadable directory). -1: no dir. */
static int list_days(const char *dir, long first, long last, long **days, size_t *n)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	size_t cap = 0;

	*days = NULL;
	*n = 0;
	if (!d)
		return -1;
	while ((e = readdir(d)) != NULL) {
		long day = day_of_name(e->d_name);
		if (day < first || day > last)
			continue;
		if (*n == cap) {
			long *bigger = realloc(*days, (cap ? cap * 2 : 64) * sizeof(long));
			if (!bigger) {
				closedir(d);
				free(*days);
				*days = NULL;
				return -1;
			}
			*days = bigger;
			cap = cap ? cap * 2 : 64;
		}
		(*days)[(*n)++] = day;
	}
	closedir(d);
	if (*n > 1)
		qsort(*days, *n, sizeof(long), cmp_long);
	return 0;
}

int csv_scan(const char *dir, time_t from, time_t to, csv_row_fn fn,
	     csv_bad_fn bad, void *arg)
{
	struct scan s = { .from = from, .to = to, .fn = fn, .bad = bad, .arg = arg };
	size_t ndays;
	long *days;
	char *path;

	if (!dir || !*dir)
		dir = ".";
	if (list_days(dir, local_day(from), local_day(to), &days, &ndays) < 0)
		return -1;
	s.cap = READ_CHUNK + LINE_MAX_LEN;
	s.buf = malloc(s.cap);
	path = malloc(strlen(dir) + 32);
	if (!s.buf || !path) {
		free(s.buf);
		free(path);
		free(days);
		errno = ENOMEM;
		return -1;
	}
	for (size_t i = 0; i < ndays && !s.stopped && from <= to; i++) {
		sprintf(path, "%s/results-%04ld-%02ld-%02ld.csv", dir, days[i] / 10000,
			days[i] / 100 % 100, days[i] % 100);
		scan_file(&s, path);
	}
	free(path);
	free(s.buf);
	free(days);
	return 0;
}
