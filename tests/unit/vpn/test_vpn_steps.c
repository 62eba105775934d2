/* SPDX-License-Identifier: MIT */
/* The VPN steps (prepare, up, down): a custom client, isolation none, in a netns of its own. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "config/config.h"
#include "util/log.h"
#include "vpn/nl_config.h"
#include "vpn/proc.h"
#include "vpn/vpn.h"

#define PASSWORD "Tr0ub4dor-vpn-secret"
#define GOOD_RESOLV "nameserver 192.0.2.53\nsearch example.com\n"

static char fixture[PATH_MAX];
static const char *const client_name[] = { "fake-dump.sh" };

/* One test's files: the config, the client's dump directory, resolv.conf
 * and the state directory (resolv.conf.good). */
struct bench {
	char dir[64];
	char out[128], state[128], resolv[128], pwfile[128], config[128];
	struct config *cfg;
	struct vpn_env env;
	char detail[512];
	struct vpn_result res;
};

static void write_file(const char *path, const char *text, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
}

/* The whole file (NUL bytes kept) into buf; its length, or -1. */
static ssize_t read_file(const char *path, char *buf, size_t cap)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n, got = 0;

	if (fd < 0)
		return -1;
	while ((size_t)got < cap - 1 && (n = read(fd, buf + got, cap - 1 - (size_t)got)) > 0)
		got += n;
	close(fd);
	buf[got] = '\0';
	return got;
}

static int contains(const char *buf, size_t len, const char *text)
{
	return memmem(buf, len, text, strlen(text)) != NULL;
}

static void clear_result(struct bench *b)
{
	b->detail[0] = '\0';
	memset(&b->res, 0, sizeof(b->res));
	b->res.detail = b->detail;
	b->res.detail_size = sizeof(b->detail);
}

enum password_source { PW_NONE, PW_ENV, PW_FILE };

/* A config with one custom site running the fake client in `mode`
 * ("fail", "connect"; with resolv_arg it rewrites the bench's resolv.conf
 * before failing), its password from `pw`. */
static void bench_init(struct bench *b, const char *mode, int resolv_arg,
		       enum password_source pw)
{
	struct config_diag diag = { 0 };
	char password[192] = "", third[160] = "", *yaml = NULL;

	memset(b, 0, sizeof(*b));
	snprintf(b->dir, sizeof(b->dir), "/tmp/epmon-test-vpn-XXXXXX");
	assert_non_null(mkdtemp(b->dir));
	snprintf(b->out, sizeof(b->out), "%s/out", b->dir);
	snprintf(b->state, sizeof(b->state), "%s/state", b->dir);
	snprintf(b->resolv, sizeof(b->resolv), "%s/resolv.conf", b->dir);
	snprintf(b->pwfile, sizeof(b->pwfile), "%s/vpn.pass", b->dir);
	snprintf(b->config, sizeof(b->config), "%s/config.yml", b->dir);
	assert_int_equal(mkdir(b->out, 0700), 0);
	assert_int_equal(mkdir(b->state, 0700), 0);
	write_file(b->resolv, GOOD_RESOLV, 0644);
	write_file(b->pwfile, PASSWORD "\n", 0600);
	if (pw == PW_ENV) {
		setenv("EPMON_TEST_VPN_PW", PASSWORD, 1);
		snprintf(password, sizeof(password), "password_env: EPMON_TEST_VPN_PW");
	} else if (pw == PW_FILE) {
		snprintf(password, sizeof(password), "password_file: %s", b->pwfile);
	}
	if (resolv_arg)
		snprintf(third, sizeof(third), ", \"%s\"", b->resolv);
	assert_true(asprintf(&yaml,
		"frequency: 300\n"
		"isolation: {mode: none}\n"
		"sites:\n"
		"  - name: fake\n"
		"    external_ip: 127.0.0.1\n"
		"    internal_ip: 127.0.0.1\n"
		"    vpn:\n"
		"      client: custom\n"
		"      command: %s\n"
		"      args: [\"%s\", %s%s]\n"
		"      expect: [{expect: \"Password:\", send: \"{password}\"}]\n"
		"      connected: \"Connected\"\n"
		"      process_names: [fake-dump.sh]\n"
		"      login_timeout: 60\n"
		"      teardown_timeout: 5\n"
		"      %s\n", fixture, b->out, mode, third, password) > 0);
	write_file(b->config, yaml, 0600);
	free(yaml);
	b->cfg = config_load(b->config, &diag);
	for (size_t i = 0; i < diag.nerrors; i++)
		print_message("%s\n", diag.errors[i]);
	config_diag_free(&diag);
	assert_non_null(b->cfg);
	b->env.state_dir = b->state;
	b->env.resolv_conf = b->resolv;
	clear_result(b);
}

