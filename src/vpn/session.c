/* SPDX-License-Identifier: MIT */
/* The client process: spawned on a fresh pty as leader of its own session
 * and process group, drained while it runs, stopped group-wide. */
#include "vpn/session_int.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>
#include "util/log.h"

#define TERM_WAIT_S 2.0   /* after SIGTERM, before SIGKILL */
#define KILL_WAIT_S 1.0   /* after SIGKILL: bound on waiting for the group to vanish */

/* expect.c */
int session_compile(struct session *s, char *err, size_t errlen);
void session_free_patterns(struct session *s);

double session_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

/* In the child: a mount namespace of its own where /etc/resolv.conf is
 * the private file and/or `dir` an empty tmpfs (mounts stay private:
 * nothing propagates back). */
static int private_mounts(const char *file, const char *dir, const char *run)
{
	if (unshare(CLONE_NEWNS) < 0 ||
	    mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) < 0)
		return -1;
	if (file && mount(file, "/etc/resolv.conf", NULL, MS_BIND, NULL) < 0)
		return -1;
	if (dir && mount("tmpfs", dir, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
			 "mode=0700,size=1m") < 0)
		return -1;
	if (run && mount(run, "/run", NULL, MS_BIND, NULL) < 0)
		return -1;
	return 0;
}

/* Child side of the fork: only async-signal-safe calls until execve. The
 * parent reads errno from errfd: negative when the private resolv.conf
 * failed, positive when the exec did. */
static void exec_child(const struct session_spec *spec, int slave, int errfd)
{
	static const char *const empty_env[] = { NULL };
	sigset_t none;
	int e, sign = 1;

	/* the pty becomes the controlling tty of a new session */
	if (setsid() < 0 || ioctl(slave, TIOCSCTTY, 0) < 0)
		goto fail;
	/* move both fds above 2 first so dup2 onto 0..3 never hits them */
	slave = fcntl(slave, F_DUPFD_CLOEXEC, 10);
	errfd = fcntl(errfd, F_DUPFD_CLOEXEC, 10);
	if (slave < 0 || errfd < 0)
		goto fail;
	if (dup2(slave, 0) < 0 || dup2(slave, 1) < 0 || dup2(slave, 2) < 0)
		goto fail;
	if (dup3(errfd, 3, O_CLOEXEC) < 0)
		goto fail;
	errfd = 3;
	if (close_range(4, ~0U, 0) < 0)
		for (int fd = 4; fd < 1024; fd++)
			close(fd);
	/* epmon's blocked or ignored signals must not survive the exec:
	 * an inherited SIG_IGN for SIGINT would defeat the polite stop */
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	for (int sig = 1; sig < NSIG; sig++)
		signal(sig, SIG_DFL);
	if ((spec->private_resolv || spec->private_dir || spec->private_run) &&
	    private_mounts(spec->private_resolv, spec->private_dir, spec->private_run) < 0) {
		sign = -1;
		goto fail;
	}
	execve(spec->argv[0], (char *const *)spec->argv,
	       (char *const *)(spec->env ? spec->env : empty_env));
fail:
	e = sign * errno;
	ssize_t w = write(errfd, &e, sizeof(e));   /* the parent's reason */
	(void)w;
	_exit(127);
}

/* Opens the pty pair: echo off (nobody types, and a password written before
 * the client turns echo off is not echoed), a wide window (no wrapping). */
static int open_pty(int *master, int *slave, char *err, size_t errlen)
{
	char name[128];
	struct termios tio;
	struct winsize ws = { .ws_row = 50, .ws_col = 200 };

	*slave = -1;
	*master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (*master < 0 || grantpt(*master) < 0 || unlockpt(*master) < 0 ||
	    ptsname_r(*master, name, sizeof(name)) != 0)
		goto fail;
	*slave = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (*slave < 0 || tcgetattr(*slave, &tio) < 0)
		goto fail;
	tio.c_lflag &= ~(tcflag_t)(ECHO | ECHOE | ECHOK | ECHONL);
	if (tcsetattr(*slave, TCSANOW, &tio) < 0 || ioctl(*slave, TIOCSWINSZ, &ws) < 0)
		goto fail;
	if (fcntl(*master, F_SETFL, fcntl(*master, F_GETFL) | O_NONBLOCK) < 0)
		goto fail;
	return 0;
fail:
	snprintf(err, errlen, "cannot open a pty: %s", strerror(errno));
	if (*slave >= 0)
		close(*slave);
	if (*master >= 0)
		close(*master);
	*master = *slave = -1;
	return -1;
}

