/* SPDX-License-Identifier: MIT */
/* Shared by isolation.c (run directory, leftovers, nftables) and netns.c
 * (one site's namespace). Not for use outside src/vpn/. */
#ifndef EPMON_VPN_ISOLATION_INT_H
#define EPMON_VPN_ISOLATION_INT_H

#include <stddef.h>
#include "vpn/isolation.h"
#include "vpn/netlink.h"
#include "vpn/resolv.h"

struct isolation {
	struct isolation_settings settings;
	int probe_fd;           /* the probe's network namespace */
	int users_fd;           /* <dir>/users, flock shared while we run */
	char dir[128];          /* ISOLATION_RUN_DIR/<probe netns inode> */
	struct route_list routes;       /* the probe's, at the cycle's start */
	struct resolv_copy resolv;
	int have_snapshot;
};

/* <dir>/slot-N: locked (flock) by the one epmon using slot N. */
void slot_path(const struct isolation *iso, unsigned slot, const char *suffix,
	       char *buf, size_t len);
/* Takes slot `slot` if free: its locked fd, or -1. */
int slot_try_lock(const struct isolation *iso, unsigned slot);
/* Removes the slot file (and its .resolv) and drops the lock. */
void slot_release(const struct isolation *iso, unsigned slot, int fd);

#endif
