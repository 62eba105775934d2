/* SPDX-License-Identifier: MIT */
/* Unit tests of the results CSV reader: round trip with results_format_row,
 * damaged and partial lines, quoting, time zone offsets, and csv_scan over
 * several days with missing files, filtering and line numbers. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <ftw.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "store/csvread.h"
#include "store/results.h"

/* ---- helpers ---- */

static void set_tz(const char *tz)
{
	setenv("TZ", tz, 1);
	tzset();
}

static time_t utc(int y, int mo, int d, int h, int mi, int s)
{
	struct tm tm = { .tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d,
			 .tm_hour = h, .tm_min = mi, .tm_sec = s };
	return timegm(&tm);
}

static time_t local(int y, int mo, int d, int h, int mi, int s)
{
	struct tm tm = { .tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d,
			 .tm_hour = h, .tm_min = mi, .tm_sec = s, .tm_isdst = -1 };
	return mktime(&tm);
}

static int parse(const char *line, struct csv_record *rec)
{
	return csv_parse_row(line, strlen(line), rec);
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

/* Formats res, parses it back (without the '\n'). */
static void round_trip(const struct site_result *res, struct csv_record *rec)
{
	char buf[RESULTS_ROW_MAX];
	int n = results_format_row(res, buf, sizeof(buf));

	assert_true(n > 0);
	assert_int_equal(csv_parse_row(buf, (size_t)n - 1, rec), 0);
}

/* NAN == NAN here: both mean "empty in the file". */
static void assert_num(double got, double want)
{
	if (isnan(want)) {
		assert_true(isnan(got));
		return;
	}
	assert_false(isnan(got));
	assert_true(got == want);
}

/* ---- csv_parse_row ---- */

static void test_round_trip_ok(void **state)
{
	struct site_result res;
	struct csv_record rec;

	set_tz("Europe/Paris");
	res = ok_result("paris-gw", utc(2026, 11, 25, 15, 38, 12), 345999999);
	strcpy(res.detail, "warning: slow");
	round_trip(&res, &rec);
	assert_int_equal(rec.ts, utc(2026, 11, 25, 15, 38, 12));
	assert_int_equal(rec.ts_ms, 345);
	assert_string_equal(rec.site, "paris-gw");
	assert_int_equal(rec.ok, 1);
	assert_int_equal(rec.failed_step, STEP_NONE);
	assert_num(rec.external_rtt_ms, 12.346);
	assert_num(rec.external_loss_pct, 0.0);
	assert_num(rec.login_ms, 1234.6);
	assert_num(rec.internal_rtt_ms, 25.0);
	assert_num(rec.internal_loss_pct, 0.0);
	assert_num(rec.teardown_ms, 321.0);
	assert_string_equal(rec.detail, "warning: slow");
}

static void test_round_trip_phases(void **state)
{
	struct site_result res;
	struct csv_record rec;

	set_tz("UTC");
	res = ok_result("p", utc(2026, 1, 2, 3, 4, 5), 0);
	res.internal_first_replied = 1;
	res.internal_first_ms = 25.1234;
	res.login_phases = 1u << VPN_PHASE_CONNECT | 1u << VPN_PHASE_AUTH;
	res.login_phase_ms[VPN_PHASE_CONNECT] = 12.34;
	res.login_phase_ms[VPN_PHASE_TLS] = 77;
	res.login_phase_ms[VPN_PHASE_AUTH] = 4200.06;
	round_trip(&res, &rec);
	assert_num(rec.internal_first_ms, 25.123);
	assert_num(rec.login_phase_ms[VPN_PHASE_CONNECT], 12.3);
	assert_num(rec.login_phase_ms[VPN_PHASE_TLS], NAN);
	assert_num(rec.login_phase_ms[VPN_PHASE_AUTH], 4200.1);
	assert_num(rec.login_phase_ms[VPN_PHASE_TUNNEL], NAN);
	assert_num(rec.login_ms, 1234.6);
}

static void test_round_trip_failures(void **state)
{
	struct site_result res;
	struct csv_record rec;

	set_tz("UTC");
	memset(&res, 0, sizeof(res));
	strcpy(res.site, "lyon");
	res.started.tv_sec = utc(2026, 7, 1, 10, 0, 0);
	res.failed_step = STEP_EXTERNAL_PING;
	res.external_ran = 1;
	res.external = (struct ping_stats){ .sent = 3, .received = 0, .loss_pct = 100.0 };
	strcpy(res.detail, "no reply from 192.0.2.1 in 2 s");
	round_trip(&res, &rec);
	assert_int_equal(rec.ok, 0);
	assert_int_equal(rec.failed_step, STEP_EXTERNAL_PING);
	assert_num(rec.external_rtt_ms, NAN);
	assert_num(rec.external_loss_pct, 100.0);
	assert_num(rec.login_ms, NAN);
	assert_num(rec.internal_rtt_ms, NAN);
	assert_num(rec.internal_loss_pct, NAN);
	assert_num(rec.teardown_ms, NAN);
	assert_string_equal(rec.detail, "no reply from 192.0.2.1 in 2 s");

	res = ok_result("nice", utc(2026, 1, 2, 3, 4, 5), 0);
	res.ok = 0;
	for (int s = STEP_VPN_LOGIN; s <= STEP_TEARDOWN; s++) {
		res.failed_step = (enum site_step)s;
		round_trip(&res, &rec);
		assert_int_equal(rec.ok, 0);
		assert_int_equal(rec.failed_step, s);
		assert_int_equal(rec.ts_ms, 0);
	}
}

static void test_round_trip_quoting(void **state)
{
	struct site_result res;
	struct csv_record rec;

	set_tz("UTC");
	res = ok_result("a,b", 0, 0);
	strcpy(res.detail, "x, \"y\"\nz\r\nend \"\"");
	round_trip(&res, &rec);
	assert_string_equal(rec.site, "a,b");
	assert_string_equal(rec.detail, "x, \"y\" z  end \"\"");

	strcpy(res.site, "q\"s");
	res.detail[0] = '\0';
	round_trip(&res, &rec);
	assert_string_equal(rec.site, "q\"s");
	assert_string_equal(rec.detail, "");

	/* the longest site and detail results.c writes from NUL-terminated fields */
	memset(res.site, 's', 63);
	res.site[63] = '\0';
	memset(res.detail, '"', 511);
	res.detail[511] = '\0';
	round_trip(&res, &rec);
	assert_int_equal(strlen(rec.site), 63);
	assert_int_equal(strlen(rec.detail), 511);
	assert_int_equal(strspn(rec.detail, "\""), 511);
}

/* Random rows in several zones: every field comes back, numbers exactly as
 * strtod() reads the written text (the writer rounds to 1 or 3 decimals). */
static void test_round_trip_random(void **state)
{
	static const char *const zones[] = { "UTC", "Europe/Paris", "America/St_Johns",
					     "Asia/Kolkata", "Pacific/Chatham" };
	unsigned seed = 12345;

	for (int i = 0; i < 20000; i++) {
		struct site_result res = ok_result("s", 0, 0);
		struct csv_record rec;
		char buf[RESULTS_ROW_MAX];

		set_tz(zones[i % 5]);
		res.started.tv_sec = (time_t)(rand_r(&seed) % 2000000000);
		res.started.tv_nsec = rand_r(&seed) % 1000000000;
		res.external.avg_ms = rand_r(&seed) % 10000000 / 997.0;
		res.external.loss_pct = rand_r(&seed) % 1001 / 10.0;
		res.login_ms = rand_r(&seed) / 3.0;
		res.internal.avg_ms = rand_r(&seed) % 1000 / 7.0;
		res.teardown_ms = -(rand_r(&seed) % 100000) / 3.0;
		res.external.received = i % 7;
		res.ok = i % 3 != 0;
		res.failed_step = res.ok ? STEP_NONE : (enum site_step)(1 + i % 4);
		snprintf(res.site, sizeof(res.site), "site-%d", i);
		snprintf(res.detail, sizeof(res.detail), "d%d,\"%d\"", i, i * 7);
		assert_true(results_format_row(&res, buf, sizeof(buf)) > 0);
		round_trip(&res, &rec);
		assert_int_equal(rec.ts, res.started.tv_sec);
		assert_int_equal(rec.ts_ms, res.started.tv_nsec / 1000000);
		assert_string_equal(rec.site, res.site);
		assert_string_equal(rec.detail, res.detail);
		assert_int_equal(rec.ok, res.ok);
		assert_int_equal(rec.failed_step, res.failed_step);
		{
			char text[32];
			snprintf(text, sizeof(text), "%.3f", res.external.avg_ms);
			assert_num(rec.external_rtt_ms, res.external.received ? strtod(text, NULL) : NAN);
			snprintf(text, sizeof(text), "%.1f", res.login_ms);
			assert_num(rec.login_ms, strtod(text, NULL));
			snprintf(text, sizeof(text), "%.1f", res.teardown_ms);
			assert_num(rec.teardown_ms, strtod(text, NULL));
		}
	}
}

static void test_header_and_blank(void **state)
{
	struct csv_record rec;
	char header[256];

	snprintf(header, sizeof(header), "%s", results_header);
	header[strlen(header) - 1] = '\0';
	assert_int_equal(parse(header, &rec), -1);
	assert_int_equal(parse("", &rec), -1);
}

static void test_damaged(void **state)
{
	static const char *const bad[] = {
		/* field count */
		"2026-01-02T03:04:05.000+00:00,s,OK,,1.0,0.0,2.0,3.0,0.0,4.0",
		"2026-01-02T03:04:05.000+00:00,s,OK,,1.0,0.0,2.0,3.0,0.0,4.0,\"\",x",
		"2026-01-02T03:04:05.000+00:00,s,OK",
		"2026-01-02T03:04:05.000+00:00",
		/* timestamps */
		"2026-13-02T03:04:05.000+00:00,s,OK,,1.0,0.0,2.0,3.0,0.0,4.0,\"\"",
		"2026-01-00T03:04:05.000+00:00,s,OK,,1.0,0.0,2.0,3.0,0.0,4.0,\"\"",
		"2026-01-02T24:04:05.000+00:00,s,OK,,1.0,0.0,2.0,3.0,0.0,4.0,\"\"",
		"2026-01-02T03:04:05.000,s,OK,,1.0,0.0,2.0,3.0,0.0,4.0,\"\"",
		"2026-01-02T03:04:05.+00:00,s,OK,,1.0,0.0,2.0,3.0,0.0,4.0,\"\"",
		"2026-01-02T03:04:05.000+0000,s,OK,,1.0,0.0,2.0,3.0,0.0,4.0,\"\"",
		"2026-01-02T03:04:05.000+00:00x,s,OK,,1.0,0.0,2.0,3.0,0.0,4.0,\"\"",
		"2026-01-0aT03:04:05.000+00:00,s,OK,,1.0,0.0,2.0,3.0,0.0,4.0,\"\"",
		"xx,s,OK,,1.0,0.0,2.0,3.0,0.0,4.0,\"\"",
		",s,OK,,1.0,0.0,2.0,3.0,0.0,4.0,\"\"",
		/* site, result, step */
		"2026-01-02T03:04:05.000+00:00,,OK,,1.0,0.0,2.0,3.0,0.0,4.0,\"\"",
		"2026-01-02T03:04:05.000+00:00,\"s,OK,,1.0,0.0,2.0,3.0,0.0,4.0,",
		"2026-01-02T03:04:05.000+00:00,\"s\"x,OK,,1.0,0.0,2.0,3.0,0.0,4.0,\"\"",
		"2026-01-02T03:04:05.000+00:00,"
		"sssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssss"
		",OK,,1.0,0.0,2.0,3.0,0.0,4.0,\"\"",
		"2026-01-02T03:04:05.000+00:00,s,ok,,1.0,0.0,2.0,3.0,0.0,4.0,\"\"",
		"2026-01-02T03:04:05.000+00:00,s,OKAY,,1.0,0.0,2.0,3.0,0.0,4.0,\"\"",
		"2026-01-02T03:04:05.000+00:00,s,FAIL,login,1.0,0.0,2.0,3.0,0.0,4.0,\"\"",
		/* numbers */
		"2026-01-02T03:04:05.000+00:00,s,OK,,1.0.0,0.0,2.0,3.0,0.0,4.0,\"\"",
		"2026-01-02T03:04:05.000+00:00,s,OK,,abc,0.0,2.0,3.0,0.0,4.0,\"\"",
		"2026-01-02T03:04:05.000+00:00,s,OK,,1.0,-,2.0,3.0,0.0,4.0,\"\"",
		"2026-01-02T03:04:05.000+00:00,s,OK,,1.0,0.0,.,3.0,0.0,4.0,\"\"",
		"2026-01-02T03:04:05.000+00:00,s,OK,,1.0,0.0,2.0, 3.0,0.0,4.0,\"\"",
		"2026-01-02T03:04:05.000+00:00,s,OK,,1.0,0.0,2.0,3.0,nan,4.0,\"\"",
		"2026-01-02T03:04:05.000+00:00,s,OK,,1.0,0.0,2.0,3.0,0.0,inf,\"\"",
		"2026-01-02T03:04:05.000+00:00,s,OK,,1.0,0.0,2.0,3.0,0.0,1e999,\"\"",
		/* detail */
		"2026-01-02T03:04:05.000+00:00,s,OK,,1.0,0.0,2.0,3.0,0.0,4.0,\"unterminated",
		"2026-01-02T03:04:05.000+00:00,s,OK,,1.0,0.0,2.0,3.0,0.0,4.0,\"a\"b",
		/* a row cut by a crash */
		"2026-01-02T03:04:05.000+00:00,s,OK,,1.0,0.0,2.0,3.0,0.",
		"2026-01-02T03:0",
		/* ... without its end mark, or cut in the last field of an
		 * older layout: an unquoted empty detail, a number's decimals */
		"2026-01-02T03:04:05.000+00:00,s,OK,,1.0,0.0,2.0,3.0,0.0,4.0,\"\",,,,,,",
		"2026-01-02T03:04:05.000+00:00,s,OK,,1.0,0.0,2.0,3.0,0.0,4.0,\"\",,,,,,x",
		"2026-01-02T03:04:05.000+00:00,s,OK,,1.0,0.0,2.0,3.0,0.0,4.0,\"\",,,,,,..",
		"2026-01-02T03:04:05.000+00:00,s,OK,,1.0,0.0,2.0,3.0,0.0,4.0,\"\",,,,,,\".\"",
		"2026-01-02T03:04:05.000+00:00,s,OK,,1.0,0.0,2.0,3.0,0.0,4.0,",
		"2026-01-02T03:04:05.000+00:00,s,OK,,1.0,0.0,2.0,3.0,0.0,4.0,\"\",,,,,27.",
		"2026-01-02T03:04:05.000+00:00,s,OK,,1.0,0.0,2.0,3.0,0.0,4.0,\"\",,,,,27",
	};
	struct csv_record rec;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (parse(bad[i], &rec) != -1)
			fail_msg("accepted: %s", bad[i]);
	}
}

