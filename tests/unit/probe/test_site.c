/* SPDX-License-Identifier: MIT */
/* One site test: real pings on loopback; failures in a network namespace a forked child makes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "config/config.h"
#include "probe/site.h"
#include "util/log.h"
#include "vpn/nl_config.h"

static char fixture_dir[PATH_MAX];

static struct site loopback_site(const char *name, const char *external, const char *internal)
{
	struct site s;

	memset(&s, 0, sizeof(s));
	s.name = (char *)name;
	s.external_ip = (char *)external;
	s.internal_ip = (char *)internal;
	/* the timeout only counts for a lost reply: long, the machine may be busy */
	s.ping = (struct ping_settings){ .count = 3, .interval_s = 0.05, .timeout_s = 5 };
	return s;
}

static int ping_filled(const struct ping_stats *p, int count)
{
	return p->sent == count && p->received == count && p->loss_pct == 0 &&
	       p->min_ms > 0 && p->min_ms <= p->avg_ms && p->avg_ms <= p->max_ms;
}

static void loopback_site_passes(void **state)
{
	struct site s = loopback_site("lo-site", "127.0.0.1", NULL);
	struct site_env env;
	struct site_result r;
	struct timespec before, after;

	memset(&env, 0, sizeof(env));
	clock_gettime(CLOCK_REALTIME, &before);
	assert_int_equal(site_test(&s, &env, &r), 0);
	clock_gettime(CLOCK_REALTIME, &after);
	if (!r.ok)
		print_message("detail: %.512s\n", r.detail);
	assert_int_equal(r.ok, 1);
	assert_int_equal(r.failed_step, STEP_NONE);
	assert_string_equal(r.site, "lo-site");
	assert_string_equal(r.detail, "");
	assert_true(r.started.tv_sec >= before.tv_sec && r.started.tv_sec <= after.tv_sec);
	assert_int_equal(r.external_ran, 1);
	assert_true(ping_filled(&r.external, 3));
	/* neither a login nor an internal ping without vpn and internal_ip */
	assert_int_equal(r.login_ran, 0);
	assert_int_equal(r.internal_ran, 0);
	assert_int_equal(r.teardown_ran, 0);
	assert_true(r.login_ms == 0);
	assert_int_equal(r.stale_killed, 0);
	assert_int_equal(r.resolv_repaired, 0);
}

/* Without vpn the internal ping goes the host's own way. */
static void internal_ping_without_vpn(void **state)
{
	struct site s = loopback_site("lo-both", "127.0.0.1", "127.0.0.2");
	struct site_env env;
	struct site_result r;

	memset(&env, 0, sizeof(env));
	assert_int_equal(site_test(&s, &env, &r), 0);
	assert_int_equal(r.ok, 1);
	assert_int_equal(r.internal_ran, 1);
	assert_true(ping_filled(&r.external, 3));
	assert_true(ping_filled(&r.internal, 3));
}

/* A stop already set: the test is aborted (-1: no row is written for it). */
static void stop_aborts(void **state)
{
	struct site s = loopback_site("lo-stop", "127.0.0.1", "127.0.0.2");
	static volatile int stop = 1;
	struct site_env env;
	struct site_result r;

	memset(&env, 0, sizeof(env));
	env.vpn.stop = &stop;
	assert_int_equal(site_test(&s, &env, &r), -1);
	assert_int_equal(r.internal_ran, 0);
}

/* What a forked child in a network namespace of its own saw. */
struct child_out {
	char failed[160];
	int rc;
	struct site_result r;
};

/* site_test in a new network namespace (lo down unless lo_up): nothing it
 * sends can leave the host. */
static void test_in_netns(const struct site *s, const struct site_env *env, int lo_up,
			  struct child_out *out)
{
	int fds[2], status;
	size_t got = 0;
	pid_t pid;

