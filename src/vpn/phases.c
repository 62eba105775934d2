/* SPDX-License-Identifier: MIT */
/* Login phases from the moments of a login (phases.h). */
#include "vpn/phases.h"

#include <stddef.h>

const char *vpn_phase_name(int phase)
{
	static const char *const names[VPN_PHASES] = { "connect", "tls", "auth", "tunnel" };

	return phase >= 0 && phase < VPN_PHASES ? names[phase] : "";
}

/* Boundary b: 0 the client's start, 1..3 the end of connect, tls, auth
 * (the markers), 4 the tunnel usable. Phase p runs from a boundary <= p to
 * boundary p + 1. */
static int shown(const struct phase_moments *m, int b)
{
	return b == 0 || b == VPN_PHASES || m->shown[b - 1];
}

static double at(const struct phase_moments *m, int b)
{
	if (b == 0)
		return 0;
	if (b == VPN_PHASES)
		return m->up_ms;
	return m->shown[b - 1] ? m->mark_ms[b - 1] : -1;
}

/* Where phase p starts, negative when unknown: the last boundary before it
 * that the client shows; the client's start only for connect (a later
 * phase after nothing shown would swallow the ones before it). Auth starts
 * when the password went out, if that came later. */
static double start_of(const struct phase_moments *m, int p)
{
	double s = -1;
	int b = p;

	while (b > 0 && !shown(m, b))
		b--;
	if (b > 0 || p == VPN_PHASE_CONNECT)
		s = at(m, b);
	if (p == VPN_PHASE_AUTH && m->secret_ms >= 0 && m->secret_ms > s)
		s = m->secret_ms;
	return s;
}

unsigned phases_compute(const struct phase_moments *m, double phase_ms[VPN_PHASES])
{
	unsigned known = 0;

	for (int p = 0; p < VPN_PHASES; p++) {
		double s = start_of(m, p), e = at(m, p + 1);
		phase_ms[p] = 0;
		if (!shown(m, p + 1) || s < 0 || e < 0 || e < s)
			continue;
		phase_ms[p] = e - s;
		known |= 1u << p;
	}
	return known;
}

int phases_failed_in(const struct phase_moments *m)
{
	for (int p = 0; p < VPN_PHASES; p++) {
		if (!shown(m, p + 1) || at(m, p + 1) >= 0)
			continue;
		return start_of(m, p) >= 0 ? p : -1;
	}
	return -1;
}
