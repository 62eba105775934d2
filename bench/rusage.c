/* SPDX-License-Identifier: MIT */
/* rusage: runs a command and prints, on stderr, what it cost:
 *   rusage: wall_s=W cpu_ms=C user_ms=U sys_ms=S maxrss_kb=M exit=X
 * CPU and max RSS come from wait4(), so they cover the command and the children it waited
 * for. Unlike a fork of a big interpreter, this process is small, so its pages before the
 * exec do not inflate the command's max RSS.   Usage: rusage CMD [ARG]... */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double tv_ms(struct timeval tv)
{
	return (double)tv.tv_sec * 1e3 + (double)tv.tv_usec / 1e3;
}

int main(int argc, char **argv)
{
	struct rusage ru;
	double t0;
	int status, code;
	pid_t pid;

	if (argc < 2) {
		fprintf(stderr, "usage: rusage CMD [ARG]...\n");
		return 2;
	}
	t0 = now_s();
	pid = fork();
	if (pid < 0) {
		perror("rusage: fork");
		return 2;
	}
	if (pid == 0) {
		execvp(argv[1], argv + 1);
		fprintf(stderr, "rusage: cannot run %s: %s\n", argv[1], strerror(errno));
		_exit(127);
	}
	if (wait4(pid, &status, 0, &ru) < 0) {
		perror("rusage: wait4");
		return 2;
	}
	code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	fprintf(stderr, "rusage: wall_s=%.6f cpu_ms=%.3f user_ms=%.3f sys_ms=%.3f maxrss_kb=%ld exit=%d\n",
		now_s() - t0, tv_ms(ru.ru_utime) + tv_ms(ru.ru_stime), tv_ms(ru.ru_utime),
		tv_ms(ru.ru_stime), ru.ru_maxrss, code);
	return code;
}
