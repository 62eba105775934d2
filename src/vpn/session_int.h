/* SPDX-License-Identifier: MIT */
/* Internals shared by session.c (process), output.c (masked output) and
 * expect.c (login dialogue). Not for other modules. */
#ifndef EPMON_VPN_SESSION_INT_H
#define EPMON_VPN_SESSION_INT_H

#include <regex.h>
#include <time.h>
#include "vpn/patterns.h"
#include "vpn/session.h"

#define SESSION_TAIL_MAX 4096    /* session_output_tail() */
#define SESSION_BUF_MAX 16384    /* expect buffer */
#define SESSION_MATCH_KEEP 4096  /* unmatched output kept for a prompt split across reads */
#define SESSION_SECRET_MAX 1024  /* longer secrets are refused */
#define SESSION_MASK '\x1a'      /* marks masked bytes inside buf; stripped from input */
#define SESSION_MASK_TEXT "********"

struct session {
	struct session_spec spec;  /* the caller's pointers */
	int master;                /* pty master, non-blocking; -1 once closed */
	int master_eof;            /* every slave fd closed: poll would spin on POLLHUP */
	int pidfd;                 /* readable when the client exits; -1 if unsupported */
	pid_t pid;                 /* client = session leader = process group id */
	int reaped;
	int wstatus;
	int status_unknown;        /* reaped by someone else (SIGCHLD ignored) */
	int group_gone;            /* session_stop saw no process of the group left */
	double started_ms;         /* CLOCK_MONOTONIC, before the fork */

	int login_done;
	enum session_outcome outcome;
	double connected_ms;
	int failed_index;
	char detail[512];

	/* from spec->patterns, or own_patterns when the caller gave none */
	struct pattern_cache *own_patterns;
	const regex_t **step_re;   /* one per step; NULL where expect is empty */
	const regex_t *connected_re;
	const regex_t **failed_re;
	size_t ncompiled_failed;
	const regex_t **mark_re;   /* one per mark; NULL where it is empty */
	double *mark_at;           /* CLOCK_MONOTONIC ms of the first match; -1 */
	unsigned long long *mark_line; /* where the line of that match starts (stream offset) */
	size_t marks_left;         /* marks not matched yet: lines are timed while > 0 */
	double secret_sent_at;     /* a step sent the password; -1 */

	/* Output since the last trim: \r and NUL stripped, secrets replaced in
	 * place by SESSION_MASK bytes. [0, settled) can no longer turn into a
	 * secret and went to the tail; [log_pos, settled) waits for its newline;
	 * [match_pos, len) is what the patterns see. */
	char buf[SESSION_BUF_MAX + 1];
	size_t len, settled, log_pos, match_pos;
	int buf_bol;               /* buf[0] starts a line */
	unsigned long long trimmed; /* bytes trimmed so far: buf[i] is byte trimmed + i */
	int expecting;             /* login running: keep unmatched output for the patterns */

	char tail[SESSION_TAIL_MAX + 1];
	size_t tail_len;
};

double session_now_ms(void);

/* output.c */
void session_feed(struct session *s, const char *data, size_t n);
int session_read(struct session *s);      /* 1 if bytes arrived; sets master_eof */
void session_settle_all(struct session *s); /* end of output: flush held-back bytes and the last line */
void session_log_partial(struct session *s); /* log an unfinished line now */
/* Copies src[0,n) to dst (cap bytes, NUL-terminated), runs of mask bytes
 * becoming "********"; returns the length written. */
size_t session_unmask(char *dst, size_t cap, const char *src, size_t n);

/* expect.c: times the marks a finished line matches */
void session_mark_line(struct session *s, const char *line, unsigned long long at);

/* session.c */
void session_reap(struct session *s);
/* Waits up to timeout_ms for output or the client's exit, handles both. */
void session_wait_io(struct session *s, int timeout_ms);
/* The same, also waiting for fd (-1: none) to be readable: returns 1 then. */
int session_wait_io_fd(struct session *s, int timeout_ms, int fd);
/* After the client exited: read what is still in flight, briefly. */
void session_drain_after_exit(struct session *s);
int session_write_all(struct session *s, const char *data, size_t n);

#endif
