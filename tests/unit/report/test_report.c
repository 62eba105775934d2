/* SPDX-License-Identifier: MIT */
/* Unit tests of the report math: percentiles by selection against a full
 * sort, availability, failed cycles by step, outages (closed and open),
 * the site filter, many sites, and the three output formats. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report/report.h"

static int cmp_float(const void *a, const void *b)
{
	float x = *(const float *)a, y = *(const float *)b;

	return (x > y) - (x < y);
}

/* The nearest-rank percentile from a sorted copy. */
static double sorted_percentile(const float *v, size_t n, double p)
{
	float *c = malloc(n * sizeof(float));
	double rank = ceil(p / 100.0 * (double)n), r;

	assert_non_null(c);
	memcpy(c, v, n * sizeof(float));
	qsort(c, n, sizeof(float), cmp_float);
	r = c[rank < 1 ? 0 : (size_t)rank - 1];
	free(c);
	return r;
}

static void test_percentile_small(void **state)
{
	float v[100];

	assert_true(isnan(report_percentile(v, 0, 50)));
	for (int i = 0; i < 100; i++)
		v[i] = (float)(100 - i);
	assert_true(report_percentile(v, 100, 50) == 50);
	assert_true(report_percentile(v, 100, 95) == 95);
	assert_true(report_percentile(v, 100, 100) == 100);
	assert_true(report_percentile(v, 100, 1) == 1);
	assert_true(report_percentile(v, 100, 0.001) == 1);
	v[0] = 7;
	assert_true(report_percentile(v, 1, 50) == 7);
	assert_true(report_percentile(v, 1, 95) == 7);
	v[0] = 3;
	v[1] = 1;
	assert_true(report_percentile(v, 2, 50) == 1);  /* rank ceil(1) = 1 */
	assert_true(report_percentile(v, 2, 95) == 3);
	for (int i = 0; i < 20; i++)
		v[i] = 5;
	assert_true(report_percentile(v, 20, 50) == 5);
}

/* Random, sorted, reversed, few distinct values, organ pipe: every shape
 * that trips a naive quickselect, against qsort. */
static void test_percentile_random(void **state)
{
	static const double ps[] = { 1, 25, 50, 90, 95, 99, 100 };
	unsigned seed = 42;

	for (int shape = 0; shape < 5; shape++) {
		for (size_t n = 1; n < 3000; n = n * 3 / 2 + 1) {
			float *v = malloc(n * sizeof(float)), *w = malloc(n * sizeof(float));
			assert_non_null(v);
			assert_non_null(w);
			for (size_t i = 0; i < n; i++) {
				switch (shape) {
				case 0: v[i] = (float)(rand_r(&seed) % 100000) / 10.0f; break;
				case 1: v[i] = (float)i; break;
				case 2: v[i] = (float)(n - i); break;
				case 3: v[i] = (float)(rand_r(&seed) % 3); break;
				default: v[i] = (float)(i < n / 2 ? i : n - i); break;
				}
			}
			for (size_t k = 0; k < sizeof(ps) / sizeof(ps[0]); k++) {
				memcpy(w, v, n * sizeof(float));
				assert_true(report_percentile(w, n, ps[k]) ==
					    sorted_percentile(v, n, ps[k]));
			}
			free(v);
			free(w);
		}
	}
}

/* A large selection stays fast (linear): 2 M values, p95 then p50. */
static void test_percentile_large(void **state)
{
	size_t n = 2000000;
	float *v = malloc(n * sizeof(float));
	unsigned seed = 7;
	double p95, p50;

	assert_non_null(v);
	for (size_t i = 0; i < n; i++)
		v[i] = (float)(1000 + rand_r(&seed) % 5000) + 0.5f;
	p95 = report_percentile(v, n, 95);
	p50 = report_percentile(v, n, 50);
	assert_true(p95 > 5600 && p95 < 5800);
	assert_true(p50 > 3400 && p50 < 3600);
	free(v);
}

/* ---- rows ---- */

static struct csv_record row(const char *site, time_t ts, int ok, enum site_step step,
			     double login_ms, double ext_ms, double int_ms)
{
	struct csv_record r;

	memset(&r, 0, sizeof(r));
	snprintf(r.site, sizeof(r.site), "%s", site);
	r.ts = ts;
	r.ok = ok;
	r.failed_step = ok ? STEP_NONE : step;
	r.login_ms = login_ms;
	r.external_rtt_ms = ext_ms;
	r.internal_rtt_ms = int_ms;
	r.external_loss_pct = r.internal_loss_pct = r.teardown_ms = NAN;
	r.internal_first_ms = NAN;     /* as csv_scan gives a row without them */
	for (int p = 0; p < VPN_PHASES; p++)
		r.login_phase_ms[p] = NAN;
	return r;
}

