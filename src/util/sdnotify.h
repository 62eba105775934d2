/* SPDX-License-Identifier: MIT */
/* systemd's service notification protocol (sd_notify(3)) without
 * libsystemd: one AF_UNIX datagram per message to $NOTIFY_SOCKET. Lets
 * `Type=notify` units know when epmon is ready, what it is doing, and that
 * its main loop still runs (WatchdogSec=). */
#ifndef EPMON_UTIL_SDNOTIFY_H
#define EPMON_UTIL_SDNOTIFY_H

struct sdnotify;

/* Reads NOTIFY_SOCKET, WATCHDOG_USEC and WATCHDOG_PID, then removes them
 * from the environment so that VPN clients started later cannot speak for
 * epmon. NULL when not started by systemd (or the socket is unusable,
 * logged); every function below accepts NULL and then does nothing. */
struct sdnotify *sdnotify_new(void);
void sdnotify_free(struct sdnotify *n);

/* Sends one message, e.g. "READY=1", "STOPPING=1". 0, or -1 (logged at
 * debug level: systemd may be gone, epmon goes on). */
int sdnotify_send(struct sdnotify *n, const char *message);

/* STATUS=..., the line `systemctl status` shows. */
void sdnotify_status(struct sdnotify *n, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* The watchdog timeout WATCHDOG_USEC in seconds; 0 when there is none
 * (or it is meant for another process). Ping at least twice per timeout. */
double sdnotify_watchdog_s(const struct sdnotify *n);

/* WATCHDOG=1 when the watchdog is on. */
void sdnotify_watchdog(struct sdnotify *n);

#endif
