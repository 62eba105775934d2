/* SPDX-License-Identifier: MIT */
#include "vpn/proc.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "util/exec.h"
#include "util/log.h"
#include "util/clock.h"


static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

int proc_run(const char *const *argv, double timeout_s, char *err, size_t errlen)
{
	char path[512];
	double deadline;
	pid_t pid;
	int status;

	if (!exec_find(argv[0], path, sizeof(path))) {
		snprintf(err, errlen, "%s: not found", argv[0]);
		return -1;
	}
	pid = fork();
	if (pid < 0) {
		snprintf(err, errlen, "fork: %s", strerror(errno));
		return -1;
	}
	if (pid == 0) {
		int devnull = open("/dev/null", O_RDWR);
		if (devnull >= 0) {
			dup2(devnull, 0);
			dup2(devnull, 1);
			dup2(devnull, 2);
		}
		setpgid(0, 0);
		/* other site tests' sockets and ptys are not this command's */
		close_range(3, ~0U, 0);
		execve(path, (char *const *)argv, (char *const *)exec_clean_env);
		_exit(127);
	}
	deadline = monotonic_s() + timeout_s;
	for (;;) {
		pid_t w = waitpid(pid, &status, WNOHANG);
		if (w == pid)
			break;
		if (w < 0 && errno != EINTR) {
			snprintf(err, errlen, "waitpid: %s", strerror(errno));
			return -1;
		}
		if (monotonic_s() > deadline) {
			kill(-pid, SIGKILL);
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			snprintf(err, errlen, "%s: no exit after %g s, killed", argv[0], timeout_s);
			return -1;
		}
		sleep_ms(5);
	}
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	snprintf(err, errlen, "%s: killed by signal %d", argv[0], WTERMSIG(status));
	return -1;
}

static int name_matches(const char *name, const char *const *names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(name, names[i]) == 0)
			return 1;
	return 0;
}

/* The kernel's comm is the executable's basename cut to 15 characters. */
static int comm_matches(const char *comm, const char *const *names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strncmp(comm, names[i], 15) == 0 && strlen(comm) == strnlen(names[i], 15))
			return 1;
	return 0;
}

/* A process that has exited but is not reaped yet (a zombie, whose parent
 * or init reaps it late) holds nothing any more: it counts as gone. */
static int is_gone(pid_t pid)
{
	char path[64], line[128];
	FILE *f;
	int zombie = 0;

	if (kill(pid, 0) < 0 && errno == ESRCH)
		return 1;
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return 1;
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, "State:", 6) == 0) {
			zombie = strchr(line, 'Z') != NULL;
			break;
		}
	fclose(f);
	return zombie;
}

/* A client in another network namespace cannot touch our routes, tunnels
 * or resolv.conf: it is someone else's (another probe, a container). */
static int same_netns(long pid, const char *self_ns)
{
	char path[64], ns[64];
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%ld/ns/net", pid);
	n = readlink(path, ns, sizeof(ns) - 1);
	if (n < 0)
		return 1;   /* cannot tell: treat as ours */
	ns[n] = 0;
	return strcmp(ns, self_ns) == 0;
}

/* Name match by comm, else by the executable's basename (a client may
 * rename its comm). Cheap checks first: this runs over every process of the
 * host twice per site test. */
static int pid_matches(long pid, const char *const *names, size_t nnames)
{
	char path[64], comm[64], exe[512];
	const char *base;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%ld/comm", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		n = read(fd, comm, sizeof(comm) - 1);
		close(fd);
		if (n > 0) {
			comm[n] = 0;
			comm[strcspn(comm, "\n")] = 0;
			if (comm_matches(comm, names, nnames))
				return 1;
		}
	}
	snprintf(path, sizeof(path), "/proc/%ld/exe", pid);
	n = readlink(path, exe, sizeof(exe) - 1);
	if (n <= 0)
		return 0;
	exe[n] = 0;
	/* " (deleted)" when the binary was replaced under it */
	if (n > 10 && strcmp(exe + n - 10, " (deleted)") == 0)
		exe[n - 10] = 0;
	base = strrchr(exe, '/');
	return name_matches(base ? base + 1 : exe, names, nnames);
}