static void test_tolerated(void **state)
{
	struct csv_record rec;
	char line[1200];

	/* today's layout, with its end mark, and with CRLF */
	assert_int_equal(parse("2026-01-02T03:04:05.000+00:00,s,OK,,1.0,0.0,2.0,3.0,0.0,4.0,"
			       "\"\",,,,,27.1,.", &rec), 0);
	assert_num(rec.login_phase_ms[VPN_PHASE_TUNNEL], 27.1);
	assert_int_equal(parse("2026-01-02T03:04:05.000+00:00,s,OK,,1.0,0.0,2.0,3.0,0.0,4.0,"
			       "\"\",,,,,,.\r", &rec), 0);

	/* CRLF, an unquoted detail, 'Z', no fraction, a space for 'T' */
	assert_int_equal(parse("2026-01-02 03:04:05Z,s,OK,,1,0,2,3,0,4,plain text\r", &rec), 0);
	assert_int_equal(rec.ts, utc(2026, 1, 2, 3, 4, 5));
	assert_int_equal(rec.ts_ms, 0);
	assert_string_equal(rec.detail, "plain text");
	assert_num(rec.external_rtt_ms, 1.0);
	assert_num(rec.teardown_ms, 4.0);

	/* an OK row's stray failed_step is ignored; FAIL with an empty step */
	assert_int_equal(parse("2026-01-02T03:04:05.1+00:00,s,OK,teardown,,,,,,,\"\"", &rec), 0);
	assert_int_equal(rec.failed_step, STEP_NONE);
	assert_int_equal(rec.ts_ms, 100);
	assert_int_equal(parse("2026-01-02T03:04:05.123456789+00:00,s,FAIL,,,,,,,,\"\"", &rec), 0);
	assert_int_equal(rec.ok, 0);
	assert_int_equal(rec.failed_step, STEP_NONE);
	assert_int_equal(rec.ts_ms, 123);
	assert_string_equal(rec.detail, "");

	/* numbers: negative, no integer part, many digits, exponent */
	assert_int_equal(parse("2026-01-02T03:04:05Z,s,OK,,-1.5,.5,123456789012345678901,"
			       "1e3,0.000000000000000001,00012.50,\"\"", &rec), 0);
	assert_num(rec.external_rtt_ms, -1.5);
	assert_num(rec.external_loss_pct, 0.5);
	assert_num(rec.login_ms, 123456789012345678901.0);
	assert_num(rec.internal_rtt_ms, 1000.0);
	assert_num(rec.internal_loss_pct, 1e-18);
	assert_num(rec.teardown_ms, 12.5);

	/* an over-long detail is cut, the row kept */
	snprintf(line, sizeof(line), "2026-01-02T03:04:05Z,s,OK,,,,,,,,\"%0900d\"", 7);
	assert_int_equal(parse(line, &rec), 0);
	assert_int_equal(strlen(rec.detail), sizeof(rec.detail) - 1);
	snprintf(line, sizeof(line), "2026-01-02T03:04:05Z,s,OK,,,,,,,,%0900d", 7);
	assert_int_equal(parse(line, &rec), 0);
	assert_int_equal(strlen(rec.detail), sizeof(rec.detail) - 1);
}

