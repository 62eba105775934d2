/* SPDX-License-Identifier: MIT */
/* Expect engine: fake clients (tests/unit/fixtures/fake-*.sh) on a real pty. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

#include "util/log.h"
#include "vpn/session.h"

#define SECRET "hunter2-correct"

static char fixture_dir[512];

static const char *const child_env[] = {
	"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C", NULL
};
static const struct session_step login_steps[] = {
	{ "Username:", "alice", 2.0 },
	{ "Password:", "{password}", 2.0 },
};
static const char *const login_failed[] = { "Login failed", "[Aa]uthentication failed" };

struct fake {
	char path[600];
	const char *argv[4];
	struct session_spec spec;
};

/* A spec running /bin/sh fixtures/SCRIPT [ARG] with the usual login dialogue. */
static void fake_init(struct fake *f, const char *script, const char *arg)
{
	snprintf(f->path, sizeof(f->path), "%s/%s", fixture_dir, script);
	f->argv[0] = "/bin/sh";
	f->argv[1] = f->path;
	f->argv[2] = arg;
	f->argv[3] = NULL;
	f->spec = (struct session_spec){
		.argv = f->argv, .env = child_env,
		.steps = login_steps, .nsteps = 2,
		.connected = "Connected", .failed = login_failed, .nfailed = 2,
		.secret = SECRET, .login_timeout_s = 5.0, .site = "test",
	};
}

static struct session *start(const struct session_spec *spec)
{
	char err[256] = "";
	struct session *s = session_start(spec, err, sizeof(err));

	if (!s)
		fail_msg("session_start: %s", err);
	return s;
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

/* Reads a /proc file of the client (NUL separators kept) into buf. */
static size_t read_proc(pid_t pid, const char *what, char *buf, size_t cap)
{
	char path[64];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, what);
	fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	n = read(fd, buf, cap);
	close(fd);
	assert_true(n > 0);
	return (size_t)n;
}

/* Lets a connected fake reach its idle `sleep`: a signal that comes while sh
 * is still forking is held by dash until the sleep ends (a fixture race). */
static void settle(struct session *s)
{
	assert_int_equal(session_pump(s, 100), 0);
}

static void login_connects_and_stops_politely(void **state)
{
	struct fake f;
	int esc = -1;

	fake_init(&f, "fake-login.sh", NULL);
	struct session *s = start(&f.spec);
	assert_int_equal(session_login(s), SESSION_CONNECTED);
	assert_true(session_connected_ms(s) > 0.0);
	assert_true(session_connected_ms(s) < 2000.0);
	assert_non_null(strstr(session_detail(s), "connected in"));
	assert_non_null(strstr(session_output_tail(s), "Connected to gateway"));
	assert_int_equal(session_alive(s), 1);
	settle(s);
	double ms = session_stop(s, SIGINT, 0.3, &esc);
	assert_int_equal(esc, 0);
	assert_true(ms < 300.0);
	assert_int_equal(session_alive(s), 0);
	assert_true(kill(-session_pid(s), 0) < 0 && errno == ESRCH);
	session_free(s);
}

static void wrong_password_matches_failed_pattern(void **state)
{
	struct fake f;

	fake_init(&f, "fake-login.sh", NULL);
	f.spec.secret = "not-the-password";
	struct session *s = start(&f.spec);
	/* the client also exits 1 right after: the pattern is the better reason */
	assert_int_equal(session_login(s), SESSION_FAILED_PATTERN);
	assert_string_equal(session_detail(s), "login failed: client said 'Login failed.'");
	assert_int_equal(session_failed_index(s), 0);
	assert_null(strstr(session_output_tail(s), "not-the-password"));
	session_free(s);
}

static void prompt_split_across_reads_matches(void **state)
{
	struct fake f;

	fake_init(&f, "fake-login.sh", "split");
	struct session *s = start(&f.spec);
	assert_int_equal(session_login(s), SESSION_CONNECTED);
	assert_true(session_connected_ms(s) >= 100.0);
	session_free(s);
}

