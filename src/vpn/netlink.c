/* SPDX-License-Identifier: MIT */
#include "vpn/netlink.h"
#include "vpn/netlink_int.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <libmnl/libmnl.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static struct mnl_socket *nl_open(void)
{
	struct mnl_socket *nl = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);

	if (!nl)
		return NULL;
	/* a reply the kernel never sends must not hang a site test */
	struct timeval tv = { 5, 0 };
	if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0 ||
	    setsockopt(mnl_socket_get_fd(nl), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0) {
		mnl_socket_close(nl);
		return NULL;
	}
	return nl;
}

/* Sends one request and runs `cb` over every reply message until done. */
int nl_talk(struct nlmsghdr *req, mnl_cb_t cb, void *data)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct mnl_socket *nl = nl_open();
	unsigned int portid;
	int rc, saved;

	if (!nl)
		return -1;
	portid = mnl_socket_get_portid(nl);
	req->nlmsg_seq = (unsigned int)time(NULL);
	if (mnl_socket_sendto(nl, req, req->nlmsg_len) < 0) {
		saved = errno;
		mnl_socket_close(nl);
		errno = saved;
		return -1;
	}
	do {
		ssize_t n = mnl_socket_recvfrom(nl, buf, sizeof(buf));
		if (n < 0) {
			rc = -1;
			break;
		}
		rc = mnl_cb_run(buf, (size_t)n, req->nlmsg_seq, portid, cb, data);
	} while (rc > 0);
	saved = errno;
	mnl_socket_close(nl);
	errno = saved;
	return rc < 0 ? -1 : 0;
}

int nl_parse_ip(const char *address, unsigned char *out, unsigned char *family)
{
	if (inet_pton(AF_INET, address, out) == 1) {
		*family = AF_INET;
		return 4;
	}
	if (inet_pton(AF_INET6, address, out) == 1) {
		*family = AF_INET6;
		return 16;
	}
	return -1;
}

static int route_attr_cb(const struct nlattr *attr, void *data)
{
	const struct nlattr **tb = data;
	int type = mnl_attr_get_type(attr);

	if (mnl_attr_type_valid(attr, RTA_MAX) < 0)
		return MNL_CB_OK;
	tb[type] = attr;
	return MNL_CB_OK;
}

static void route_from_msg(const struct nlmsghdr *nlh, struct route_entry *r)
{
	const struct rtmsg *rm = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *tb[RTA_MAX + 1] = { 0 };
	size_t alen = rm->rtm_family == AF_INET ? 4 : 16;

	memset(r, 0, sizeof(*r));
	mnl_attr_parse(nlh, sizeof(*rm), route_attr_cb, tb);
	r->family = rm->rtm_family;
	r->dst_len = rm->rtm_dst_len;
	r->table = rm->rtm_table;
	r->protocol = rm->rtm_protocol;
	r->scope = rm->rtm_scope;
	r->type = rm->rtm_type;
	if (tb[RTA_TABLE])
		r->table = mnl_attr_get_u32(tb[RTA_TABLE]);
	if (tb[RTA_OIF])
		r->oif = (int)mnl_attr_get_u32(tb[RTA_OIF]);
	if (tb[RTA_PRIORITY])
		r->priority = (int)mnl_attr_get_u32(tb[RTA_PRIORITY]);
	if (tb[RTA_DST] && mnl_attr_get_payload_len(tb[RTA_DST]) == alen)
		memcpy(r->dst, mnl_attr_get_payload(tb[RTA_DST]), alen);
	if (tb[RTA_GATEWAY] && mnl_attr_get_payload_len(tb[RTA_GATEWAY]) == alen) {
		memcpy(r->gateway, mnl_attr_get_payload(tb[RTA_GATEWAY]), alen);
		r->has_gateway = 1;
	}
}

static int route_get_cb(const struct nlmsghdr *nlh, void *data)
{
	route_from_msg(nlh, data);
	return MNL_CB_OK;
}

