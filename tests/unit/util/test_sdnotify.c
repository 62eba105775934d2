/* SPDX-License-Identifier: MIT */
/* sd_notify without libsystemd: real datagrams to a socket in a temp dir and an abstract one. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "util/sdnotify.h"

/* what systemd would be listening on */
struct listener {
	int fd;
	char dir[64];
	char path[96];      /* the NOTIFY_SOCKET value: "/.../notify" or "@name" */
};

static void listen_path(struct listener *l)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };

	snprintf(l->dir, sizeof(l->dir), "/tmp/epmon-test-sdnotify-XXXXXX");
	assert_non_null(mkdtemp(l->dir));
	snprintf(l->path, sizeof(l->path), "%s/notify", l->dir);
	snprintf(a.sun_path, sizeof(a.sun_path), "%s", l->path);
	l->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	assert_true(l->fd >= 0);
	assert_int_equal(bind(l->fd, (struct sockaddr *)&a, sizeof(a)), 0);
}

/* An abstract name: "@" in NOTIFY_SOCKET, a leading NUL in the address,
 * and exactly the name's bytes in the address length. */
static void listen_abstract(struct listener *l)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int len;

	l->dir[0] = '\0';
	len = snprintf(l->path, sizeof(l->path), "@epmon-test-sdnotify-%d", (int)getpid());
	memcpy(a.sun_path, l->path, (size_t)len);
	a.sun_path[0] = '\0';
	l->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	assert_true(l->fd >= 0);
	assert_int_equal(bind(l->fd, (struct sockaddr *)&a,
			      (socklen_t)(offsetof(struct sockaddr_un, sun_path) + (size_t)len)), 0);
}

static void listener_close(struct listener *l)
{
	close(l->fd);
	if (l->dir[0]) {
		unlink(l->path);
		rmdir(l->dir);
	}
}

/* The next datagram, waiting for it (generously: the machine is busy). */
static void expect_datagram(struct listener *l, const char *want)
{
	struct pollfd p = { l->fd, POLLIN, 0 };
	char buf[1024];
	ssize_t n;

	assert_int_equal(poll(&p, 1, 10000), 1);
	n = recv(l->fd, buf, sizeof(buf) - 1, MSG_DONTWAIT);
	assert_true(n >= 0);
	buf[n] = '\0';
	/* the message alone, no trailing NUL or newline */
	assert_int_equal((size_t)n, strlen(want));
	assert_string_equal(buf, want);
}

static void expect_nothing_queued(struct listener *l)
{
	char buf[64];

	assert_int_equal(recv(l->fd, buf, sizeof(buf), MSG_DONTWAIT), -1);
	assert_int_equal(errno, EAGAIN);
}

static void clear_env(void)
{
	unsetenv("NOTIFY_SOCKET");
	unsetenv("WATCHDOG_USEC");
	unsetenv("WATCHDOG_PID");
}

static void send_status_and_watchdog(struct listener *l)
{
	char pid[32];
	struct sdnotify *n;

	snprintf(pid, sizeof(pid), "%d", (int)getpid());
	setenv("NOTIFY_SOCKET", l->path, 1);
	setenv("WATCHDOG_USEC", "30000000", 1);
	setenv("WATCHDOG_PID", pid, 1);
	n = sdnotify_new();
	assert_non_null(n);
	/* a VPN client started from now on cannot speak for epmon */
	assert_null(getenv("NOTIFY_SOCKET"));
	assert_null(getenv("WATCHDOG_USEC"));
	assert_null(getenv("WATCHDOG_PID"));

	assert_int_equal(sdnotify_send(n, "READY=1"), 0);
	expect_datagram(l, "READY=1");
	sdnotify_status(n, "cycle %d: %s", 7, "3 sites OK");
	expect_datagram(l, "STATUS=cycle 7: 3 sites OK");
	assert_true(sdnotify_watchdog_s(n) == 30.0);
	sdnotify_watchdog(n);
	expect_datagram(l, "WATCHDOG=1");
	expect_nothing_queued(l);
	sdnotify_free(n);
}

static void socket_in_a_directory(void **state)
{
	struct listener l;

	listen_path(&l);
	send_status_and_watchdog(&l);
	listener_close(&l);
	clear_env();
}

static void abstract_socket(void **state)
{
	struct listener l;

	listen_abstract(&l);
	send_status_and_watchdog(&l);
	listener_close(&l);
	clear_env();
}