static void client_exit_status_is_reported(void **state)
{
	struct fake f;

	fake_init(&f, "fake-exit.sh", NULL);
	struct session *s = start(&f.spec);
	assert_int_equal(session_login(s), SESSION_EXITED);
	assert_string_equal(session_detail(s), "client exited with status 1");
	assert_non_null(strstr(session_output_tail(s), "cannot reach the gateway"));
	assert_int_equal(session_alive(s), 0);
	assert_int_equal(session_pump(s, 1000), 1);
	session_free(s);

	fake_init(&f, "fake-exit.sh", "kill");
	s = start(&f.spec);
	assert_int_equal(session_login(s), SESSION_EXITED);
	assert_string_equal(session_detail(s), "client killed by signal 9");
	session_free(s);
}

/* A caller with SIGCHLD ignored gets its children reaped by the kernel:
 * the exit is still noticed, without a status. */
static void exit_noticed_when_sigchld_is_ignored(void **state)
{
	struct fake f;

	signal(SIGCHLD, SIG_IGN);
	fake_init(&f, "fake-exit.sh", NULL);
	struct session *s = start(&f.spec);
	enum session_outcome o = session_login(s);
	signal(SIGCHLD, SIG_DFL);
	assert_int_equal(o, SESSION_EXITED);
	assert_string_equal(session_detail(s), "client exited (status unknown)");
	session_free(s);
}

static void missing_prompt_is_a_step_timeout(void **state)
{
	struct fake f;
	struct session_step steps[] = { { "Username:", "alice", 0.3 } };

	fake_init(&f, "fake-silent.sh", NULL);
	f.spec.steps = steps;
	f.spec.nsteps = 1;
	double t0 = now_ms();
	struct session *s = start(&f.spec);
	assert_int_equal(session_login(s), SESSION_STEP_TIMEOUT);
	double ms = now_ms() - t0;
	assert_true(ms >= 300.0 && ms < 600.0);
	assert_string_equal(session_detail(s), "no 'Username:' prompt after 0.3 s");
	assert_non_null(strstr(session_output_tail(s), "starting"));
	session_free(s);
}

static void no_tunnel_is_an_overall_timeout(void **state)
{
	struct fake f;

	fake_init(&f, "fake-login.sh", NULL);
	f.spec.connected = "Tunnel is up";
	f.spec.login_timeout_s = 0.4;
	double t0 = now_ms();
	struct session *s = start(&f.spec);
	assert_int_equal(session_login(s), SESSION_TIMEOUT);
	double ms = now_ms() - t0;
	assert_true(ms >= 400.0 && ms < 700.0);
	assert_string_equal(session_detail(s), "no tunnel after 0.4 s");
	session_free(s);
}

/* The client echoes the password, split across two writes: neither the tail
 * nor the debug log may hold it, nor may the child's argv or environment. */
static void echoed_password_is_masked_everywhere(void **state)
{
	struct fake f;
	struct session_step steps[] = { { "Password:", "{password}", 2.0 } };
	char logpath[] = "/tmp/test_session_log.XXXXXX";
	char buf[65536];
	size_t n;

	fake_init(&f, "fake-echo.sh", NULL);
	f.spec.steps = steps;
	f.spec.nsteps = 1;

	int logfd = mkstemp(logpath);
	assert_true(logfd >= 0);
	int saved = dup(STDERR_FILENO);
	dup2(logfd, STDERR_FILENO);
	log_init(1);

	struct session *s = start(&f.spec);
	enum session_outcome o = session_login(s);

	n = read_proc(session_pid(s), "cmdline", buf, sizeof(buf));
	int in_cmdline = memmem(buf, n, "hunter2", 7) != NULL;
	n = read_proc(session_pid(s), "environ", buf, sizeof(buf));
	int in_environ = memmem(buf, n, "hunter2", 7) != NULL;
	int env_is_clean = n == strlen(child_env[0]) + 1 + strlen(child_env[1]) + 1;

	session_stop(s, SIGINT, 0.3, NULL);
	log_init(getenv("TEST_DEBUG") ? 1 : 0);
	dup2(saved, STDERR_FILENO);
	close(saved);

	assert_int_equal(o, SESSION_CONNECTED);
	assert_false(in_cmdline);
	assert_false(in_environ);
	assert_true(env_is_clean);
	const char *tail = session_output_tail(s);
	assert_null(strstr(tail, "hunt"));
	assert_non_null(strstr(tail, "you typed ********\n"));
	assert_non_null(strstr(tail, "again: ********."));

	n = (size_t)pread(logfd, buf, sizeof(buf) - 1, 0);
	close(logfd);
	unlink(logpath);
	buf[n] = '\0';
	assert_null(strstr(buf, "hunt"));
	assert_non_null(strstr(buf, "[test] client: you typed ********"));
	assert_non_null(strstr(buf, "sent '********'"));
	session_free(s);
}

