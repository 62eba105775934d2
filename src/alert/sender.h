/* SPDX-License-Identifier: MIT */
/* A sender thread: delivers one spool (spool.h) through one channel (SMTP,
 * a webhook, Alertmanager) so that a slow or dead server never delays a
 * cycle. Woken after each cycle and by its own timer for retries (backoff
 * retry_min .. retry_max); moves messages older than max_age, or refused for
 * good, to DIR/dead/. Everything it needs is in its own struct sender. */
#ifndef EPMON_ALERT_SENDER_H
#define EPMON_ALERT_SENDER_H

#include <stdatomic.h>
#include <stddef.h>

enum delivery {
	DELIVERED = 0,      /* the server took it: removed from the spool */
	DELIVERY_RETRY,     /* the server, not the message, failed: back off */
	DELIVERY_REFUSED,   /* this message never goes: moved to dead/ */
	DELIVERY_ABORTED,   /* *stop became non-zero */
};

struct delivery_outcome {
	enum delivery status;
	char reply[512];        /* the server's answer, for the log */
	char error[768];        /* one line for the log when not DELIVERED */
};

/* A channel: its settings are copied into the thread (copy/release), and
 * send() runs there. */
struct sender_ops {
	const char *noun;       /* "mail", "webhook": "DOWN mail of site paris" */
	int quiet;              /* log deliveries at debug level (one per cycle) */
	void *(*copy)(const void *settings);    /* NULL: out of memory */
	void (*release)(void *settings);
	void (*send)(const void *settings, const char *msg, size_t len,
		     const atomic_int *stop, struct delivery_outcome *out);
};

/* Retry and expiry, seconds. */
struct sender_timing {
	double retry_min_s, retry_max_s, max_age_s;
};

struct sender;

/* Starts the thread for the spool DIR of files *.EXT; settings are copied.
 * A first round runs at once (messages left by an earlier run go out).
 * NULL when the thread cannot be started (logged). */
struct sender *sender_start(const struct sender_ops *ops, const void *settings,
			    const struct sender_timing *timing, const char *dir,
			    const char *ext);

/* New settings (config reload), used from the next message on. */
void sender_configure(struct sender *s, const void *settings,
		      const struct sender_timing *timing, const char *dir);

/* New messages may be in the spool: a round starts now unless one is
 * running or the server is being backed off from. */
void sender_wake(struct sender *s);

/* Asks the thread to stop without waiting (NULL: nothing); sender_stop
 * then joins it. */
void sender_request_stop(struct sender *s);

/* Asks the thread to stop (a conversation in progress is aborted) and waits
 * at most wait_s for it. 0: joined and freed. -1: it did not end in time and
 * was left running (not freed; the process is exiting). */
int sender_stop(struct sender *s, double wait_s);

#endif