	memset(out, 0, sizeof(*out));
	assert_int_equal(pipe(fds), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct child_out mine;
		size_t off = 0;
		memset(&mine, 0, sizeof(mine));
		close(fds[0]);
		if (unshare(CLONE_NEWNET) < 0)
			snprintf(mine.failed, sizeof(mine.failed), "unshare: %s", strerror(errno));
		else if (lo_up && nl_link_up("lo", 0) < 0)
			snprintf(mine.failed, sizeof(mine.failed), "lo up: %s", strerror(errno));
		else
			mine.rc = site_test(s, env, &mine.r);
		while (off < sizeof(mine)) {
			ssize_t w = write(fds[1], (char *)&mine + off, sizeof(mine) - off);
			if (w <= 0)
				_exit(2);
			off += (size_t)w;
		}
		_exit(0);
	}
	close(fds[1]);
	while (got < sizeof(*out)) {
		ssize_t n = read(fds[0], (char *)out + got, sizeof(*out) - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(fds[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	assert_int_equal(got, sizeof(*out));
	if (out->failed[0])
		fail_msg("child: %s", out->failed);
}

/* lo is down in a new namespace: 127.0.0.1 is unreachable, and the
 * external step fails saying so; nothing after it runs. */
static void unreachable_external_fails_first_step(void **state)
{
	struct site s = loopback_site("lo-down", "127.0.0.1", "127.0.0.2");
	struct site_env env;
	struct child_out c;

	memset(&env, 0, sizeof(env));
	test_in_netns(&s, &env, 0, &c);
	print_message("detail: %s\n", c.r.detail);
	assert_int_equal(c.rc, 0);
	assert_int_equal(c.r.ok, 0);
	assert_int_equal(c.r.failed_step, STEP_EXTERNAL_PING);
	assert_string_equal(site_step_name(c.r.failed_step), "external_ping");
	assert_int_equal(c.r.external_ran, 1);
	assert_int_equal(c.r.external.received, 0);
	assert_true(c.r.external.loss_pct == 100);
	assert_int_equal(c.r.internal_ran, 0);
	assert_non_null(strstr(c.r.detail, "127.0.0.1"));
	assert_non_null(strstr(c.r.detail, "Network is unreachable"));
}

/* The external address answers, the internal one has no route. */
static void unreachable_internal_fails_internal_step(void **state)
{
	struct site s = loopback_site("no-route", "127.0.0.1", "192.0.2.10");
	struct site_env env;
	struct child_out c;

	memset(&env, 0, sizeof(env));
	test_in_netns(&s, &env, 1, &c);
	assert_int_equal(c.rc, 0);
	assert_int_equal(c.r.ok, 0);
	assert_int_equal(c.r.failed_step, STEP_INTERNAL_PING);
	assert_true(ping_filled(&c.r.external, 3));
	assert_int_equal(c.r.internal_ran, 1);
	assert_int_equal(c.r.internal.received, 0);
	assert_non_null(strstr(c.r.detail, "192.0.2.10"));
}

/* A client that gives up: the login step fails, it has no figure, the
 * teardown still runs, and the client's words are in the detail. */
static void failed_login_has_no_figure(void **state)
{
	struct site s = loopback_site("vpn-down", "127.0.0.1", "127.0.0.2");
	char command[PATH_MAX + 32], dir[] = "/tmp/epmon-test-site-XXXXXX", resolv[PATH_MAX];
	struct site_env env;
	struct child_out c;
	FILE *f;

	assert_non_null(mkdtemp(dir));
	snprintf(resolv, sizeof(resolv), "%s/resolv.conf", dir);
	f = fopen(resolv, "w");
	assert_non_null(f);
	fputs("nameserver 192.0.2.53\n", f);
	fclose(f);
	snprintf(command, sizeof(command), "%s/fake-exit.sh", fixture_dir);
	s.vpn.client = VPN_CUSTOM;
	s.vpn.command = command;
	s.vpn.connected = (char *)"Connected";
	s.vpn.login_timeout_s = 20;
	s.vpn.teardown_timeout_s = 5;
	memset(&env, 0, sizeof(env));
	env.vpn.state_dir = dir;
	env.vpn.resolv_conf = resolv;
	/* in a namespace of its own: the teardown's route check sees only it */
	test_in_netns(&s, &env, 1, &c);
	print_message("detail: %s\n", c.r.detail);
	assert_int_equal(c.rc, 0);
	assert_int_equal(c.r.ok, 0);
	assert_int_equal(c.r.failed_step, STEP_VPN_LOGIN);
	assert_true(ping_filled(&c.r.external, 3));
	assert_int_equal(c.r.login_ran, 0);
	assert_true(c.r.login_ms == 0);
	assert_int_equal(c.r.internal_ran, 0);
	assert_int_equal(c.r.teardown_ran, 1);
	assert_non_null(strstr(c.r.detail, "client exited with status 1"));
	assert_non_null(strstr(c.r.detail, "cannot reach the gateway"));
	unlink(resolv);
	snprintf(resolv, sizeof(resolv), "%s/resolv.conf.good", dir);
	unlink(resolv);
	assert_int_equal(rmdir(dir), 0);
}

/* Notes are "; "-joined and cut at the end of detail, never past it. */
static void notes_join_and_never_overflow(void **state)
{
	struct {
		struct site_result r;
		char guard[64];
	} g;
	char guard[64], long_note[700];

	memset(&g, 0, sizeof(g));
	memset(g.guard, 0x5a, sizeof(g.guard));
	memset(guard, 0x5a, sizeof(guard));
	site_result_note(&g.r, "first");
	assert_string_equal(g.r.detail, "first");
	site_result_note(&g.r, "%s %d", "second", 2);
	assert_string_equal(g.r.detail, "first; second 2");

	for (int i = 0; i < 100; i++)
		site_result_note(&g.r, "note number %d of a long list", i);
	assert_true(strnlen(g.r.detail, sizeof(g.r.detail)) < sizeof(g.r.detail));
	assert_true(strlen(g.r.detail) >= sizeof(g.r.detail) - 40);
	assert_memory_equal(g.guard, guard, sizeof(guard));
	assert_true(strncmp(g.r.detail, "first; second 2; note number 0 of", 33) == 0);

	/* one note longer than the whole field */
	memset(&g.r, 0, sizeof(g.r));
	memset(long_note, 'n', sizeof(long_note) - 1);
	long_note[sizeof(long_note) - 1] = '\0';
	site_result_note(&g.r, "%s", long_note);
	assert_int_equal(strlen(g.r.detail), sizeof(g.r.detail) - 1);
	site_result_note(&g.r, "more");
	assert_int_equal(strlen(g.r.detail), sizeof(g.r.detail) - 1);
	assert_memory_equal(g.guard, guard, sizeof(guard));
}

static int setup(void **state)
{
	const char *dir = getenv("EPMON_FIXTURES");
	char here[PATH_MAX];

	/* __FILE__ is tests/unit/probe/test_site.c as the Makefile passes it */
	if (!dir) {
		snprintf(here, sizeof(here), "%s", __FILE__);
		*strrchr(here, '/') = '\0';
		strncat(here, "/../vpn/fixtures", sizeof(here) - strlen(here) - 1);
		dir = here;
	}
	if (!realpath(dir, fixture_dir))
		fail_msg("fixtures %s: %s", dir, strerror(errno));
	log_init(getenv("TEST_DEBUG") ? 1 : 0);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(loopback_site_passes),
		cmocka_unit_test(internal_ping_without_vpn),
		cmocka_unit_test(stop_aborts),
		cmocka_unit_test(unreachable_external_fails_first_step),
		cmocka_unit_test(unreachable_internal_fails_internal_step),
		cmocka_unit_test(failed_login_has_no_figure),
		cmocka_unit_test(notes_join_and_never_overflow),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
