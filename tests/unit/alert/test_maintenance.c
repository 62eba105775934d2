/* SPDX-License-Identifier: MIT */
/* Maintenance windows (weekly and once, local and other time zones), mutes,
 * and what they do to the alert state machine. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alert/alert.h"
#include "config/config.h"
#include "util/log.h"
#include "alert/maintenance.h"

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

static time_t utc(int y, int mon, int d, int h, int m, int s)
{
	struct tm tm = { .tm_year = y - 1900, .tm_mon = mon - 1, .tm_mday = d,
			 .tm_hour = h, .tm_min = m, .tm_sec = s };
	return timegm(&tm);
}

#define SITES "sites:\n  - {name: paris, external_ip: 192.0.2.1}\n" \
	"  - {name: lyon, external_ip: 192.0.2.2}\n"

/* epmon's local time is Europe/Paris here (setenv in main): UTC+1 in winter */
static void weekly_local(void **state)
{
	struct config *cfg = load("frequency: 60\n" SITES
		"alerting:\n  maintenance:\n"
		"    - {sites: [paris], every: \"sun 02:00\", duration: 2h}\n"
		"    - {sites: \"*\", every: \"mon-fri 22:00\", duration: 4h}\n");
	struct maint_clock *mc = maint_clock_new();

	/* 2026-11-29 is a Sunday: 02:00 Paris is 01:00 UTC */
	assert_int_equal(maintenance_window_at(mc, cfg, "paris", utc(2026, 11, 29, 0, 59, 59)), 0);
	assert_int_equal(maintenance_window_at(mc, cfg, "paris", utc(2026, 11, 29, 1, 0, 0)), 1);
	assert_int_equal(maintenance_window_at(mc, cfg, "paris", utc(2026, 11, 29, 2, 59, 59)), 1);
	assert_int_equal(maintenance_window_at(mc, cfg, "paris", utc(2026, 11, 29, 3, 0, 0)), 0);
	assert_int_equal(maintenance_window_at(mc, cfg, "lyon", utc(2026, 11, 29, 1, 30, 0)), 0);
	/* Friday 2026-11-27 22:00 Paris to Saturday 02:00, every site */
	assert_int_equal(maintenance_window_at(mc, cfg, "lyon", utc(2026, 11, 27, 20, 59, 0)), 0);
	assert_int_equal(maintenance_window_at(mc, cfg, "lyon", utc(2026, 11, 27, 21, 0, 0)), 2);
	assert_int_equal(maintenance_window_at(mc, cfg, "paris", utc(2026, 11, 28, 0, 30, 0)), 2);
	assert_int_equal(maintenance_window_at(mc, cfg, "lyon", utc(2026, 11, 28, 1, 0, 0)), 0);
	/* Saturday 22:00 is no weekday */
	assert_int_equal(maintenance_window_at(mc, cfg, "lyon", utc(2026, 11, 28, 21, 30, 0)), 0);
	/* summer time: 2026-07-05 is a Sunday, 02:00 Paris is 00:00 UTC */
	assert_int_equal(maintenance_window_at(mc, cfg, "paris", utc(2026, 7, 5, 0, 0, 0)), 1);
	assert_int_equal(maintenance_window_at(mc, cfg, "paris", utc(2026, 7, 5, 2, 0, 0)), 0);
	maint_clock_free(mc);
	config_free(cfg);
}

/* A once window in another zone: asked of `epmon tz-offset` (build/epmon). */
static void once_other_zone(void **state)
{
	struct config *cfg = load("frequency: 60\n" SITES
		"alerting:\n  maintenance:\n"
		"    - {sites: [lyon], start: 2026-12-24T22:00, duration: 3h, "
		"timezone: America/New_York}\n"
		"    - {sites: [paris], start: '2026-12-24 22:00', duration: 30m, timezone: UTC}\n");
	struct maint_clock *mc = maint_clock_new();
	char self[PATH_MAX], exe[PATH_MAX + 16];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

	assert_true(n > 0);
	self[n] = '\0';
	/* BUILD/tests/test_maintenance -> BUILD/epmon */
	snprintf(exe, sizeof(exe), "%s/../epmon", dirname(self));
	assert_int_equal(access(exe, X_OK), 0);
	maint_clock_set_exe(mc, exe);
	/* 22:00 in New York (UTC-5 in December) is 03:00 UTC the next day */
	assert_int_equal(maintenance_window_at(mc, cfg, "lyon", utc(2026, 12, 25, 2, 59, 59)), 0);
	assert_int_equal(maintenance_window_at(mc, cfg, "lyon", utc(2026, 12, 25, 3, 0, 0)), 1);
	assert_int_equal(maintenance_window_at(mc, cfg, "lyon", utc(2026, 12, 25, 5, 59, 59)), 1);
	assert_int_equal(maintenance_window_at(mc, cfg, "lyon", utc(2026, 12, 25, 6, 0, 0)), 0);
	assert_int_equal(maintenance_window_at(mc, cfg, "paris", utc(2026, 12, 24, 22, 10, 0)), 2);
	assert_int_equal(maintenance_window_at(mc, cfg, "paris", utc(2026, 12, 24, 22, 30, 0)), 0);
	maint_clock_free(mc);
	config_free(cfg);
}

