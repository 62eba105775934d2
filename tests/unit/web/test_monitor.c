/* SPDX-License-Identifier: MIT */
/* The monitor model: last results, counters, histogram, availability
 * windows, the 24 h ring, reload, the CSV history (written by the real
 * results module, read back by csv_scan) and a reader thread racing the
 * updates. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alert/alert.h"
#include "config/config.h"
#include "web/monitor.h"
#include "store/results.h"

#define CONFIG \
	"frequency: 60\n" \
	"sites:\n" \
	"  - {name: paris, external_ip: 192.0.2.1, internal_ip: 10.0.0.1}\n" \
	"  - name: lyon\n" \
	"    external_ip: 192.0.2.2\n" \
	"    internal_ip: 10.0.0.2\n" \
	"    vpn: {client: custom, command: /bin/true, login_timeout: 20}\n"

#define T0 1700000000   /* a fixed "now": 2023-11-14 22:13:20 UTC */

static struct config *load(const char *text)
{
	struct config_diag d = { 0 };
	struct config *cfg = config_parse("t.yml", text, strlen(text), &d);

	for (size_t i = 0; i < d.nerrors; i++)
		print_message("%s\n", d.errors[i]);
	assert_non_null(cfg);
	config_diag_free(&d);
	return cfg;
}

static struct site_result result(const char *site, int ok, time_t at, double login_ms)
{
	struct site_result r;

	memset(&r, 0, sizeof(r));
	snprintf(r.site, sizeof(r.site), "%s", site);
	r.started.tv_sec = at;
	r.started.tv_nsec = 250000000;
	r.ok = ok;
	r.failed_step = ok ? STEP_NONE : STEP_EXTERNAL_PING;
	r.external_ran = 1;
	r.external.sent = 3;
	r.external.received = ok ? 3 : 0;
	r.external.loss_pct = ok ? 0 : 100;
	r.external.min_ms = ok ? 10 : 0;
	r.external.avg_ms = ok ? 12.5 : 0;
	r.external.max_ms = ok ? 15 : 0;
	if (login_ms > 0) {
		r.login_ran = 1;
		r.login_ms = login_ms;
		r.internal_ran = 1;
		r.internal.sent = 3;
		r.internal.received = 3;
		r.internal.avg_ms = 20;
		r.teardown_ran = 1;
		r.teardown_ms = 80;
	}
	if (!ok)
		snprintf(r.detail, sizeof(r.detail), "no reply");
	return r;
}

/* Feeds one cycle of n results. */
static void cycle(struct monitor *m, struct site_result *res, size_t n,
		  const struct alert_state *alerts)
{
	struct cycle_report rep = { .results = res, .nresults = n, .duration_s = 1.5 };

	monitor_after_cycle(m, &rep, 2, alerts, 3);
}

struct copy {
	struct monitor_data data;
	struct monitor_site sites[4];
};

static void copy_fn(const struct monitor_data *d, void *arg)
{
	struct copy *c = arg;

	c->data = *d;
	memcpy(c->sites, d->sites, d->nsites * sizeof(*d->sites));
}

static struct copy *snapshot(struct monitor *m)
{
	struct copy *c = calloc(1, sizeof(*c));

	assert_non_null(c);
	monitor_read(m, copy_fn, c);
	return c;
}

static void new_has_sites_and_steps(void **state)
{
	struct config *cfg = load(CONFIG);
	struct monitor *m = monitor_new(cfg, "1.2.3", T0);
	struct copy *c = snapshot(m);

	assert_string_equal(c->data.version, "1.2.3");
	assert_int_equal(c->data.started, T0);
	assert_true(c->data.frequency_s == 60);
	assert_int_equal(c->data.nsites, 2);
	assert_string_equal(c->sites[0].name, "paris");
	assert_false(c->sites[0].has_vpn);
	assert_true(c->sites[0].has_internal);
	assert_string_equal(c->sites[1].name, "lyon");
	assert_true(c->sites[1].has_vpn);
	assert_null(c->sites[0].vpn_client);
	assert_string_equal(c->sites[1].vpn_client, "custom");
	assert_string_equal(c->sites[1].vpn_implementation, "custom");
	assert_false(c->sites[0].has_last);
	assert_true(isnan(monitor_availability(&c->sites[0], T0, MONITOR_DAY_S)));
	free(c);
	monitor_free(m);
	config_free(cfg);
}