/* A long status is cut, never sent past its buffer nor dropped. */
static void long_status_is_truncated(void **state)
{
	struct listener l;
	char big[2000], buf[4096];
	struct pollfd p;
	ssize_t len;

	listen_path(&l);
	setenv("NOTIFY_SOCKET", l.path, 1);
	struct sdnotify *n = sdnotify_new();
	assert_non_null(n);
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	sdnotify_status(n, "%s", big);
	p = (struct pollfd){ l.fd, POLLIN, 0 };
	assert_int_equal(poll(&p, 1, 10000), 1);
	len = recv(l.fd, buf, sizeof(buf), MSG_DONTWAIT);
	assert_true(len > 100 && len < (ssize_t)sizeof(big));
	assert_memory_equal(buf, "STATUS=xxxx", 11);
	sdnotify_free(n);
	listener_close(&l);
	clear_env();
}

/* WATCHDOG_PID names another process: the watchdog is not epmon's to ping. */
static void watchdog_of_another_process_is_ignored(void **state)
{
	struct listener l;
	char other[32];

	listen_path(&l);
	snprintf(other, sizeof(other), "%d", (int)getppid());
	setenv("NOTIFY_SOCKET", l.path, 1);
	setenv("WATCHDOG_USEC", "30000000", 1);
	setenv("WATCHDOG_PID", other, 1);
	struct sdnotify *n = sdnotify_new();
	assert_non_null(n);
	assert_true(sdnotify_watchdog_s(n) == 0);
	assert_null(getenv("WATCHDOG_USEC"));
	sdnotify_watchdog(n);
	/* datagrams keep their order: the marker is the first to arrive */
	assert_int_equal(sdnotify_send(n, "MARK=1"), 0);
	expect_datagram(&l, "MARK=1");
	sdnotify_free(n);

	/* without WATCHDOG_PID, WATCHDOG_USEC is ours; garbage is ignored */
	setenv("NOTIFY_SOCKET", l.path, 1);
	setenv("WATCHDOG_USEC", "1500000", 1);
	n = sdnotify_new();
	assert_true(sdnotify_watchdog_s(n) == 1.5);
	sdnotify_free(n);
	setenv("NOTIFY_SOCKET", l.path, 1);
	setenv("WATCHDOG_USEC", "12abc", 1);
	n = sdnotify_new();
	assert_non_null(n);
	assert_true(sdnotify_watchdog_s(n) == 0);
	sdnotify_watchdog(n);
	assert_int_equal(sdnotify_send(n, "MARK=2"), 0);
	expect_datagram(&l, "MARK=2");
	sdnotify_free(n);
	listener_close(&l);
	clear_env();
}

/* systemd went away: a send fails with -1, nothing else happens. */
static void listener_gone(void **state)
{
	struct listener l;

	listen_path(&l);
	setenv("NOTIFY_SOCKET", l.path, 1);
	struct sdnotify *n = sdnotify_new();
	assert_non_null(n);
	listener_close(&l);
	assert_int_equal(sdnotify_send(n, "STOPPING=1"), -1);
	sdnotify_status(n, "still here");
	sdnotify_free(n);
	clear_env();
}

/* Not started by systemd: every call is a no-op that reports success. */
static void without_notify_socket(void **state)
{
	clear_env();
	setenv("WATCHDOG_USEC", "30000000", 1);
	struct sdnotify *n = sdnotify_new();
	assert_null(n);
	assert_int_equal(sdnotify_send(n, "READY=1"), 0);
	sdnotify_status(n, "idle");
	assert_true(sdnotify_watchdog_s(n) == 0);
	sdnotify_watchdog(n);
	sdnotify_free(n);

	/* neither an empty value nor one that is no socket address */
	setenv("NOTIFY_SOCKET", "", 1);
	assert_null(sdnotify_new());
	setenv("NOTIFY_SOCKET", "relative/notify", 1);
	assert_null(sdnotify_new());
	clear_env();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(socket_in_a_directory),
		cmocka_unit_test(abstract_socket),
		cmocka_unit_test(long_status_is_truncated),
		cmocka_unit_test(watchdog_of_another_process_is_ignored),
		cmocka_unit_test(listener_gone),
		cmocka_unit_test(without_notify_socket),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