static int spawn(struct session *s, char *err, size_t errlen)
{
	int slave, pipefd[2], child_errno = 0;
	ssize_t n;

	if (open_pty(&s->master, &slave, err, errlen) < 0)
		return -1;
	if (pipe2(pipefd, O_CLOEXEC) < 0) {
		snprintf(err, errlen, "cannot create a pipe: %s", strerror(errno));
		close(slave);
		return -1;
	}
	s->started_ms = session_now_ms();
	s->pid = fork();
	if (s->pid == 0)
		exec_child(&s->spec, slave, pipefd[1]);
	int fork_errno = errno;
	close(slave);
	close(pipefd[1]);
	if (s->pid < 0) {
		close(pipefd[0]);
		snprintf(err, errlen, "cannot fork: %s", strerror(fork_errno));
		return -1;
	}
	/* EOF: the exec succeeded and closed the pipe; an int: it failed */
	do
		n = read(pipefd[0], &child_errno, sizeof(child_errno));
	while (n < 0 && errno == EINTR);
	close(pipefd[0]);
	if (n == (ssize_t)sizeof(child_errno)) {
		while (waitpid(s->pid, &s->wstatus, 0) < 0 && errno == EINTR)
			;
		s->reaped = 1;
		if (child_errno < 0 && s->spec.private_run)
			snprintf(err, errlen, "cannot give the client private mounts "
				 "(%s on /run): %s", s->spec.private_run, strerror(-child_errno));
		else if (child_errno < 0 && s->spec.private_dir)
			snprintf(err, errlen, "cannot give the client private mounts "
				 "(%s%s%s): %s", s->spec.private_resolv ? "/etc/resolv.conf, " : "",
				 "tmpfs on ", s->spec.private_dir, strerror(-child_errno));
		else if (child_errno < 0)
			snprintf(err, errlen, "cannot give the client a private /etc/resolv.conf "
				 "(bind mount of %s): %s", s->spec.private_resolv,
				 strerror(-child_errno));
		else
			snprintf(err, errlen, "cannot run %s: %s", s->spec.argv[0],
				 strerror(child_errno));
		return -1;
	}
	s->pidfd = (int)syscall(SYS_pidfd_open, s->pid, 0);
	return 0;
}

int session_write_all(struct session *s, const char *data, size_t n)
{
	double deadline = session_now_ms() + 1000.0;

	while (n > 0) {
		ssize_t w = write(s->master, data, n);
		if (w > 0) {
			data += w;
			n -= (size_t)w;
			continue;
		}
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
			return -1;
		/* the client is not reading: wait a little, drain its output meanwhile */
		double left = deadline - session_now_ms();
		if (left <= 0) {
			errno = ETIMEDOUT;
			return -1;
		}
		struct pollfd p = { .fd = s->master, .events = POLLOUT | POLLIN };
		if (poll(&p, 1, (int)left + 1) > 0 && (p.revents & POLLIN))
			session_read(s);
	}
	return 0;
}

struct session *session_start(const struct session_spec *spec, char *err, size_t errlen)
{
	struct session *s;

	if (!spec->argv || !spec->argv[0]) {
		snprintf(err, errlen, "no client command");
		return NULL;
	}
	if ((spec->secret && strlen(spec->secret) >= SESSION_SECRET_MAX) ||
	    (spec->stdin_secret && strlen(spec->stdin_secret) >= SESSION_SECRET_MAX)) {
		snprintf(err, errlen, "password longer than %d bytes", SESSION_SECRET_MAX - 1);
		return NULL;
	}
	s = calloc(1, sizeof(*s));
	if (!s) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	s->spec = *spec;
	s->master = s->pidfd = -1;
	s->failed_index = -1;
	s->secret_sent_at = -1;
	s->buf_bol = 1;
	s->expecting = 1;
	if (session_compile(s, err, errlen) < 0 || spawn(s, err, errlen) < 0) {
		session_free(s);
		return NULL;
	}
	log_debug(spec->site, "started %s (pid %d)", spec->argv[0], (int)s->pid);
	if (spec->stdin_secret) {
		int rc = session_write_all(s, spec->stdin_secret, strlen(spec->stdin_secret));
		if (rc == 0)
			rc = session_write_all(s, "\n", 1);
		if (rc < 0) {
			snprintf(err, errlen, "cannot write the password to %s: %s",
				 spec->argv[0], strerror(errno));
			session_free(s);
			return NULL;
		}
		log_debug(spec->site, "sent the password on stdin as " SESSION_MASK_TEXT);
	}
	return s;
}