static void test_offsets(void **state)
{
	struct csv_record rec;

	assert_int_equal(parse("2026-11-25T16:38:12.345+01:00,s,OK,,,,,,,,\"\"", &rec), 0);
	assert_int_equal(rec.ts, utc(2026, 11, 25, 15, 38, 12));
	assert_int_equal(parse("2026-11-25T16:38:12.345-03:30,s,OK,,,,,,,,\"\"", &rec), 0);
	assert_int_equal(rec.ts, utc(2026, 11, 25, 20, 8, 12));
	assert_int_equal(parse("2026-01-01T05:29:59.999+05:30,s,OK,,,,,,,,\"\"", &rec), 0);
	assert_int_equal(rec.ts, utc(2025, 12, 31, 23, 59, 59));
	assert_int_equal(rec.ts_ms, 999);
	assert_int_equal(parse("2024-02-29T00:00:00.000+00:00,s,OK,,,,,,,,\"\"", &rec), 0);
	assert_int_equal(rec.ts, utc(2024, 2, 29, 0, 0, 0));
	assert_int_equal(parse("2000-03-01T00:00:00.000+00:00,s,OK,,,,,,,,\"\"", &rec), 0);
	assert_int_equal(rec.ts, utc(2000, 3, 1, 0, 0, 0));
	assert_int_equal(parse("1970-01-01T00:00:00.000+00:00,s,OK,,,,,,,,\"\"", &rec), 0);
	assert_int_equal(rec.ts, 0);
	assert_int_equal(parse("2100-12-31T23:59:59.000+00:00,s,OK,,,,,,,,\"\"", &rec), 0);
	assert_int_equal(rec.ts, utc(2100, 12, 31, 23, 59, 59));

	/* every day of a few years, against timegm() */
	for (time_t t = utc(2023, 1, 1, 12, 0, 0); t < utc(2029, 1, 1, 0, 0, 0); t += 86400) {
		struct tm tm;
		char line[128];

		gmtime_r(&t, &tm);
		strftime(line, sizeof(line), "%Y-%m-%dT%H:%M:%S.000+00:00,s,OK,,,,,,,,\"\"", &tm);
		assert_int_equal(parse(line, &rec), 0);
		assert_int_equal(rec.ts, t);
	}
}

