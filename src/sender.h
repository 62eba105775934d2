/* The sender thread: delivers the spool (spool.h) through SMTP (smtp.h)
 * so that a slow or dead mail server never delays a cycle. Woken after each
 * cycle and by its own timer for retries (backoff retry_min .. retry_max);
 * moves messages older than spool_max_age, or refused for good (5xx), to
 * spool/dead/. Everything it needs is in its own struct sender. */
#ifndef EPMON_SENDER_H
#define EPMON_SENDER_H

#include <stddef.h>
#include "config.h"

struct sender;

/* Starts the thread for the spool of state_dir; smtp is copied. A first
 * round runs at once (mail left by an earlier run goes out). NULL when the
 * thread cannot be started (logged). */
struct sender *sender_start(const struct smtp_settings *smtp,
			    const char *state_dir, const char *hostname);

/* New settings (config reload), used from the next message on. */
void sender_configure(struct sender *s, const struct smtp_settings *smtp,
		      const char *state_dir);

/* New mail may be in the spool: a round starts now unless one is running
 * or the server is being backed off from. */
void sender_wake(struct sender *s);

/* Asks the thread to stop (an SMTP conversation in progress is aborted)
 * and waits at most wait_s for it. 0: joined and freed. -1: it did not end
 * in time and was left running (not freed; the process is exiting). */
int sender_stop(struct sender *s, double wait_s);

#endif