void session_reap(struct session *s)
{
	int st;
	pid_t p;

	if (s->pid <= 0)
		return;
	/* -pgid also reaps group members re-parented to us (child subreaper) */
	while ((p = waitpid(-s->pid, &st, WNOHANG)) > 0 || (p < 0 && errno == EINTR)) {
		if (p == s->pid) {
			s->reaped = 1;
			s->wstatus = st;
		}
	}
	if (p < 0 && errno == ECHILD && !s->reaped) {
		/* SIGCHLD ignored by the caller: the kernel reaped the client */
		s->reaped = 1;
		s->status_unknown = 1;
	}
	if (s->reaped && s->pidfd >= 0) {
		close(s->pidfd);
		s->pidfd = -1;
	}
}

void session_wait_io(struct session *s, int timeout_ms)
{
	session_wait_io_fd(s, timeout_ms, -1);
}

int session_wait_io_fd(struct session *s, int timeout_ms, int fd)
{
	struct pollfd p[3];
	nfds_t n = 0;
	int mi = -1, fi = -1;

	if (!s->reaped && s->pidfd < 0 && (timeout_ms < 0 || timeout_ms > 20))
		timeout_ms = 20;   /* no pidfd: look at the child now and then */
	if (!s->master_eof) {
		mi = (int)n;
		p[n++] = (struct pollfd){ .fd = s->master, .events = POLLIN };
	}
	if (!s->reaped && s->pidfd >= 0)
		p[n++] = (struct pollfd){ .fd = s->pidfd, .events = POLLIN };
	if (fd >= 0) {
		fi = (int)n;
		p[n++] = (struct pollfd){ .fd = fd, .events = POLLIN };
	}
	if (n == 0 && timeout_ms < 0)
		return 0;   /* nothing could ever wake us */
	int rc = poll(p, n, timeout_ms);   /* -1: until something happens */
	if (rc > 0 && mi >= 0 && p[mi].revents)
		session_read(s);
	if (!s->reaped)
		session_reap(s);
	return rc > 0 && fi >= 0 && p[fi].revents;
}

void session_drain_after_exit(struct session *s)
{
	double deadline = session_now_ms() + 100.0;

	/* pty data reaches the master a moment after the write: wait for the
	 * EOF, or for 20 ms of quiet when a leftover process holds the pty */
	while (!s->master_eof && session_now_ms() < deadline) {
		struct pollfd p = { .fd = s->master, .events = POLLIN };
		if (poll(&p, 1, 20) <= 0)
			break;
		session_read(s);
	}
}

int session_pump(struct session *s, int timeout_ms)
{
	return session_pump_fd(s, timeout_ms, -1);
}

int session_pump_fd(struct session *s, int timeout_ms, int fd)
{
	double deadline = session_now_ms() + timeout_ms;

	s->expecting = 0;   /* nothing is matched after the login */
	s->match_pos = s->len;
	for (;;) {
		if (s->reaped) {
			session_drain_after_exit(s);
			session_settle_all(s);
			return 1;
		}
		double left = deadline - session_now_ms();
		if (left <= 0)
			return 0;
		if (session_wait_io_fd(s, (int)left + 1, fd))
			return 2;
	}
}

pid_t session_pid(const struct session *s)
{
	return s->pid;
}

int session_alive(struct session *s)
{
	if (!s->reaped)
		session_reap(s);
	return !s->reaped;
}

/* 1 when a process of group pgid is alive; zombies do not count: their
 * parent (init when not us, which may be slow) reaps them. */
