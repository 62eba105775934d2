/* SPDX-License-Identifier: MIT */
/* Alert state machine: thresholds, one DOWN per outage, reminders on an
 * injected clock, UP with the outage's duration, per-site settings, config
 * reload, and the state file's round trip. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "alert/alert.h"
#include "config/config.h"
#include "util/log.h"

#define CONFIG \
	"frequency: 60\n" \
	"logging:\n" \
	"  smtp_server: 127.0.0.1\n" \
	"  sender: epmon@example.com\n" \
	"  recipients: noc@example.com\n" \
	"  reminder_interval: 1h\n" \
	"sites:\n" \
	"  - {name: paris, external_ip: 192.0.2.1}\n" \
	"  - name: lyon\n" \
	"    external_ip: 192.0.2.2\n" \
	"    alert: {failure_threshold: 3, reminder_interval: off, notify_recovery: false}\n" \
	"  - name: nice\n" \
	"    external_ip: 192.0.2.3\n" \
	"    alert: {failure_threshold: 1}\n"

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

static struct site_result result(const char *site, int ok, time_t at,
				 const char *detail)
{
	struct site_result r;

	memset(&r, 0, sizeof(r));
	snprintf(r.site, sizeof(r.site), "%s", site);
	r.started.tv_sec = at;
	r.ok = ok;
	r.external_ran = 1;
	r.external.sent = 1;
	r.external.received = ok;
	r.external.avg_ms = ok ? 12.5 : 0;
	r.failed_step = ok ? STEP_NONE : STEP_EXTERNAL_PING;
	snprintf(r.detail, sizeof(r.detail), "%s", detail ? detail : "");
	return r;
}

/* Feeds one result at time `at` (also the clock); returns the events. */
static size_t feed(struct alert_state *st, const struct config *cfg,
		   const char *site, int ok, time_t at, struct alert_event **evs)
{
	struct site_result r = result(site, ok, at, ok ? "" : "no reply from 192.0.2.1");
	size_t n = 99;

	assert_int_equal(alert_update(st, cfg, &r, 1, at, evs, &n), 0);
	assert_true((n == 0) == (*evs == NULL));
	return n;
}

static void feed_none(struct alert_state *st, const struct config *cfg,
		      const char *site, int ok, time_t at)
{
	struct alert_event *evs;
	assert_int_equal(feed(st, cfg, site, ok, at, &evs), 0);
}

static void make_dir(char *buf);
static void remove_dir(const char *dir);
static void assert_same_site(const struct alert_site *a, const struct alert_site *b);

/* success_threshold 3: an outage ends after three good cycles in a row; a
 * failure among them starts the count again and sends nothing; the UP
 * mail's outage runs to the first good test of the streak; the state
 * (streak, the outage resolved) survives a save and load. */
static void success_threshold_ends_outage_after_streak(void **state)
{
	struct config *cfg = load("frequency: 60\n"
		"alerting: {success_threshold: 3}\n"
		"sites:\n"
		"  - {name: paris, external_ip: 192.0.2.1}\n"
		"  - {name: lyon, external_ip: 192.0.2.2, alert: {success_threshold: 1}}\n");
	struct alert_state *st = alert_state_new(), *back;
	struct alert_event *evs;
	char dir[64];

	assert_int_equal(config_find_site(cfg, "paris")->alert.success_threshold, 3);
	assert_int_equal(config_find_site(cfg, "lyon")->alert.success_threshold, 1);
	feed_none(st, cfg, "paris", 0, 1000);
	assert_int_equal(feed(st, cfg, "paris", 0, 1060, &evs), 1);
	assert_int_equal(evs[0].kind, ALERT_DOWN);
	free(evs);
	feed_none(st, cfg, "paris", 1, 1120);
	feed_none(st, cfg, "paris", 1, 1180);
	assert_int_equal(alert_find(st, "paris")->status, ALERT_ALERTED);
	assert_int_equal(alert_find(st, "paris")->successes, 2);
	feed_none(st, cfg, "paris", 0, 1240);      /* the streak breaks */
	assert_int_equal(alert_find(st, "paris")->successes, 0);
	assert_true(alert_active(st, "paris"));
	feed_none(st, cfg, "paris", 1, 1300);
	feed_none(st, cfg, "paris", 1, 1360);
	make_dir(dir);
	alert_state_set_batch(st, 41);      /* the staged mails that go with it */
	assert_int_equal(alert_state_save(st, dir), 0);
	back = alert_state_load(dir);
	assert_int_equal(alert_state_batch(back), 41);
	assert_same_site(alert_find(st, "paris"), alert_find(back, "paris"));
	assert_int_equal(feed(back, cfg, "paris", 1, 1420, &evs), 1);
	assert_int_equal(evs[0].kind, ALERT_UP);
	assert_true(evs[0].outage_s == 300);        /* 1000 -> 1300 */
	free(evs);
	assert_int_equal(alert_find(back, "paris")->status, ALERT_RECOVERED);
	assert_int_equal(alert_find(back, "paris")->resolved_at, 1420);
	assert_int_equal(alert_find(back, "paris")->resolved_started_at, 1060);
	assert_int_equal(alert_state_save(back, dir), 0);
	alert_state_free(st);
	st = alert_state_load(dir);
	assert_same_site(alert_find(st, "paris"), alert_find(back, "paris"));
	alert_state_free(back);
	alert_state_free(st);
	remove_dir(dir);
	config_free(cfg);
}

