/* SPDX-License-Identifier: MIT */
#include "store/results.h"
#include "util/fsutil.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/log.h"
#include "util/utf8.h"

/* Readers go by the header (csvread.h). `end` is the last column of every
 * row, always ".": a row cut anywhere (a crash, a full disk) lacks it, so
 * it is a damaged line, never a row. New columns go just before `end`. */
const char results_header[] =
	"timestamp,site,result,failed_step,external_rtt_ms,external_loss_pct,"
	"login_ms,internal_rtt_ms,internal_loss_pct,teardown_ms,detail,"
	"internal_first_ms,login_connect_ms,login_tls_ms,login_auth_ms,login_tunnel_ms,"
	"end\n";

/* The end of every row: its `end` field. */
#define ROW_END ",."

/* What must go before the next row in a day's file (file_needs). */
#define NEED_NEWLINE 1   /* the file ends inside a line: a torn row */
#define NEED_HEADER 2    /* empty, or its last line is not a row of this layout */

/* A formatted row waiting for its file to become writable. */
struct pending_row {
	struct pending_row *next;
	time_t t;                /* picks the day's file */
	size_t len;
	char line[];             /* the row with its '\n', no NUL */
};

struct results {
	char *dir;
	char *path;              /* scratch: the file being written */
	char *fail_path;         /* the file of the current failure episode */
	size_t path_size;

	struct pending_row *head, *tail;
	size_t npending, max_pending;
	size_t dropped;          /* since results_new */
	size_t episode_dropped;  /* since the current failure episode began */

	int failing;             /* a failure episode is going on: logged once */
};

/* ---- formatting ---- */

/* A bounded output buffer: once something does not fit, the rest is ignored
 * and the row is reported as too long. buf[n] always has room for a NUL. */
struct out {
	char *buf;
	size_t len, n;
	int overflow;
};

static void put_c(struct out *o, char c)
{
	if (o->overflow || o->n + 1 >= o->len) {
		o->overflow = 1;
		return;
	}
	o->buf[o->n++] = c;
}

__attribute__((format(printf, 2, 3)))
static void put(struct out *o, const char *fmt, ...)
{
	va_list ap;
	int k;

	if (o->overflow)
		return;
	va_start(ap, fmt);
	k = vsnprintf(o->buf + o->n, o->len - o->n, fmt, ap);
	va_end(ap);
	if (k < 0 || (size_t)k >= o->len - o->n) {
		o->overflow = 1;
		return;
	}
	o->n += (size_t)k;
}

/* Fixed point by hand rather than "%.3f": a CSV needs '.' as the decimal
 * separator whatever LC_NUMERIC says. NaN, inf or absurd values: empty. */
static void put_fixed(struct out *o, double v, int decimals)
{
	static const long long scale[] = { 1, 10, 100, 1000 };
	const char *sign = "";
	long long n;

	if (!isfinite(v) || fabs(v) >= 1e12 || decimals < 1 || decimals > 3)
		return;
	n = llround(v * (double)scale[decimals]);
	if (n < 0) {
		sign = "-";
		n = -n;
	}
	put(o, "%s%lld.%0*lld", sign, n / scale[decimals], decimals, n % scale[decimals]);
}

/* RFC 4180 field of valid UTF-8 (a detail quotes a client's output, which
 * may hold anything): CR, LF and the other control characters become
 * spaces, so that a row stays one line, and a byte that is not UTF-8 '?'. */
static void put_field(struct out *o, const char *s, size_t max, int always_quote)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t n = strnlen(s, max), i, len;
	int quote = always_quote || memchr(s, ',', n) || memchr(s, '"', n);

	if (quote)
		put_c(o, '"');
	for (i = 0; i < n; i += len) {
		len = utf8_seq_len(u + i, n - i);
		if (len == 0) {
			put_c(o, '?');
			len = 1;
		} else if (u[i] == '"') {
			put_c(o, '"');
			put_c(o, '"');
		} else if (u[i] < 0x20 || u[i] == 0x7f ||
			   (len == 2 && u[i] == 0xc2 && u[i + 1] < 0xa0)) {
			put_c(o, ' ');  /* C0, DEL and C1 (U+0080..U+009F) controls */
		} else {
			for (size_t k = 0; k < len; k++)
				put_c(o, s[i + k]);
		}
	}
	if (quote)
		put_c(o, '"');
}

