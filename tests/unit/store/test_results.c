/* SPDX-License-Identifier: MIT */
/* Unit tests of the results CSV writer: row format, header, daily rotation,
 * failure episodes with the pending queue, and (when root may mount a tmpfs
 * in a private mount namespace) real ENOSPC / short writes / EROFS. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <math.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "store/csvread.h"
#include "store/results.h"

#define NFIELDS 17

/* ---- helpers ---- */

static void set_tz(const char *tz)
{
	setenv("TZ", tz, 1);
	tzset();
}

/* Epoch seconds of a UTC date and time. */
static time_t utc(int y, int mo, int d, int h, int mi, int s)
{
	struct tm tm = { .tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d,
			 .tm_hour = h, .tm_min = mi, .tm_sec = s };
	return timegm(&tm);
}

static struct site_result ok_result(const char *site, time_t sec, long nsec)
{
	struct site_result r;

	memset(&r, 0, sizeof(r));
	snprintf(r.site, sizeof(r.site), "%s", site);
	r.started.tv_sec = sec;
	r.started.tv_nsec = nsec;
	r.ok = 1;
	r.external_ran = 1;
	r.external = (struct ping_stats){ .sent = 3, .received = 3, .avg_ms = 12.3456 };
	r.login_ran = 1;
	r.login_ms = 1234.56;
	r.internal_ran = 1;
	r.internal = (struct ping_stats){ .sent = 3, .received = 3, .avg_ms = 25.0 };
	r.teardown_ran = 1;
	r.teardown_ms = 321.04;
	return r;
}

static char *make_tmpdir(void)
{
	char *d = strdup("/tmp/epmon-results.XXXXXX");

	assert_non_null(d);
	assert_non_null(mkdtemp(d));
	return d;
}

static int rm_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st;
	(void)type;
	(void)ftw;
	return remove(path);
}

static void rm_tree(char *dir)
{
	nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	free(dir);
}

/* Whole file, NUL-terminated; NULL if it does not exist. */
static char *slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc((size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "wb");

	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
}

static char *day_path(const char *dir, const char *date)
{
	char *p;

	assert_true(asprintf(&p, "%s/results-%s.csv", dir, date) > 0);
	return p;
}

static char *row_of(const struct site_result *res)
{
	char *buf = malloc(RESULTS_ROW_MAX);

	assert_non_null(buf);
	assert_true(results_format_row(res, buf, RESULTS_ROW_MAX) > 0);
	return buf;
}

static void assert_file(const char *dir, const char *date, const char *expected)
{
	char *path = day_path(dir, date);
	char *text = slurp(path);

	assert_non_null(text);
	assert_string_equal(text, expected);
	free(text);
	free(path);
}

/* Splits one RFC 4180 line into fields (no embedded newlines: the writer
 * never produces any). Returns the field count. */
static int csv_split(const char *line, char fields[][1100], int max)
{
	int n = 0;
	const char *p = line;

	for (;;) {
		size_t k = 0;
		assert_true(n < max);
		if (*p == '"') {
			p++;
			for (;;) {
				assert_true(*p != '\0');
				if (*p == '"' && p[1] == '"') {
					fields[n][k++] = '"';
					p += 2;
				} else if (*p == '"') {
					p++;
					break;
				} else {
					fields[n][k++] = *p++;
				}
			}
		} else {
			while (*p && *p != ',' && *p != '\n')
				fields[n][k++] = *p++;
		}
		fields[n++][k] = '\0';
		if (*p == ',') {
			p++;
			continue;
		}
		assert_true(*p == '\n' && p[1] == '\0');
		return n;
	}
}

/* stderr captured into a file while the writer logs. */
struct capture {
	int saved;
	char path[64];
};

static void capture_start(struct capture *c)
{
	int fd;

	snprintf(c->path, sizeof(c->path), "/tmp/epmon-results-log.XXXXXX");
	fd = mkstemp(c->path);
	assert_true(fd >= 0);
	fflush(stderr);
	c->saved = dup(STDERR_FILENO);
	assert_true(c->saved >= 0);
	assert_true(dup2(fd, STDERR_FILENO) >= 0);
	close(fd);
}

static char *capture_stop(struct capture *c, int show)
{
	char *text;

	fflush(stderr);
	dup2(c->saved, STDERR_FILENO);
	close(c->saved);
	text = slurp(c->path);
	unlink(c->path);
	assert_non_null(text);
	if (show)
		printf("%s", text); /* shown in the test output, for the record */
	return text;
}

static char *capture_end(struct capture *c)
{
	return capture_stop(c, 1);
}

static int count_of(const char *text, const char *needle)
{
	int n = 0;

	for (const char *p = text; (p = strstr(p, needle)) != NULL; p += strlen(needle))
		n++;
	return n;
}

/* What a reader (csv_scan, as `epmon report` reads) makes of a directory. */
struct read_back {
	int rows;
	int of_site;          /* rows of `site` */
	const char *site;
	int bad;
	char first_bad[256];  /* "LINE: why" */
};

static int rb_row(const struct csv_record *rec, void *arg)
{
	struct read_back *rb = arg;

	rb->rows++;
	rb->of_site += rb->site && !strcmp(rec->site, rb->site);
	return 0;
}

static void rb_bad(const char *path, unsigned long line, const char *why, void *arg)
{
	struct read_back *rb = arg;

	(void)path;
	if (rb->bad++ == 0)
		snprintf(rb->first_bad, sizeof(rb->first_bad), "%lu: %s", line, why);
}

static struct read_back read_back(const char *dir, const char *site)
{
	struct read_back rb = { .site = site };