static void stdin_secret_is_written_and_masked(void **state)
{
	struct fake f;

	fake_init(&f, "fake-echo.sh", NULL);
	f.spec.steps = NULL;
	f.spec.nsteps = 0;
	f.spec.secret = NULL;
	f.spec.stdin_secret = SECRET;
	struct session *s = start(&f.spec);
	assert_int_equal(session_login(s), SESSION_CONNECTED);
	assert_null(strstr(session_output_tail(s), "hunt"));
	assert_non_null(strstr(session_output_tail(s), "again: ********."));
	session_free(s);
}

static void stop_flag_aborts_login(void **state)
{
	struct fake f;
	volatile int stop = 1;

	fake_init(&f, "fake-silent.sh", NULL);
	f.spec.stop = &stop;
	struct session *s = start(&f.spec);
	assert_int_equal(session_login(s), SESSION_ABORTED);
	assert_int_equal(session_login(s), SESSION_ABORTED);  /* runs once */
	session_free(s);
}

static void spawn_and_pattern_errors(void **state)
{
	struct fake f;
	char err[256];
	const char *argv[] = { "/nonexistent/vpn-client", NULL };

	fake_init(&f, "fake-login.sh", NULL);
	f.spec.argv = argv;
	assert_null(session_start(&f.spec, err, sizeof(err)));
	assert_string_equal(err, "cannot run /nonexistent/vpn-client: No such file or directory");

	fake_init(&f, "fake-login.sh", NULL);
	f.spec.connected = "(Connected";
	assert_null(session_start(&f.spec, err, sizeof(err)));
	assert_non_null(strstr(err, "bad pattern '(Connected'"));

	fake_init(&f, "fake-login.sh", NULL);
	f.spec.secret = NULL;
	assert_null(session_start(&f.spec, err, sizeof(err)));
	assert_non_null(strstr(err, "no password"));
}

static void stop_escalates_to_sigterm(void **state)
{
	struct fake f;
	int esc = -1;

	fake_init(&f, "fake-stop.sh", "INT");
	f.spec.nsteps = 0;
	struct session *s = start(&f.spec);
	assert_int_equal(session_login(s), SESSION_CONNECTED);
	settle(s);
	double ms = session_stop(s, SIGINT, 0.3, &esc);
	assert_int_equal(esc, 1);
	assert_true(ms >= 300.0 && ms < 1000.0);
	session_free(s);
}

static void stop_escalates_to_sigkill(void **state)
{
	struct fake f;
	int esc = -1;

	fake_init(&f, "fake-stop.sh", "INT TERM");
	f.spec.nsteps = 0;
	struct session *s = start(&f.spec);
	assert_int_equal(session_login(s), SESSION_CONNECTED);
	settle(s);
	double ms = session_stop(s, SIGINT, 0.3, &esc);
	assert_int_equal(esc, 2);
	assert_true(ms >= 2300.0 && ms < 3000.0);
	assert_true(kill(-session_pid(s), 0) < 0 && errno == ESRCH);
	session_free(s);
}

/* A background child ignores SIGINT (sh does that): the leader's exit
 * hangs up the tty, which ends it; one that ignores SIGHUP as well needs
 * SIGTERM. Either way no process of the group may be left. */