static void add(struct report *r, struct csv_record rec)
{
	assert_int_equal(report_add(r, &rec), 0);
}

static void test_availability_and_steps(void **state)
{
	struct report *r = report_new(0, 10000, NULL, 0);
	const struct report_site *s;

	assert_non_null(r);
	add(r, row("b", 0, 1, STEP_NONE, 1000, 10, 20));
	add(r, row("b", 300, 0, STEP_VPN_LOGIN, 30000, 11, NAN));     /* not a login time */
	add(r, row("b", 600, 0, STEP_INTERNAL_PING, 1200, 12, NAN));  /* login succeeded */
	add(r, row("b", 900, 0, STEP_EXTERNAL_PING, NAN, NAN, NAN));
	add(r, row("b", 1200, 0, STEP_TEARDOWN, 1100, 13, 21));
	add(r, row("b", 1500, 0, STEP_NONE, NAN, NAN, NAN));
	add(r, row("b", 1800, 1, STEP_NONE, 900, 14, 22));
	add(r, row("b", 2100, 1, STEP_NONE, 950, 15, 23));
	add(r, row("a", 0, 1, STEP_NONE, 500, 1, 2));
	report_finish(r);

	assert_int_equal(r->nsites, 2);
	assert_int_equal(r->rows, 9);
	s = &r->sites[0];                      /* sorted by name */
	assert_string_equal(s->name, "a");
	assert_true(report_availability(s) == 100.0);
	s = &r->sites[1];
	assert_string_equal(s->name, "b");
	assert_int_equal(s->cycles, 8);
	assert_int_equal(s->failed, 5);
	assert_true(fabs(report_availability(s) - 37.5) < 1e-9);
	assert_int_equal(s->failed_by_step[STEP_EXTERNAL_PING], 1);
	assert_int_equal(s->failed_by_step[STEP_VPN_LOGIN], 1);
	assert_int_equal(s->failed_by_step[STEP_INTERNAL_PING], 1);
	assert_int_equal(s->failed_by_step[STEP_TEARDOWN], 1);
	assert_int_equal(s->failed_by_step[STEP_NONE], 1);

	/* login: 1000 1200 1100 900 950 (not the 30000 of the failed login) */
	assert_int_equal(s->login.n, 5);
	assert_true(s->login.p50 == 1000);
	assert_true(s->login.p95 == 1200);
	assert_true(s->login.max == 1200);
	/* external: 10..15, internal 20..23 */
	assert_int_equal(s->external_rtt.n, 6);
	assert_true(s->external_rtt.p50 == 12);
	assert_true(s->external_rtt.p95 == 15);
	assert_int_equal(s->internal_rtt.n, 4);
	assert_true(s->internal_rtt.p50 == 21);

	/* one outage: 300 .. 1800 (the first OK row), 5 cycles, vpn_login */
	assert_int_equal(s->noutages, 1);
	assert_int_equal(s->outages[0].start, 300);
	assert_int_equal(s->outages[0].end, 1800);
	assert_int_equal(s->outages[0].cycles, 5);
	assert_int_equal(s->outages[0].step, STEP_VPN_LOGIN);
	assert_int_equal(s->outages[0].open, 0);
	assert_true(report_outage_duration(&s->outages[0]) == 1500);
	report_free(r);
}

static void test_outages(void **state)
{
	struct report *r = report_new(0, 100000, NULL, 0);
	const struct report_site *s;
	/* F F O O F O F F F: outages [0,600) [1200,1500) [1800.. open) */
	static const int ok[] = { 0, 0, 1, 1, 0, 1, 0, 0, 0 };

	assert_non_null(r);
	for (int i = 0; i < 9; i++)
		add(r, row("x", i * 300, ok[i], (enum site_step)(1 + i % 4), NAN, NAN, NAN));
	report_finish(r);
	s = &r->sites[0];
	assert_int_equal(s->noutages, 3);
	assert_int_equal(s->outages[0].start, 0);
	assert_int_equal(s->outages[0].end, 600);
	assert_int_equal(s->outages[0].cycles, 2);
	assert_int_equal(s->outages[0].step, STEP_EXTERNAL_PING);
	assert_int_equal(s->outages[1].start, 1200);
	assert_int_equal(s->outages[1].end, 1500);
	assert_int_equal(s->outages[1].cycles, 1);
	assert_int_equal(s->outages[1].step, STEP_EXTERNAL_PING);
	assert_int_equal(s->outages[1].open, 0);
	assert_int_equal(s->outages[2].start, 1800);
	assert_int_equal(s->outages[2].end, 2400);  /* the last failed row */
	assert_int_equal(s->outages[2].cycles, 3);
	assert_int_equal(s->outages[2].step, STEP_INTERNAL_PING);
	assert_int_equal(s->outages[2].open, 1);
	/* no percentiles without values */
	assert_int_equal(s->login.n, 0);
	assert_true(isnan(s->login.p50) && isnan(s->login.p95) && isnan(s->login.max));
	report_free(r);
}