/* The last NUL-separated argument of /proc/PID/cmdline equals want. */
static int last_arg_is(long pid, const char *want)
{
	char path[64], buf[4096];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%ld/cmdline", pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 1)
		return 0;
	buf[n] = 0;
	if (buf[n - 1] == 0)
		n--;
	while (n > 0 && buf[n - 1] != 0)
		n--;
	return strcmp(buf + n, want) == 0;
}

/* A line of /proc/PID/mountinfo mounts on `point` a root whose path has
 * `root` in it (the path is relative to its file system: /epmon/X when /run
 * is a tmpfs, /run/epmon/X when it is a directory of /). */
static int has_mount(long pid, const char *root, const char *point)
{
	char path[64], line[1024], r[512], m[512];
	int found = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%ld/mountinfo", pid);
	if (!(f = fopen(path, "re")))
		return 0;
	while (!found && fgets(line, sizeof(line), f))
		found = sscanf(line, "%*s %*s %*s %511s %511s", r, m) == 2 &&
			strstr(r, root) && !strcmp(m, point);
	fclose(f);
	return found;
}

static int shows_mark(long pid, const struct proc_mark *mark)
{
	if (!mark)
		return 1;
	if (mark->last_arg && !last_arg_is(pid, mark->last_arg))
		return 0;
	if (mark->mount_root && !has_mount(pid, mark->mount_root, mark->mount_point))
		return 0;
	return 1;
}

size_t proc_find_by_name(const char *const *names, size_t nnames,
			 const struct proc_mark *mark, pid_t *pids, size_t max)
{
	DIR *d = opendir("/proc");
	struct dirent *e;
	size_t found = 0;
	pid_t self = getpid();
	char self_ns[64] = "";
	ssize_t len = readlink("/proc/self/ns/net", self_ns, sizeof(self_ns) - 1);

	if (!d)
		return 0;
	if (len > 0)
		self_ns[len] = 0;
	while ((e = readdir(d)) && found < max) {
		char *end;
		long pid = strtol(e->d_name, &end, 10);

		if (*end || pid <= 0 || pid == self || !pid_matches(pid, names, nnames))
			continue;
		if (is_gone((pid_t)pid) || (self_ns[0] && !same_netns(pid, self_ns)) ||
		    !shows_mark(pid, mark))
			continue;
		pids[found++] = (pid_t)pid;
	}
	closedir(d);
	return found;
}

static int wait_gone(pid_t pid, double timeout_s)
{
	double deadline = monotonic_s() + timeout_s;

	do {
		/* a child of ours would linger as a zombie: reap it */
		waitpid(pid, NULL, WNOHANG);
		if (is_gone(pid))
			return 1;
		sleep_ms(10);
	} while (monotonic_s() < deadline);
	return 0;
}

int proc_stop_pid(pid_t pid, int first_signal, double timeout_s)
{
	if (kill(pid, first_signal) < 0)
		return errno == ESRCH ? 0 : -1;
	if (wait_gone(pid, timeout_s))
		return 0;
	kill(pid, SIGTERM);
	if (wait_gone(pid, 2.0))
		return 0;
	kill(pid, SIGKILL);
	return wait_gone(pid, 2.0) ? 0 : -1;
}

int proc_kill_stale(const char *const *names, size_t nnames,
		    const struct proc_mark *mark, double timeout_s, const char *site)
{
	pid_t pids[64];
	size_t n = proc_find_by_name(names, nnames, mark, pids, 64);

	for (size_t i = 0; i < n; i++) {
		int rc = proc_stop_pid(pids[i], SIGINT, timeout_s);
		if (rc == 0)
			log_warn(site, "stale VPN client pid %d stopped before the test", (int)pids[i]);
		else
			log_error(site, "stale VPN client pid %d could not be stopped", (int)pids[i]);
	}
	return (int)n;
}