static void stop_leaves_no_process_of_the_group(void **state)
{
	static const char *const modes[] = { "bg", "bg-nohup" };

	for (int i = 0; i < 2; i++) {
		struct fake f;
		int esc = -1;

		fake_init(&f, "fake-stop.sh", modes[i]);
		f.spec.nsteps = 0;
		struct session *s = start(&f.spec);
		assert_int_equal(session_login(s), SESSION_CONNECTED);
		pid_t pgid = session_pid(s);
		settle(s);
		double ms = session_stop(s, SIGINT, 0.3, &esc);
		assert_int_equal(esc, i);
		assert_true(ms < 1000.0);
		assert_true(kill(-pgid, 0) < 0 && errno == ESRCH);
		session_free(s);
	}
}

static void pump_drains_a_flooding_client(void **state)
{
	struct fake f;
	double deadline = now_ms() + 3000.0;

	fake_init(&f, "fake-flood.sh", NULL);
	f.spec.nsteps = 0;
	struct session *s = start(&f.spec);
	assert_int_equal(session_login(s), SESSION_CONNECTED);
	while (!strstr(session_output_tail(s), "flood done") && now_ms() < deadline)
		assert_int_equal(session_pump(s, 50), 0);
	assert_non_null(strstr(session_output_tail(s), "flood done"));
	assert_true(strlen(session_output_tail(s)) <= 4096);
	session_free(s);

	/* 240 KB of noise before the connected line: it is still matched */
	fake_init(&f, "fake-flood.sh", "before");
	f.spec.nsteps = 0;
	s = start(&f.spec);
	assert_int_equal(session_login(s), SESSION_CONNECTED);
	assert_non_null(strstr(session_output_tail(s), "log line 2999"));
	session_free(s);
}

static void free_kills_a_running_client(void **state)
{
	struct fake f;

	fake_init(&f, "fake-silent.sh", NULL);
	struct session *s = start(&f.spec);
	pid_t pgid = session_pid(s);
	assert_int_equal(session_alive(s), 1);
	session_free(s);
	assert_true(kill(-pgid, 0) < 0 && errno == ESRCH);
}

static int setup(void **state)
{
	const char *dir = getenv("EPMON_FIXTURES");

	if (dir) {
		snprintf(fixture_dir, sizeof(fixture_dir), "%s", dir);
	} else {
		/* __FILE__ is tests/unit/vpn/test_session.c as the Makefile passes it */
		snprintf(fixture_dir, sizeof(fixture_dir), "%s", __FILE__);
		char *slash = strrchr(fixture_dir, '/');
		if (slash)
			*slash = '\0';
		else
			snprintf(fixture_dir, sizeof(fixture_dir), ".");
		strncat(fixture_dir, "/fixtures", sizeof(fixture_dir) - strlen(fixture_dir) - 1);
	}
	/* as epmon may: orphans of the client's group come back to us to be
	 * reaped, so the group really vanishes (init here reaps slowly) */
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	log_init(getenv("TEST_DEBUG") ? 1 : 0);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(login_connects_and_stops_politely),
		cmocka_unit_test(wrong_password_matches_failed_pattern),
		cmocka_unit_test(prompt_split_across_reads_matches),
		cmocka_unit_test(client_exit_status_is_reported),
		cmocka_unit_test(exit_noticed_when_sigchld_is_ignored),
		cmocka_unit_test(missing_prompt_is_a_step_timeout),
		cmocka_unit_test(no_tunnel_is_an_overall_timeout),
		cmocka_unit_test(echoed_password_is_masked_everywhere),
		cmocka_unit_test(stdin_secret_is_written_and_masked),
		cmocka_unit_test(stop_flag_aborts_login),
		cmocka_unit_test(spawn_and_pattern_errors),
		cmocka_unit_test(stop_escalates_to_sigterm),
		cmocka_unit_test(stop_escalates_to_sigkill),
		cmocka_unit_test(stop_leaves_no_process_of_the_group),
		cmocka_unit_test(pump_drains_a_flooding_client),
		cmocka_unit_test(free_kills_a_running_client),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