static void threshold_two_sends_one_down(void **state)
{
	struct config *cfg = load(CONFIG);
	struct alert_state *st = alert_state_new();
	struct alert_event *evs;

	feed_none(st, cfg, "paris", 1, 900);
	assert_int_equal(alert_find(st, "paris")->status, ALERT_OK);
	feed_none(st, cfg, "paris", 0, 1000);
	assert_int_equal(alert_find(st, "paris")->status, ALERT_FAILING);
	assert_int_equal(alert_failures(st, "paris"), 1);
	assert_false(alert_active(st, "paris"));

	assert_int_equal(feed(st, cfg, "paris", 0, 1060, &evs), 1);
	assert_int_equal(evs[0].kind, ALERT_DOWN);
	assert_string_equal(evs[0].site.name, "paris");
	assert_int_equal(evs[0].site.failures, 2);
	assert_int_equal(evs[0].site.failing_since, 1000);
	assert_int_equal(evs[0].site.nhistory, 3);
	assert_string_equal(evs[0].site.history[2].detail, "no reply from 192.0.2.1");
	assert_int_equal(evs[0].site.history[2].failed_step, STEP_EXTERNAL_PING);
	assert_true(evs[0].site.history[0].external_ms == 12.5);
	assert_true(evs[0].site.history[2].external_ms < 0);
	free(evs);
	assert_true(alert_active(st, "paris"));

	/* five more failures within the hour: nothing */
	for (int i = 1; i <= 5; i++)
		feed_none(st, cfg, "paris", 0, 1060 + i * 60);
	assert_int_equal(alert_failures(st, "paris"), 7);
	assert_int_equal(alert_find(st, "paris")->status, ALERT_ALERTED);
	alert_state_free(st);
	config_free(cfg);
}

static void reminders_follow_the_clock(void **state)
{
	struct config *cfg = load(CONFIG);
	struct alert_state *st = alert_state_new();
	struct alert_event *evs;

	feed_none(st, cfg, "paris", 0, 10000);
	assert_int_equal(feed(st, cfg, "paris", 0, 10060, &evs), 1);
	free(evs);
	feed_none(st, cfg, "paris", 0, 10060 + 1800);
	feed_none(st, cfg, "paris", 0, 10060 + 3599);
	assert_int_equal(feed(st, cfg, "paris", 0, 10060 + 3600, &evs), 1);
	assert_int_equal(evs[0].kind, ALERT_REMINDER);
	assert_int_equal(evs[0].site.reminders, 1);
	assert_int_equal(evs[0].site.failures, 5);
	free(evs);
	feed_none(st, cfg, "paris", 0, 10060 + 3660);
	assert_int_equal(feed(st, cfg, "paris", 0, 10060 + 7300, &evs), 1);
	assert_int_equal(evs[0].kind, ALERT_REMINDER);
	assert_int_equal(evs[0].site.reminders, 2);
	free(evs);
	alert_state_free(st);
	config_free(cfg);
}