static void test_filter(void **state)
{
	const char *only[] = { "want", "absent", "want" };
	struct report *r = report_new(0, 100, only, 3);

	assert_non_null(r);
	add(r, row("other", 0, 0, STEP_VPN_LOGIN, NAN, NAN, NAN));
	add(r, row("want", 0, 1, STEP_NONE, 1, 2, 3));
	report_finish(r);
	assert_int_equal(r->nsites, 2);
	assert_int_equal(r->rows, 1);
	assert_string_equal(r->sites[0].name, "absent");
	assert_int_equal(r->sites[0].cycles, 0);
	assert_true(isnan(report_availability(&r->sites[0])));
	assert_string_equal(r->sites[1].name, "want");
	assert_int_equal(r->sites[1].cycles, 1);
	report_free(r);
}

static void test_many_sites(void **state)
{
	struct report *r = report_new(0, 100, NULL, 0);
	char name[32];

	assert_non_null(r);
	for (int round = 0; round < 3; round++) {
		for (int i = 0; i < 1000; i++) {
			snprintf(name, sizeof(name), "site-%04d", (i * 7919) % 1000);
			add(r, row(name, round, round != 1, STEP_TEARDOWN, i, NAN, NAN));
		}
	}
	report_finish(r);
	assert_int_equal(r->nsites, 1000);
	for (int i = 0; i < 1000; i++) {
		snprintf(name, sizeof(name), "site-%04d", i);
		assert_string_equal(r->sites[i].name, name);
		assert_int_equal(r->sites[i].cycles, 3);
		assert_int_equal(r->sites[i].failed, 1);
		assert_int_equal(r->sites[i].noutages, 1);
		assert_int_equal(r->sites[i].login.n, 3);
	}
	report_free(r);
}

/* ---- output ---- */

static char *print_to_string(const struct report *r, enum report_format f)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&buf, &len);

	assert_non_null(out);
	report_print(r, f, out);
	assert_int_equal(fclose(out), 0);
	return buf;
}

static void test_print(void **state)
{
	struct report *r;
	char *text;

	setenv("TZ", "UTC", 1);
	r = report_new(0, 86399, NULL, 0);
	assert_non_null(r);
	add(r, row("gw\"1", 0, 1, STEP_NONE, 1234.56, 12.3456, 25.0));
	add(r, row("gw\"1", 300, 0, STEP_VPN_LOGIN, 30000, 12.0, NAN));
	add(r, row("gw\"1", 600, 1, STEP_NONE, 1000, 11.0, 24.0));
	add(r, row("lyon", 0, 0, STEP_EXTERNAL_PING, NAN, NAN, NAN));
	r->damaged = 2;
	report_finish(r);

	text = print_to_string(r, REPORT_TEXT);
	assert_non_null(strstr(text, "1970-01-01 00:00:00 .. 1970-01-01 23:59:59 (local time): "
				     "2 sites, 4 rows, 2 damaged lines skipped"));
	assert_non_null(strstr(text, "66.667"));
	assert_non_null(strstr(text, "1970-01-01 00:05:00 1970-01-01 00:10:00"));
	assert_non_null(strstr(text, "lyon 1970-01-01 00:00:00 open"));
	assert_non_null(strstr(text, ">=        0s      1 external_ping"));
	free(text);

	text = print_to_string(r, REPORT_CSV);
	assert_non_null(strstr(text, "\n\"gw\"\"1\",3,1,66.667,0,1,0,0,0,1,1000.0,1234.6,1234.6,"
				     "12.000,12.346,24.000,25.000,,,,,,,,,,\n"));
	assert_non_null(strstr(text, "\nlyon,1,1,0.000,1,0,0,0,0,1,,,,,,,,,,,,,,,,,\n"));
	assert_non_null(strstr(text, "\n\"gw\"\"1\",1970-01-01T00:05:00+00:00,"
				     "1970-01-01T00:10:00+00:00,300,1,vpn_login,no\n"));
	assert_non_null(strstr(text, "\nlyon,1970-01-01T00:00:00+00:00,1970-01-01T00:00:00+00:00,"
				     "0,1,external_ping,yes\n"));
	free(text);

	text = print_to_string(r, REPORT_JSON);
	assert_non_null(strstr(text, "\"site\": \"gw\\\"1\""));
	assert_non_null(strstr(text, "\"login_ms\": {\"count\": 2, \"p50\": 1000.0, "
				     "\"p95\": 1234.6, \"max\": 1234.6}"));
	assert_non_null(strstr(text, "\"internal_rtt_ms\": {\"count\": 0, \"p50\": null, "
				     "\"p95\": null}"));
	assert_non_null(strstr(text, "\"damaged_lines\": 2"));
	assert_non_null(strstr(text, "\"open\": true"));
	free(text);
	/* no phase in these rows (files of an older epmon): no phase table */
	text = print_to_string(r, REPORT_TEXT);
	assert_null(strstr(text, "CONNECT_P50"));
	free(text);
	report_free(r);
}