/* ---- csv_scan ---- */

struct seen {
	char rows[64][96];  /* "site ts" */
	int nrows;
	char bad[64][256];  /* "FILE:LINE: why" with FILE's base name */
	int nbad;
	int stop_after;     /* 0: never */
};

static int on_row(const struct csv_record *rec, void *arg)
{
	struct seen *s = arg;

	assert_true(s->nrows < 64);
	snprintf(s->rows[s->nrows++], sizeof(s->rows[0]), "%s %lld", rec->site,
		 (long long)rec->ts);
	return s->stop_after && s->nrows >= s->stop_after;
}

static void on_bad(const char *path, unsigned long line, const char *why, void *arg)
{
	struct seen *s = arg;
	const char *base = strrchr(path, '/');

	assert_true(s->nbad < 64);
	snprintf(s->bad[s->nbad++], sizeof(s->bad[0]), "%s:%lu: %s", base ? base + 1 : path,
		 line, why);
}

static void write_file(const char *dir, const char *name, const char *text)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wb");
	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
}

static int rm_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st;
	(void)type;
	(void)ftw;
	return remove(path);
}

#define H "timestamp,site,result,failed_step,external_rtt_ms,external_loss_pct," \
	  "login_ms,internal_rtt_ms,internal_loss_pct,teardown_ms,detail\n"

/* Three days in Paris, the middle one missing, damaged lines of every kind. */
static char *make_days(void)
{
	char *dir = strdup("/tmp/epmon-csvread.XXXXXX");

	assert_non_null(mkdtemp(dir));
	write_file(dir, "results-2026-03-28.csv", H
		   "2026-03-28T00:00:00.000+01:00,a,OK,,1.0,0.0,2.0,3.0,0.0,4.0,\"\"\n"
		   "2026-03-28T12:00:00.000+01:00,b,FAIL,vpn_login,1.0,0.0,30000.0,,,4.0,\"x\"\n"
		   "garbage\n"
		   "\n"
		   H
		   "2026-03-28T23:59:59.999+01:00,a,OK,,1.0,0.0,2.0,3.0,0.0,4.0,\"\"\r\n");
	write_file(dir, "results-2026-03-30.csv", H
		   "2026-03-30T00:00:01.000+02:00,a,OK,,1.0,0.0,2.0,3.0,0.0,4.0,\"\"\n"
		   "2026-03-30T00:05:01.000+02:00,a,OK,,1.0,0.0,2.0,3.0,0.0,4.0,\"\"\n"
		   "2026-03-30T00:10:01.000+02:00,a,OK,,1.0,0.0,2.0,3.0,0.0,4.0,\"cut");
	/* outside every range below; damaged, so reading it would show */
	write_file(dir, "results-2026-03-27.csv", "junk\n");
	write_file(dir, "results-2026-3-29.csv", "junk\n");
	write_file(dir, "notes.txt", "junk\n");
	return dir;
}