static void recovery_sends_one_up_with_duration(void **state)
{
	struct config *cfg = load(CONFIG);
	struct alert_state *st = alert_state_new();
	struct alert_event *evs;

	feed_none(st, cfg, "paris", 0, 5000);
	assert_int_equal(feed(st, cfg, "paris", 0, 5060, &evs), 1);
	free(evs);
	alert_set_down_id(st, "paris", "<down@x>");
	feed_none(st, cfg, "paris", 0, 5120);
	assert_int_equal(feed(st, cfg, "paris", 1, 5000 + 35 * 60, &evs), 1);
	assert_int_equal(evs[0].kind, ALERT_UP);
	assert_true(evs[0].outage_s == 35 * 60);
	assert_int_equal(evs[0].site.failures, 3);
	assert_string_equal(evs[0].site.down_id, "<down@x>");
	assert_true(evs[0].site.history[evs[0].site.nhistory - 1].ok);
	free(evs);
	assert_int_equal(alert_find(st, "paris")->status, ALERT_RECOVERED);
	assert_int_equal(alert_failures(st, "paris"), 0);
	assert_string_equal(alert_find(st, "paris")->down_id, "");
	feed_none(st, cfg, "paris", 1, 7000);
	assert_int_equal(alert_find(st, "paris")->status, ALERT_OK);

	/* a short failure streak below the threshold: no mail either way */
	feed_none(st, cfg, "paris", 0, 7060);
	feed_none(st, cfg, "paris", 1, 7120);
	assert_int_equal(alert_find(st, "paris")->status, ALERT_OK);
	/* a new outage after recovery: a new DOWN */
	feed_none(st, cfg, "paris", 0, 8000);
	assert_int_equal(feed(st, cfg, "paris", 0, 8060, &evs), 1);
	assert_int_equal(evs[0].kind, ALERT_DOWN);
	assert_int_equal(evs[0].site.failing_since, 8000);
	free(evs);
	alert_state_free(st);
	config_free(cfg);
}

static void per_site_settings(void **state)
{
	struct config *cfg = load(CONFIG);
	struct alert_state *st = alert_state_new();
	struct alert_event *evs;

	/* lyon: threshold 3, no reminders, no recovery mail */
	assert_int_equal(config_find_site(cfg, "lyon")->alert.failure_threshold, 3);
	feed_none(st, cfg, "lyon", 0, 100);
	feed_none(st, cfg, "lyon", 0, 200);
	assert_int_equal(feed(st, cfg, "lyon", 0, 300, &evs), 1);
	assert_int_equal(evs[0].kind, ALERT_DOWN);
	free(evs);
	feed_none(st, cfg, "lyon", 0, 300 + 86400);
	feed_none(st, cfg, "lyon", 1, 400 + 86400);
	assert_int_equal(alert_find(st, "lyon")->status, ALERT_RECOVERED);

	/* nice: threshold 1 and the global reminder interval (1 h) */
	assert_int_equal(feed(st, cfg, "nice", 0, 100, &evs), 1);
	assert_int_equal(evs[0].kind, ALERT_DOWN);
	free(evs);
	assert_int_equal(feed(st, cfg, "nice", 0, 3700, &evs), 1);
	assert_int_equal(evs[0].kind, ALERT_REMINDER);
	free(evs);
	alert_state_free(st);
	config_free(cfg);
}

/* Several sites in one cycle: one event per site (no grouping). */
static void one_cycle_many_sites(void **state)
{
	struct config *cfg = load(CONFIG);
	struct alert_state *st = alert_state_new();
	struct site_result r[3] = { result("paris", 0, 50, "x"),
		result("lyon", 0, 51, "y"), result("nice", 0, 52, "z") };
	struct alert_event *evs;
	size_t n;

	assert_int_equal(alert_update(st, cfg, r, 3, 60, &evs, &n), 0);
	assert_int_equal(n, 1); /* nice, threshold 1 */
	assert_string_equal(evs[0].site.name, "nice");
	free(evs);
	assert_int_equal(alert_update(st, cfg, r, 3, 120, &evs, &n), 0);
	assert_int_equal(n, 1); /* paris */
	assert_string_equal(evs[0].site.name, "paris");
	free(evs);
	assert_int_equal(alert_update(st, cfg, r, 3, 180, &evs, &n), 0);
	assert_int_equal(n, 1); /* lyon */
	assert_string_equal(evs[0].site.name, "lyon");
	free(evs);
	assert_int_equal(alert_update(st, cfg, r, 0, 240, &evs, &n), 0);
	assert_int_equal(n, 0);
	assert_null(evs);
	alert_state_free(st);
	config_free(cfg);
}