/* Where the login time goes: p50/p95 of each phase over the logins that
 * succeeded (a failed login's phases are not a login's), and of the first
 * echo through the new tunnel, in the three formats. */
static void test_phases(void **state)
{
	struct report *r = report_new(0, 100000, NULL, 0);
	const struct report_site *s;
	char *text;

	setenv("TZ", "UTC", 1);
	assert_non_null(r);
	for (int i = 0; i < 20; i++) {
		struct csv_record rec = row("gw", i * 300, 1, STEP_NONE, 100 + i, 1, 2);
		rec.login_phase_ms[VPN_PHASE_CONNECT] = 10 + i;         /* 10..29 */
		rec.login_phase_ms[VPN_PHASE_TLS] = 20;
		rec.login_phase_ms[VPN_PHASE_AUTH] = i < 19 ? 50 : 4000;   /* one slow */
		rec.internal_first_ms = 25 + i;                         /* 25..44 */
		add(r, rec);
	}
	{
		struct csv_record rec = row("gw", 7000, 0, STEP_VPN_LOGIN, NAN, 1, NAN);
		rec.login_phase_ms[VPN_PHASE_CONNECT] = 5000;   /* of a failed login */
		add(r, rec);
	}
	report_finish(r);
	s = &r->sites[0];
	assert_int_equal(s->phase[VPN_PHASE_CONNECT].n, 20);
	assert_true(s->phase[VPN_PHASE_CONNECT].p50 == 19);
	assert_true(s->phase[VPN_PHASE_CONNECT].p95 == 28);
	assert_true(s->phase[VPN_PHASE_AUTH].p50 == 50);
	assert_true(s->phase[VPN_PHASE_AUTH].p95 == 50);   /* 1 in 20 is the 100th */
	assert_int_equal(s->phase[VPN_PHASE_TUNNEL].n, 0);
	assert_true(isnan(s->phase[VPN_PHASE_TUNNEL].p50));
	assert_int_equal(s->internal_first.n, 20);
	assert_true(s->internal_first.p50 == 34);

	text = print_to_string(r, REPORT_TEXT);
	assert_non_null(strstr(text, "CONNECT_P50 CONNECT_P95     TLS_P50     TLS_P95"));
	assert_non_null(strstr(text, "\ngw          19.0        28.0        20.0        20.0"
				     "        50.0        50.0           -           -     34.000     43.000\n"));
	free(text);
	text = print_to_string(r, REPORT_CSV);
	assert_non_null(strstr(text, ",login_connect_p50_ms,login_connect_p95_ms,"));
	assert_non_null(strstr(text, ",19.0,28.0,20.0,20.0,50.0,50.0,,,34.000,43.000\n"));
	free(text);
	text = print_to_string(r, REPORT_JSON);
	assert_non_null(strstr(text, "\"internal_first_ms\": {\"count\": 20, \"p50\": 34.000, "
				     "\"p95\": 43.000}"));
	assert_non_null(strstr(text, "\"login_phases_ms\": {\"connect\": {\"count\": 20, "
				     "\"p50\": 19.0, \"p95\": 28.0}, \"tls\": {\"count\": 20, "
				     "\"p50\": 20.0, \"p95\": 20.0}, \"auth\": {\"count\": 20, "
				     "\"p50\": 50.0, \"p95\": 50.0}, \"tunnel\": {\"count\": 0, "
				     "\"p50\": null, \"p95\": null}}"));
	free(text);
	report_free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_percentile_small),
		cmocka_unit_test(test_percentile_random),
		cmocka_unit_test(test_percentile_large),
		cmocka_unit_test(test_availability_and_steps),
		cmocka_unit_test(test_outages),
		cmocka_unit_test(test_filter),
		cmocka_unit_test(test_many_sites),
		cmocka_unit_test(test_print),
		cmocka_unit_test(test_phases),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
