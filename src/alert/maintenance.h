/* SPDX-License-Identifier: MIT */
/* Maintenance windows (alerting.maintenance) and mutes (`epmon mute`):
 * whether a site raises alerts now. A window's wall-clock times are in its
 * timezone; as a process has one TZ, the offset of another zone is asked
 * of a short-lived `epmon tz-offset ZONE EPOCH` child (cached a minute). */
#ifndef EPMON_ALERT_MAINTENANCE_H
#define EPMON_ALERT_MAINTENANCE_H

#include <stddef.h>
#include <time.h>
#include "config/config.h"

#define MUTES_FILE "mutes"

struct maint_clock;

struct maint_clock *maint_clock_new(void);
void maint_clock_free(struct maint_clock *mc);
/* Tests: the epmon binary to ask (default /proc/self/exe). */
void maint_clock_set_exe(struct maint_clock *mc, const char *exe);

/* The window of cfg covering site at now: its index + 1, or 0 (none). */
int maintenance_window_at(struct maint_clock *mc, const struct config *cfg,
			  const char *site, time_t now);

/* `epmon tz-offset ZONE EPOCH`: prints the UTC offset in seconds of ZONE at
 * EPOCH. Exit status 0, or 2 on bad arguments. */
int maintenance_tz_offset_main(int argc, char **argv);

/* One mute: site (or "*"), until (wall clock), reason (may be empty). */
struct mute {
	char site[64];
	time_t until;
	char reason[200];
};

/* STATE_DIR/mutes, the ones still running at now (malloc'd; NULL when none).
 * Returns their number. A missing file is no mute. */
size_t mutes_load(const char *state_dir, time_t now, struct mute **out);
/* The mute of site among list (a "*" one covers all), or NULL. */
const struct mute *mute_find(const struct mute *list, size_t n, const char *site);

/* `epmon mute` / `epmon unmute`: adds (replacing the same site's; site "*"
 * is every site) or removes mutes (site "*": all of them) in
 * STATE_DIR/mutes, written atomically. 0, or -1 (logged). */
int mutes_set(const char *state_dir, const char *site, time_t until,
	      const char *reason, time_t now);
int mutes_clear(const char *state_dir, const char *site, time_t now);

#endif
