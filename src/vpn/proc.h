/* SPDX-License-Identifier: MIT */
/* Processes: run a helper command, find stale clients by exact name, stop
 * a process with escalation. */
#ifndef EPMON_VPN_PROC_H
#define EPMON_VPN_PROC_H

#include <stddef.h>
#include <sys/types.h>

#include "util/exec.h"

/* Runs argv (argv[0] an absolute path or a name searched in the clean PATH)
 * with the clean environment, stdin /dev/null, output to /dev/null, and
 * waits up to timeout_s (then SIGKILL). Returns the exit status (0..255),
 * or -1 with err set (not found, killed, timed out). */
int proc_run(const char *const *argv, double timeout_s, char *err, size_t errlen);

/* What a process must also show to be taken for a client of epmon's own,
 * where the name alone would match a host's own tunnel (NULL fields: not
 * checked). */
struct proc_mark {
	const char *last_arg;       /* its last argument is exactly this */
	const char *mount_root;     /* a mount on mount_point has this in its root's path */
	const char *mount_point;
};

/* Pids (not our own, in our network namespace) whose /proc/PID/comm, or
 * the basename of /proc/PID/exe, equals one of names exactly, and that show
 * mark (NULL: none needed). Returns the count stored. */
size_t proc_find_by_name(const char *const *names, size_t nnames,
			 const struct proc_mark *mark, pid_t *pids, size_t max);

/* Stops one process that is not our child: first_signal, wait timeout_s,
 * SIGTERM, wait 2 s, SIGKILL. Returns 0 (gone), -1 (still there). */
int proc_stop_pid(pid_t pid, int first_signal, double timeout_s);

/* Finds and stops stale clients; logs each pid with the site name; returns
 * how many were found. */
int proc_kill_stale(const char *const *names, size_t nnames,
		    const struct proc_mark *mark, double timeout_s, const char *site);


#endif