static void test_scan_days(void **state)
{
	struct seen *s = calloc(1, sizeof(*s));
	char *dir;

	set_tz("Europe/Paris");
	dir = make_days();
	assert_int_equal(csv_scan(dir, local(2026, 3, 28, 0, 0, 0), local(2026, 3, 31, 0, 0, 0),
				  on_row, on_bad, s), 0);
	assert_int_equal(s->nrows, 5);
	assert_string_equal(s->rows[0], "a 1774652400");   /* 2026-03-27T23:00:00Z */
	assert_string_equal(s->rows[1], "b 1774695600");
	assert_string_equal(s->rows[2], "a 1774738799");
	assert_string_equal(s->rows[3], "a 1774821601");
	assert_string_equal(s->rows[4], "a 1774821901");
	assert_int_equal(s->nbad, 2);
	assert_string_equal(s->bad[0], "results-2026-03-28.csv:4: bad timestamp");
	assert_string_equal(s->bad[1], "results-2026-03-30.csv:4: unterminated quoted field");

	/* [from, to] inclusive, to the second; files outside it are not read */
	memset(s, 0, sizeof(*s));
	assert_int_equal(csv_scan(dir, local(2026, 3, 28, 12, 0, 0), local(2026, 3, 30, 0, 0, 1),
				  on_row, on_bad, s), 0);
	assert_int_equal(s->nrows, 3);
	assert_string_equal(s->rows[0], "b 1774695600");
	assert_string_equal(s->rows[2], "a 1774821601");

	/* a range with no file, a reversed range */
	memset(s, 0, sizeof(*s));
	assert_int_equal(csv_scan(dir, local(2026, 3, 29, 0, 0, 0), local(2026, 3, 29, 23, 0, 0),
				  on_row, on_bad, s), 0);
	assert_int_equal(s->nrows + s->nbad, 0);
	assert_int_equal(csv_scan(dir, local(2026, 3, 30, 0, 0, 0), local(2026, 3, 28, 0, 0, 0),
				  on_row, on_bad, s), 0);
	assert_int_equal(s->nrows + s->nbad, 0);

	/* the callback stops the scan; bad may be NULL */
	s->stop_after = 2;
	assert_int_equal(csv_scan(dir, 0, local(2027, 1, 1, 0, 0, 0), on_row, NULL, s), 0);
	assert_int_equal(s->nrows, 2);

	nftw(dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
	free(dir);
	free(s);
}

static void test_scan_errors(void **state)
{
	struct seen *s = calloc(1, sizeof(*s));
	char *dir = strdup("/tmp/epmon-csvread.XXXXXX");
	char *big, path[512];
	size_t n = 100000, k;

	set_tz("UTC");
	assert_int_equal(csv_scan("/nonexistent/epmon", 0, 100, on_row, on_bad, s), -1);
	assert_non_null(mkdtemp(dir));

	/* a line longer than the reader's limit, between good ones */
	big = malloc(n + 512);
	assert_non_null(big);
	strcpy(big, H "2026-01-01T00:00:00Z,a,OK,,,,,,,,\"\"\n2026-01-01T00:00:01Z,a,OK,,,,,,,,\"");
	k = strlen(big);
	memset(big + k, 'x', n);
	big[k + n] = '\0';
	strcat(big, "\"\n2026-01-01T00:00:02Z,a,OK,,,,,,,,\"\"\n");
	write_file(dir, "results-2026-01-01.csv", big);
	free(big);

	/* an unreadable file (a directory named like a day) */
	snprintf(path, sizeof(path), "%s/results-2026-01-02.csv", dir);
	assert_int_equal(mkdir(path, 0755), 0);

	assert_int_equal(csv_scan(dir, utc(2026, 1, 1, 0, 0, 0), utc(2026, 1, 2, 23, 0, 0),
				  on_row, on_bad, s), 0);
	assert_int_equal(s->nrows, 2);
	assert_string_equal(s->rows[0], "a 1767225600");
	assert_string_equal(s->rows[1], "a 1767225602");
	assert_int_equal(s->nbad, 2);
	assert_string_equal(s->bad[0], "results-2026-01-01.csv:3: line too long");
	assert_string_equal(s->bad[1], "results-2026-01-02.csv:1: Is a directory");

	rmdir(path);
	nftw(dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
	free(dir);
	free(s);
}

/* Every record of a scan, whole. */
struct records {
	struct csv_record rec[16];
	int n;
};

static int keep_record(const struct csv_record *rec, void *arg)
{
	struct records *r = arg;

	assert_true(r->n < 16);
	r->rec[r->n++] = *rec;
	return 0;
}

static void no_bad(const char *path, unsigned long line, const char *why, void *arg)
{
	fail_msg("%s:%lu: %s", path, line, why);
}

/* The header of the epmon before the end mark (16 columns), and today's. */
#define H16 "timestamp,site,result,failed_step,external_rtt_ms,external_loss_pct," \
	    "login_ms,internal_rtt_ms,internal_loss_pct,teardown_ms,detail," \
	    "internal_first_ms,login_connect_ms,login_tls_ms,login_auth_ms,login_tunnel_ms"
#define H_NEW H16 ",end\n"

/* A file of an epmon before the login phases (11 columns) reads as before,
 * the new figures NAN; a day's file begun by it and continued by a newer
 * epmon (16 or 17 fields under the old header) reads both; a header goes by
 * names, in any order, unknown columns skipped. */
static void test_scan_old_and_new_layouts(void **state)
{
	struct records *r = calloc(1, sizeof(*r));
	char *dir = strdup("/tmp/epmon-csvread.XXXXXX");
	const struct csv_record *c;

	set_tz("UTC");
	assert_non_null(r);
	assert_non_null(mkdtemp(dir));
	assert_string_equal(H_NEW, results_header);
	write_file(dir, "results-2026-02-01.csv", H
		   "2026-02-01T00:00:00.000+00:00,old,OK,,1.5,0.0,812.4,3.25,0.0,40.0,\"\"\n"
		   "2026-02-01T00:05:00.000+00:00,new,OK,,1.5,0.0,812.4,3.25,0.0,40.0,\"\","
		   "24.125,5.0,300.2,480.1,27.1\n"
		   "2026-02-01T00:10:00.000+00:00,new,FAIL,vpn_login,1.5,0.0,,,,40.0,"
		   "\"failed in auth after 4.2 s: bad credentials\",,5.0,300.2,,\n");
	write_file(dir, "results-2026-02-02.csv",
		   "site,teardown_ms,login_tls_ms,probe_name,timestamp,result\n"
		   "moved,9.5,7.25,p1,2026-02-02T00:00:00.000+00:00,OK\n"
		   H16 "\n"
		   "2026-02-02T00:05:00.000+00:00,h16,OK,,1.5,0.0,812.4,3.25,0.0,40.0,\"\","
		   "24.125,5.0,300.2,480.1,27.1\n"
		   "2026-02-02T00:10:00.000+00:00,end,OK,,1.5,0.0,812.4,3.25,0.0,40.0,\"\","
		   "24.125,5.0,300.2,480.1,27.1,.\n");
	assert_int_equal(csv_scan(dir, utc(2026, 2, 1, 0, 0, 0), utc(2026, 2, 2, 23, 0, 0),
				  keep_record, no_bad, r), 0);
	assert_int_equal(r->n, 6);

	c = &r->rec[0];     /* the old layout */
	assert_string_equal(c->site, "old");
	assert_num(c->login_ms, 812.4);
	assert_num(c->internal_rtt_ms, 3.25);
	assert_num(c->teardown_ms, 40.0);
	assert_true(isnan(c->internal_first_ms));
	for (int p = 0; p < VPN_PHASES; p++)
		assert_true(isnan(c->login_phase_ms[p]));

	c = &r->rec[1];     /* the new layout under the old header */
	assert_string_equal(c->site, "new");
	assert_num(c->login_ms, 812.4);
	assert_num(c->internal_first_ms, 24.125);
	assert_num(c->login_phase_ms[VPN_PHASE_CONNECT], 5.0);
	assert_num(c->login_phase_ms[VPN_PHASE_TLS], 300.2);
	assert_num(c->login_phase_ms[VPN_PHASE_AUTH], 480.1);
	assert_num(c->login_phase_ms[VPN_PHASE_TUNNEL], 27.1);

	c = &r->rec[2];     /* a failed login keeps the phases it got through */
	assert_int_equal(c->failed_step, STEP_VPN_LOGIN);
	assert_true(isnan(c->login_ms));
	assert_num(c->login_phase_ms[VPN_PHASE_TLS], 300.2);
	assert_true(isnan(c->login_phase_ms[VPN_PHASE_AUTH]));
	assert_string_equal(c->detail, "failed in auth after 4.2 s: bad credentials");

	c = &r->rec[3];     /* by name: reordered, an unknown column, some missing */
	assert_string_equal(c->site, "moved");
	assert_int_equal(c->ts, utc(2026, 2, 2, 0, 0, 0));
	assert_int_equal(c->ok, 1);
	assert_num(c->teardown_ms, 9.5);
	assert_num(c->login_phase_ms[VPN_PHASE_TLS], 7.25);
	assert_true(isnan(c->login_ms));
	assert_string_equal(c->detail, "");

	/* the 16 columns before the end mark; today's 17 under that header */
	assert_string_equal(r->rec[4].site, "h16");
	assert_num(r->rec[4].login_phase_ms[VPN_PHASE_TUNNEL], 27.1);
	assert_string_equal(r->rec[5].site, "end");
	assert_num(r->rec[5].login_phase_ms[VPN_PHASE_TUNNEL], 27.1);
	assert_num(r->rec[5].internal_first_ms, 24.125);

	/* a row that fits neither its header nor a layout epmon writes */
	write_file(dir, "results-2026-02-03.csv", H_NEW
		   "2026-02-03T00:00:00.000+00:00,x,OK,,1.5,0.0,812.4,3.25,0.0,40.0,\"\",1\n");
	{
		struct seen *s = calloc(1, sizeof(*s));
		assert_int_equal(csv_scan(dir, utc(2026, 2, 3, 0, 0, 0), utc(2026, 2, 3, 23, 0, 0),
					  on_row, on_bad, s), 0);
		assert_int_equal(s->nrows, 0);
		assert_int_equal(s->nbad, 1);
		assert_string_equal(s->bad[0], "results-2026-02-03.csv:2: too few fields");
		free(s);
	}
	/* fewer fields than the header is how a cut row looks, even when they
	 * make a layout epmon wrote: 16 and 11 fields under today's header */
	write_file(dir, "results-2026-02-05.csv", H_NEW
		   "2026-02-05T00:00:00.000+00:00,x,OK,,1.5,0.0,812.4,3.25,0.0,40.0,\"\","
		   "24.125,5.0,300.2,480.1,27.1\n"
		   "2026-02-05T00:05:00.000+00:00,x,OK,,1.5,0.0,812.4,3.25,0.0,40.0,\"\"\n"
		   "2026-02-05T00:10:00.000+00:00,x,OK,,1.5,0.0,812.4,3.25,0.0,40.0,\"\","
		   "24.125,5.0,300.2,480.1,27.1,.\n");
	{
		struct seen *s = calloc(1, sizeof(*s));
		assert_int_equal(csv_scan(dir, utc(2026, 2, 5, 0, 0, 0), utc(2026, 2, 5, 23, 0, 0),
					  on_row, on_bad, s), 0);
		assert_int_equal(s->nrows, 1);
		assert_string_equal(s->rows[0], "x 1770250200");
		assert_int_equal(s->nbad, 2);
		assert_string_equal(s->bad[0], "results-2026-02-05.csv:2: too few fields");
		assert_string_equal(s->bad[1], "results-2026-02-05.csv:3: too few fields");
		free(s);
	}
	/* a header without a site column is said so; its rows go by their count */
	write_file(dir, "results-2026-02-04.csv", "timestamp,result,detail\n"
		   "2026-02-04T00:00:00.000+00:00,y,OK,,1.5,0.0,812.4,3.25,0.0,40.0,\"\"\n");
	{
		struct seen *s = calloc(1, sizeof(*s));
		assert_int_equal(csv_scan(dir, utc(2026, 2, 4, 0, 0, 0), utc(2026, 2, 4, 23, 0, 0),
					  on_row, on_bad, s), 0);
		assert_int_equal(s->nrows, 1);
		assert_string_equal(s->rows[0], "y 1770163200");
		assert_int_equal(s->nbad, 1);
		assert_string_equal(s->bad[0], "results-2026-02-04.csv:1: header without timestamp, "
				    "site and result (rows read by their field count)");
		free(s);
	}
	nftw(dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
	free(dir);
	free(r);
}

/* A file of len bytes (it may hold NULs). */
static void write_bytes(const char *dir, const char *name, const char *data, size_t len)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

/* csv_scan of one day's file holding [data, data + len). */
static void scan_bytes(const char *dir, const char *data, size_t len, struct seen *s)
{
	memset(s, 0, sizeof(*s));
	write_bytes(dir, "results-2026-03-01.csv", data, len);
	assert_int_equal(csv_scan(dir, utc(2026, 3, 1, 0, 0, 0), utc(2026, 3, 1, 23, 0, 0),
				  on_row, on_bad, s), 0);
}

/* A NUL inside a field would end it early (login_ms 9\0000000.5 read as 9,
 * site al\0ha as "al", a FAIL row then opening an outage of "al"): the line
 * is damaged whatever the field, reported with its line number, skipped,
 * and the rows around it count. */
static void test_nul_byte(void **state)
{
	static const struct { const char *needle; int at; } where[] = {
		{ "90000000.5", 1 },    /* a number */
		{ "al#ha", 2 },         /* the site name */
		{ "bad#thing", 3 },     /* the detail */
		{ "2026-03-01T", 0 },   /* the timestamp */
		{ ",.\n", 1 },          /* the end mark */
	};
	const size_t nwhere = sizeof(where) / sizeof(where[0]);
	struct seen *s = calloc(1, sizeof(*s));
	char *dir = strdup("/tmp/epmon-csvread.XXXXXX");
	char good[RESULTS_ROW_MAX], bad[RESULTS_ROW_MAX], *file;
	size_t at, glen, blen;
	struct site_result res;
	struct csv_record rec;

	set_tz("UTC");
	assert_non_null(s);
	assert_non_null(mkdtemp(dir));
	res = ok_result("al#ha", utc(2026, 3, 1, 10, 0, 0), 0);
	res.ok = 0;
	res.failed_step = STEP_INTERNAL_PING;
	res.login_ms = 90000000.5;
	strcpy(res.detail, "bad#thing");
	blen = (size_t)results_format_row(&res, bad, sizeof(bad));
	res = ok_result("fine", utc(2026, 3, 1, 9, 0, 0), 0);
	glen = (size_t)results_format_row(&res, good, sizeof(good));

	file = malloc(strlen(results_header) + 2 * glen + nwhere * blen);
	assert_non_null(file);
	memcpy(file, results_header, strlen(results_header));
	at = strlen(results_header);
	memcpy(file + at, good, glen);
	at += glen;
	for (size_t i = 0; i < nwhere; i++) {
		char line[RESULTS_ROW_MAX];
		char *p;

		memcpy(line, bad, blen + 1);
		for (p = line; (p = strchr(p, '#')) != NULL; )
			*p = 'x';   /* "alxha": NUL-free, it is a row */
		assert_int_equal(csv_parse_row(line, blen - 1, &rec), 0);
		p = strstr(bad, where[i].needle);
		assert_non_null(p);
		line[p - bad + where[i].at] = '\0';
		if (csv_parse_row(line, blen - 1, &rec) != -1)
			fail_msg("a NUL in %s accepted", where[i].needle);
		memcpy(file + at, line, blen);
		at += blen;
	}
	memcpy(file + at, good, glen);
	at += glen;

	scan_bytes(dir, file, at, s);
	assert_int_equal(s->nrows, 2);
	assert_string_equal(s->rows[0], "fine 1772355600");
	assert_string_equal(s->rows[1], "fine 1772355600");
	assert_int_equal(s->nbad, (int)nwhere);
	for (size_t i = 0; i < nwhere; i++) {
		char want[64];
		snprintf(want, sizeof(want), "results-2026-03-01.csv:%zu: NUL byte", i + 3);
		assert_string_equal(s->bad[i], want);
	}

	/* a NUL in the header: reported; the rows then go by their count */
	file[4] = '\0';
	scan_bytes(dir, file, at, s);
	assert_int_equal(s->nrows, 2);
	assert_int_equal(s->nbad, (int)nwhere + 1);
	assert_string_equal(s->bad[0], "results-2026-03-01.csv:1: NUL byte");

	free(file);
	nftw(dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
	free(dir);
	free(s);
}

/* A row cut at any byte is never a row in its file: last without a '\n',
 * or ended by the '\n' that the next append puts after it and followed by
 * the row written again (with the header again, as results.c does, or
 * without), which then counts once. Whole but for its '\n', last in the
 * file, it counts. (csv_parse_row has no header: it reads 11 or 16 fields
 * as the older layouts, so a cut leaving one of those that looks whole
 * passes there; a file has its header.) */
static void test_cut_at_every_offset(void **state)
{
	struct seen *s = calloc(1, sizeof(*s));
	char *dir = strdup("/tmp/epmon-csvread.XXXXXX");
	char row[RESULTS_ROW_MAX], file[3 * RESULTS_ROW_MAX];
	const size_t hlen = strlen(results_header);
	struct site_result res;
	struct csv_record rec;
	size_t len;

	set_tz("UTC");
	assert_non_null(s);
	assert_non_null(mkdtemp(dir));
	res = ok_result("paris, \"gw\"", utc(2026, 3, 1, 10, 0, 0), 5000000);
	res.ok = 0;
	res.failed_step = STEP_INTERNAL_PING;
	strcpy(res.detail, "no reply from \"10.1.0.1\", 3 sent");
	res.internal_first_replied = 1;
	res.internal_first_ms = 31.25;
	res.login_phases = 0xf;
	res.login_phase_ms[VPN_PHASE_CONNECT] = 10.0;
	res.login_phase_ms[VPN_PHASE_TLS] = 200.5;
	res.login_phase_ms[VPN_PHASE_AUTH] = 900.25;
	res.login_phase_ms[VPN_PHASE_TUNNEL] = 124.0;
	len = (size_t)results_format_row(&res, row, sizeof(row)) - 1;   /* without '\n' */
	assert_int_equal(csv_parse_row(row, len, &rec), 0);
	memcpy(file, results_header, hlen);

	for (size_t k = 0; k < len; k++) {
		size_t n = hlen;

		if (k > (size_t)(strrchr(row, ',') - row) && csv_parse_row(row, k, &rec) != -1)
			fail_msg("cut after %zu of %zu bytes, parsed: %.*s", k, len, (int)k, row);

		memcpy(file + n, row, k);      /* last, no '\n' */
		n += k;
		scan_bytes(dir, file, n, s);
		assert_int_equal(s->nrows, 0);
		assert_int_equal(s->nbad, k > 0);

		file[n++] = '\n';              /* then the header and the row again */
		memcpy(file + n, results_header, hlen);
		memcpy(file + n + hlen, row, len + 1);
		scan_bytes(dir, file, n + hlen + len + 1, s);
		if (s->nrows != 1 || s->nbad != (k > 0))
			fail_msg("cut after %zu bytes, then the row: %d row(s), %d damaged",
				 k, s->nrows, s->nbad);

		memcpy(file + n, row, len + 1); /* the row again, no header */
		scan_bytes(dir, file, n + len + 1, s);
		if (s->nrows != 1 || s->nbad != (k > 0))
			fail_msg("cut after %zu bytes, then the row: %d row(s), %d damaged",
				 k, s->nrows, s->nbad);
		if (k > 0)   /* the cut row's line */
			assert_memory_equal(s->bad[0], "results-2026-03-01.csv:2: ", 26);
	}
	memcpy(file + hlen, row, len);         /* whole, only the '\n' missing */
	scan_bytes(dir, file, hlen + len, s);
	assert_int_equal(s->nrows, 1);
	assert_int_equal(s->nbad, 0);

	nftw(dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
	free(dir);
	free(s);
}

/* Rows of older epmons have no end mark. Cut at every byte and ended by a
 * '\n', they are damaged but where the cut leaves a field that looks whole:
 * after the first '"' of a "" in the quoted detail (11 columns), after the
 * last ',' before a login phase (16 columns: an empty phase). Those few are
 * read as rows; nothing else is. Without its '\n', last in its file, such a
 * row is never read (every older epmon ended a row with it in the same
 * write). */
static void test_older_layout_cuts(void **state)
{
	static const struct { const char *header, *row; } old[] = {
		{ H, "2026-03-01T00:00:00.000+00:00,old,FAIL,vpn_login,1.5,0.0,,,,40.0,"
		     "\"said \"\"no\"\", bye\"" },
		{ H16 "\n", "2026-03-01T00:05:00.000+00:00,h16,OK,,1.5,0.0,812.4,3.25,0.0,40.0,"
			    "\"\",24.125,5.0,300.2,480.1,27.1" },
		{ H16 "\n", "2026-03-01T00:10:00.000+00:00,h16,OK,,1.5,0.0,,,,,\"x\",,,,," },
	};
	struct seen *s = calloc(1, sizeof(*s));
	char *dir = strdup("/tmp/epmon-csvread.XXXXXX");
	char file[1024];

	set_tz("UTC");
	assert_non_null(s);
	assert_non_null(mkdtemp(dir));
	for (size_t i = 0; i < sizeof(old) / sizeof(old[0]); i++) {
		const char *row = old[i].row;
		size_t hlen = strlen(old[i].header), len = strlen(row);
		const char *detail = strchr(row, '"');

		memcpy(file, old[i].header, hlen);
		for (size_t k = 1; k <= len; k++) {
			/* the ambiguous cuts, as the comment above says */
			int looks_whole = k == len ||
				(i == 0 && row + k - 1 > detail && row[k - 1] == '"' &&
				 row[k] == '"') ||
				(i == 1 && k == (size_t)(strrchr(row, ',') - row) + 1);

			memcpy(file + hlen, row, k);
			memcpy(file + hlen + k, "\n", 1);
			memcpy(file + hlen + k + 1, row, len);
			memcpy(file + hlen + k + 1 + len, "\n", 1);
			scan_bytes(dir, file, hlen + k + len + 2, s);
			if (s->nrows != 1 + looks_whole || s->nbad != !looks_whole)
				fail_msg("%s cut after %zu of %zu bytes: %d row(s), %d damaged",
					 old[i].header, k, len, s->nrows, s->nbad);
			scan_bytes(dir, file, hlen + k, s);
			assert_int_equal(s->nrows, 0);
			assert_int_equal(s->nbad, 1);
		}
		assert_string_equal(s->bad[0] + strlen("results-2026-03-01.csv:2: "),
				    "partial row (no end of line)");
	}
	nftw(dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
	free(dir);
	free(s);
}

/* Rows written by results_write() come back in order. */
static void test_scan_written(void **state)
{
	struct seen *s = calloc(1, sizeof(*s));
	char *dir = strdup("/tmp/epmon-csvread.XXXXXX");
	struct results *r;
	time_t t0;

	set_tz("America/St_Johns");
	assert_non_null(mkdtemp(dir));
	r = results_new(dir);
	assert_non_null(r);
	t0 = local(2026, 6, 1, 23, 50, 0);
	for (int i = 0; i < 6; i++) {
		struct site_result res = ok_result(i % 2 ? "b" : "a", t0 + i * 300, 0);
		assert_int_equal(results_write(r, &res), 0);
	}
	results_free(r);
	assert_int_equal(csv_scan(dir, t0, t0 + 5 * 300, on_row, on_bad, s), 0);
	assert_int_equal(s->nrows, 6);
	assert_int_equal(s->nbad, 0);
	for (int i = 0; i < 6; i++) {
		char want[96];
		snprintf(want, sizeof(want), "%s %lld", i % 2 ? "b" : "a", (long long)(t0 + i * 300));
		assert_string_equal(s->rows[i], want);
	}
	nftw(dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
	free(dir);
	free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip_ok),
		cmocka_unit_test(test_round_trip_phases),
		cmocka_unit_test(test_round_trip_failures),
		cmocka_unit_test(test_round_trip_quoting),
		cmocka_unit_test(test_round_trip_random),
		cmocka_unit_test(test_header_and_blank),
		cmocka_unit_test(test_damaged),
		cmocka_unit_test(test_tolerated),
		cmocka_unit_test(test_offsets),
		cmocka_unit_test(test_scan_days),
		cmocka_unit_test(test_scan_errors),
		cmocka_unit_test(test_scan_written),
		cmocka_unit_test(test_scan_old_and_new_layouts),
		cmocka_unit_test(test_nul_byte),
		cmocka_unit_test(test_cut_at_every_offset),
		cmocka_unit_test(test_older_layout_cuts),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
