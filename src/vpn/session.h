/* SPDX-License-Identifier: MIT */
/* Expect engine: runs a VPN client on a pty, answers its prompts, times the
 * login and stops the client's whole process group. Knows nothing about
 * YAML or particular clients: the caller gives argv, steps and patterns. */
#ifndef EPMON_VPN_SESSION_H
#define EPMON_VPN_SESSION_H

#include <stddef.h>
#include <sys/types.h>

struct pattern_cache;

/* Wait for `expect` (POSIX ERE; NULL or "" = send at once), then send `send`
 * followed by "\r" (NULL = send nothing). "{password}" in send is replaced
 * by the secret. timeout_s: 0 = only the overall login timeout applies. */
struct session_step {
	const char *expect;
	const char *send;
	double timeout_s;
};

/* Every pointer is the caller's and must stay valid until session_free(). */
struct session_spec {
	const char *const *argv;      /* argv[0]: path of the client (execve, no shell) */
	const char *const *env;       /* complete environment of the child; NULL = empty */
	const struct session_step *steps;
	size_t nsteps;
	const char *connected;        /* ERE that means the tunnel is up */
	const char *const *failed;    /* EREs that mean failure, checked at any time */
	size_t nfailed;
	/* EREs timed on the client's output, line by line (a prompt without its
	 * newline counts as a line): session_mark_at() gives when each first
	 * matched, during the login and after it. NULL or "" entries: none. */
	const char *const *marks;
	size_t nmarks;
	const char *secret;           /* the password; masked as ******** everywhere */
	const char *stdin_secret;     /* optional: written once at start, then "\n" */
	double login_timeout_s;       /* from session_start; 0 = none */
	const char *site;             /* for log lines */
	/* NULL, or a file the client sees as /etc/resolv.conf: it then runs in
	 * a mount namespace of its own where that file is bind-mounted, so
	 * nothing it writes there reaches the host */
	const char *private_resolv;
	/* NULL, or a directory that gets an empty private tmpfs (mode 0700) in
	 * the client's mount namespace, e.g. wireguard-go's /var/run/wireguard
	 * (its control socket), which every network namespace shares */
	const char *private_dir;
	/* NULL, or a directory bind-mounted onto /run in the client's mount
	 * namespace: charon's pid file (/var/run/charon.pid, fixed when it was
	 * built) and VICI socket land there, apart from any other charon */
	const char *private_run;
	/* NULL, or where compiled patterns are shared with other sessions */
	struct pattern_cache *patterns;
	volatile const int *stop;     /* may be NULL; non-zero aborts the login */
};

enum session_outcome {
	SESSION_CONNECTED = 0,
	SESSION_FAILED_PATTERN,
	SESSION_EXITED,
	SESSION_TIMEOUT,
	SESSION_STEP_TIMEOUT,
	SESSION_SPAWN_ERROR,
	SESSION_ABORTED,
};

struct session;

/* "connected", "failed_pattern", "exited", "timeout", ... */
const char *session_outcome_name(enum session_outcome o);

/* Compiles the patterns, spawns argv on a new pty in its own session and
 * process group, with spec->env as its whole environment. NULL and a
 * message in err on failure (bad pattern, client not executable, ...). */
struct session *session_start(const struct session_spec *spec, char *err, size_t errlen);

/* Runs the steps until the connected pattern, a failed pattern, the child's
 * exit, a step or the overall timeout, or *spec->stop. Runs once; later
 * calls return the same outcome. */
enum session_outcome session_login(struct session *s);

double session_connected_ms(const struct session *s);  /* start -> connected match */
/* CLOCK_MONOTONIC ms (as session_now_ms) when the client's output first
 * matched marks[i], or when a step's answer holding the password was sent
 * (the password on stdin does not count); -1 when not (yet). */
double session_mark_at(const struct session *s, size_t i);
double session_secret_sent_at(const struct session *s);
const char *session_detail(const struct session *s);      /* human text of the outcome */
int session_failed_index(const struct session *s);        /* failed[] that matched, or -1 */
const char *session_output_tail(const struct session *s); /* last 4 KiB, secrets masked */

/* After login: drain the client's output for up to timeout_ms so it never
 * blocks on a full pty. 0 while the client runs, 1 once it has exited. */
int session_pump(struct session *s, int timeout_ms);
/* The same, returning 2 as soon as fd (-1: none) is readable, e.g. the
 * pidfd of another process epmon waits for. */
int session_pump_fd(struct session *s, int timeout_ms, int fd);

pid_t session_pid(const struct session *s);  /* also the process group id */
int session_alive(struct session *s);         /* 1 while the client runs */

/* Stops the whole process group: first_signal, up to timeout_s; SIGTERM, up
 * to 2 s; SIGKILL. Drains output meanwhile and reaps the client. Returns the
 * elapsed ms; *escalated (may be NULL): 0 first_signal was enough, 1 SIGTERM
 * was needed, 2 SIGKILL was needed. */
double session_stop(struct session *s, int first_signal, double timeout_s, int *escalated);

/* Kills what is left (SIGKILL at once), closes the pty, frees. NULL is ok. */
void session_free(struct session *s);

#endif
