/* SPDX-License-Identifier: MIT */
/* `epmon mute SITE|all DURATION [--reason TEXT]` and `epmon unmute
 * SITE|all`: unplanned work. The mutes live in state_directory/mutes; the
 * daemon reads them before each cycle (no signal needed). */
#ifndef EPMON_ALERT_MUTE_CLI_H
#define EPMON_ALERT_MUTE_CLI_H

#include <stddef.h>

/* args: the command's words after "mute"/"unmute" (SITE [DURATION]);
 * reason: --reason (NULL: none). Exit status: 0, 1 (cannot write), 2 (usage
 * or config error). */
int mute_cmd(const char *config_path, int unmute, const char *const *args, size_t nargs,
	     const char *reason);

#endif