static void history_keeps_the_last_results(void **state)
{
	struct config *cfg = load(CONFIG);
	struct alert_state *st = alert_state_new();

	for (int i = 0; i < ALERT_HISTORY + 3; i++)
		feed_none(st, cfg, "lyon", i % 2, 100 + i);
	const struct alert_site *s = alert_find(st, "lyon");
	assert_int_equal(s->nhistory, ALERT_HISTORY);
	assert_int_equal(s->history[0].at, 103);
	assert_int_equal(s->history[ALERT_HISTORY - 1].at, 100 + ALERT_HISTORY + 2);
	alert_state_free(st);
	config_free(cfg);
}

/* SIGHUP: sites still there keep their state, removed ones are dropped. */
static void reload_keeps_existing_sites(void **state)
{
	struct config *cfg = load(CONFIG);
	struct config *fresh = load("frequency: 60\nsites:\n"
				    "  - {name: paris, external_ip: 192.0.2.1}\n"
				    "  - {name: berlin, external_ip: 192.0.2.9}\n");
	struct alert_state *st = alert_state_new();
	struct alert_event *evs;

	assert_int_equal(alert_state_sync(st, cfg), 0);
	assert_int_equal(alert_count(st), 3);
	feed_none(st, cfg, "paris", 0, 100);
	assert_int_equal(feed(st, cfg, "paris", 0, 160, &evs), 1);
	free(evs);
	feed_none(st, cfg, "lyon", 0, 100);
	assert_int_equal(alert_state_sync(st, fresh), 0);
	assert_int_equal(alert_count(st), 2);
	assert_null(alert_find(st, "lyon"));
	assert_null(alert_find(st, "nice"));
	assert_int_equal(alert_find(st, "berlin")->status, ALERT_OK);
	assert_true(alert_active(st, "paris"));
	assert_int_equal(alert_failures(st, "paris"), 2);
	/* no second DOWN after the reload */
	feed_none(st, fresh, "paris", 0, 220);
	/* defaults without logging: threshold 2, recovery mail on */
	assert_int_equal(feed(st, fresh, "paris", 1, 280, &evs), 1);
	assert_int_equal(evs[0].kind, ALERT_UP);
	free(evs);
	alert_state_free(st);
	config_free(fresh);
	config_free(cfg);
}

static void make_dir(char *buf)
{
	strcpy(buf, "/tmp/epmon-test-alert-XXXXXX");
	assert_non_null(mkdtemp(buf));
}

