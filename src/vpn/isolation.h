/* SPDX-License-Identifier: MIT */
/* Site isolation: each VPN site test in a network namespace of its own,
 * linked to the probe's namespace by a veth pair from isolation.subnet and
 * forwarded/masqueraded by epmon's nftables table `inet epmon`. */
#ifndef EPMON_VPN_ISOLATION_H
#define EPMON_VPN_ISOLATION_H

#include <stddef.h>
#include "util/fsutil.h"
#include "config/config.h"

#define ISOLATION_RUN_DIR EPMON_RUN_DIR "/isolation"
#define ISOLATION_LINK_PREFIX "epmon-v"     /* + slot: the probe's end of a site veth */
#define ISOLATION_SITE_LINK "epmon-up"      /* the site's end, inside its namespace */
#define ISOLATION_NFT_TABLE "epmon"         /* family inet */

struct isolation;
struct site_netns;

/* Refuses a subnet that overlaps an address or route of the calling
 * thread's network namespace (epmon's own site links excepted). 0, or -1
 * with "isolation.subnet A/N overlaps B on DEV ..." in err. */
int isolation_check_subnet(const struct isolation_settings *s, char *err, size_t errlen);

/* Start of `once`/`run`: takes this namespace's run directory, removes
 * what a dead epmon left (namespaces' processes, veths, the nft table when
 * no other epmon runs), sets up the nft table and ip_forward. Logs every
 * removal. NULL with err on failure. */
struct isolation *isolation_open(const struct isolation_settings *s, char *err, size_t errlen);
/* The last epmon to close removes the nft table and restores ip_forward. */
void isolation_close(struct isolation *iso);

/* With isolation the probe's namespace must never change: a cycle takes a
 * snapshot of its routes (epmon's own site links aside) and resolv.conf,
 * and compares after; every difference is logged as a warning. Returns the
 * number of differences. Called by one thread at a time. */
void isolation_probe_snapshot(struct isolation *iso);
int isolation_probe_check(struct isolation *iso);

/* For a site test: a free slot, a new namespace with lo up, the veth
 * (probe end ISOLATION_LINK_PREFIX<slot>, site end ISOLATION_SITE_LINK)
 * with its /30 and a default route, and a private resolv.conf. The
 * calling thread stays in the probe's namespace. NULL with err. */
struct site_netns *site_netns_new(struct isolation *iso, const char *site,
				  char *err, size_t errlen);
/* Moves the calling thread into / out of the site's namespace. 0 or -1. */
int site_netns_enter(struct site_netns *n);
int site_netns_leave(struct site_netns *n);
/* The file bind-mounted over /etc/resolv.conf for the site's client. */
const char *site_netns_resolv(const struct site_netns *n);
/* Kills every process still in the namespace (returns how many), then
 * deletes the veth, the namespace and the slot. The thread must be out. */
int site_netns_free(struct site_netns *n);

/* Pids of processes whose network namespace is (dev, ino); returns the
 * count found (may exceed max; only max stored). */
size_t netns_pids(unsigned long dev, unsigned long ino, int *pids, size_t max);
/* SIGKILLs every process in namespace (dev, ino) and waits up to
 * timeout_s for them to be gone. Returns how many were killed. */
int netns_kill_all(unsigned long dev, unsigned long ino, double timeout_s);

#endif