	assert_int_equal(csv_scan(dir, 0, utc(2100, 1, 1, 0, 0, 0), rb_row, rb_bad, &rb), 0);
	return rb;
}

/* ---- formatting ---- */

static void test_step_names(void **state)
{
	assert_string_equal(site_step_name(STEP_NONE), "");
	assert_string_equal(site_step_name(STEP_EXTERNAL_PING), "external_ping");
	assert_string_equal(site_step_name(STEP_VPN_LOGIN), "vpn_login");
	assert_string_equal(site_step_name(STEP_INTERNAL_PING), "internal_ping");
	assert_string_equal(site_step_name(STEP_TEARDOWN), "teardown");
	assert_string_equal(site_step_name((enum site_step)42), "unknown");
}

static void test_header(void **state)
{
	assert_string_equal(results_header,
			    "timestamp,site,result,failed_step,external_rtt_ms,external_loss_pct,"
			    "login_ms,internal_rtt_ms,internal_loss_pct,teardown_ms,detail,"
			    "internal_first_ms,login_connect_ms,login_tls_ms,login_auth_ms,"
			    "login_tunnel_ms,end\n");
}

static void test_format_ok_row(void **state)
{
	struct site_result res;
	char buf[RESULTS_ROW_MAX], f[NFIELDS + 1][1100];
	int n;

	set_tz("Europe/Paris");
	res = ok_result("paris-gw", utc(2026, 11, 25, 15, 38, 12), 345999999);
	n = results_format_row(&res, buf, sizeof(buf));
	assert_string_equal(buf, "2026-11-25T16:38:12.345+01:00,paris-gw,OK,,12.346,0.0,"
			    "1234.6,25.000,0.0,321.0,\"\",,,,,,.\n");
	assert_int_equal(n, (int)strlen(buf));

	assert_int_equal(csv_split(buf, f, NFIELDS + 1), NFIELDS);
	assert_string_equal(f[0], "2026-11-25T16:38:12.345+01:00"); /* ms truncated */
	assert_string_equal(f[1], "paris-gw");
	assert_string_equal(f[2], "OK");
	assert_string_equal(f[3], "");
	assert_string_equal(f[4], "12.346");
	assert_string_equal(f[5], "0.0");
	assert_string_equal(f[6], "1234.6");
	assert_string_equal(f[7], "25.000");
	assert_string_equal(f[8], "0.0");
	assert_string_equal(f[9], "321.0");
	assert_string_equal(f[10], "");
	assert_string_equal(f[16], ".");   /* the end mark */

	/* ok wins over a stray failed_step */
	res.failed_step = STEP_TEARDOWN;
	results_format_row(&res, buf, sizeof(buf));
	assert_int_equal(csv_split(buf, f, NFIELDS + 1), NFIELDS);
	assert_string_equal(f[3], "");
}

static void test_format_failed_external(void **state)
{
	struct site_result res;
	char buf[RESULTS_ROW_MAX];

	set_tz("Europe/Paris");
	memset(&res, 0, sizeof(res));
	strcpy(res.site, "lyon");
	res.started.tv_sec = utc(2026, 7, 1, 10, 0, 0);
	res.started.tv_nsec = 7000000;
	res.failed_step = STEP_EXTERNAL_PING;
	res.external_ran = 1;
	res.external = (struct ping_stats){ .sent = 3, .received = 0, .loss_pct = 100.0 };
	strcpy(res.detail, "no reply from 192.0.2.1 in 2 s");
	results_format_row(&res, buf, sizeof(buf));
	assert_string_equal(buf, "2026-07-01T12:00:00.007+02:00,lyon,FAIL,external_ping,"
			    ",100.0,,,,,\"no reply from 192.0.2.1 in 2 s\",,,,,,.\n");
}

static void test_format_internal_no_reply(void **state)
{
	struct site_result res;
	char buf[RESULTS_ROW_MAX];

	set_tz("UTC");
	res = ok_result("nice", utc(2026, 1, 2, 3, 4, 5), 0);
	res.ok = 0;
	res.failed_step = STEP_INTERNAL_PING;
	res.external = (struct ping_stats){ .sent = 4, .received = 3, .loss_pct = 25.0,
					    .avg_ms = 0.0004 };
	res.internal = (struct ping_stats){ .sent = 3, .received = 0, .loss_pct = 100.0,
					    .avg_ms = 99.0 };
	results_format_row(&res, buf, sizeof(buf));
	assert_string_equal(buf, "2026-01-02T03:04:05.000+00:00,nice,FAIL,internal_ping,"
			    "0.000,25.0,1234.6,,100.0,321.0,\"\",,,,,,.\n");

	/* login failed: later steps not run, teardown ran */
	res.failed_step = STEP_VPN_LOGIN;
	res.login_ms = 30000.0;
	res.internal_ran = 0;
	strcpy(res.detail, "login timed out");
	results_format_row(&res, buf, sizeof(buf));
	assert_string_equal(buf, "2026-01-02T03:04:05.000+00:00,nice,FAIL,vpn_login,"
			    "0.000,25.0,30000.0,,,321.0,\"login timed out\",,,,,,.\n");
}