static void cycles_update_last_counters_histogram(void **state)
{
	struct config *cfg = load(CONFIG);
	struct monitor *m = monitor_new(cfg, "x", T0);
	struct site_result res[2];
	struct copy *c;

	res[0] = result("paris", 1, T0, 0);
	res[1] = result("lyon", 1, T0 + 1, 400);   /* 0.4 s: first bucket */
	res[1].stale_killed = 2;
	res[1].resolv_repaired = 1;
	cycle(m, res, 2, NULL);
	res[0] = result("paris", 0, T0 + 60, 0);
	res[1] = result("lyon", 1, T0 + 61, 4000);  /* 4 s: bucket le=5 */
	res[1].stale_killed = 1;
	cycle(m, res, 2, NULL);
	res[0] = result("paris", 0, T0 + 120, 0);
	res[1] = result("lyon", 1, T0 + 121, 99000); /* above every bound */
	cycle(m, res, 2, NULL);

	c = snapshot(m);
	assert_int_equal(c->data.cycles, 3);
	assert_int_equal(c->data.overruns, 2);
	assert_int_equal(c->data.spooled, 3);
	assert_int_equal(c->data.last_cycle_at, T0 + 120);
	assert_true(c->data.last_cycle_s == 1.5);
	assert_true(c->sites[0].has_last);
	assert_false(c->sites[0].last.ok);
	assert_int_equal(c->sites[0].failures, 2);          /* counted here: no alerts */
	assert_int_equal(c->sites[0].alert_status, ALERT_FAILING);
	assert_int_equal(c->sites[1].failures, 0);
	assert_int_equal(c->sites[1].stale_killed, 3);
	assert_int_equal(c->sites[1].resolv_repaired, 1);
	assert_int_equal(c->sites[1].login_count, 3);
	assert_true(fabs(c->sites[1].login_sum_s - 103.4) < 1e-9);
	assert_int_equal(c->sites[1].login_hist[0], 1);
	assert_int_equal(c->sites[1].login_hist[4], 1);     /* le=5 */
	assert_int_equal(c->sites[1].login_hist[MONITOR_LOGIN_BUCKETS], 1);
	assert_int_equal(c->sites[0].login_count, 0);
	assert_true(fabs(monitor_availability(&c->sites[0], T0 + 130, MONITOR_DAY_S) -
			 1.0 / 3) < 1e-9);
	assert_true(monitor_availability(&c->sites[1], T0 + 130, MONITOR_WEEK_S) == 1);
	free(c);
	monitor_free(m);
	config_free(cfg);
}

/* A failed login is not a login time: not in the histogram nor the chart. */
static void failed_login_not_counted(void **state)
{
	struct config *cfg = load(CONFIG);
	struct monitor *m = monitor_new(cfg, "x", T0);
	struct site_result r = result("lyon", 0, T0, 30000);
	struct copy *c;

	r.failed_step = STEP_VPN_LOGIN;
	cycle(m, &r, 1, NULL);
	c = snapshot(m);
	assert_int_equal(c->sites[1].login_count, 0);
	const struct monitor_slot *slot = monitor_slot_at(&c->sites[1], T0 / 60);
	assert_non_null(slot);
	assert_int_equal(slot->tests, 1);
	assert_int_equal(slot->failures, 1);
	assert_int_equal(slot->login_n, 0);
	assert_int_equal(slot->external_n, 0);
	free(c);
	monitor_free(m);
	config_free(cfg);
}