int nl_route_get(const char *address, int *oif, char *ifname, char *err, size_t errlen)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct rtmsg *rm;
	struct route_entry r;
	unsigned char dst[16], family;
	int alen = nl_parse_ip(address, dst, &family);

	if (alen < 0) {
		snprintf(err, errlen, "'%s' is not a numeric IP address", address);
		return -1;
	}
	nlh->nlmsg_type = RTM_GETROUTE;
	/* the ACK ends the exchange: a single reply has no NLMSG_DONE */
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
	rm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rm));
	rm->rtm_family = family;
	rm->rtm_dst_len = (unsigned char)(alen * 8);
	mnl_attr_put(nlh, RTA_DST, (size_t)alen, dst);
	memset(&r, 0, sizeof(r));
	if (nl_talk(nlh, route_get_cb, &r) < 0) {
		snprintf(err, errlen, "no route to %s: %s", address, strerror(errno));
		return -1;
	}
	*oif = r.oif;
	if (!if_indextoname((unsigned)r.oif, ifname))
		snprintf(ifname, IF_NAMESIZE, "if%d", r.oif);
	return 0;
}

/* RFC 2863 operational states (linux/if.h, which clashes with net/if.h) */
enum { OPER_DOWN = 2, OPER_LOWERLAYERDOWN = 3 };

struct link_info {
	unsigned int flags;
	int operstate;      /* IF_OPER_*, -1 when not reported */
};

static int link_cb(const struct nlmsghdr *nlh, void *data)
{
	struct link_info *li = data;
	const struct ifinfomsg *ifm = mnl_nlmsg_get_payload(nlh);
	struct nlattr *attr;

	li->flags = ifm->ifi_flags;
	mnl_attr_for_each(attr, nlh, sizeof(*ifm))
		if (mnl_attr_get_type(attr) == IFLA_OPERSTATE)
			li->operstate = mnl_attr_get_u8(attr);
	return MNL_CB_OK;
}

/* Asked over netlink, not /sys: sysfs shows the namespace it was mounted
 * in, not the calling thread's. */
int nl_link_state(const char *ifname)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct ifinfomsg *ifm;
	struct link_info li = { 0, -1 };
	unsigned int index = if_nametoindex(ifname);

	if (index == 0)
		return -1;
	nlh->nlmsg_type = RTM_GETLINK;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;   /* the ACK ends the reply */
	ifm = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifm));
	ifm->ifi_index = (int)index;
	if (nl_talk(nlh, link_cb, &li) < 0)
		return -1;
	/* tun devices report "unknown" operstate when up */
	return (li.flags & IFF_UP) && li.operstate != OPER_DOWN &&
	       li.operstate != OPER_LOWERLAYERDOWN ? 1 : 0;
}

static int route_dump_cb(const struct nlmsghdr *nlh, void *data)
{
	struct route_list *l = data;
	struct route_entry r;

	route_from_msg(nlh, &r);
	if (r.table != RT_TABLE_MAIN)
		return MNL_CB_OK;
	return route_list_add(l, &r) == 0 ? MNL_CB_OK : MNL_CB_ERROR;
}

int route_list_add(struct route_list *l, const struct route_entry *r)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 32;
		struct route_entry *items = realloc(l->items, cap * sizeof(*items));
		if (!items)
			return -1;
		l->items = items;
		l->cap = cap;
	}
	l->items[l->n++] = *r;
	return 0;
}

int nl_route_dump(struct route_list *out)
{
	static const unsigned char families[] = { AF_INET, AF_INET6 };

	memset(out, 0, sizeof(*out));
	for (size_t i = 0; i < sizeof(families); i++) {
		char buf[MNL_SOCKET_BUFFER_SIZE];
		struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
		struct rtmsg *rm;

		nlh->nlmsg_type = RTM_GETROUTE;
		nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
		rm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rm));
		rm->rtm_family = families[i];
		if (nl_talk(nlh, route_dump_cb, out) < 0) {
			route_list_free(out);
			return -1;
		}
	}
	return 0;
}

void route_list_free(struct route_list *l)
{
	free(l->items);
	memset(l, 0, sizeof(*l));
}

int route_list_has(const struct route_list *l, const struct route_entry *r)
{
	for (size_t i = 0; i < l->n; i++) {
		const struct route_entry *e = &l->items[i];
		if (e->family == r->family && e->table == r->table &&
		    e->dst_len == r->dst_len && e->oif == r->oif &&
		    e->has_gateway == r->has_gateway &&
		    memcmp(e->dst, r->dst, sizeof(e->dst)) == 0 &&
		    memcmp(e->gateway, r->gateway, sizeof(e->gateway)) == 0)
			return 1;
	}
	return 0;
}