static void bench_free(struct bench *b)
{
	const char *files[] = { "out/cmdline", "out/environ", "out/pid", "out/typed",
				"state/resolv.conf.good", "resolv.conf", "vpn.pass", "config.yml" };
	char path[192];

	config_free(b->cfg);
	unsetenv("EPMON_TEST_VPN_PW");
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", b->dir, files[i]);
		unlink(path);
	}
	rmdir(b->out);
	rmdir(b->state);
	assert_int_equal(rmdir(b->dir), 0);
}

/* The pid the client wrote, waiting until the line is complete. */
static pid_t client_pid(const struct bench *b)
{
	char path[192], buf[32];

	snprintf(path, sizeof(path), "%s/pid", b->out);
	for (int i = 0; i < 3000; i++) {
		struct timespec ts = { 0, 10 * 1000 * 1000 };
		ssize_t n = read_file(path, buf, sizeof(buf));
		if (n > 1 && buf[n - 1] == '\n')
			return (pid_t)atoi(buf);
		nanosleep(&ts, NULL);
	}
	fail_msg("the fake client wrote no pid to %s", path);
	return -1;
}

static int gone(pid_t pid)
{
	return kill(pid, 0) < 0 && errno == ESRCH;
}

/* No process of the client's name left in the test's namespace. */
static size_t clients_left(void)
{
	pid_t pids[8];

	return proc_find_by_name(client_name, 1, NULL, pids, 8);
}

static void client_exit_fails_login_with_its_words(void **state)
{
	struct bench b;
	struct vpn_tunnel *tun = NULL;
	pid_t pid;

	bench_init(&b, "fail", 0, PW_FILE);
	vpn_prepare(&b.cfg->sites[0], &b.env, &b.res);
	assert_string_equal(b.detail, "");
	assert_int_equal(vpn_up(&b.cfg->sites[0], &b.env, &tun, &b.res), -1);
	print_message("detail: %s\n", b.detail);
	assert_non_null(tun);
	assert_non_null(strstr(b.detail, "client exited with status 1"));
	assert_non_null(strstr(b.detail, "gateway says: account locked"));
	pid = client_pid(&b);
	assert_int_equal(vpn_down(tun, &b.res), 0);
	assert_true(gone(pid));
	assert_int_equal(clients_left(), 0);
	/* nothing was left to repair */
	assert_int_equal(b.res.stale_killed, 0);
	assert_int_equal(b.res.resolv_repaired, 0);
	assert_null(strstr(b.detail, "teardown"));
	bench_free(&b);
}

/* The password reaches the client on its pty, never through argv or its
 * environment: for both sources of it. */
static void check_password_secrecy(struct bench *b)
{
	struct vpn_tunnel *tun = NULL;
	char path[192], buf[8192];
	ssize_t n;

	setenv("NOTIFY_SOCKET", "/run/systemd/notify", 1);
	assert_int_equal(vpn_up(&b->cfg->sites[0], &b->env, &tun, &b->res), -1);
	assert_int_equal(vpn_down(tun, &b->res), 0);
	unsetenv("NOTIFY_SOCKET");
	assert_null(strstr(b->detail, PASSWORD));

	snprintf(path, sizeof(path), "%s/typed", b->out);
	assert_true(read_file(path, buf, sizeof(buf)) > 0);
	assert_string_equal(buf, PASSWORD);     /* it did get the password */

	snprintf(path, sizeof(path), "%s/cmdline", b->out);
	n = read_file(path, buf, sizeof(buf));
	assert_true(n > 0);
	assert_true(contains(buf, (size_t)n, "fake-dump.sh"));
	assert_false(contains(buf, (size_t)n, PASSWORD));

	snprintf(path, sizeof(path), "%s/environ", b->out);
	n = read_file(path, buf, sizeof(buf));
	assert_true(n > 0);
	assert_true(contains(buf, (size_t)n, "PATH="));
	assert_false(contains(buf, (size_t)n, PASSWORD));
	assert_false(contains(buf, (size_t)n, "EPMON_TEST_VPN_PW"));
	assert_false(contains(buf, (size_t)n, "NOTIFY_SOCKET"));
}

static void password_env_never_in_argv_or_environment(void **state)
{
	struct bench b;

	bench_init(&b, "fail", 0, PW_ENV);
	check_password_secrecy(&b);
	bench_free(&b);
}

static void password_file_never_in_argv_or_environment(void **state)
{
	struct bench b;

	bench_init(&b, "fail", 0, PW_FILE);
	check_password_secrecy(&b);
	bench_free(&b);
}

