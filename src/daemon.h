/* SPDX-License-Identifier: MIT */
/* The daemon's top level (main.c is the command line around it). */
#ifndef EPMON_DAEMON_H
#define EPMON_DAEMON_H

#include <stddef.h>
#include "config/config.h"

/* `epmon run`: a cycle every `frequency` seconds on a fixed grid until
 * SIGTERM/SIGINT; SIGHUP reloads the config between cycles. Exit status. */
int daemon_run(const char *path);

/* `epmon once`: one cycle of the sites named in only (all when nonly is
 * 0), rows written, a table printed; 0 all OK, 1 any failed, 2 bad config. */
int daemon_once(const char *path, const char *const *only, size_t nonly);

/* The isolation subnet against this host's networks (check-config): 0, or
 * -1 with a FILE:LINE:COL error on stderr. */
int daemon_check_subnet(const struct config *cfg);

#endif
