/* SPDX-License-Identifier: MIT */
/* Reading the results CSV back. One pass over each line, by hand: a year of
 * 5-minute rows for 50 sites is ~5 M lines, so no sscanf/strtod per field.
 * Files are read with read(2) into one large buffer rather than mmap(2): a
 * file truncated under us (copytruncate) must not SIGBUS the daemon's HTTP
 * thread, and the copy costs little next to the parsing. */
#include "store/csvread.h"

#include <ctype.h>
#include <dirent.h>
#include <stddef.h>
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
/* Answers parse_row() compares by address. */
static const char why_few[] = "too few fields";
static const char why_many[] = "too many fields";

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
		return why_few;
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
			out->failed_step = steps[i].step;
			c->p += steps[i].len;
			return NULL;
		}
	}
	return "bad failed_step";
}

/* A field of a column the reader does not know: passed over. */
static const char *skip_field(struct cursor *c)
{
	char scratch[8];
	int truncated;

	return parse_text(c, scratch, sizeof(scratch), &truncated);
}

/* ---- layouts: which column holds what ---- */

enum col_kind { COL_SKIP = 0, COL_TIMESTAMP, COL_SITE, COL_RESULT, COL_STEP, COL_DETAIL,
		COL_NUMBER, COL_END };

/* The numeric columns, by name, and where each goes in a record. */
static const struct { const char *name; size_t off; } numbers[] = {
	{ "external_rtt_ms", offsetof(struct csv_record, external_rtt_ms) },
	{ "external_loss_pct", offsetof(struct csv_record, external_loss_pct) },
	{ "login_ms", offsetof(struct csv_record, login_ms) },
	{ "internal_rtt_ms", offsetof(struct csv_record, internal_rtt_ms) },
	{ "internal_loss_pct", offsetof(struct csv_record, internal_loss_pct) },
	{ "teardown_ms", offsetof(struct csv_record, teardown_ms) },
	{ "internal_first_ms", offsetof(struct csv_record, internal_first_ms) },
	{ "login_connect_ms", offsetof(struct csv_record, login_phase_ms[VPN_PHASE_CONNECT]) },
	{ "login_tls_ms", offsetof(struct csv_record, login_phase_ms[VPN_PHASE_TLS]) },
	{ "login_auth_ms", offsetof(struct csv_record, login_phase_ms[VPN_PHASE_AUTH]) },
	{ "login_tunnel_ms", offsetof(struct csv_record, login_phase_ms[VPN_PHASE_TUNNEL]) },
};
#define NNUMBERS (sizeof(numbers) / sizeof(numbers[0]))
_Static_assert(VPN_PHASES == 4, "one login_*_ms column per phase");

struct column {
	unsigned char kind;     /* enum col_kind */
	unsigned char num;      /* COL_NUMBER: index in numbers[] */
};

/* The columns of a file, in order; from its header or a known layout. */
struct layout {
	size_t n;
	struct column col[CSV_COLUMNS_MAX];
};

/* What epmon writes (results_header), oldest columns first: a file of an
 * older epmon has the first OLD_COLUMNS or PHASE_COLUMNS of them. */
static const struct column written[] = {
	{ COL_TIMESTAMP, 0 }, { COL_SITE, 0 }, { COL_RESULT, 0 }, { COL_STEP, 0 },
	{ COL_NUMBER, 0 }, { COL_NUMBER, 1 }, { COL_NUMBER, 2 }, { COL_NUMBER, 3 },
	{ COL_NUMBER, 4 }, { COL_NUMBER, 5 }, { COL_DETAIL, 0 },
	{ COL_NUMBER, 6 }, { COL_NUMBER, 7 }, { COL_NUMBER, 8 }, { COL_NUMBER, 9 },
	{ COL_NUMBER, 10 }, { COL_END, 0 },
};
#define WRITTEN_COLUMNS (sizeof(written) / sizeof(written[0]))
#define OLD_COLUMNS 11     /* before the login phases */
#define PHASE_COLUMNS 16   /* before the end mark */

static void written_layout(struct layout *l, size_t n)
{
	l->n = n;
	memcpy(l->col, written, n * sizeof(written[0]));
}