static void windows_and_ring(void **state)
{
	struct config *cfg = load(CONFIG);
	struct monitor *m = monitor_new(cfg, "x", T0);
	struct site_result r;
	struct copy *c;

	/* 3 days ago: failed (7 d window only); 2 h ago: ok twice in one minute */
	r = result("paris", 0, T0 - 3 * 86400, 0);
	cycle(m, &r, 1, NULL);
	r = result("paris", 1, T0 - 7200, 0);
	cycle(m, &r, 1, NULL);
	r = result("paris", 1, T0 - 7200 + 10, 0);
	r.external.avg_ms = 17.5;
	cycle(m, &r, 1, NULL);
	c = snapshot(m);
	assert_true(monitor_availability(&c->sites[0], T0, MONITOR_DAY_S) == 1);
	assert_true(fabs(monitor_availability(&c->sites[0], T0, MONITOR_WEEK_S) -
			 2.0 / 3) < 1e-9);
	/* 8 days later nothing is left in either window */
	assert_true(isnan(monitor_availability(&c->sites[0], T0 + 8 * 86400,
					       MONITOR_WEEK_S)));
	const struct monitor_slot *slot = monitor_slot_at(&c->sites[0], (T0 - 7200) / 60);
	assert_non_null(slot);
	assert_int_equal(slot->tests, 2);
	assert_int_equal(slot->external_n, 2);
	assert_true(fabs(slot->external_ms / slot->external_n - 15.0) < 1e-6);
	free(c);

	/* exactly 24 h later the same slot is reused for the new minute */
	r = result("paris", 0, T0 - 7200 + 86400, 0);
	cycle(m, &r, 1, NULL);
	c = snapshot(m);
	assert_null(monitor_slot_at(&c->sites[0], (T0 - 7200) / 60));
	slot = monitor_slot_at(&c->sites[0], (T0 - 7200 + 86400) / 60);
	assert_non_null(slot);
	assert_int_equal(slot->tests, 1);
	assert_int_equal(slot->failures, 1);
	assert_null(monitor_slot_at(&c->sites[0], -5));
	free(c);
	monitor_free(m);
	config_free(cfg);
}

/* Alert state, when given, is the source of failures and alert_active. */
static void alerts_from_state(void **state)
{
	struct config *cfg = load(CONFIG);
	struct monitor *m = monitor_new(cfg, "x", T0);
	struct alert_state *st = alert_state_new();
	struct alert_event *ev = NULL;
	size_t nev = 0;
	struct site_result r;
	struct copy *c;

	assert_int_equal(alert_state_sync(st, cfg), 0);
	for (int k = 0; k < 3; k++) {
		r = result("paris", 0, T0 + k * 60, 0);
		assert_int_equal(alert_update(st, cfg, &r, 1, T0 + k * 60, &ev, &nev), 0);
		free(ev);
		cycle(m, &r, 1, st);
	}
	c = snapshot(m);
	assert_int_equal(c->sites[0].failures, 3);
	assert_int_equal(c->sites[0].alert_status, ALERT_ALERTED);
	assert_true(c->sites[0].alert_active);
	assert_false(c->sites[1].alert_active);
	free(c);
	/* rep NULL: only alerts and spool */
	monitor_after_cycle(m, NULL, 0, st, 7);
	c = snapshot(m);
	assert_int_equal(c->data.cycles, 3);
	assert_int_equal(c->data.spooled, 7);
	free(c);
	alert_state_free(st);
	monitor_free(m);
	config_free(cfg);
}

