/* SPDX-License-Identifier: MIT */
/* The web process's seccomp filter (src/web/sandbox.c): in a forked child,
 * what serving needs still works, a file cannot be opened, and a new
 * socket, process, program or executable mapping ends the process with
 * the status that names seccomp. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "web/sandbox.h"

enum act { SERVE, OPEN, SOCKET, FORK, EXEC, MMAP_EXEC, MPROTECT_EXEC };

/* In the child: 0 when the act did what a sandboxed server should see. */
static int act(enum act a)
{
	int sv[2], fd;
	char buf[4] = "abc";
	struct timespec ts;
	void *p;

	switch (a) {
	case SERVE: /* the calls of a request: a socket it has, memory, time */
		if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0)
			return 1;
		break;
	default:
		break;
	}
	char why[256] = "";
	if (web_sandbox(why, sizeof(why)) < 0)
		return 2;
	switch (a) {
	case SERVE:
		p = malloc(1 << 20); /* mmap */
		free(p);
		if (send(sv[0], buf, 3, 0) != 3 || recv(sv[1], buf, 3, 0) != 3)
			return 3;
		return clock_gettime(CLOCK_MONOTONIC, &ts) < 0 || getpid() <= 0 ? 4 : 0;
	case OPEN:
		fd = open("/etc/hostname", O_RDONLY);
		return fd < 0 && errno == EACCES ? 0 : 5;
	case SOCKET:
		socket(AF_INET, SOCK_STREAM, 0);
		return 6;
	case FORK:
		fork();
		return 7;
	case EXEC:
		execl("/bin/true", "true", (char *)NULL);
		return 8;
	case MMAP_EXEC:
		mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		return 9;
	case MPROTECT_EXEC:
		p = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED)
			return 10;
		mprotect(p, 4096, PROT_READ | PROT_EXEC);
		return 11;
	}
	return 12;
}

/* The child's exit status, or -1 when a signal ended it. */
static int in_child(enum act a)
{
	int status;
	pid_t pid = fork();

	if (pid == 0)
		_exit(act(a));
	assert_true(pid > 0);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void serving_works(void **state)
{
	(void)state;
	assert_int_equal(in_child(SERVE), 0);
}

static void files_are_refused(void **state)
{
	(void)state;
	assert_int_equal(in_child(OPEN), 0);
}

static void the_rest_ends_the_process(void **state)
{
	static const enum act acts[] = { SOCKET, FORK, EXEC, MMAP_EXEC, MPROTECT_EXEC };

	(void)state;
	for (size_t i = 0; i < sizeof(acts) / sizeof(acts[0]); i++)
		assert_int_equal(in_child(acts[i]), 128 + SIGSYS);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(serving_works),
		cmocka_unit_test(files_are_refused),
		cmocka_unit_test(the_rest_ends_the_process),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
