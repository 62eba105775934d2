/* SPDX-License-Identifier: MIT */
/* Alerting as the daemon sees it: after each cycle, the alert state machine
 * (alert.h) decides which mails are due; each is composed (mail.h), written
 * to the spool (spool.h) and the state saved; the sender thread (sender.h)
 * then delivers the spool in the background. Without a `logging` map the
 * transitions are only logged. `epmon once` does not alert; `run` does. */
#ifndef EPMON_ALERT_NOTIFY_H
#define EPMON_ALERT_NOTIFY_H

#include <stddef.h>
#include <stdio.h>
#include <time.h>
#include "alert/alert.h"
#include "config/config.h"
#include "probe/cycle.h"

#define NOTIFY_STOP_WAIT_S 2.0   /* bounded wait for the sender at exit */
#define NOTIFY_PENDING_MAX 1000  /* mails kept in memory while the spool is unwritable */

struct notifier;

/* Loads the alert state of cfg->state_dir and starts the sender thread
 * (when cfg has a logging map). Call with the signals the main thread
 * handles blocked or not: the thread blocks them all. NULL only when out
 * of memory. */
struct notifier *notifier_new(const struct config *cfg);

/* Before a cycle: per site of cfg (quiet[cfg->nsites]), whether it is in a
 * maintenance window or muted at now (enum alert_quiet). */
void notifier_quiet(struct notifier *n, const struct config *cfg, time_t now,
		    unsigned char *quiet);

/* After a cycle's rows are written: transitions -> mails in the spool ->
 * state saved -> sender woken. Never blocks on the network. quiet: as
 * notifier_quiet gave it for the cycle (NULL: none). */
void notifier_after_cycle(struct notifier *n, const struct config *cfg,
			  const struct cycle_report *rep, const unsigned char *quiet);

/* A cycle's sink: notifier_after_cycle with the config in force and the
 * report's quiet (n may be NULL: none). */
struct cycle_sink notifier_sink(struct notifier *n);

/* SIGHUP: keeps the state of sites that still exist, drops the others;
 * the sender uses the new SMTP settings from its next message. */
void notifier_reload(struct notifier *n, const struct config *cfg);

/* Stops the sender (at most NOTIFY_STOP_WAIT_S) and frees everything. */
void notifier_free(struct notifier *n);

/* For metrics and status (main thread). */
const struct alert_state *notifier_alerts(const struct notifier *n);
size_t notifier_spooled(const struct notifier *n); /* messages waiting */

/* `epmon test-email`: sends a test mail now with cfg's settings, prints the
 * SMTP conversation (no credentials) and the outcome on out. 0 when the
 * server accepted it, else 1. */
int notifier_test_email(const struct config *cfg, FILE *out);

#endif