static void reload_keeps_sites_by_name(void **state)
{
	struct config *cfg = load(CONFIG);
	struct config *next = load("frequency: 30\nsites:\n"
				   "  - {name: nice, external_ip: 192.0.2.9}\n"
				   "  - {name: paris, external_ip: 192.0.2.1}\n");
	struct monitor *m = monitor_new(cfg, "x", T0);
	struct site_result r = result("paris", 1, T0, 0);
	struct copy *c;

	cycle(m, &r, 1, NULL);
	assert_int_equal(monitor_reload(m, next), 0);
	c = snapshot(m);
	assert_true(c->data.frequency_s == 30);
	assert_int_equal(c->data.nsites, 2);
	assert_string_equal(c->sites[0].name, "nice");
	assert_false(c->sites[0].has_last);
	assert_string_equal(c->sites[1].name, "paris");
	assert_true(c->sites[1].has_last);
	assert_false(c->sites[1].has_internal);     /* from the new config */
	assert_non_null(monitor_slot_at(&c->sites[1], T0 / 60));
	free(c);
	monitor_free(m);
	config_free(cfg);
	config_free(next);
}

/* Rows written by results.c over two days are read back by csv_scan. */
static void history_from_csv(void **state)
{
	struct config *cfg = load(CONFIG);
	char dir[] = "/tmp/epmon-test-monitor-XXXXXX", path[512];
	struct monitor *m;
	struct results *csv;
	struct site_result r;
	struct copy *c;
	time_t now = time(NULL);
	FILE *f;

	assert_non_null(mkdtemp(dir));
	csv = results_new(dir);
	assert_non_null(csv);
	for (int k = 48; k >= 1; k--) {         /* every 30 min for 24 h */
		r = result("lyon", k != 5, now - k * 1800, 2500);
		if (k == 5)
			r.failed_step = STEP_INTERNAL_PING;
		r.login_phases = 1u << VPN_PHASE_CONNECT | 1u << VPN_PHASE_TUNNEL;
		r.login_phase_ms[VPN_PHASE_CONNECT] = 400;
		r.login_phase_ms[VPN_PHASE_TUNNEL] = 100;
		r.internal_first_replied = 1;
		r.internal_first_ms = 31.25;
		assert_int_equal(results_write(csv, &r), 0);
	}
	r = result("gone", 1, now - 600, 0);        /* no longer in the config */
	assert_int_equal(results_write(csv, &r), 0);
	r = result("paris", 1, now - 8 * 86400, 0); /* older than 7 days */
	results_write(csv, &r);
	results_free(csv);
	snprintf(path, sizeof(path), "%s/results-", dir);
	{
		char day[32];
		struct tm tm;
		localtime_r(&now, &tm);
		strftime(day, sizeof(day), "%Y-%m-%d.csv", &tm);
		strncat(path, day, sizeof(path) - strlen(path) - 1);
	}
	f = fopen(path, "a");
	assert_non_null(f);
	fputs("garbage,line\n", f);
	fclose(f);

	m = monitor_new(cfg, "x", now);
	assert_int_equal(monitor_load_history(m, dir, now), 48);
	c = snapshot(m);
	assert_int_equal(c->data.history_rows, 48);
	assert_int_equal(c->data.history_bad, 1);
	assert_false(c->sites[0].has_last);
	assert_true(c->sites[1].has_last);
	assert_true(c->sites[1].last_from_csv);
	assert_int_equal(c->sites[1].last.started.tv_sec, now - 1800);
	assert_true(c->sites[1].last.ok);
	assert_true(c->sites[1].last.login_ran);
	assert_true(fabs(c->sites[1].last.login_ms - 2500) < 0.05);
	assert_true(fabs(c->sites[1].last.external.avg_ms - 12.5) < 0.001);
	assert_int_equal(c->sites[1].login_count, 0);   /* counters: since start */
	/* the phases and the first echo come back from the CSV, for the page's bars */
	assert_int_equal(c->sites[1].last.login_phases, 1u << VPN_PHASE_CONNECT | 1u << VPN_PHASE_TUNNEL);
	assert_true(fabs(c->sites[1].last.login_phase_ms[VPN_PHASE_CONNECT] - 400) < 0.05);
	assert_true(fabs(c->sites[1].last.login_phase_ms[VPN_PHASE_TUNNEL] - 100) < 0.05);
	assert_true(c->sites[1].last.internal_first_replied);
	assert_true(fabs(c->sites[1].last.internal_first_ms - 31.25) < 0.001);
	{
		const struct monitor_slot *slot =
			monitor_slot_at(&c->sites[1], (long)((now - 1800) / MONITOR_SLOT_S));
		assert_non_null(slot);
		assert_int_equal(slot->phases_n, 1);
		assert_true(fabs(slot->phase_ms[VPN_PHASE_CONNECT] - 400) < 0.05);
		assert_true(slot->phase_ms[VPN_PHASE_AUTH] == 0);
	}
	/* the oldest row is exactly 24 h old: out of (now - 24 h, now] */
	assert_true(fabs(monitor_availability(&c->sites[1], now, MONITOR_DAY_S) -
			 46.0 / 47) < 1e-9);
	assert_true(fabs(monitor_availability(&c->sites[1], now, MONITOR_WEEK_S) -
			 47.0 / 48) < 1e-9);
	free(c);

	/* a live result after the history becomes the last one */
	r = result("lyon", 0, now, 0);
	cycle(m, &r, 1, NULL);
	c = snapshot(m);
	assert_false(c->sites[1].last_from_csv);
	assert_false(c->sites[1].last.ok);
	free(c);
	monitor_free(m);

	m = monitor_new(cfg, "x", now);
	assert_int_equal(monitor_load_history(m, "/nonexistent/epmon", now), -1);
	monitor_free(m);
	config_free(cfg);
	snprintf(path, sizeof(path), "rm -rf '%s'", dir);
	assert_int_equal(system(path), 0);
}

