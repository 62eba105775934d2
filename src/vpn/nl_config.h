/* SPDX-License-Identifier: MIT */
/* Changes to links, addresses and routes through rtnetlink (libmnl), in the
 * calling thread's network namespace: what the site namespaces and epmon's
 * own tunnel setup helper need instead of shelling out to ip(8). Every
 * function returns 0, or -1 with errno set. */
#ifndef EPMON_VPN_NL_CONFIG_H
#define EPMON_VPN_NL_CONFIG_H

/* Sets the link up (and its MTU when mtu > 0). */
int nl_link_up(const char *ifname, int mtu);

/* Adds "ADDR/LEN" (IPv4 or IPv6) to the link; an address already there is
 * not an error. For IPv6 the address is added without DAD (nodad). */
int nl_addr_add(const char *ifname, const char *cidr);

/* Adds (replace = 0) or replaces a route of the main table. dst: "ADDR/LEN",
 * a bare address (host route) or "default" (0.0.0.0/0, or ::/0 when the
 * gateway is IPv6). gateway and ifname may be NULL (not both). */
int nl_route_add(const char *dst, const char *gateway, const char *ifname, int replace);

/* Deletes a route added by nl_route_add (same dst and ifname). */
int nl_route_del(const char *dst, const char *ifname);

/* Creates a veth pair: `name` here, `peer` in the network namespace
 * referred to by netns_fd. */
int nl_veth_add(const char *name, const char *peer, int netns_fd);

/* Parses "ADDR/LEN" or "ADDR" (LEN = 32 / 128): 4 or 16 bytes into out,
 * *len the prefix length. Returns the family (AF_INET/AF_INET6) or -1. */
int nl_parse_cidr(const char *cidr, unsigned char *out, int *len);

#endif