static void local_tm(time_t t, struct tm *tm)
{
	if (!localtime_r(&t, tm)) {
		/* only for times out of the range of struct tm */
		memset(tm, 0, sizeof(*tm));
		tm->tm_year = 70;
		tm->tm_mday = 1;
	}
}

static long long day_key(time_t t)
{
	struct tm tm;

	local_tm(t, &tm);
	return ((long long)tm.tm_year + 1900) * 10000 + (tm.tm_mon + 1) * 100 + tm.tm_mday;
}

/* 2026-11-25T16:38:12.345+01:00 (milliseconds truncated, not rounded, so
 * the second, and thus the day's file, is that of `started`). */
static void put_timestamp(struct out *o, const struct timespec *ts)
{
	struct tm tm;
	long ms = ts->tv_nsec / 1000000;
	long off;
	char sign = '+';

	local_tm(ts->tv_sec, &tm);
	if (ms < 0 || ms > 999)
		ms = 0;
	off = tm.tm_gmtoff;
	if (off < 0) {
		sign = '-';
		off = -off;
	}
	put(o, "%04d-%02d-%02dT%02d:%02d:%02d.%03ld%c%02ld:%02ld",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
	    tm.tm_sec, ms, sign, off / 3600, off % 3600 / 60);
}

/* rtt and loss of one ping step: both empty when it did not run, the rtt
 * alone empty when no reply came back. */
static void put_ping(struct out *o, int ran, const struct ping_stats *p)
{
	if (ran && p->received > 0)
		put_fixed(o, p->avg_ms, 3);
	put_c(o, ',');
	if (ran)
		put_fixed(o, p->loss_pct, 1);
	put_c(o, ',');
}

int results_format_row(const struct site_result *res, char *buf, size_t len)
{
	struct out o = { buf, len, 0, 0 };

	if (!buf || len == 0)
		return -1;
	put_timestamp(&o, &res->started);
	put_c(&o, ',');
	put_field(&o, res->site, sizeof(res->site), 0);
	put(&o, ",%s,%s,", res->ok ? "OK" : "FAIL",
	    res->ok ? "" : site_step_name(res->failed_step));
	put_ping(&o, res->external_ran, &res->external);
	if (res->login_ran)
		put_fixed(&o, res->login_ms, 1);
	put_c(&o, ',');
	put_ping(&o, res->internal_ran, &res->internal);
	if (res->teardown_ran)
		put_fixed(&o, res->teardown_ms, 1);
	put_c(&o, ',');
	put_field(&o, res->detail, sizeof(res->detail), 1);
	put_c(&o, ',');
	if (res->internal_first_replied)
		put_fixed(&o, res->internal_first_ms, 3);
	for (int p = 0; p < VPN_PHASES; p++) {
		put_c(&o, ',');
		if (res->login_phases & (1u << p))
			put_fixed(&o, res->login_phase_ms[p], 1);
	}
	put(&o, "%s\n", ROW_END);
	if (o.overflow) {
		buf[0] = '\0';
		return -1;
	}
	buf[o.n] = '\0';
	return (int)o.n;
}