struct race {
	struct monitor *m;
	volatile int stop;
	unsigned long reads;
};

static void count_fn(const struct monitor_data *d, void *arg)
{
	struct race *r = arg;
	unsigned long tests = 0;

	for (size_t i = 0; i < d->nsites; i++)
		tests += d->sites[i].last.ok;
	(void)tests;
	__atomic_add_fetch(&r->reads, 1, __ATOMIC_RELAXED);
}

static void *reader(void *arg)
{
	struct race *r = arg;

	while (!r->stop)
		monitor_read(r->m, count_fn, r);
	return NULL;
}

/* The HTTP thread reads while the main thread updates (ASan/TSan food). */
static void concurrent_reader(void **state)
{
	struct config *cfg = load(CONFIG);
	struct race race = { .m = monitor_new(cfg, "x", T0) };
	pthread_t th;
	struct site_result res[2];

	assert_int_equal(pthread_create(&th, NULL, reader, &race), 0);
	while (__atomic_load_n(&race.reads, __ATOMIC_RELAXED) == 0)
		usleep(100);    /* the reader runs during the updates */
	for (int k = 0; k < 2000; k++) {
		res[0] = result("paris", k % 3 != 0, T0 + k * 60, 0);
		res[1] = result("lyon", 1, T0 + k * 60 + 1, 1000 + k);
		cycle(race.m, res, 2, NULL);
		if (k % 500 == 0)
			assert_int_equal(monitor_reload(race.m, cfg), 0);
	}
	race.stop = 1;
	pthread_join(th, NULL);
	assert_true(race.reads > 0);
	monitor_free(race.m);
	config_free(cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(new_has_sites_and_steps),
		cmocka_unit_test(cycles_update_last_counters_histogram),
		cmocka_unit_test(failed_login_not_counted),
		cmocka_unit_test(windows_and_ring),
		cmocka_unit_test(alerts_from_state),
		cmocka_unit_test(reload_keeps_sites_by_name),
		cmocka_unit_test(history_from_csv),
		cmocka_unit_test(concurrent_reader),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