static int group_has_live_process(pid_t pgid)
{
	DIR *d = opendir("/proc");
	struct dirent *e;
	int live = 0;

	if (!d)
		return 1;
	while (!live && (e = readdir(d)) != NULL) {
		char path[300], st[512], state;
		int pgrp;
		if (e->d_name[0] < '1' || e->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/stat", e->d_name);
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		ssize_t n = read(fd, st, sizeof(st) - 1);
		close(fd);
		if (n <= 0)
			continue;
		st[n] = '\0';
		/* "pid (comm) state ppid pgrp ...": comm may hold spaces and ')' */
		char *p = strrchr(st, ')');
		if (p && sscanf(p + 1, " %c %*d %d", &state, &pgrp) == 2 &&
		    pgrp == (int)pgid && state != 'Z' && state != 'X')
			live = 1;
	}
	closedir(d);
	return live;
}

static int group_gone(struct session *s)
{
	if (s->group_gone)
		return 1;
	session_reap(s);
	if (!s->reaped)
		return 0;
	if (kill(-s->pid, 0) < 0 && errno == ESRCH) {
		s->group_gone = 1;
	} else if (!group_has_live_process(s->pid)) {
		/* only zombies: reap those that turned ours meanwhile */
		session_reap(s);
		s->group_gone = 1;
	}
	return s->group_gone;
}

/* Waits until the group is gone or the deadline, draining output. */
static int wait_group_gone(struct session *s, double deadline)
{
	int tick = 2;

	for (;;) {
		if (group_gone(s))
			return 1;
		double left = deadline - session_now_ms();
		if (left <= 0)
			return 0;
		if (!s->reaped) {
			session_wait_io(s, (int)left + 1);
			continue;
		}
		/* leader reaped, others left: nothing to wait on, so look again
		 * after a growing pause */
		session_wait_io(s, tick < left ? tick : (int)left + 1);
		if (tick < 50)
			tick *= 2;
	}
}

double session_stop(struct session *s, int first_signal, double timeout_s, int *escalated)
{
	double t0 = session_now_ms();
	struct stop_phase { int sig; double wait_s; int level; } phase[3];
	int nphase = 0, level = 0, gone = 0, last_sig = 0;

	if (first_signal == SIGKILL) {
		phase[nphase++] = (struct stop_phase){ SIGKILL, KILL_WAIT_S, 2 };
	} else {
		phase[nphase++] = (struct stop_phase){ first_signal, timeout_s, 0 };
		if (first_signal != SIGTERM)
			phase[nphase++] = (struct stop_phase){ SIGTERM, TERM_WAIT_S, 1 };
		phase[nphase++] = (struct stop_phase){ SIGKILL, KILL_WAIT_S, 2 };
	}

	/* A client blocked reading a prompt (openconnect re-asking for the
	 * password after "Login failed.") restarts that read after SIGINT and
	 * would only die at SIGTERM: end-of-file on its terminal ends the read.
	 * A connected client does not read its terminal, so this costs nothing. */
	if (s->master >= 0 && !s->master_eof) {
		struct termios tio;
		char eof[2] = { 0x04, 0x04 };
		if (tcgetattr(s->master, &tio) == 0 && tio.c_cc[VEOF])
			eof[0] = eof[1] = (char)tio.c_cc[VEOF];
		/* twice: a first EOF after partial input only flushes that input */
		if (write(s->master, eof, sizeof(eof)) < 0)
			log_debug(s->spec.site, "cannot write end-of-file to the client: %s",
				  strerror(errno));
	}
	for (int i = 0; i < nphase && !gone; i++) {
		if (group_gone(s)) {
			gone = 1;
			break;
		}
		level = phase[i].level;
		last_sig = phase[i].sig;
		if (kill(-s->pid, phase[i].sig) < 0 && errno != ESRCH)
			log_warn(s->spec.site, "cannot send signal %d to process group %d: %s",
				 phase[i].sig, (int)s->pid, strerror(errno));
		gone = wait_group_gone(s, session_now_ms() + phase[i].wait_s * 1000.0);
	}
	if (!gone)
		log_warn(s->spec.site, "process group %d still has processes after SIGKILL",
			 (int)s->pid);
	if (s->reaped)
		session_drain_after_exit(s);
	session_settle_all(s);
	if (escalated)
		*escalated = level;
	double ms = session_now_ms() - t0;
	if (last_sig)
		log_debug(s->spec.site, "client stopped in %.1f ms by SIG%s", ms,
			  sigabbrev_np(last_sig) ? sigabbrev_np(last_sig) : "?");
	return ms;
}

void session_free(struct session *s)
{
	if (!s)
		return;
	if (s->pid > 0 && !group_gone(s))
		session_stop(s, SIGKILL, 0, NULL);
	if (s->master >= 0)
		close(s->master);
	if (s->pidfd >= 0)
		close(s->pidfd);
	session_free_patterns(s);
	free(s);
}
