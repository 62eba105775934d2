/* SPDX-License-Identifier: MIT */
/* resolv.conf guard: VPN clients rewrite /etc/resolv.conf and do not always
 * put it back. epmon snapshots it before a site test, compares after, and
 * repairs it (the seed's way: `resolvconf -u`, else restore the copy). */
#ifndef EPMON_VPN_RESOLV_H
#define EPMON_VPN_RESOLV_H

#include <stddef.h>

struct resolv_copy {
	char *data;         /* NULL when the file did not exist */
	size_t len;
};

/* Reads `path` (a missing file gives data NULL). 0 or -1. */
int resolv_read(const char *path, struct resolv_copy *out);
void resolv_copy_free(struct resolv_copy *c);
int resolv_equal(const struct resolv_copy *a, const struct resolv_copy *b);

/* 1 when the content carries a VPN client's mark (e.g. #@VPNC_GENERATED@). */
int resolv_has_client_mark(const struct resolv_copy *c);

/* Makes `path` equal to `good`: `resolvconf -u` when resolvconf is
 * installed and that produces `good`; else write a temp file and rename it
 * over path; where path is a mount point (containers, ip netns) rename
 * fails with EBUSY and the file is rewritten in place. `how` says what was
 * done. 0 or -1 with how = the reason. */
int resolv_restore(const char *path, const struct resolv_copy *good, char *how,
		   size_t howlen);

/* The last known good copy survives restarts in `file` (state dir). */
int resolv_save_good(const char *file, const struct resolv_copy *good);
int resolv_load_good(const char *file, struct resolv_copy *out);

#endif
