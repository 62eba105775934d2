/* SPDX-License-Identifier: MIT */
/* The VPN steps of a site test: prepare (stale clients, resolv.conf),
 * up (login timed until the tunnel carries the route), down (stop, verify,
 * repair). */
#ifndef EPMON_VPN_VPN_H
#define EPMON_VPN_VPN_H

#include <stddef.h>
#include "config/config.h"
#include "vpn/phases.h"

struct vpn_tunnel;
struct isolation;
struct pattern_cache;

/* What the VPN steps need from their caller. */
struct vpn_env {
	/* NULL: clients run in epmon's own network namespace (isolation mode
	 * none); else each VPN site test gets a namespace of its own */
	struct isolation *isolation;
	/* compiled client patterns shared by concurrent site tests (NULL: each
	 * session compiles its own) */
	struct pattern_cache *patterns;
	volatile const int *stop;   /* set by SIGTERM/SIGINT: abort cleanly */
	const char *state_dir;      /* the last known good resolv.conf lives here */
	const char *resolv_conf;    /* normally /etc/resolv.conf */
	/* epmon's binary as found at start (openconnect runs it as its
	 * --script); NULL: /proc/PID/exe, which a client can only open while
	 * epmon is dumpable */
	const char *self_exe;
};

/* What the VPN steps measure and say; the site test copies it into its
 * result. Notes are appended to the caller's buffer (util/note.h). */
struct vpn_result {
	double login_ms;
	double teardown_ms;
	/* where the login's time went (phases.h): phase_ms[p] is known when bit
	 * p of `phases` is set; also the phases a failed login got through */
	double phase_ms[VPN_PHASES];
	unsigned phases;
	int stale_killed;           /* stale client processes stopped before/after */
	int resolv_repaired;        /* resolv.conf repairs before/after */
	char *detail;
	size_t detail_size;
};

/* At start-up, before vpn_remember_resolv (isolation mode none): undoes
 * what the clients of an earlier epmon that was killed mid-test left
 * (journal.h). */
void vpn_recover(const struct vpn_env *env);

/* At start-up and reload: an unmarked resolv.conf is the known good copy
 * (kept in env->state_dir so it survives restarts). */
void vpn_remember_resolv(const struct vpn_env *env);

/* Before the site test: stops stale clients of this site's profile and
 * repairs a resolv.conf left modified. Notes go to out->detail. */
void vpn_prepare(const struct site *site, const struct vpn_env *env,
		 struct vpn_result *out);

/* Starts the client and waits until the tunnel is usable. Returns 0 with
 * out->login_ms and the phases set, or -1 with the reason in out->detail,
 * after "failed in PHASE after T: " when the client's output tells the
 * phase (and the phases it got through set). *tun is set
 * whenever something was started: vpn_down must then be called. */
int vpn_up(const struct site *site, const struct vpn_env *env,
	   struct vpn_tunnel **tun, struct vpn_result *out);

/* The tunnel's network interface (for binding the internal ping). */
const char *vpn_interface(const struct vpn_tunnel *t);

/* Stops the client and leaves the host as before vpn_up; frees t. Returns
 * 0 (repairs, if any, noted in out->detail) or -1 when a repair failed. */
int vpn_down(struct vpn_tunnel *t, struct vpn_result *out);

#endif