static void test_format_quoting(void **state)
{
	struct site_result res;
	char buf[RESULTS_ROW_MAX], f[NFIELDS + 1][1100];

	set_tz("UTC");
	res = ok_result("a,b", 0, 0);
	strcpy(res.detail, "x, \"y\"\nz\r\nend");
	results_format_row(&res, buf, sizeof(buf));
	assert_non_null(strstr(buf, ",\"a,b\",OK,"));
	assert_non_null(strstr(buf, ",\"x, \"\"y\"\" z  end\",,,,,,.\n"));
	assert_ptr_equal(strchr(buf, '\n'), buf + strlen(buf) - 1); /* one line */
	assert_int_equal(csv_split(buf, f, NFIELDS + 1), NFIELDS);
	assert_string_equal(f[1], "a,b");
	assert_string_equal(f[10], "x, \"y\" z  end");

	strcpy(res.site, "q\"s");
	res.detail[0] = '\0';
	results_format_row(&res, buf, sizeof(buf));
	assert_non_null(strstr(buf, ",\"q\"\"s\",OK,"));

	/* unterminated strings stop at the array's end */
	memset(res.site, 's', sizeof(res.site));
	memset(res.detail, '"', sizeof(res.detail));
	assert_true(results_format_row(&res, buf, sizeof(buf)) > 0);
	assert_int_equal(csv_split(buf, f, NFIELDS + 1), NFIELDS);
	assert_int_equal(strlen(f[1]), sizeof(res.site));
	assert_int_equal(strlen(f[10]), sizeof(res.detail));
}

static void test_format_odd_numbers(void **state)
{
	struct site_result res;
	char buf[RESULTS_ROW_MAX];

	set_tz("UTC");
	res = ok_result("s", 0, 0);
	res.external.avg_ms = NAN;
	res.login_ms = INFINITY;
	res.internal.avg_ms = 1e300;
	res.teardown_ms = 0.05;
	results_format_row(&res, buf, sizeof(buf));
	assert_string_equal(buf, "1970-01-01T00:00:00.000+00:00,s,OK,,,0.0,,,0.0,0.1,\"\",,,,,,.\n");
}

/* The columns after detail: the first echo through the tunnel (3 decimals)
 * and the login phases (0.1 ms), each empty when unknown. */
static void test_format_phases_and_first_echo(void **state)
{
	struct site_result res;
	char buf[RESULTS_ROW_MAX], f[NFIELDS + 1][1100];

	set_tz("UTC");
	res = ok_result("s", 0, 0);
	res.internal_first_replied = 1;
	res.internal_first_ms = 24.56789;
	res.login_phases = 1u << VPN_PHASE_CONNECT | 1u << VPN_PHASE_TLS | 1u << VPN_PHASE_TUNNEL;
	res.login_phase_ms[VPN_PHASE_CONNECT] = 8.04;
	res.login_phase_ms[VPN_PHASE_TLS] = 15.76;
	res.login_phase_ms[VPN_PHASE_AUTH] = 99.0;     /* not known: not written */
	res.login_phase_ms[VPN_PHASE_TUNNEL] = 3.36;
	results_format_row(&res, buf, sizeof(buf));
	assert_string_equal(buf, "1970-01-01T00:00:00.000+00:00,s,OK,,12.346,0.0,1234.6,"
			    "25.000,0.0,321.0,\"\",24.568,8.0,15.8,,3.4,.\n");
	assert_int_equal(csv_split(buf, f, NFIELDS + 1), NFIELDS);
	assert_string_equal(f[11], "24.568");
	assert_string_equal(f[15], "3.4");

	/* a login that failed in auth keeps the phases it got through; no echo */
	res.ok = 0;
	res.failed_step = STEP_VPN_LOGIN;
	res.login_ran = 0;
	res.internal_ran = 0;
	res.internal_first_replied = 0;
	res.login_phases = 1u << VPN_PHASE_CONNECT | 1u << VPN_PHASE_TLS;
	strcpy(res.detail, "failed in auth after 41 ms: bad credentials");
	results_format_row(&res, buf, sizeof(buf));
	assert_string_equal(buf, "1970-01-01T00:00:00.000+00:00,s,FAIL,vpn_login,12.346,0.0,,"
			    ",,321.0,\"failed in auth after 41 ms: bad credentials\",,8.0,15.8,,,.\n");
}

static void test_format_buffer_size(void **state)
{
	struct site_result res;
	char buf[RESULTS_ROW_MAX];
	int n;

	set_tz("UTC");
	res = ok_result("s", 0, 0);
	n = results_format_row(&res, buf, sizeof(buf));
	assert_true(n > 0);
	assert_int_equal(results_format_row(&res, buf, (size_t)n + 1), n);
	assert_int_equal(results_format_row(&res, buf, (size_t)n), -1);
	assert_int_equal(results_format_row(&res, buf, 10), -1);
	assert_int_equal(results_format_row(&res, buf, 0), -1);

	/* the worst case fits RESULTS_ROW_MAX */
	memset(res.site, '"', sizeof(res.site));
	memset(res.detail, '"', sizeof(res.detail));
	res.started.tv_sec = (time_t)1 << 40;
	res.external.avg_ms = -9e11;
	res.login_ms = res.internal.avg_ms = res.teardown_ms = 9e11;
	res.external.loss_pct = res.internal.loss_pct = -9e11;
	n = results_format_row(&res, buf, sizeof(buf));
	assert_true(n > 0 && n < 2000);
}