static void remove_dir(const char *dir)
{
	char cmd[256];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

static void assert_same_site(const struct alert_site *a, const struct alert_site *b)
{
	assert_string_equal(a->name, b->name);
	assert_int_equal(a->status, b->status);
	assert_int_equal(a->failures, b->failures);
	assert_int_equal(a->failing_since, b->failing_since);
	assert_int_equal(a->alerted_at, b->alerted_at);
	assert_int_equal(a->last_mail_at, b->last_mail_at);
	assert_int_equal(a->reminders, b->reminders);
	assert_string_equal(a->down_id, b->down_id);
	assert_int_equal(a->successes, b->successes);
	assert_int_equal(a->recover_since, b->recover_since);
	assert_int_equal(a->resolved_at, b->resolved_at);
	assert_int_equal(a->resolved_started_at, b->resolved_started_at);
	assert_int_equal(a->down_step, b->down_step);
	assert_int_equal(a->degraded, b->degraded);
	assert_int_equal(a->degraded_at, b->degraded_at);
	assert_int_equal(a->undegraded_at, b->undegraded_at);
	assert_string_equal(a->degraded_figures, b->degraded_figures);
	assert_int_equal(a->nhistory, b->nhistory);
	for (size_t i = 0; i < a->nhistory; i++) {
		const struct alert_sample *x = &a->history[i], *y = &b->history[i];
		assert_int_equal(x->at, y->at);
		assert_int_equal(x->ok, y->ok);
		assert_int_equal(x->failed_step, y->failed_step);
		assert_true(x->external_ms == y->external_ms);
		assert_true(x->login_ms == y->login_ms);
		assert_true(x->internal_ms == y->internal_ms);
		assert_string_equal(x->detail, y->detail);
	}
}

static void save_load_round_trip(void **state)
{
	static const char *const details[] = { "login failed: bad credentials",
		"100% loss\tand a tab\nnewline", "", "-", "échec de connexion ☹",
		"no reply from 10.0.0.1 in 2 s" };
	struct config *cfg = load(CONFIG);
	struct alert_state *st = alert_state_new(), *back;
	char dir[64], path[128];
	time_t t = 1700000000;

	make_dir(dir);
	for (size_t i = 0; i < 6; i++) {
		struct site_result r = result("paris", 0, t + (time_t)i * 60, details[i]);
		struct alert_event *evs;
		size_t n;
		r.failed_step = (enum site_step)(1 + i % 4);
		r.login_ran = i % 2;
		r.login_ms = 812.25;
		assert_int_equal(alert_update(st, cfg, &r, 1, t + (time_t)i * 60, &evs, &n), 0);
		free(evs);
	}
	alert_set_down_id(st, "paris", "<epmon.paris.down.1@host>");
	feed_none(st, cfg, "lyon", 1, t);
	feed_none(st, cfg, "nice", 1, t);
	assert_int_equal(alert_state_save(st, dir), 0);
	snprintf(path, sizeof(path), "%s/%s", dir, ALERT_STATE_FILE);
	struct stat sb;
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);

	back = alert_state_load(dir);
	assert_non_null(back);
	assert_int_equal(alert_count(back), alert_count(st));
	for (size_t i = 0; i < alert_count(st); i++)
		assert_same_site(alert_at(st, i), alert_find(back, alert_at(st, i)->name));
	/* the reloaded state goes on where it was: no second DOWN */
	feed_none(back, cfg, "paris", 0, t + 1000);
	assert_int_equal(alert_failures(back, "paris"), 7);
	alert_state_free(back);

	/* a damaged file: bad lines skipped, good ones kept */
	FILE *f = fopen(path, "a");
	assert_non_null(f);
	fputs("site broken\nsample paris x\ngarbage line here\n"
	      "site lyon bogus 1 0 0 0 0 -\n", f);
	fclose(f);
	back = alert_state_load(dir);
	assert_int_equal(alert_count(back), 3);
	assert_true(alert_active(back, "paris"));
	alert_state_free(back);

	remove_dir(dir);
	/* no file: an empty state */
	back = alert_state_load(dir);
	assert_non_null(back);
	assert_int_equal(alert_count(back), 0);
	alert_state_free(back);
	/* an unwritable directory: an error, not a crash */
	assert_int_equal(alert_state_save(st, "/proc/epmon-no-such/dir"), -1);
	alert_state_free(st);
	config_free(cfg);
}

static void names(void **state)
{
	assert_string_equal(alert_status_name(ALERT_FAILING), "failing");
	assert_string_equal(alert_status_name(ALERT_RECOVERED), "recovered");
	assert_string_equal(alert_kind_name(ALERT_DOWN), "DOWN");
	assert_string_equal(alert_kind_name(ALERT_REMINDER), "REMINDER");
	assert_string_equal(alert_kind_name(ALERT_UP), "UP");
	struct alert_state *st = alert_state_new();
	assert_int_equal(alert_failures(st, "nope"), 0);
	assert_false(alert_active(st, "nope"));
	assert_null(alert_at(st, 0));
	alert_state_free(st);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(threshold_two_sends_one_down),
		cmocka_unit_test(success_threshold_ends_outage_after_streak),
		cmocka_unit_test(reminders_follow_the_clock),
		cmocka_unit_test(recovery_sends_one_up_with_duration),
		cmocka_unit_test(per_site_settings),
		cmocka_unit_test(one_cycle_many_sites),
		cmocka_unit_test(history_keeps_the_last_results),
		cmocka_unit_test(reload_keeps_existing_sites),
		cmocka_unit_test(save_load_round_trip),
		cmocka_unit_test(names),
	};
	log_init(-1);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