void route_format(const struct route_entry *r, char *buf, size_t len)
{
	char dst[INET6_ADDRSTRLEN] = "", gw[INET6_ADDRSTRLEN] = "";
	char dev[IF_NAMESIZE] = "";
	int n;

	inet_ntop(r->family, r->dst, dst, sizeof(dst));
	if (!r->oif || !if_indextoname((unsigned)r->oif, dev))
		snprintf(dev, sizeof(dev), "if%d", r->oif);
	if (r->dst_len == 0)
		n = snprintf(buf, len, "default");
	else
		n = snprintf(buf, len, "%s/%u", dst, r->dst_len);
	if (n < 0 || (size_t)n >= len)
		return;
	if (r->has_gateway) {
		inet_ntop(r->family, r->gateway, gw, sizeof(gw));
		n += snprintf(buf + n, len - (size_t)n, " via %s", gw);
	}
	if ((size_t)n < len)
		snprintf(buf + n, len - (size_t)n, " dev %s", dev);
}

int nl_ack_cb(const struct nlmsghdr *nlh, void *data)
{
	(void)nlh;
	(void)data;
	return MNL_CB_OK;
}

/* RTM_DELROUTE, or RTM_NEWROUTE putting back what was there (its scope,
 * protocol, type and metric as they were). */
static int route_change(const struct route_entry *r, int add)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct rtmsg *rm;
	size_t alen = r->family == AF_INET ? 4 : 16;

	nlh->nlmsg_type = add ? RTM_NEWROUTE : RTM_DELROUTE;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | (add ? NLM_F_CREATE | NLM_F_EXCL : 0);
	rm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rm));
	rm->rtm_family = r->family;
	rm->rtm_dst_len = r->dst_len;
	rm->rtm_table = r->table < 256 ? (unsigned char)r->table : RT_TABLE_UNSPEC;
	rm->rtm_scope = add ? r->scope : RT_SCOPE_NOWHERE;
	if (add) {
		rm->rtm_protocol = r->protocol;
		rm->rtm_type = r->type;
		if (r->priority)
			mnl_attr_put_u32(nlh, RTA_PRIORITY, (uint32_t)r->priority);
	}
	mnl_attr_put_u32(nlh, RTA_TABLE, r->table);
	if (r->dst_len)
		mnl_attr_put(nlh, RTA_DST, alen, r->dst);
	if (r->oif)
		mnl_attr_put_u32(nlh, RTA_OIF, (uint32_t)r->oif);
	if (r->has_gateway)
		mnl_attr_put(nlh, RTA_GATEWAY, alen, r->gateway);
	return nl_talk(nlh, nl_ack_cb, NULL);
}

int nl_route_delete(const struct route_entry *r)
{
	return route_change(r, 0);
}

int nl_route_restore(const struct route_entry *r)
{
	return route_change(r, 1);
}

int nl_link_delete(const char *ifname)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct ifinfomsg *ifm;
	unsigned int index = if_nametoindex(ifname);

	if (index == 0)
		return 0;
	nlh->nlmsg_type = RTM_DELLINK;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
	ifm = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifm));
	ifm->ifi_index = (int)index;
	return nl_talk(nlh, nl_ack_cb, NULL);
}

int nl_events_open(void)
{
	struct mnl_socket *nl = mnl_socket_open2(NETLINK_ROUTE, SOCK_NONBLOCK | SOCK_CLOEXEC);
	int fd;

	if (!nl)
		return -1;
	if (mnl_socket_bind(nl, RTMGRP_LINK | RTMGRP_IPV4_ROUTE | RTMGRP_IPV6_ROUTE |
				RTMGRP_IPV4_IFADDR, MNL_SOCKET_AUTOPID) < 0) {
		mnl_socket_close(nl);
		return -1;
	}
	/* keep only the fd: the mnl wrapper is a small heap struct we drop */
	fd = dup(mnl_socket_get_fd(nl));
	mnl_socket_close(nl);
	if (fd >= 0)
		fcntl(fd, F_SETFD, FD_CLOEXEC);
	return fd;
}

void nl_events_drain(int fd)
{
	char buf[8192];

	while (recv(fd, buf, sizeof(buf), MSG_DONTWAIT) > 0)
		;
}
