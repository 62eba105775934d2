/* SPDX-License-Identifier: MIT */
/* The few rtnetlink queries epmon needs to prove a tunnel is up and that a
 * client left no interface or route behind (via libmnl). */
#ifndef EPMON_VPN_NETLINK_H
#define EPMON_VPN_NETLINK_H

#include <stddef.h>

struct route_entry {
	unsigned char family;       /* AF_INET / AF_INET6 */
	unsigned char dst_len;
	unsigned int table;         /* RTA_TABLE: 32 bits (rtm_table holds only 0..255) */
	unsigned char protocol;
	unsigned char scope;
	unsigned char type;
	int oif;
	int priority;
	unsigned char dst[16];
	unsigned char gateway[16];
	int has_gateway;
};

struct route_list {
	struct route_entry *items;
	size_t n, cap;
};

/* Interface the kernel would use to reach `address` (numeric IP): its
 * index in *oif and name in ifname (IF_NAMESIZE). 0, or -1 with err. */
int nl_route_get(const char *address, int *oif, char *ifname, char *err, size_t errlen);

/* 1 when the interface exists and is administratively and operationally up,
 * 0 when it is down, -1 when it does not exist. */
int nl_link_state(const char *ifname);

/* Every route of the main table (both families). 0 or -1. */
int nl_route_dump(struct route_list *out);
void route_list_free(struct route_list *l);
/* 1 when `r` is in `l` (same family, table, dst, prefix, oif, gateway). */
int route_list_has(const struct route_list *l, const struct route_entry *r);
/* Human text for a route: "10.10.1.0/24 dev epmon0". */
void route_format(const struct route_entry *r, char *buf, size_t len);
int nl_route_delete(const struct route_entry *r);
/* Puts back a route as nl_route_dump saw it (0, or -1 with errno). */
int nl_route_restore(const struct route_entry *r);
/* Appends a copy of r: 0, or -1 when out of memory. */
int route_list_add(struct route_list *l, const struct route_entry *r);

int nl_link_delete(const char *ifname);

/* Socket subscribed to link and route changes: becomes readable when
 * something changed, so a caller can wait instead of polling. -1 on error. */
int nl_events_open(void);
void nl_events_drain(int fd);

#endif