void results_file_path(const struct results *r, time_t t, char *buf, size_t len)
{
	struct tm tm;

	local_tm(t, &tm);
	snprintf(buf, len, "%s/results-%04d-%02d-%02d.csv", r->dir,
		 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
}

/* ---- lifetime and pending queue ---- */

struct results *results_new(const char *directory)
{
	return results_new_bounded(directory, RESULTS_PENDING_MAX);
}

struct results *results_new_bounded(const char *directory, size_t max_pending)
{
	struct results *r = calloc(1, sizeof(*r));
	size_t n;

	if (!r)
		return NULL;
	if (!directory || !*directory)
		directory = ".";
	r->dir = strdup(directory);
	if (!r->dir) {
		free(r);
		return NULL;
	}
	n = strlen(r->dir);
	while (n > 1 && r->dir[n - 1] == '/')
		r->dir[--n] = '\0';
	/* "/results-" + a year of up to 11 digits + "-MM-DD.csv" */
	r->path_size = n + 40;
	r->path = calloc(1, r->path_size);
	r->fail_path = calloc(1, r->path_size);
	if (!r->path || !r->fail_path) {
		free(r->path);
		free(r->fail_path);
		free(r->dir);
		free(r);
		return NULL;
	}
	r->max_pending = max_pending ? max_pending : 1;
	return r;
}

static void pop_head(struct results *r)
{
	struct pending_row *row = r->head;

	r->head = row->next;
	if (!r->head)
		r->tail = NULL;
	r->npending--;
	free(row);
}

static void count_drop(struct results *r)
{
	r->dropped++;
	r->episode_dropped++;
}

/* Appends a row; when the queue is full the oldest row makes room. */
static int push(struct results *r, time_t t, const char *line, size_t len)
{
	struct pending_row *row;

	if (r->npending >= r->max_pending) {
		if (r->episode_dropped == 0)
			log_warn(NULL, "results: %zu row(s) pending, dropping the oldest",
				 r->npending);
		count_drop(r);
		pop_head(r);
	}
	row = malloc(sizeof(*row) + len);
	if (!row) {
		log_error(NULL, "results: out of memory, one row lost");
		count_drop(r);
		return -1;
	}
	row->next = NULL;
	row->t = t;
	row->len = len;
	memcpy(row->line, line, len);
	if (r->tail)
		r->tail->next = row;
	else
		r->head = row;
	r->tail = row;
	r->npending++;
	return 0;
}

void results_free(struct results *r)
{
	if (!r)
		return;
	if (results_flush(r) < 0)
		log_error(NULL, "results: %zu row(s) never written to %s, lost at exit",
			  r->npending + r->episode_dropped, r->fail_path);
	while (r->head)
		pop_head(r);
	free(r->path);
	free(r->fail_path);
	free(r->dir);
	free(r);
}

size_t results_pending(const struct results *r)
{
	return r->npending;
}

size_t results_dropped(const struct results *r)
{
	return r->dropped;
}

/* ---- writing ---- */

/* Read and written: file_needs() looks at the file's last bytes. */
static int open_day(const struct results *r, const char *path)
{
	const int flags = O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC;
	int fd;

	do
		fd = open(path, flags, 0644);
	while (fd < 0 && errno == EINTR);
	if (fd < 0 && errno == ENOENT) {
		if (mkdir_p(r->dir, 0755) < 0)
			return -1;
		do
			fd = open(path, flags, 0644);
		while (fd < 0 && errno == EINTR);
	}
	return fd;
}

/* NEED_* for a day's file of `size` bytes, from its last bytes: read from
 * the file rather than remembered, since a row torn by this process (a
 * short write) and one torn by an epmon killed mid-write (kill -9, a power
 * cut) look the same. A file that does not end with a row of this layout
 * gets the header again: a file begun by an older epmon then reads by the
 * current header, and a header twice is harmless. */
static int file_needs(int fd, off_t size)
{
	static const char row_end[] = ROW_END "\n";
	char tail[sizeof(row_end) - 1];
	size_t k = size < (off_t)sizeof(tail) ? (size_t)size : sizeof(tail);
	ssize_t n;

	if (size == 0)
		return NEED_HEADER;
	do
		n = pread(fd, tail, k, size - (off_t)k);
	while (n < 0 && errno == EINTR);
	if (n != (ssize_t)k)
		return NEED_NEWLINE | NEED_HEADER;  /* a blank line is harmless */
	if (k == sizeof(tail) && memcmp(tail, row_end, k) == 0)
		return 0;
	if (k >= 2 && memcmp(tail + k - 2, ROW_END, 2) == 0)
		return NEED_NEWLINE;  /* a whole row that missed only its '\n' */
	if (tail[k - 1] == '\n')
		return NEED_HEADER;
	return NEED_NEWLINE | NEED_HEADER;
}

/* Enters (or stays in) a failure episode; logs when it begins, not on
 * every retry of every cycle. */
static void fail(struct results *r, const char *path, int err, const char *why)
{
	if (!r->failing)
		log_error(NULL, "cannot write results to %s: %s; %zu row(s) kept in memory, will retry",
			  path, why ? why : strerror(err), r->npending);
	r->failing = 1;
	memcpy(r->fail_path, path, r->path_size);
}

static void recovered(struct results *r, size_t written)
{
	if (!r->failing)
		return;
	log_info(NULL, "results: %s writable again, %zu pending row(s) written",
		 r->fail_path, written);
	if (r->episode_dropped)
		log_error(NULL, "results: %zu row(s) dropped while %s was not writable",
			  r->episode_dropped, r->fail_path);
	r->failing = 0;
	r->episode_dropped = 0;
}

/* One write(2) of [ '\n' ][ header ] row, as *needs says, so that a row is
 * never split between calls. Returns 0 (*needs updated), or -1 with fail()
 * called. */
static int write_row(struct results *r, int fd, int *needs, const struct pending_row *row)
{
	char buf[1 + sizeof(results_header) + RESULTS_ROW_MAX];
	size_t len = 0;
	char why[80];
	ssize_t w;

	if (*needs & NEED_NEWLINE)
		buf[len++] = '\n';
	if (*needs & NEED_HEADER) {
		memcpy(buf + len, results_header, sizeof(results_header) - 1);
		len += sizeof(results_header) - 1;
	}
	memcpy(buf + len, row->line, row->len);
	len += row->len;

	do
		w = write(fd, buf, len);
	while (w < 0 && errno == EINTR);
	if (w == (ssize_t)len) {
		*needs = 0;
		return 0;
	}
	if (w < 0) {
		fail(r, r->path, errno, NULL);
		return -1;
	}
	/* Short write: O_APPEND put part of buf at the end of the file. A row
	 * cut before its end mark is a damaged line to every reader, and the
	 * next write starts a new line (file_needs): the row is written again,
	 * whole. Only its '\n' missing, it is whole already: not written twice. */
	if ((size_t)w == len - 1) {
		*needs = NEED_NEWLINE;
		return 0;
	}
	snprintf(why, sizeof(why), "short write (%zd of %zu bytes)", w, len);
	fail(r, r->path, 0, why);
	return -1;
}

/* Writes pending rows in order, each to its own day's file; a file stays
 * open for the consecutive rows of its day, then is closed (open/append/
 * close per batch: nothing is held open between cycles). */
int results_flush(struct results *r)
{
	int fd = -1, needs = 0;
	long long fd_day = 0;
	size_t written = 0;

	while (r->head) {
		const struct pending_row *row = r->head;
		long long day = day_key(row->t);

		if (fd < 0 || day != fd_day) {
			struct stat st;
			if (fd >= 0)
				close(fd);
			results_file_path(r, row->t, r->path, r->path_size);
			fd = open_day(r, r->path);
			if (fd < 0) {
				fail(r, r->path, errno, NULL);
				break;
			}
			if (fstat(fd, &st) < 0) {
				fail(r, r->path, errno, NULL);
				break;
			}
			fd_day = day;
			needs = file_needs(fd, st.st_size);
		}
		if (write_row(r, fd, &needs, row) < 0)
			break;
		pop_head(r);
		written++;
	}
	if (fd >= 0)
		close(fd);
	if (r->head)
		return -1;
	recovered(r, written);
	return 0;
}

int results_write(struct results *r, const struct site_result *res)
{
	char line[RESULTS_ROW_MAX];
	int n = results_format_row(res, line, sizeof(line));
	int queued;

	if (n < 0) {
		/* cannot happen with the field sizes of site_result */
		log_error(res->site, "results: row longer than %d bytes, not written",
			  RESULTS_ROW_MAX);
		count_drop(r);
		queued = -1;
	} else {
		/* a full queue may have room again: do not drop a row for nothing */
		if (r->npending >= r->max_pending)
			results_flush(r);
		queued = push(r, res->started.tv_sec, line, (size_t)n);
	}
	if (results_flush(r) < 0 || queued < 0)
		return -1;
	return 0;
}

static void row_done(void *arg, const struct site_result *r)
{
	results_write(arg, r);
}

struct cycle_sink results_sink(struct results *r)
{
	return (struct cycle_sink){ .site_done = r ? row_done : NULL, .arg = r };
}
