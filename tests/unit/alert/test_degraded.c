/* SPDX-License-Identifier: MIT */
/* DEGRADED: the judgement against a site's own history (from the CSV and
 * from cycles), the figures, and the events of the alert state. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alert/alert.h"
#include "config/config.h"
#include "alert/degraded.h"
#include "util/log.h"
#include "store/results.h"

#define NOW 1800000000
#define CONFIG "frequency: 300\n" \
	"alerting: {degraded: {window: 1h, baseline: 7d}}\n" \
	"sites:\n  - {name: paris, external_ip: 192.0.2.1, internal_ip: 10.0.0.1}\n"

static struct config *load(void)
{
	struct config_diag d = { 0 };
	struct config *cfg = config_parse("t.yml", CONFIG, strlen(CONFIG), &d);

	for (size_t i = 0; i < d.nerrors; i++)
		print_message("%s\n", d.errors[i]);
	assert_non_null(cfg);
	config_diag_free(&d);
	return cfg;
}

static struct site_result result(time_t at, double login, double rtt, int ok)
{
	struct site_result r;

	memset(&r, 0, sizeof(r));
	snprintf(r.site, sizeof(r.site), "paris");
	r.started.tv_sec = at;
	r.ok = ok;
	r.failed_step = ok ? STEP_NONE : STEP_VPN_LOGIN;
	r.external_ran = 1;
	r.external.sent = r.external.received = 1;
	r.login_ran = ok;
	r.login_ms = login;
	r.internal_ran = ok;
	r.internal.sent = r.internal.received = ok;
	r.internal.avg_ms = rtt;
	return r;
}

/* A day of history every 10 min: logins 900..1100 ms, RTT 10 ms. */
static void history(struct degraded *d, const struct config *cfg)
{
	for (int i = 144; i > 12; i--) {
		struct site_result r = result(NOW - i * 600, 900 + (i % 5) * 50, 10, 1);
		assert_int_equal(degraded_add(d, &cfg->alerting, &r), 0);
	}
}

static void judged_against_own_history(void **state)
{
	struct config *cfg = load();
	struct degraded *d = degraded_new();
	char fig[200];

	assert_int_equal(cfg->alerting.degraded, 1);
	assert_true(cfg->alerting.login_factor == 2 && cfg->alerting.rtt_factor == 3);
	history(d, cfg);
	/* no sample in the window yet: nothing to say */
	assert_int_equal(degraded_judge(d, &cfg->alerting, "paris", NOW, fig, sizeof(fig)), -1);
	assert_int_equal(degraded_judge(d, &cfg->alerting, "lyon", NOW, fig, sizeof(fig)), -1);
	/* the last hour: logins of 3.8 s; a failure in between does not count */
	for (int i = 5; i >= 0; i--) {
		struct site_result r = result(NOW - i * 600, 3800, 10, 1);
		struct site_result bad = result(NOW - i * 600 + 1, NAN, NAN, 0);
		assert_int_equal(degraded_add(d, &cfg->alerting, &r), 0);
		assert_int_equal(degraded_add(d, &cfg->alerting, &bad), 0);
	}
	assert_int_equal(degraded_judge(d, &cfg->alerting, "paris", NOW, fig, sizeof(fig)), 1);
	assert_string_equal(fig, "login p95 3.8 s over the last 1 h, baseline 1.1 s");
	/* an hour later the logins are back to normal (the window starts
	 * after the last slow one) */
	for (int i = 5; i >= 0; i--) {
		struct site_result r = result(NOW + 3600 - i * 600, 1000, 10, 1);
		assert_int_equal(degraded_add(d, &cfg->alerting, &r), 0);
	}
	assert_int_equal(degraded_judge(d, &cfg->alerting, "paris", NOW + 3601, fig,
					sizeof(fig)), 0);
	/* RTT: 45 ms is more than 3 x 10 ms and 5 ms above it */
	for (int i = 5; i >= 0; i--) {
		struct site_result r = result(NOW + 7200 - i * 600, 1000, 45, 1);
		assert_int_equal(degraded_add(d, &cfg->alerting, &r), 0);
	}
	assert_int_equal(degraded_judge(d, &cfg->alerting, "paris", NOW + 7201, fig,
					sizeof(fig)), 1);
	assert_non_null(strstr(fig, "internal RTT median 45.0 ms over the last 1 h, baseline 10.0 ms"));
	degraded_free(d);
	config_free(cfg);
}