/* The column a header name stands for; COL_SKIP when unknown. */
static struct column column_named(const char *name)
{
	static const struct { const char *name; enum col_kind kind; } words[] = {
		{ "timestamp", COL_TIMESTAMP }, { "site", COL_SITE }, { "result", COL_RESULT },
		{ "failed_step", COL_STEP }, { "detail", COL_DETAIL }, { "end", COL_END },
	};

	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (!strcmp(name, words[i].name))
			return (struct column){ (unsigned char)words[i].kind, 0 };
	for (size_t i = 0; i < NNUMBERS; i++)
		if (!strcmp(name, numbers[i].name))
			return (struct column){ COL_NUMBER, (unsigned char)i };
	return (struct column){ COL_SKIP, 0 };
}

/* A header line: its first field names a column (a row's is a timestamp). */
static int is_header(const char *line, size_t len)
{
	char first[24];
	size_t n = 0;

	if (len > 0 && (unsigned)(line[0] - '0') <= 9)
		return 0;   /* the usual case: a row's timestamp */
	while (n < len && n < sizeof(first) - 1 && line[n] != ',' && line[n] != '\r') {
		first[n] = line[n];
		n++;
	}
	first[n] = '\0';
	return n > 0 && (n == len || line[n] == ',' || line[n] == '\r') &&
	       column_named(first).kind != COL_SKIP;
}

/* The layout a header line gives; -1 when it lacks timestamp, site or
 * result, or has too many columns (the file's rows then go by count). */
static int header_layout(const char *line, size_t len, struct layout *l)
{
	struct cursor c = { line, line + len };
	int seen = 0;
	char name[64];

	if (len > 0 && line[len - 1] == '\r')
		c.end--;
	l->n = 0;
	for (;;) {
		int truncated;
		struct column col;
		if (l->n == CSV_COLUMNS_MAX ||
		    parse_text(&c, name, sizeof(name), &truncated))
			return -1;
		col = truncated ? (struct column){ COL_SKIP, 0 } : column_named(name);
		if (col.kind == COL_TIMESTAMP || col.kind == COL_SITE || col.kind == COL_RESULT)
			seen |= 1 << col.kind;
		l->col[l->n++] = col;
		if (c.p >= c.end)
			break;
		c.p++;   /* the ',' */
	}
	return seen == (1 << COL_TIMESTAMP | 1 << COL_SITE | 1 << COL_RESULT) ? 0 : -1;
}

/* Fields in [p, end), quotes honoured. */
static size_t count_fields(const char *p, const char *end)
{
	size_t n = 1;
	int quoted = 0;

	for (; p < end; p++) {
		if (*p == '"')
			quoted = !quoted;
		else if (*p == ',' && !quoted)
			n++;
	}
	return n;
}

static void record_clear(struct csv_record *out)
{
	out->failed_step = STEP_NONE;
	out->detail[0] = '\0';
	for (size_t i = 0; i < NNUMBERS; i++)
		*(double *)((char *)out + numbers[i].off) = NAN;
}

/* The `end` field: "." in every row epmon writes now. */
static const char *parse_end(struct cursor *c)
{
	if (!field_is(c, ".", 1))
		return "partial row (no end mark)";
	c->p++;
	return NULL;
}

/* The last field [p, end) of a row of a layout without `end` (an older
 * epmon's). Such a row cannot say it is whole, but every epmon quoted the
 * detail and wrote each number with its decimals: an empty unquoted detail
 * or a number without a digit after its '.', last, is a row cut short. */
static const char *old_last_field(enum col_kind kind, const char *p, const char *end)
{
	if (kind == COL_DETAIL && p == end)
		return "partial row (cut in its last field)";
	if (kind == COL_NUMBER && p < end &&
	    (!memchr(p, '.', (size_t)(end - p)) || (unsigned)(end[-1] - '0') > 9))
		return "partial row (cut in its last field)";
	return NULL;
}

/* One row in layout l: NULL (out filled), or why it is damaged. */
static const char *parse_in(const struct layout *l, const char *line, const char *end,
			    struct csv_record *out)
{
	struct cursor c = { line, end };
	const char *why = NULL, *last = line;
	int truncated;

