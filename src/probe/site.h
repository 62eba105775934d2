/* SPDX-License-Identifier: MIT */
/* One site test: external ping -> VPN up -> internal ping -> teardown. */
#ifndef EPMON_PROBE_SITE_H
#define EPMON_PROBE_SITE_H

#include <time.h>
#include "config/config.h"
#include "probe/icmp.h"
#include "vpn/vpn.h"

enum site_step {
	STEP_NONE = 0,
	STEP_EXTERNAL_PING,
	STEP_VPN_LOGIN,
	STEP_INTERNAL_PING,
	STEP_TEARDOWN,
};

const char *site_step_name(enum site_step s); /* "external_ping", ... ; "" for NONE */

struct site_result {
	char site[64];
	struct timespec started;    /* CLOCK_REALTIME at the start of the site test */
	int ok;                     /* 1: every step that ran succeeded */
	enum site_step failed_step; /* STEP_NONE when ok */

	int external_ran;
	struct ping_stats external;
	int login_ran;
	double login_ms;
	/* where the login's time went (vpn/phases.h): login_phase_ms[p] is known
	 * when bit p of login_phases is set; a failed login keeps the phases it
	 * got through */
	unsigned login_phases;
	double login_phase_ms[VPN_PHASES];
	/* VPN sites: the first echo through the new tunnel, sent and timed on
	 * its own before the `count` echoes of `internal` (the steady state) */
	int internal_first_replied;
	double internal_first_ms;
	int internal_ran;
	struct ping_stats internal;
	int teardown_ran;
	double teardown_ms;

	int stale_killed;           /* stale client processes stopped before/after the test */
	int resolv_repaired;        /* resolv.conf repairs before/after the test */

	char detail[512];           /* reason of the failure and/or warnings */
};

/* Appends a note to r->detail, "; "-separated. */
void site_result_note(struct site_result *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* What a site test needs from its caller besides the site itself. */
struct site_env {
	struct vpn_env vpn;         /* isolation, client patterns, stop flag, resolv.conf */
	/* Per site of the config (its index), why it raises no alert this
	 * cycle (enum alert_quiet: 0 none, 1 maintenance, 2 muted); the row's
	 * detail says so. NULL: none. */
	const unsigned char *quiet;
	/* Called during a cycle (NULL: never) before each site test and, while
	 * site tests run in worker threads, every heartbeat_every_s (0: only
	 * before each) as long as none has outlived site_worst_case_s(): the
	 * daemon pings systemd's watchdog there, as a whole cycle may outlast
	 * it but a stuck site test must not hide behind the pings. With one
	 * worker (concurrency 1, or one site) the test runs in the caller's
	 * thread: only before each. */
	void (*heartbeat)(void *arg);
	void *heartbeat_arg;
	double heartbeat_every_s;
};

/* Runs the four steps of one site and fills `out`. Never leaves a client
 * process, tunnel or resolv.conf change behind. Returns 0, or -1 when the
 * test was aborted by *env->vpn.stop (out is then incomplete). */
int site_test(const struct site *site, const struct site_env *env,
	      struct site_result *out);

#endif
