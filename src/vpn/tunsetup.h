/* SPDX-License-Identifier: MIT */
/* `epmon tunnel-setup`: epmon's own replacement for vpnc-script, run by
 * openconnect (--script) inside a site's network namespace. */
#ifndef EPMON_VPN_TUNSETUP_H
#define EPMON_VPN_TUNSETUP_H

#include <net/if.h>
#include <netinet/in.h>
#include <stddef.h>

#define TUNSETUP_MAX_ROUTES 256
#define TUNSETUP_MAX_DNS 8
#define TUNSETUP_DEFAULT_MTU 1412   /* vpnc-script's fallback */

enum tunsetup_action {
	TUNSETUP_NOTHING,       /* pre-init, attempt-reconnect */
	TUNSETUP_CONNECT,       /* connect, reconnect (idempotent) */
	TUNSETUP_DISCONNECT,
};

/* One route: through the tunnel, or (bypass) through the path that
 * VPNGATEWAY took before the tunnel came up (split excludes). */
struct tunsetup_route {
	unsigned char family;   /* AF_INET / AF_INET6 */
	unsigned char len;      /* prefix length; host bits of addr are zero */
	unsigned char bypass;
	unsigned char addr[16];
};

/* What openconnect's environment asks for, checked, before any change. */
struct tunsetup_plan {
	enum tunsetup_action action;
	char tundev[IF_NAMESIZE];
	char gateway[INET6_ADDRSTRLEN];      /* VPNGATEWAY, numeric */
	int mtu;
	char addr4[INET_ADDRSTRLEN + 3];     /* "A.B.C.D/32" or "" */
	char addr6[INET6_ADDRSTRLEN + 4];    /* "ADDR/LEN" or "" */
	int gateway_route;   /* 1: pin VPNGATEWAY/32 (/128) to its current path */
	size_t nroutes;
	struct tunsetup_route routes[TUNSETUP_MAX_ROUTES];
	int write_resolv;    /* EPMON_PRIVATE_RESOLV=1 and DNS servers pushed */
	size_t ndns;
	char dns[TUNSETUP_MAX_DNS][INET6_ADDRSTRLEN];
	char domain[256];    /* CISCO_DEF_DOMAIN, "" when none */
};

/* Reads openconnect's script environment (NULL-terminated "NAME=value"
 * strings) into *out. No system call. 0, or -1 with err = the reason. */
int tunsetup_plan(const char *const *envp, struct tunsetup_plan *out, char *err,
		  size_t errlen);

/* The resolv.conf text for the plan: its length, or -1 if buf is short. */
int tunsetup_resolv_text(const struct tunsetup_plan *p, char *buf, size_t len);

/* Entry point of the helper mode; reads openconnect's environment
 * (reason, TUNDEV, INTERNAL_IP4_*, CISCO_SPLIT_INC_*, ...). Exit status. */
int tunsetup_main(int argc, char **argv);

#endif