/* SIGTERM before the login: the client is stopped at once. */
static void stop_before_login_aborts(void **state)
{
	static volatile int stop = 1;
	struct bench b;
	struct vpn_tunnel *tun = NULL;

	bench_init(&b, "connect", 0, PW_ENV);
	b.env.stop = &stop;
	assert_int_equal(vpn_up(&b.cfg->sites[0], &b.env, &tun, &b.res), -1);
	print_message("detail: %s\n", b.detail);
	assert_non_null(strstr(b.detail, "aborted"));
	assert_int_equal(vpn_down(tun, &b.res), 0);
	assert_int_equal(clients_left(), 0);
	bench_free(&b);
}

/* Sets *stop once the log says the client's connected pattern matched:
 * the abort then comes while vpn_up waits for the tunnel. stderr goes
 * through a pipe meanwhile (echoed with TEST_DEBUG). */
struct log_watch {
	int rd, saved;
	volatile int *stop;
	pthread_t thread;
};

static void *watch_log(void *arg)
{
	struct log_watch *w = arg;
	const char *needle = "[fake] login connected:";
	char buf[8192];
	size_t used = 0;
	ssize_t n;

	while ((n = read(w->rd, buf + used, sizeof(buf) - 1 - used)) > 0) {
		if (getenv("TEST_DEBUG") && write(w->saved, buf + used, (size_t)n) < 0)
			break;
		used += (size_t)n;
		buf[used] = '\0';
		if (strstr(buf, needle))
			__atomic_store_n(w->stop, 1, __ATOMIC_SEQ_CST);
		if (used > sizeof(buf) / 2) {
			memmove(buf, buf + used - 64, 64);
			used = 64;
		}
	}
	return NULL;
}

static void stop_while_waiting_for_the_tunnel_aborts(void **state)
{
	static volatile int stop;
	struct log_watch w = { .stop = &stop };
	struct bench b;
	struct vpn_tunnel *tun = NULL;
	int fds[2], rc;
	pid_t pid;

	bench_init(&b, "connect", 0, PW_ENV);
	stop = 0;
	b.env.stop = &stop;
	assert_int_equal(pipe2(fds, O_CLOEXEC), 0);
	w.rd = fds[0];
	w.saved = dup(STDERR_FILENO);
	assert_true(w.saved >= 0);
	assert_int_equal(dup2(fds[1], STDERR_FILENO), STDERR_FILENO);
	close(fds[1]);
	assert_int_equal(pthread_create(&w.thread, NULL, watch_log, &w), 0);
	log_init(1);

	rc = vpn_up(&b.cfg->sites[0], &b.env, &tun, &b.res);
	pid = client_pid(&b);
	assert_int_equal(vpn_down(tun, &b.res), 0);

	log_init(getenv("TEST_DEBUG") ? 1 : -1);
	dup2(w.saved, STDERR_FILENO);   /* the pipe's last writer: the thread sees EOF */
	close(w.saved);
	pthread_join(w.thread, NULL);
	close(w.rd);
	print_message("detail: %s\n", b.detail);
	assert_int_equal(rc, -1);
	assert_non_null(strstr(b.detail, "aborted by signal"));
	assert_true(gone(pid));
	assert_int_equal(clients_left(), 0);
	bench_free(&b);
}

/* A client that rewrote resolv.conf and died: vpn_down puts it back. */
static void resolv_rewritten_by_the_client_is_repaired(void **state)
{
	struct bench b;
	struct vpn_tunnel *tun = NULL;
	char buf[512];

	bench_init(&b, "fail", 1, PW_ENV);
	assert_int_equal(vpn_up(&b.cfg->sites[0], &b.env, &tun, &b.res), -1);
	assert_true(read_file(b.resolv, buf, sizeof(buf)) > 0);
	assert_non_null(strstr(buf, "#@VPNC_GENERATED@"));
	assert_int_equal(vpn_down(tun, &b.res), 0);
	print_message("detail: %s\n", b.detail);
	assert_int_equal(b.res.resolv_repaired, 1);
	assert_non_null(strstr(b.detail, "teardown: resolv.conf repaired"));
	assert_true(read_file(b.resolv, buf, sizeof(buf)) > 0);
	assert_string_equal(buf, GOOD_RESOLV);
	bench_free(&b);
}

/* A resolv.conf left with a client's mark, or differing from the good
 * copy, is put back before the test and counted. */
