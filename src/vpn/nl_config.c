/* SPDX-License-Identifier: MIT */
/* Link, address and route changes over rtnetlink: the few that a site
 * namespace and a tunnel set-up need. */
#include "vpn/nl_config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vpn/netlink_int.h"

int nl_parse_cidr(const char *cidr, unsigned char *out, int *len)
{
	char addr[INET6_ADDRSTRLEN + 8];
	const char *slash = strchr(cidr, '/');
	unsigned char family;
	int alen, max;

	if (slash) {
		char *end;
		long n;
		if ((size_t)(slash - cidr) >= sizeof(addr))
			return -1;
		memcpy(addr, cidr, (size_t)(slash - cidr));
		addr[slash - cidr] = 0;
		errno = 0;
		n = strtol(slash + 1, &end, 10);
		if (end == slash + 1 || *end || errno || n < 0 || n > 128)
			return -1;
		*len = (int)n;
	} else {
		snprintf(addr, sizeof(addr), "%s", cidr);
		*len = -1;
	}
	alen = nl_parse_ip(addr, out, &family);
	if (alen < 0)
		return -1;
	max = alen * 8;
	if (*len < 0)
		*len = max;
	if (*len > max)
		return -1;
	return family;
}

static int ifindex_of(const char *ifname)
{
	unsigned int index = if_nametoindex(ifname);

	if (index == 0 && errno == 0)
		errno = ENODEV;
	return (int)index;
}

int nl_link_up(const char *ifname, int mtu)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct ifinfomsg *ifm;
	int index = ifindex_of(ifname);

	if (index == 0)
		return -1;
	nlh->nlmsg_type = RTM_NEWLINK;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
	ifm = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifm));
	ifm->ifi_index = index;
	ifm->ifi_flags = IFF_UP;
	ifm->ifi_change = IFF_UP;
	if (mtu > 0)
		mnl_attr_put_u32(nlh, IFLA_MTU, (uint32_t)mtu);
	return nl_talk(nlh, nl_ack_cb, NULL);
}

int nl_addr_add(const char *ifname, const char *cidr)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct ifaddrmsg *ifa;
	unsigned char addr[16];
	int len, family = nl_parse_cidr(cidr, addr, &len);
	int index = ifindex_of(ifname);

	if (family < 0) {
		errno = EINVAL;
		return -1;
	}
	if (index == 0)
		return -1;
	nlh->nlmsg_type = RTM_NEWADDR;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_REPLACE;
	ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
	ifa->ifa_family = (unsigned char)family;
	ifa->ifa_prefixlen = (unsigned char)len;
	ifa->ifa_index = (unsigned int)index;
	ifa->ifa_flags = family == AF_INET6 ? IFA_F_NODAD : 0;
	mnl_attr_put(nlh, IFA_LOCAL, family == AF_INET ? 4 : 16, addr);
	mnl_attr_put(nlh, IFA_ADDRESS, family == AF_INET ? 4 : 16, addr);
	return nl_talk(nlh, nl_ack_cb, NULL);
}

/* RTM_NEWROUTE / RTM_DELROUTE for dst via gateway and/or ifname. */
static int route_msg(int type, unsigned flags, const char *dst, const char *gateway,
		     const char *ifname)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct rtmsg *rm;
	unsigned char d[16] = { 0 }, gw[16];
	int len = 0, family = AF_INET, gw_family = -1, gw_len, index = 0;

	if (gateway) {
		gw_family = nl_parse_cidr(gateway, gw, &gw_len);
		if (gw_family < 0) {
			errno = EINVAL;
			return -1;
		}
	}
	if (strcmp(dst, "default") == 0)
		family = gw_family > 0 ? gw_family : AF_INET;
	else if ((family = nl_parse_cidr(dst, d, &len)) < 0) {
		errno = EINVAL;
		return -1;
	}
	if ((gw_family > 0 && gw_family != family) || (!gateway && !ifname)) {
		errno = EINVAL;
		return -1;
	}
	if (ifname && (index = ifindex_of(ifname)) == 0)
		return -1;
	nlh->nlmsg_type = (uint16_t)type;
	nlh->nlmsg_flags = (uint16_t)(NLM_F_REQUEST | NLM_F_ACK | flags);
	rm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rm));
	rm->rtm_family = (unsigned char)family;
	rm->rtm_dst_len = (unsigned char)len;
	rm->rtm_table = RT_TABLE_MAIN;
	rm->rtm_protocol = RTPROT_STATIC;
	rm->rtm_type = RTN_UNICAST;
	rm->rtm_scope = type == RTM_DELROUTE ? RT_SCOPE_NOWHERE :
		gateway ? RT_SCOPE_UNIVERSE : RT_SCOPE_LINK;
	if (len > 0)
		mnl_attr_put(nlh, RTA_DST, family == AF_INET ? 4 : 16, d);
	if (gateway)
		mnl_attr_put(nlh, RTA_GATEWAY, family == AF_INET ? 4 : 16, gw);
	if (index)
		mnl_attr_put_u32(nlh, RTA_OIF, (uint32_t)index);
	return nl_talk(nlh, nl_ack_cb, NULL);
}

int nl_route_add(const char *dst, const char *gateway, const char *ifname, int replace)
{
	return route_msg(RTM_NEWROUTE, NLM_F_CREATE | (replace ? NLM_F_REPLACE : NLM_F_EXCL),
			 dst, gateway, ifname);
}

int nl_route_del(const char *dst, const char *ifname)
{
	return route_msg(RTM_DELROUTE, 0, dst, NULL, ifname);
}

int nl_veth_add(const char *name, const char *peer, int netns_fd)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct ifinfomsg *ifm, *peer_ifm;
	struct nlattr *linkinfo, *data, *peer_attr;

	nlh->nlmsg_type = RTM_NEWLINK;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL;
	ifm = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifm));
	ifm->ifi_family = AF_UNSPEC;
	mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	linkinfo = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
	mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "veth");
	data = mnl_attr_nest_start(nlh, IFLA_INFO_DATA);
	peer_attr = mnl_attr_nest_start(nlh, VETH_INFO_PEER);
	peer_ifm = mnl_nlmsg_put_extra_header(nlh, sizeof(*peer_ifm));
	peer_ifm->ifi_family = AF_UNSPEC;
	mnl_attr_put_strz(nlh, IFLA_IFNAME, peer);
	mnl_attr_put_u32(nlh, IFLA_NET_NS_FD, (uint32_t)netns_fd);
	mnl_attr_nest_end(nlh, peer_attr);
	mnl_attr_nest_end(nlh, data);
	mnl_attr_nest_end(nlh, linkinfo);
	return nl_talk(nlh, nl_ack_cb, NULL);
}