/* A tiny RTT tripling (0.1 -> 0.4 ms) is under rtt_floor_ms: not slow. */
static void floors_keep_noise_out(void **state)
{
	struct config *cfg = load();
	struct degraded *d = degraded_new();
	char fig[200];

	for (int i = 144; i > 6; i--) {
		struct site_result r = result(NOW - i * 600, 1000, 0.1, 1);
		degraded_add(d, &cfg->alerting, &r);
	}
	for (int i = 5; i >= 0; i--) {
		struct site_result r = result(NOW - i * 600, 1100, 0.4, 1);
		degraded_add(d, &cfg->alerting, &r);
	}
	assert_int_equal(degraded_judge(d, &cfg->alerting, "paris", NOW, fig, sizeof(fig)), 0);
	degraded_free(d);
	config_free(cfg);
}

/* The baseline from the results CSV, as at start. */
static void baseline_from_csv(void **state)
{
	struct config *cfg = load();
	struct degraded *d = degraded_new();
	char dir[] = "/tmp/epmon-test-degraded-XXXXXX", fig[200], cmd[128];
	struct results *csv;

	assert_non_null(mkdtemp(dir));
	csv = results_new(dir);
	assert_non_null(csv);
	for (int i = 144; i > 0; i--) {
		struct site_result r = result(NOW - i * 600, i > 6 ? 1000 : 4000, 10, 1);
		assert_int_equal(results_write(csv, &r), 0);
	}
	results_free(csv);
	assert_int_equal(degraded_load(d, &cfg->alerting, dir, NOW), 144);
	assert_int_equal(degraded_judge(d, &cfg->alerting, "paris", NOW, fig, sizeof(fig)), 1);
	assert_string_equal(fig, "login p95 4.0 s over the last 1 h, baseline 1.0 s");
	degraded_free(d);
	config_free(cfg);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
}

/* DEGRADED once, UNDEGRADED once; never while quiet; survives a save. */
static void alert_events(void **state)
{
	struct alert_state *st = alert_state_new();
	struct alert_event ev;

	assert_non_null(alert_state_add(st, "paris"));
	assert_int_equal(alert_judge_degraded(st, "paris", 1, "slow", 1, 100, &ev), 0);
	assert_int_equal(alert_judge_degraded(st, "paris", 0, "fine", 0, 150, &ev), 0);
	assert_int_equal(alert_judge_degraded(st, "paris", 1, "login p95 3.8 s", 0, 200, &ev), 1);
	assert_int_equal(ev.kind, ALERT_DEGRADED);
	assert_string_equal(ev.figures, "login p95 3.8 s");
	assert_int_equal(alert_judge_degraded(st, "paris", 1, "login p95 3.9 s", 0, 300, &ev), 0);
	assert_true(alert_find(st, "paris")->degraded);
	assert_string_equal(alert_find(st, "paris")->degraded_figures, "login p95 3.9 s");
	assert_int_equal(alert_judge_degraded(st, "paris", 0, "login p95 1.0 s", 1, 400, &ev), 1);
	assert_int_equal(ev.kind, ALERT_UNDEGRADED);
	assert_int_equal(alert_find(st, "paris")->undegraded_at, 400);
	assert_int_equal(alert_find(st, "paris")->undegraded_started_at, 200);
	assert_string_equal(alert_kind_word(ALERT_UNDEGRADED), "undegraded");
	alert_state_free(st);
}

static void config_errors(void **state)
{
	const char *bad[] = {
		"frequency: 300\nalerting: {degraded: {login_factor: 0.5}}\nsites: [{name: a, external_ip: 192.0.2.1}]\n",
		"frequency: 300\nalerting: {degraded: {window: 2d, baseline: 1d}}\nsites: [{name: a, external_ip: 192.0.2.1}]\n",
		"frequency: 300\nalerting: {degraded: {bogus: 1}}\nsites: [{name: a, external_ip: 192.0.2.1}]\n",
	};
	const char *want[] = { "'login_factor' in alerting.degraded must be more than 1",
		"alerting.degraded: baseline (86400 s) must be longer than window",
		"unknown key 'bogus' in alerting.degraded" };

	for (size_t i = 0; i < 3; i++) {
		struct config_diag d = { 0 };
		struct config *cfg = config_parse("t.yml", bad[i], strlen(bad[i]), &d);
		assert_null(cfg);
		assert_true(d.nerrors >= 1);
		if (!strstr(d.errors[0], want[i]))
			print_message("got: %s\n", d.errors[0]);
		assert_non_null(strstr(d.errors[0], want[i]));
		config_diag_free(&d);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(judged_against_own_history),
		cmocka_unit_test(floors_keep_noise_out),
		cmocka_unit_test(baseline_from_csv),
		cmocka_unit_test(alert_events),
		cmocka_unit_test(config_errors),
	};

	log_init(-1);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