static void prepare_repairs_resolv_conf(void **state)
{
	struct bench b;
	const struct site *s;
	char good[192], buf[512];

	bench_init(&b, "fail", 0, PW_NONE);
	s = &b.cfg->sites[0];
	snprintf(good, sizeof(good), "%s/resolv.conf.good", b.state);

	/* no good copy yet: a marked file cannot be repaired, and is not taken */
	write_file(b.resolv, "#@VPNC_GENERATED@\nnameserver 10.99.0.53\n", 0644);
	vpn_prepare(s, &b.env, &b.res);
	assert_int_equal(b.res.resolv_repaired, 0);
	assert_int_equal(access(good, F_OK), -1);

	/* an unmarked file is the good copy */
	write_file(b.resolv, GOOD_RESOLV, 0644);
	vpn_remember_resolv(&b.env);
	assert_true(read_file(good, buf, sizeof(buf)) > 0);
	assert_string_equal(buf, GOOD_RESOLV);
	clear_result(&b);
	vpn_prepare(s, &b.env, &b.res);
	assert_int_equal(b.res.resolv_repaired, 0);
	assert_string_equal(b.detail, "");

	/* left marked by a client */
	write_file(b.resolv, "#@VPNC_GENERATED@ -- this file is generated by vpnc\n"
		   "nameserver 10.99.0.53\n", 0644);
	vpn_prepare(s, &b.env, &b.res);
	assert_int_equal(b.res.resolv_repaired, 1);
	assert_string_equal(b.detail, "resolv.conf repaired before the test");
	assert_true(read_file(b.resolv, buf, sizeof(buf)) > 0);
	assert_string_equal(buf, GOOD_RESOLV);

	/* changed without a mark */
	write_file(b.resolv, "nameserver 10.99.0.54\n", 0644);
	vpn_prepare(s, &b.env, &b.res);
	assert_int_equal(b.res.resolv_repaired, 2);
	assert_string_equal(b.detail, "resolv.conf repaired before the test; "
			    "resolv.conf repaired before the test");
	assert_true(read_file(b.resolv, buf, sizeof(buf)) > 0);
	assert_string_equal(buf, GOOD_RESOLV);
	bench_free(&b);
}

/* A client of the site's process names still running from before is
 * stopped, and said so. */
static void prepare_stops_a_stale_client(void **state)
{
	struct bench b;
	int in[2];
	pid_t child, pid;

	bench_init(&b, "connect", 0, PW_NONE);
	assert_int_equal(pipe(in), 0);
	child = fork();
	assert_true(child >= 0);
	if (child == 0) {
		int null = open("/dev/null", O_WRONLY);
		dup2(in[0], STDIN_FILENO);
		dup2(null, STDOUT_FILENO);
		close(in[1]);
		execl(fixture, fixture, b.out, "connect", (char *)NULL);
		_exit(127);
	}
	close(in[0]);
	/* it waits for a password on the pipe: a client left running */
	pid = client_pid(&b);
	assert_int_equal(pid, child);
	assert_int_equal(clients_left(), 1);
	vpn_prepare(&b.cfg->sites[0], &b.env, &b.res);
	close(in[1]);
	print_message("detail: %s\n", b.detail);
	assert_int_equal(b.res.stale_killed, 1);
	assert_non_null(strstr(b.detail, "stopped 1 stale client process(es) before the test"));
	assert_true(gone(pid));
	assert_int_equal(clients_left(), 0);
	bench_free(&b);
}

/* Everything runs in a network namespace of the test's own: the teardown's
 * route check and the stale-client scan see only the test. */
static int setup(void **state)
{
	const char *dir = getenv("EPMON_FIXTURES");
	char here[PATH_MAX], path[PATH_MAX + 16];

	if (!dir) {
		/* __FILE__ is tests/unit/vpn/test_vpn_steps.c as the Makefile passes it */
		snprintf(here, sizeof(here), "%s", __FILE__);
		*strrchr(here, '/') = '\0';
		strncat(here, "/fixtures", sizeof(here) - strlen(here) - 1);
		dir = here;
	}
	snprintf(path, sizeof(path), "%s/fake-dump.sh", dir);
	if (!realpath(path, fixture))
		fail_msg("fixture %s: %s", path, strerror(errno));
	if (unshare(CLONE_NEWNET) < 0 || nl_link_up("lo", 0) < 0)
		fail_msg("a network namespace of the test's own: %s", strerror(errno));
	log_init(getenv("TEST_DEBUG") ? 1 : -1);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(client_exit_fails_login_with_its_words),
		cmocka_unit_test(password_env_never_in_argv_or_environment),
		cmocka_unit_test(password_file_never_in_argv_or_environment),
		cmocka_unit_test(stop_before_login_aborts),
		cmocka_unit_test(stop_while_waiting_for_the_tunnel_aborts),
		cmocka_unit_test(resolv_rewritten_by_the_client_is_repaired),
		cmocka_unit_test(prepare_repairs_resolv_conf),
		cmocka_unit_test(prepare_stops_a_stale_client),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