static void test_timestamp_offsets(void **state)
{
	struct site_result res = ok_result("s", 0, 0);
	char buf[RESULTS_ROW_MAX];

	set_tz("Europe/Paris");
	/* spring forward on 2026-03-29 at 02:00 CET */
	res.started.tv_sec = utc(2026, 3, 29, 0, 59, 59);
	res.started.tv_nsec = 999999999;
	results_format_row(&res, buf, sizeof(buf));
	assert_memory_equal(buf, "2026-03-29T01:59:59.999+01:00,", 30);
	res.started.tv_sec = utc(2026, 3, 29, 1, 0, 0);
	res.started.tv_nsec = 0;
	results_format_row(&res, buf, sizeof(buf));
	assert_memory_equal(buf, "2026-03-29T03:00:00.000+02:00,", 30);
	/* fall back on 2026-10-25: 02:30 happens twice */
	res.started.tv_sec = utc(2026, 10, 25, 0, 30, 0);
	results_format_row(&res, buf, sizeof(buf));
	assert_memory_equal(buf, "2026-10-25T02:30:00.000+02:00,", 30);
	res.started.tv_sec = utc(2026, 10, 25, 1, 30, 0);
	results_format_row(&res, buf, sizeof(buf));
	assert_memory_equal(buf, "2026-10-25T02:30:00.000+01:00,", 30);

	set_tz("America/St_Johns"); /* negative, with minutes */
	res.started.tv_sec = utc(2026, 1, 15, 12, 0, 0);
	results_format_row(&res, buf, sizeof(buf));
	assert_memory_equal(buf, "2026-01-15T08:30:00.000-03:30,", 30);
	set_tz("Asia/Kolkata");
	results_format_row(&res, buf, sizeof(buf));
	assert_memory_equal(buf, "2026-01-15T17:30:00.000+05:30,", 30);
}

/* ---- files ---- */

static void test_file_path(void **state)
{
	struct results *r;
	char buf[256];

	set_tz("Europe/Paris");
	r = results_new("/var/lib/epmon//");
	assert_non_null(r);
	results_file_path(r, utc(2026, 11, 25, 22, 59, 59), buf, sizeof(buf));
	assert_string_equal(buf, "/var/lib/epmon/results-2026-11-25.csv");
	results_file_path(r, utc(2026, 11, 25, 23, 0, 0), buf, sizeof(buf));
	assert_string_equal(buf, "/var/lib/epmon/results-2026-11-26.csv");
	results_free(r);

	r = results_new("");
	assert_non_null(r);
	results_file_path(r, utc(2026, 1, 1, 12, 0, 0), buf, sizeof(buf));
	assert_string_equal(buf, "./results-2026-01-01.csv");
	results_free(r);
}

static void test_header_once(void **state)
{
	char *dir = make_tmpdir();
	struct results *r = results_new(dir);
	struct site_result a, b;
	char *ra, *rb, *expected, *path;
	struct stat st;

	set_tz("Europe/Paris");
	a = ok_result("alpha", utc(2026, 11, 25, 10, 0, 0), 1000000);
	b = ok_result("beta", utc(2026, 11, 25, 10, 0, 5), 2000000);
	ra = row_of(&a);
	rb = row_of(&b);
	assert_int_equal(results_write(r, &a), 0);
	assert_int_equal(results_write(r, &b), 0);
	assert_int_equal(results_pending(r), 0);
	assert_true(asprintf(&expected, "%s%s%s", results_header, ra, rb) > 0);
	assert_file(dir, "2026-11-25", expected);

	path = day_path(dir, "2026-11-25");
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0644 & ~022);

	results_free(r);
	free(path);
	free(expected);
	free(ra);
	free(rb);
	rm_tree(dir);
}

/* A file the writer did not begin keeps its bytes; the first row appended
 * states the current header before it (its last line is no row of this
 * layout), the next one does not. */
static void test_existing_file_kept(void **state)
{
	char *dir = make_tmpdir();
	char *path = day_path(dir, "2026-11-25");
	const char *old = "hand,written\n\"quoted\r\nstuff\"\n\x01\xff binary\n";
	struct site_result a;
	struct results *r;
	char *ra, *expected;

	set_tz("Europe/Paris");
	write_file(path, old);
	r = results_new(dir);
	a = ok_result("alpha", utc(2026, 11, 25, 10, 0, 0), 0);
	ra = row_of(&a);
	assert_int_equal(results_write(r, &a), 0);
	assert_int_equal(results_write(r, &a), 0);
	assert_true(asprintf(&expected, "%s%s%s%s", old, results_header, ra, ra) > 0);
	assert_file(dir, "2026-11-25", expected); /* old bytes intact */

	results_free(r);
	free(expected);
	free(ra);
	free(path);
	rm_tree(dir);
}

/* A day's file begun by the epmon before the end mark (16 columns): the
 * first row appended states the current header, later ones and a later
 * epmon (a new results object) do not, and every row reads back. */
static void test_older_file_continued(void **state)
{
	static const char old[] =
		"timestamp,site,result,failed_step,external_rtt_ms,external_loss_pct,"
		"login_ms,internal_rtt_ms,internal_loss_pct,teardown_ms,detail,"
		"internal_first_ms,login_connect_ms,login_tls_ms,login_auth_ms,login_tunnel_ms\n"
		"2026-11-25T09:00:00.000+00:00,old,OK,,1.0,0.0,812.4,3.0,0.0,4.0,\"\","
		"24.1,5.0,300.2,480.1,27.1\n";
	char *dir = make_tmpdir();
	char *path = day_path(dir, "2026-11-25");
	struct site_result a;
	struct results *r;
	struct read_back got;
	char *ra, *expected;

	set_tz("UTC");
	write_file(path, old);
	a = ok_result("alpha", utc(2026, 11, 25, 10, 0, 0), 0);
	ra = row_of(&a);
	r = results_new(dir);
	assert_int_equal(results_write(r, &a), 0);
	assert_int_equal(results_write(r, &a), 0);
	results_free(r);
	r = results_new(dir);
	assert_int_equal(results_write(r, &a), 0);
	results_free(r);
	assert_true(asprintf(&expected, "%s%s%s%s%s", old, results_header, ra, ra, ra) > 0);
	assert_file(dir, "2026-11-25", expected);

	got = read_back(dir, "old");
	assert_int_equal(got.rows, 4);
	assert_int_equal(got.of_site, 1);
	assert_int_equal(got.bad, 0);

	free(expected);
	free(ra);
	free(path);
	rm_tree(dir);
}

