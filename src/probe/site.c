/* SPDX-License-Identifier: MIT */
#include "probe/site.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "util/log.h"
#include "util/note.h"
#include "vpn/vpn.h"

void site_result_note(struct site_result *r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	note_vadd(r->detail, sizeof(r->detail), fmt, ap);
	va_end(ap);
}

static void ping_target_init(struct ping_target *t, const char *address,
			     const char *interface, const struct ping_settings *p)
{
	memset(t, 0, sizeof(*t));
	t->address = address;
	t->interface = interface;
	t->count = p->count;
	t->interval_s = p->interval_s;
	t->timeout_s = p->timeout_s;
}

/* One ping step; returns 1 when it succeeded (at least one reply). */
static int ping_step(const struct site *site, const struct site_env *env,
		     const char *address, const char *interface,
		     const char *what, struct ping_stats *stats,
		     struct site_result *out)
{
	struct ping_target t;
	char err[256];

	ping_target_init(&t, address, interface, &site->ping);
	if (icmp_ping(&t, 1, env->vpn.stop, err, sizeof(err)) < 0) {
		site_result_note(out, "%s ping: %s", what, err);
		return 0;
	}
	*stats = t.stats;
	if (t.stats.received == 0) {
		site_result_note(out, "%s", t.error[0] ? t.error : "no reply");
		return 0;
	}
	log_debug(site->name, "%s ping %s: %d/%d, min/avg/max/mdev/median "
		  "%.3f/%.3f/%.3f/%.3f/%.3f ms", what, address, t.stats.received,
		  t.stats.sent, t.stats.min_ms, t.stats.avg_ms, t.stats.max_ms,
		  t.stats.mdev_ms, t.stats.median_ms);
	return 1;
}

/* Before the steady internal ping, through a new tunnel: one echo alone,
 * waited for (up to the ping timeout), so that what the first packet meets
 * (the gateway's first forwarding: ARP, session set-up) is a figure of its
 * own and not a fifth of the average. No reply is no failure: the steady
 * ping decides. */
static void first_echo(const struct site *site, const struct site_env *env,
		       const char *interface, struct site_result *out)
{
	struct ping_target t;
	struct ping_settings one = site->ping;
	char err[256];

	one.count = 1;
	ping_target_init(&t, site->internal_ip, interface, &one);
	if (icmp_ping(&t, 1, env->vpn.stop, err, sizeof(err)) < 0 || t.stats.received == 0) {
		log_debug(site->name, "first echo through the tunnel to %s: no reply (%s)",
			  site->internal_ip, t.error[0] ? t.error : err);
		return;
	}
	out->internal_first_replied = 1;
	out->internal_first_ms = t.stats.avg_ms;
	log_debug(site->name, "first echo through the tunnel to %s: %.3f ms",
		  site->internal_ip, out->internal_first_ms);
}

static void fail(struct site_result *out, enum site_step step)
{
	out->ok = 0;
	out->failed_step = step;
}

int site_test(const struct site *site, const struct site_env *env,
	      struct site_result *out)
{
	struct vpn_tunnel *tun = NULL;
	const char *tunnel_if = NULL;
	int has_vpn = site->vpn.client != VPN_NONE;
	struct vpn_result vr = { .detail = out->detail, .detail_size = sizeof(out->detail) };

	memset(out, 0, sizeof(*out));
	vr.detail = out->detail;
	snprintf(out->site, sizeof(out->site), "%s", site->name);
	clock_gettime(CLOCK_REALTIME, &out->started);
	out->ok = 1;

	/* the seed's error handling: no stale client or resolv.conf may skew
	 * even the external ping */
	if (has_vpn)
		vpn_prepare(site, &env->vpn, &vr);

	out->external_ran = 1;
	if (!ping_step(site, env, site->external_ip, NULL, "external",
		       &out->external, out)) {
		fail(out, STEP_EXTERNAL_PING);
		goto done;
	}
	if (env->vpn.stop && *env->vpn.stop)
		goto done;

	if (has_vpn) {
		/* a failed login has no figure: its column stays empty */
		int up = vpn_up(site, &env->vpn, &tun, &vr);

		out->login_ms = vr.login_ms;
		out->login_phases = vr.phases;
		memcpy(out->login_phase_ms, vr.phase_ms, sizeof(out->login_phase_ms));
		if (up < 0) {
			fail(out, STEP_VPN_LOGIN);
			goto teardown;
		}
		out->login_ran = 1;
		tunnel_if = vpn_interface(tun);
	}
	if (site->internal_ip && tun && !(env->vpn.stop && *env->vpn.stop))
		first_echo(site, env, tunnel_if, out);
	if (site->internal_ip && !(env->vpn.stop && *env->vpn.stop)) {
		out->internal_ran = 1;
		if (!ping_step(site, env, site->internal_ip, tunnel_if, "internal",
			       &out->internal, out))
			fail(out, STEP_INTERNAL_PING);
	}
teardown:
	if (tun) {
		out->teardown_ran = 1;
		if (vpn_down(tun, &vr) < 0 && out->ok)
			fail(out, STEP_TEARDOWN);
		out->teardown_ms = vr.teardown_ms;
	}
done:
	out->stale_killed = vr.stale_killed;
	out->resolv_repaired = vr.resolv_repaired;
	if (env->vpn.stop && *env->vpn.stop)
		return -1;
	return 0;
}