static void mutes_roundtrip(void **state)
{
	char dir[] = "/tmp/epmon-test-mutes-XXXXXX";
	struct mute *list;
	time_t now = 1800000000;

	assert_non_null(mkdtemp(dir));
	assert_int_equal(mutes_load(dir, now, &list), 0);       /* no file */
	assert_null(list);
	assert_int_equal(mutes_set(dir, "paris", now + 3600, "router swap, rack 4", now), 0);
	assert_int_equal(mutes_set(dir, "lyon", now + 60, "", now), 0);
	assert_int_equal(mutes_set(dir, "paris", now + 7200, "longer", now), 0);  /* replaces */
	assert_int_equal(mutes_load(dir, now, &list), 2);
	assert_non_null(mute_find(list, 2, "paris"));
	assert_string_equal(mute_find(list, 2, "paris")->reason, "longer");
	assert_int_equal(mute_find(list, 2, "paris")->until, now + 7200);
	assert_null(mute_find(list, 2, "nice"));
	free(list);
	/* lyon's has ended an hour later */
	assert_int_equal(mutes_load(dir, now + 3600, &list), 1);
	assert_string_equal(list[0].site, "paris");
	free(list);
	assert_int_equal(mutes_set(dir, "*", now + 60, "all of them", now), 0);
	assert_int_equal(mutes_load(dir, now, &list), 3);
	assert_string_equal(mute_find(list, 3, "nice")->reason, "all of them");
	free(list);
	assert_int_equal(mutes_clear(dir, "paris", now), 0);
	assert_int_equal(mutes_load(dir, now, &list), 2);
	free(list);
	assert_int_equal(mutes_clear(dir, "*", now), 0);
	assert_int_equal(mutes_load(dir, now, &list), 0);
	free(list);
	{
		char path[128];
		snprintf(path, sizeof(path), "%s/%s", dir, MUTES_FILE);
		unlink(path);
		rmdir(dir);
	}
}

static size_t feed(struct alert_state *st, const struct config *cfg, int ok, time_t at,
		   int quiet, struct alert_event **evs)
{
	struct site_result r;
	unsigned char q[2] = { (unsigned char)quiet, 0 };
	size_t n = 99;

	memset(&r, 0, sizeof(r));
	snprintf(r.site, sizeof(r.site), "paris");
	r.started.tv_sec = at;
	r.ok = ok;
	r.failed_step = ok ? STEP_NONE : STEP_VPN_LOGIN;
	assert_int_equal(alert_update_quiet(st, cfg, &r, 1, at, q, evs, &n), 0);
	return n;
}

/* In a window failures count but raise nothing; the first failure after it
 * is DOWN at once; a reminder waits too; an UP still goes out. */
static void quiet_alert_state(void **state)
{
	struct config *cfg = load("frequency: 60\n" SITES
		"logging: {smtp_server: h, sender: a@b, recipients: c@d, "
		"reminder_interval: 1m}\n");
	struct alert_state *st = alert_state_new();
	struct alert_event *evs;

	for (int i = 0; i < 5; i++)
		assert_int_equal(feed(st, cfg, 0, 1000 + i * 60, QUIET_MAINTENANCE, &evs), 0);
	assert_int_equal(alert_find(st, "paris")->status, ALERT_FAILING);
	assert_int_equal(alert_failures(st, "paris"), 5);
	assert_int_equal(feed(st, cfg, 0, 1300, QUIET_NO, &evs), 1);
	assert_int_equal(evs[0].kind, ALERT_DOWN);
	assert_int_equal(evs[0].site.failing_since, 1000);      /* the outage began inside */
	free(evs);
	/* muted: no reminder although one is due */
	assert_int_equal(feed(st, cfg, 0, 1500, QUIET_MUTED, &evs), 0);
	assert_int_equal(feed(st, cfg, 1, 1560, QUIET_MUTED, &evs), 1);
	assert_int_equal(evs[0].kind, ALERT_UP);
	free(evs);
	alert_state_free(st);
	config_free(cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(weekly_local),
		cmocka_unit_test(once_other_zone),
		cmocka_unit_test(mutes_roundtrip),
		cmocka_unit_test(quiet_alert_state),
	};

	setenv("TZ", "Europe/Paris", 1);
	tzset();
	log_init(-1);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