/* A day's file left ending inside a row (an epmon killed mid-write, a power
 * cut), found by a later epmon that knows nothing of it: the next row starts
 * a line of its own, after the header again; read back, the cut row is
 * reported (file:line) and each whole row counts once. A row that missed
 * only its '\n' gets it, and nothing more. */
static void test_append_after_torn_row(void **state)
{
	char *dir = make_tmpdir();
	char *path = day_path(dir, "2026-11-25");
	struct site_result a, b;
	struct results *r;
	struct read_back got;
	char *ra, *rb, *torn, *expected;

	set_tz("UTC");
	a = ok_result("alpha", utc(2026, 11, 25, 10, 0, 0), 0);
	b = ok_result("beta", utc(2026, 11, 25, 10, 5, 0), 0);
	strcpy(b.detail, "cut in here");
	ra = row_of(&a);
	rb = row_of(&b);

	/* cut in the detail of b: a kill -9 between its bytes */
	assert_true(asprintf(&torn, "%s%s%.*s", results_header, ra,
			     (int)(strstr(rb, " here") - rb), rb) > 0);
	write_file(path, torn);
	r = results_new(dir);
	assert_int_equal(results_write(r, &b), 0);
	results_free(r);
	assert_true(asprintf(&expected, "%s\n%s%s", torn, results_header, rb) > 0);
	assert_file(dir, "2026-11-25", expected);
	got = read_back(dir, "beta");
	assert_int_equal(got.rows, 2);
	assert_int_equal(got.of_site, 1);
	assert_int_equal(got.bad, 1);
	assert_string_equal(got.first_bad, "3: unterminated quoted field");
	free(torn);
	free(expected);

	/* cut just before its '\n': the row is whole */
	assert_true(asprintf(&torn, "%s%.*s", results_header, (int)strlen(ra) - 1, ra) > 0);
	write_file(path, torn);
	got = read_back(dir, "alpha");
	assert_int_equal(got.of_site, 1);
	assert_int_equal(got.bad, 0);
	r = results_new(dir);
	assert_int_equal(results_write(r, &b), 0);
	results_free(r);
	assert_true(asprintf(&expected, "%s%s%s", results_header, ra, rb) > 0);
	assert_file(dir, "2026-11-25", expected);
	free(torn);
	free(expected);

	/* a line of NULs, as a power cut can leave: on a line of its own too */
	assert_true(asprintf(&torn, "%s%s", results_header, ra) > 0);
	write_file(path, torn);
	{
		FILE *f = fopen(path, "ab");
		assert_non_null(f);
		assert_int_equal(fwrite("\0\0\0\0", 1, 4, f), 4);
		assert_int_equal(fclose(f), 0);
	}
	r = results_new(dir);
	assert_int_equal(results_write(r, &b), 0);
	results_free(r);
	got = read_back(dir, "beta");
	assert_int_equal(got.rows, 2);
	assert_int_equal(got.of_site, 1);
	assert_int_equal(got.bad, 1);
	assert_string_equal(got.first_bad, "3: NUL byte");
	free(torn);

	free(ra);
	free(rb);
	free(path);
	rm_tree(dir);
}

/* A real short write at every byte offset of a row: RLIMIT_FSIZE makes the
 * kernel write up to the limit and return the count. Each time the row stays
 * pending (but when only its '\n' is missing: then it is whole), the next
 * flush writes it again whole on a line of its own, and a reader counts it
 * once, the cut copy reported. The file is large from the start, so the
 * limit never stops another file of this process (the captured log). */