	record_clear(out);
	for (size_t i = 0; i < l->n; i++) {
		if (i > 0 && (why = next_field(&c)))
			return why;
		last = c.p;
		switch (l->col[i].kind) {
		case COL_TIMESTAMP:
			why = parse_timestamp(&c, out);
			break;
		case COL_SITE:
			if ((why = parse_text(&c, out->site, sizeof(out->site), &truncated)))
				break;
			if (truncated)
				why = "site name too long";
			else if (out->site[0] == '\0')
				why = "empty site name";
			break;
		case COL_RESULT:
			why = parse_result(&c, out);
			break;
		case COL_STEP:
			why = parse_step(&c, out);
			break;
		case COL_NUMBER:
			why = parse_number(&c, (double *)((char *)out + numbers[l->col[i].num].off));
			break;
		case COL_DETAIL:
			/* a long detail is cut, not a reason to lose the row */
			why = parse_text(&c, out->detail, sizeof(out->detail), &truncated);
			break;
		case COL_END:
			why = parse_end(&c);
			break;
		default:
			why = skip_field(&c);
			break;
		}
		if (why)
			return why;
	}
	if (c.p != c.end)
		return why_many;
	if (l->n > 0 && l->col[l->n - 1].kind != COL_END &&
	    (why = old_last_field(l->col[l->n - 1].kind, last, c.end)))
		return why;
	/* an OK row has no failed step, whatever the file says */
	if (out->ok)
		out->failed_step = STEP_NONE;
	return NULL;
}

/* NULL when the line is a row (out filled), why_header, or why it is
 * damaged. l: the file's layout (from its header), NULL: none, the row
 * goes by its field count. A row with more fields than its header that
 * fits a layout epmon has written (a day's file begun by an older epmon,
 * continued by a newer one) is read by that one; never one with fewer:
 * that is how a row cut short looks. unterminated: the file's last line,
 * without '\n'; only a row with its end mark is whole without it. */
static const char *parse_row(const struct layout *l, const char *line, size_t len,
			     int unterminated, struct csv_record *out)
{
	const char *end = line + len, *why;
	struct layout by_count;
	size_t n;

	/* a NUL would end a field early: 9\0000.5 read as 9 */
	if (memchr(line, '\0', len))
		return "NUL byte";
	if (len > 0 && line[len - 1] == '\r')
		end--;
	if (is_header(line, len))
		return why_header;
	if (!l) {
		written_layout(&by_count, WRITTEN_COLUMNS);
		l = &by_count;
	}
	why = parse_in(l, line, end, out);
	if (why == why_few || why == why_many) {
		n = count_fields(line, end);
		if ((n == OLD_COLUMNS || n == PHASE_COLUMNS || n == WRITTEN_COLUMNS) &&
		    n != l->n && (l == &by_count || n > l->n)) {
			written_layout(&by_count, n);
			l = &by_count;
			why = parse_in(l, line, end, out);
		}
	}
	if (!why && unterminated && l->col[l->n - 1].kind != COL_END)
		why = "partial row (no end of line)";
	return why;
}

int csv_parse_row(const char *line, size_t len, struct csv_record *out)
{
	return parse_row(NULL, line, len, 0, out) ? -1 : 0;
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
	struct layout layout;   /* of the file being read, from its header */
	int has_layout;
};

static void bad_line(struct scan *s, const char *path, unsigned long lineno, const char *why)
{
	if (s->bad)
		s->bad(path, lineno, why, s->arg);
}

static void one_line(struct scan *s, const char *path, unsigned long lineno,
		     const char *line, size_t len, int unterminated)
{
	const char *why;

	if (len == 0 || (len == 1 && line[0] == '\r'))
		return; /* blank: nothing lost */
	why = parse_row(s->has_layout ? &s->layout : NULL, line, len, unterminated, &s->rec);
	if (why == why_header) {
		/* a header again further down (results.c restates it after a cut
		 * row or an older epmon's rows) sets the layout of the rows after it */
		s->has_layout = header_layout(line, len, &s->layout) == 0;
		if (!s->has_layout)
			bad_line(s, path, lineno, "header without timestamp, site and result "
				 "(rows read by their field count)");
		return;
	}
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
 * skipped up to its end; a last line without '\n' is a row only when its
 * end mark says it is whole (a row being written, or cut by a crash). */
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
	s->has_layout = 0;
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
				one_line(s, path, lineno, s->buf, have, 1);
			break;
		}
		p = s->buf;
		end = s->buf + have + n;
		while (!s->stopped && (nl = memchr(p, '\n', (size_t)(end - p))) != NULL) {
			if (!skipping && (size_t)(nl - p) >= LINE_MAX_LEN)
				bad_line(s, path, lineno, "line too long");
			else if (!skipping)
				one_line(s, path, lineno, p, (size_t)(nl - p), 0);
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
