/* SPDX-License-Identifier: MIT */
/* Client profiles: how to start, log in and stop each VPN client. Every
 * field comes from the built-in profile unless the site overrides it. */
#ifndef EPMON_VPN_PROFILES_H
#define EPMON_VPN_PROFILES_H

#include <stddef.h>
#include "config/config.h"
#include "vpn/phases.h"
#include "vpn/proc.h"

#define PROFILE_MAX_ARGS 64

struct vpn_profile {
	char *argv[PROFILE_MAX_ARGS + 2];   /* argv[0] = resolved client path; owned */
	const struct expect_step *steps;    /* = owned_steps: placeholders of send expanded */
	size_t nsteps;
	struct expect_step *owned_steps;
	const char *connected;
	const char *const *failed;
	size_t nfailed;
	const char *const *failed_why;      /* per failed pattern, human words; may be NULL */
	/* per enum vpn_phase up to auth: the output line that ends the phase
	 * (ERE); NULL when the client does not show it (phases.h) */
	const char *phase_marks[VPN_PHASE_MARKS];
	const char *const *process_names;
	size_t nprocess_names;
	struct proc_mark stale_mark;        /* what a stale one must show besides its name */
	const char *stop_command;
	char interface[16];                 /* tunnel device the client is told to use; "" unknown */
	int password_on_stdin;              /* the password is written to the pty at start */
	char runtime_dir[256];              /* private 0700 dir (openvpn auth file); "" none */
};

/* Fills p for the site. `password` is only used for openvpn's auth file
 * (created 0600 in a private runtime dir, removed by profile_free); NULL
 * or "" means a certificate-only login (no --auth-user-pass).
 * default_script: openconnect's --script when the site sets no vpn.script
 * (NULL: openconnect's own default, vpnc-script). */
int profile_build(const struct site *site, const char *password,
		  const char *default_script, struct vpn_profile *p,
		  char *err, size_t errlen);
void profile_free(struct vpn_profile *p);

/* The stale-client process names of a site (profile default or override)
 * and, for the defaults of clients a host also runs for itself (wireguard-go,
 * charon), the mark of epmon's own: wireguard-go's last argument is the
 * site's interface, charon has an /run/epmon/... directory bound on /run. */
void profile_process_names(const struct site *site, const char *const **names,
			   size_t *n, struct proc_mark *mark);

#endif
