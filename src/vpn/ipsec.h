/* SPDX-License-Identifier: MIT */
/* IKEv2 through strongSwan: a charon of epmon's own per site test, its
 * private runtime directory (strongswan.conf, swanctl.conf with the secret,
 * pid file, VICI socket), swanctl run against its socket, and the words for
 * charon's failures. */
#ifndef EPMON_VPN_IPSEC_H
#define EPMON_VPN_IPSEC_H

#include <stddef.h>
#include <sys/types.h>
#include "config/config.h"

/* The connection and child names epmon gives the inline form. */
#define IPSEC_NAME "epmon"
/* The TUN device kernel-libipsec creates (one per network namespace). */
#define IPSEC_TUN "ipsec0"

/* Creates the private directory `dir` (/run/epmon/SITE.XXXXXX, 0700) with
 * strongswan.conf and, for the inline form, swanctl.conf (0600, the
 * password in base64). charon sees `dir` as /run (session_spec.private_run),
 * so its pid file and VICI socket land there. 0, or -1 with err. */
int ipsec_prepare(const struct site *site, const char *password, char *dir, size_t len,
		  char *err, size_t errlen);

/* Removes what ipsec_prepare made (the secret file overwritten first). */
void ipsec_cleanup(const char *dir);

/* Starts `swanctl ARGS... --uri unix://DIR/charon.vici` (its output to
 * /dev/null: charon's own log says what happened). The pid, or -1 with
 * errno. */
pid_t ipsec_swanctl(const char *dir, const char *const *args);

/* The connection and child the site initiates. */
const char *ipsec_connection(const struct site *site);
const char *ipsec_child(const struct site *site);

/* Human words for charon's log `tail` after a failed initiate: NULL when no
 * known line is in it; *line gets the matching line (masked tail). */
const char *ipsec_failure_words(const char *tail, char *line, size_t len);

#endif
