/* SPDX-License-Identifier: MIT */
/* Login phases: where the time of a login goes (connect, tls, auth,
 * tunnel), from the moments the client's output marked and epmon's own.
 * Arithmetic on timestamps only, apart from the engine that takes them. */
#ifndef EPMON_VPN_PHASES_H
#define EPMON_VPN_PHASES_H

enum vpn_phase {
	VPN_PHASE_CONNECT = 0,  /* client start -> the gateway answered */
	VPN_PHASE_TLS,          /* -> the secure channel is up (TLS, IKE handshake) */
	VPN_PHASE_AUTH,         /* -> the credentials are accepted */
	VPN_PHASE_TUNNEL,       /* -> the interface is up and carries the route */
	VPN_PHASES
};

/* Phases whose end the client's output marks: connect, tls and auth (the
 * end of tunnel is epmon's own route check). */
#define VPN_PHASE_MARKS 3

/* "connect", "tls", "auth", "tunnel"; "" out of range. */
const char *vpn_phase_name(int phase);

/* The moments of one login, in ms since the client started; negative:
 * not seen. */
struct phase_moments {
	int shown[VPN_PHASE_MARKS];     /* the profile has a marker for the end of that phase */
	double mark_ms[VPN_PHASE_MARKS];/* when the marker first matched */
	double secret_ms;               /* when epmon answered a prompt with the password */
	double up_ms;                   /* the tunnel usable (login_ms); negative: no tunnel */
};

/* A phase runs from the end of the previous phase the client shows (the
 * client's start for connect; for auth, the password sent on a prompt when
 * that is later) to its own end. A phase the client does not show, or
 * whose start or end was not seen, is left out: never guessed. Fills
 * phase_ms[] and returns the set of known phases (bit p: phase p). */
unsigned phases_compute(const struct phase_moments *m, double phase_ms[VPN_PHASES]);

/* The phase a failed login was in: the first phase the client shows whose
 * start was seen and whose end was not; -1 when its output tells nothing. */
int phases_failed_in(const struct phase_moments *m);

#endif
