/* SPDX-License-Identifier: MIT */
/* `epmon mute SITE|all DURATION [--reason TEXT]` and `epmon unmute
 * SITE|all`: unplanned work. The mutes live in state_directory/mutes; the
 * daemon reads them before each cycle (no signal needed). */
#ifndef EPMON_ALERT_MUTE_CLI_H
#define EPMON_ALERT_MUTE_CLI_H

/* argv[0] is "mute" or "unmute". Exit status: 0, 1 (cannot write), 2 (usage
 * or config error). */
int mute_cmd(const char *config_path, int argc, char **argv);

#endif
