/* SPDX-License-Identifier: MIT */
/* WireGuard through wireguard-go: its control socket (the UAPI), the
 * interface's addresses and routes, and the first completed handshake. */
#ifndef EPMON_VPN_WIREGUARD_H
#define EPMON_VPN_WIREGUARD_H

#include <stddef.h>
#include <sys/types.h>
#include "config/config.h"

/* Where wireguard-go puts IFNAME.sock. Every network namespace shares it,
 * so the client gets a private tmpfs there (session_spec.private_dir) and
 * epmon reaches the socket through /proc/PID/root. */
#define WG_RUN_DIR "/var/run/wireguard"

/* WG_RUN_DIR created (0700) and resolved: /var/run is a symlink to /run on
 * most systems, and an absolute symlink met under /proc/PID/root would
 * lead back to epmon's own root. 0, or -1 with err. */
int wg_run_dir(char *dir, size_t len, char *err, size_t errlen);

/* Configures wireguard-go `pid` (socket in its `dir`, from wg_run_dir) for the site: its key files are read, the
 * keys go over the UAPI socket only (set=1); then the addresses, MTU and
 * link up, and a route per allowed IP through ifname, in the calling
 * thread's network namespace. 0, or -1 with err. */
int wg_configure(pid_t pid, const char *dir, const struct site *site, const char *ifname,
		 char *err, size_t errlen);

/* One UDP datagram to internal_ip through ifname: the traffic that makes
 * wireguard-go start its handshake at once. 0 or -1 with errno. */
int wg_send_kick(const char *ip, const char *ifname);

/* The peer's last handshake (UAPI get=1): 1 done, 0 not yet, -1 with err. */
int wg_handshake_done(pid_t pid, const char *dir, const char *ifname, char *err, size_t errlen);

#endif