static void test_short_write_every_offset(void **state)
{
	char *dir = make_tmpdir();
	char *path = day_path(dir, "2026-11-25");
	struct site_result a, b, c;
	struct results *r;
	struct rlimit saved, low;
	struct capture cap;
	struct read_back got;
	char *ra, *rb, *rc, *fill, *text, *log;
	size_t len, k, at, nfill = 4000;
	struct stat st;

	set_tz("UTC");
	a = ok_result("alpha", utc(2026, 11, 25, 10, 0, 0), 0);
	b = ok_result("beta", utc(2026, 11, 25, 10, 5, 0), 0);
	b.ok = 0;
	b.failed_step = STEP_INTERNAL_PING;
	strcpy(b.detail, "no reply, \"10.1.0.1\"");
	b.internal_first_replied = 1;
	b.internal_first_ms = 3.25;
	b.login_phases = 0xf;
	b.login_phase_ms[VPN_PHASE_TUNNEL] = 27.1;
	c = ok_result("gamma", utc(2026, 11, 25, 10, 10, 0), 0);
	ra = row_of(&a);
	rb = row_of(&b);
	rc = row_of(&c);
	len = strlen(rb);

	fill = malloc(strlen(results_header) + nfill * strlen(ra) + 1);
	assert_non_null(fill);
	strcpy(fill, results_header);
	at = strlen(fill);
	for (k = 0; k < nfill; k++, at += strlen(ra))
		memcpy(fill + at, ra, strlen(ra) + 1);
	write_file(path, fill);

	assert_int_equal(getrlimit(RLIMIT_FSIZE, &saved), 0);
	signal(SIGXFSZ, SIG_IGN);
	r = results_new(dir);
	capture_start(&cap);
	for (k = 0; k < len; k++) {
		int rc_write;

		assert_int_equal(stat(path, &st), 0);
		low = saved;
		low.rlim_cur = (rlim_t)st.st_size + k;
		assert_int_equal(setrlimit(RLIMIT_FSIZE, &low), 0);
		rc_write = results_write(r, &b);
		assert_int_equal(setrlimit(RLIMIT_FSIZE, &saved), 0);
		assert_int_equal(rc_write, k == len - 1 ? 0 : -1);
		assert_int_equal(results_flush(r), 0);
		assert_int_equal(results_pending(r), 0);
	}
	assert_int_equal(results_write(r, &c), 0);
	log = capture_stop(&cap, 0);
	signal(SIGXFSZ, SIG_DFL);
	results_free(r);
	/* k = 0: nothing written (EFBIG); len - 1: whole */
	assert_int_equal(count_of(log, "short write ("), (int)len - 2);
	assert_int_equal(count_of(log, "writable again"), (int)len - 1);
	free(log);

	/* the fill, b (k = 0), then each cut b, '\n', the header and b, the
	 * b that missed its '\n', which c's '\n' ends */
	text = slurp(path);
	assert_memory_equal(text, fill, strlen(fill));
	at = strlen(fill);
	assert_memory_equal(text + at, rb, len);
	at += len;
	for (k = 1; k < len - 1; k++) {
		assert_memory_equal(text + at, rb, k);
		at += k;
		assert_int_equal(text[at], '\n');
		at++;
		assert_memory_equal(text + at, results_header, strlen(results_header));
		at += strlen(results_header);
		assert_memory_equal(text + at, rb, len);
		at += len;
	}
	assert_memory_equal(text + at, rb, len);
	at += len;
	assert_string_equal(text + at, rc);
	free(text);

	got = read_back(dir, "beta");
	assert_int_equal(got.of_site, (int)len);
	assert_int_equal(got.rows, (int)(nfill + len + 1));
	assert_int_equal(got.bad, (int)len - 2);

	free(fill);
	free(ra);
	free(rb);
	free(rc);
	free(path);
	rm_tree(dir);
}

static void test_rotation_midnight(void **state)
{
	char *dir = make_tmpdir();
	struct results *r = results_new(dir);
	struct site_result a, b;
	char *ra, *rb, *ea, *eb;

	set_tz("Europe/Paris");
	/* 23:59:59.900 and 00:00:00.100 local time */
	a = ok_result("alpha", utc(2026, 11, 25, 22, 59, 59), 900000000);
	b = ok_result("beta", utc(2026, 11, 25, 23, 0, 0), 100000000);
	ra = row_of(&a);
	rb = row_of(&b);
	assert_memory_equal(ra, "2026-11-25T23:59:59.900+01:00,", 30);
	assert_memory_equal(rb, "2026-11-26T00:00:00.100+01:00,", 30);
	assert_int_equal(results_write(r, &a), 0);
	assert_int_equal(results_write(r, &b), 0);
	assert_true(asprintf(&ea, "%s%s", results_header, ra) > 0);
	assert_true(asprintf(&eb, "%s%s", results_header, rb) > 0);
	assert_file(dir, "2026-11-25", ea);
	assert_file(dir, "2026-11-26", eb);

	results_free(r);
	free(ea);
	free(eb);
	free(ra);
	free(rb);
	rm_tree(dir);
}

static void test_dst_day_one_file(void **state)
{
	char *dir = make_tmpdir();
	struct results *r = results_new(dir);
	struct site_result a, b;
	char *ra, *rb, *expected;

	set_tz("Europe/Paris");
	a = ok_result("alpha", utc(2026, 10, 25, 0, 30, 0), 0);
	b = ok_result("alpha", utc(2026, 10, 25, 1, 30, 0), 0);
	ra = row_of(&a);
	rb = row_of(&b);
	assert_memory_equal(ra, "2026-10-25T02:30:00.000+02:00,", 30);
	assert_memory_equal(rb, "2026-10-25T02:30:00.000+01:00,", 30);
	assert_int_equal(results_write(r, &a), 0);
	assert_int_equal(results_write(r, &b), 0);
	assert_true(asprintf(&expected, "%s%s%s", results_header, ra, rb) > 0);
	assert_file(dir, "2026-10-25", expected);

	results_free(r);
	free(expected);
	free(ra);
	free(rb);
	rm_tree(dir);
}

