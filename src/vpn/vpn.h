/* SPDX-License-Identifier: MIT */
/* The VPN steps of a site test: prepare (stale clients, resolv.conf),
 * up (login timed until the tunnel carries the route), down (stop, verify,
 * repair). */
#ifndef EPMON_VPN_H
#define EPMON_VPN_H

#include "site.h"

struct vpn_tunnel;

/* At start-up and reload: an unmarked resolv.conf is the known good copy
 * (kept in env->state_dir so it survives restarts). */
void vpn_remember_resolv(const struct site_env *env);

/* Before the site test: stops stale clients of this site's profile and
 * repairs a resolv.conf left modified. Notes go to out->detail. */
void vpn_prepare(const struct site *site, const struct site_env *env,
		 struct site_result *out);

/* Starts the client and waits until the tunnel is usable. Returns 0 with
 * out->login_ms set, or -1 with the reason in out->detail. *tun is set
 * whenever something was started: vpn_down must then be called. */
int vpn_up(const struct site *site, const struct site_env *env,
	   struct vpn_tunnel **tun, struct site_result *out);

/* The tunnel's network interface (for binding the internal ping). */
const char *vpn_interface(const struct vpn_tunnel *t);

/* Stops the client and leaves the host as before vpn_up; frees t. Returns
 * 0 (repairs, if any, noted in out->detail) or -1 when a repair failed. */
int vpn_down(struct vpn_tunnel *t, struct site_result *out);

#endif
