/* SPDX-License-Identifier: MIT */
/* Shared by the rtnetlink files (netlink.c, nl_config.c): one request
 * helper, one address parser. Not for use outside src/vpn/. */
#ifndef EPMON_VPN_NETLINK_INT_H
#define EPMON_VPN_NETLINK_INT_H

#include <libmnl/libmnl.h>

/* Sends one request on a fresh NETLINK_ROUTE socket of the calling
 * thread's network namespace; runs cb over every reply. 0 or -1 (errno). */
int nl_talk(struct nlmsghdr *req, mnl_cb_t cb, void *data);
/* Accepts any reply (for requests that only want the ACK). */
int nl_ack_cb(const struct nlmsghdr *nlh, void *data);
/* Numeric IPv4/IPv6 to bytes: returns 4 or 16 and sets *family, or -1. */
int nl_parse_ip(const char *address, unsigned char *out, unsigned char *family);

#endif