static void test_mkdir_p(void **state)
{
	char *top = make_tmpdir();
	char *dir, *path;
	struct results *r;
	struct site_result a;
	struct stat st;

	set_tz("Europe/Paris");
	umask(022);
	assert_true(asprintf(&dir, "%s/var/lib/epmon/", top) > 0);
	r = results_new(dir);
	a = ok_result("alpha", utc(2026, 11, 25, 10, 0, 0), 0);
	assert_int_equal(results_write(r, &a), 0);
	dir[strlen(dir) - 1] = '\0';
	assert_int_equal(stat(dir, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(st.st_mode & 0777, 0755);
	path = day_path(dir, "2026-11-25");
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0644);

	results_free(r);
	free(path);
	free(dir);
	rm_tree(top);
}

/* ---- failures ---- */

static void test_retry_after_failure(void **state)
{
	char *top = make_tmpdir();
	char *dir, *log, *e1, *e2;
	struct results *r;
	struct site_result res[4];
	char *rows[4];
	struct capture cap;
	int i;

	set_tz("Europe/Paris");
	assert_true(asprintf(&dir, "%s/results", top) > 0);
	write_file(dir, "a file where the directory should be\n"); /* ENOTDIR */
	r = results_new(dir);
	/* rows spanning midnight, to be flushed each to its own day */
	res[0] = ok_result("a", utc(2026, 11, 25, 22, 59, 58), 0);
	res[1] = ok_result("b", utc(2026, 11, 25, 22, 59, 59), 500000000);
	res[2] = ok_result("c", utc(2026, 11, 25, 23, 0, 1), 0);
	res[3] = ok_result("d", utc(2026, 11, 25, 23, 5, 0), 0);
	for (i = 0; i < 4; i++)
		rows[i] = row_of(&res[i]);

	capture_start(&cap);
	for (i = 0; i < 3; i++) {
		assert_int_equal(results_write(r, &res[i]), -1);
		assert_int_equal(results_pending(r), (size_t)i + 1);
	}
	assert_int_equal(results_flush(r), -1);
	log = capture_end(&cap);
	assert_int_equal(count_of(log, "cannot write results to"), 1); /* once per episode */
	assert_non_null(strstr(log, "/results/results-2026-11-25.csv: Not a directory; "
				    "1 row(s) kept in memory, will retry"));
	free(log);

	/* the directory becomes possible: created by the writer itself */
	assert_int_equal(unlink(dir), 0);
	capture_start(&cap);
	assert_int_equal(results_write(r, &res[3]), 0);
	log = capture_end(&cap);
	assert_int_equal(results_pending(r), 0);
	assert_int_equal(results_dropped(r), 0);
	assert_non_null(strstr(log, "writable again"));
	assert_null(strstr(log, "dropped"));
	free(log);

	assert_true(asprintf(&e1, "%s%s%s", results_header, rows[0], rows[1]) > 0);
	assert_true(asprintf(&e2, "%s%s%s", results_header, rows[2], rows[3]) > 0);
	assert_file(dir, "2026-11-25", e1);
	assert_file(dir, "2026-11-26", e2);

	/* a second episode is logged again */
	rm_tree(strdup(dir));
	write_file(dir, "x");
	capture_start(&cap);
	assert_int_equal(results_write(r, &res[0]), -1);
	log = capture_end(&cap);
	assert_int_equal(count_of(log, "cannot write results to"), 1);
	free(log);
	unlink(dir);
	capture_start(&cap);
	results_free(r); /* the final flush writes it */
	log = capture_end(&cap);
	free(log);
	free(e1);
	assert_true(asprintf(&e1, "%s%s", results_header, rows[0]) > 0);
	assert_file(dir, "2026-11-25", e1);

	for (i = 0; i < 4; i++)
		free(rows[i]);
	free(e1);
	free(e2);
	free(dir);
	rm_tree(top);
}

static void test_bounded_queue(void **state)
{
	char *top = make_tmpdir();
	char *dir, *log, *expected;
	struct results *r;
	struct site_result res[6];
	char *rows[6];
	struct capture cap;
	int i;

	set_tz("Europe/Paris");
	assert_true(asprintf(&dir, "%s/results", top) > 0);
	write_file(dir, "");
	r = results_new_bounded(dir, 3);
	for (i = 0; i < 6; i++) {
		char name[16];
		snprintf(name, sizeof(name), "s%d", i);
		res[i] = ok_result(name, utc(2026, 11, 25, 10, i, 0), 0);
		rows[i] = row_of(&res[i]);
	}

	capture_start(&cap);
	for (i = 0; i < 5; i++)
		assert_int_equal(results_write(r, &res[i]), -1);
	assert_int_equal(results_pending(r), 3);
	assert_int_equal(results_dropped(r), 2);
	unlink(dir);
	assert_int_equal(results_write(r, &res[5]), 0);
	log = capture_end(&cap);
	assert_int_equal(results_pending(r), 0);
	assert_int_equal(results_dropped(r), 2);
	assert_int_equal(count_of(log, "cannot write results to"), 1);
	assert_int_equal(count_of(log, "dropping the oldest"), 1);
	assert_int_equal(count_of(log, "results: 2 row(s) dropped while "), 1);
	assert_non_null(strstr(log, "results-2026-11-25.csv was not writable"));
	free(log);

	/* the oldest two are gone, the rest in order */
	assert_true(asprintf(&expected, "%s%s%s%s%s", results_header, rows[2], rows[3],
			     rows[4], rows[5]) > 0);
	assert_file(dir, "2026-11-25", expected);

	results_free(r);
	for (i = 0; i < 6; i++)
		free(rows[i]);
	free(expected);
	free(dir);
	rm_tree(top);
}

static void test_free_with_pending(void **state)
{
	char *top = make_tmpdir();
	char *dir, *log;
	struct results *r;
	struct site_result a;
	struct capture cap;

	set_tz("UTC");
	assert_true(asprintf(&dir, "%s/file", top) > 0);
	write_file(dir, "");
	r = results_new(dir);
	a = ok_result("alpha", 0, 0);
	capture_start(&cap);
	assert_int_equal(results_write(r, &a), -1);
	assert_int_equal(results_write(r, &a), -1);
	results_free(r); /* still unwritable: rows reported lost, memory freed */
	log = capture_end(&cap);
	assert_non_null(strstr(log, "results: 2 row(s) never written to"));
	results_free(NULL);

	free(log);
	free(dir);
	rm_tree(top);
}

/* Real ENOSPC, short write and EROFS on a 16 KiB tmpfs mounted in a private
 * mount namespace of this test process. Skipped when that is not allowed. */
static void test_disk_full_and_read_only(void **state)
{
	char *dir = make_tmpdir();
	char *path = day_path(dir, "2026-11-25");
	char *filler, *text, *log, *expected, *nl;
	char chunk[4096];
	struct results *r;
	struct site_result a, b;
	char *ra, *rb;
	struct capture cap;
	int fd, i, i_full, rc = 0;

	if (unshare(CLONE_NEWNS) < 0 ||
	    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
	    mount("tmpfs", dir, "tmpfs", 0, "size=16k,mode=0755") < 0) {
		free(path);
		rm_tree(dir);
		skip();
	}
	set_tz("Europe/Paris");
	r = results_new(dir);
	a = ok_result("alpha", utc(2026, 11, 25, 10, 0, 0), 0);
	assert_int_equal(results_write(r, &a), 0);

	/* fill the file system: the day's file keeps the slack of its page */
	assert_true(asprintf(&filler, "%s/filler", dir) > 0);
	fd = open(filler, O_WRONLY | O_CREAT, 0644);
	assert_true(fd >= 0);
	memset(chunk, 'f', sizeof(chunk));
	while (write(fd, chunk, sizeof(chunk)) > 0)
		;
	close(fd);

	b = ok_result("beta", utc(2026, 11, 25, 11, 0, 0), 0);
	memset(b.detail, 'd', 400);
	ra = row_of(&a);
	rb = row_of(&b);
	capture_start(&cap);
	for (i = 0; i < 20 && (rc = results_write(r, &b)) == 0; i++)
		;
	i_full = i;
	assert_int_equal(rc, -1);
	assert_int_equal(results_pending(r), 1);
	assert_int_equal(results_write(r, &b), -1); /* now a plain ENOSPC */
	assert_int_equal(results_pending(r), 2);
	log = capture_end(&cap);
	assert_int_equal(count_of(log, "cannot write results to"), 1);
	assert_non_null(strstr(log, "short write ("));
	free(log);

	/* the partial line is still unterminated: no room for its '\n' */
	text = slurp(path);
	assert_int_equal(strlen(text), 4096);
	assert_true(text[4095] != '\n');
	free(text);

	assert_int_equal(unlink(filler), 0);
	capture_start(&cap);
	assert_int_equal(results_flush(r), 0);
	log = capture_end(&cap);
	assert_non_null(strstr(log, "writable again"));
	free(log);

	/* header, a, i full b rows, a partial b, '\n', the header again, b, b */
	text = slurp(path);
	assert_memory_equal(text, results_header, strlen(results_header));
	expected = text + strlen(results_header);
	assert_memory_equal(expected, ra, strlen(ra));
	expected += strlen(ra);
	for (; i > 0; i--) {
		assert_memory_equal(expected, rb, strlen(rb));
		expected += strlen(rb);
	}
	nl = strchr(expected, '\n');
	assert_non_null(nl);
	assert_true(nl - expected < (long)strlen(rb) - 1);
	assert_memory_equal(expected, rb, (size_t)(nl - expected)); /* a prefix */
	expected = nl + 1;
	assert_memory_equal(expected, results_header, strlen(results_header));
	expected += strlen(results_header);
	assert_memory_equal(expected, rb, strlen(rb));
	expected += strlen(rb);
	assert_string_equal(expected, rb);
	free(text);
	/* read back: every whole row once, the cut one reported */
	{
		struct read_back got = read_back(dir, "beta");
		assert_int_equal(got.rows, 1 + i_full + 2);
		assert_int_equal(got.of_site, i_full + 2);
		assert_int_equal(got.bad, 1);
		char want[64];
		snprintf(want, sizeof(want), "%d: unterminated quoted field", i_full + 3);
		assert_string_equal(got.first_bad, want);   /* cut in b's long detail */
	}

	/* read-only file system: EROFS, then back */
	assert_int_equal(mount(NULL, dir, NULL, MS_REMOUNT | MS_RDONLY, NULL), 0);
	capture_start(&cap);
	assert_int_equal(results_write(r, &a), -1);
	log = capture_end(&cap);
	assert_non_null(strstr(log, "Read-only file system; 1 row(s) kept in memory"));
	free(log);
	assert_int_equal(mount(NULL, dir, NULL, MS_REMOUNT, "size=16k"), 0);
	capture_start(&cap);
	assert_int_equal(results_flush(r), 0);
	log = capture_end(&cap);
	free(log);
	text = slurp(path);
	assert_string_equal(text + strlen(text) - strlen(ra), ra);
	free(text);

	results_free(r);
	umount2(dir, MNT_DETACH);
	free(ra);
	free(rb);
	free(filler);
	free(path);
	rm_tree(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_step_names),
		cmocka_unit_test(test_header),
		cmocka_unit_test(test_format_ok_row),
		cmocka_unit_test(test_format_failed_external),
		cmocka_unit_test(test_format_internal_no_reply),
		cmocka_unit_test(test_format_quoting),
		cmocka_unit_test(test_format_odd_numbers),
		cmocka_unit_test(test_format_phases_and_first_echo),
		cmocka_unit_test(test_format_buffer_size),
		cmocka_unit_test(test_timestamp_offsets),
		cmocka_unit_test(test_file_path),
		cmocka_unit_test(test_header_once),
		cmocka_unit_test(test_existing_file_kept),
		cmocka_unit_test(test_older_file_continued),
		cmocka_unit_test(test_append_after_torn_row),
		cmocka_unit_test(test_short_write_every_offset),
		cmocka_unit_test(test_rotation_midnight),
		cmocka_unit_test(test_dst_day_one_file),
		cmocka_unit_test(test_mkdir_p),
		cmocka_unit_test(test_retry_after_failure),
		cmocka_unit_test(test_bounded_queue),
		cmocka_unit_test(test_free_with_pending),
		cmocka_unit_test(test_disk_full_and_read_only),
	};

	umask(022);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
