/* SPDX-License-Identifier: MIT */
/* ICMP and ICMPv6 sockets for the ping engine (like fping's socket4.c and
 * socket6.c): a raw socket when permitted, else a ping socket (SOCK_DGRAM,
 * net.ipv4.ping_group_range), whose identifier the kernel assigns. */
#include "probe/icmp_socket.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/errqueue.h>
#include <netinet/icmp6.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/ip6.h>
#include <netinet/ip_icmp.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* linux/icmp.h clashes with netinet/ip_icmp.h; only this is needed. */
#ifndef ICMP_FILTER
#define ICMP_FILTER 1
#endif

static int set_int(int fd, int level, int name, int value)
{
	return setsockopt(fd, level, name, &value, sizeof(value));
}

/* Raw sockets see every ICMP message of the host: let the kernel drop what
 * can never be ours, so other traffic costs no wake-ups. */
static void raw_filter(int fd, int family)
{
	if (family == AF_INET) {
		uint32_t pass = (1u << ICMP_ECHOREPLY) | (1u << ICMP_DEST_UNREACH) |
				(1u << ICMP_TIME_EXCEEDED) | (1u << ICMP_PARAMETERPROB);
		uint32_t block = ~pass;
		(void)setsockopt(fd, SOL_RAW, ICMP_FILTER, &block, sizeof(block));
	} else {
		struct icmp6_filter f;
		ICMP6_FILTER_SETBLOCKALL(&f);
		ICMP6_FILTER_SETPASS(ICMP6_ECHO_REPLY, &f);
		ICMP6_FILTER_SETPASS(ICMP6_DST_UNREACH, &f);
		ICMP6_FILTER_SETPASS(ICMP6_PACKET_TOO_BIG, &f);
		ICMP6_FILTER_SETPASS(ICMP6_TIME_EXCEEDED, &f);
		ICMP6_FILTER_SETPASS(ICMP6_PARAM_PROB, &f);
		(void)setsockopt(fd, IPPROTO_ICMPV6, ICMP6_FILTER, &f, sizeof(f));
	}
}

/* A ping socket gets its identifier (= local port) at bind time; errors for
 * it only reach us through the error queue, hence IP_RECVERR. */
static int dgram_setup(struct icmp_sock *s, char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	memset(&ss, 0, sizeof(ss));
	ss.ss_family = (sa_family_t)s->family;
	if (s->family == AF_INET) {
		(void)set_int(s->fd, IPPROTO_IP, IP_RECVERR, 1);
		len = sizeof(struct sockaddr_in);
	} else {
		(void)set_int(s->fd, IPPROTO_IPV6, IPV6_RECVERR, 1);
		len = sizeof(struct sockaddr_in6);
	}
	if (bind(s->fd, (struct sockaddr *)&ss, len) < 0) {
		snprintf(err, errlen, "cannot bind ping socket: %s", strerror(errno));
		return -1;
	}
	len = sizeof(ss);
	if (getsockname(s->fd, (struct sockaddr *)&ss, &len) < 0) {
		snprintf(err, errlen, "getsockname: %s", strerror(errno));
		return -1;
	}
	if (s->family == AF_INET)
		s->ident = ntohs(((struct sockaddr_in *)&ss)->sin_port);
	else
		s->ident = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	return 0;
}

int icmp_sock_open(struct icmp_sock *s, int family, const char *interface,
		   uint16_t ident, char *err, size_t errlen)
{
	int proto = family == AF_INET6 ? IPPROTO_ICMPV6 : IPPROTO_ICMP;
	const char *what = family == AF_INET6 ? "ICMPv6" : "ICMP";
	int raw_errno;

	memset(s, 0, sizeof(*s));
	s->family = family;
	s->raw = 1;
	s->fd = socket(family, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, proto);
	if (s->fd < 0) {
		raw_errno = errno;
		s->raw = 0;
		s->fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, proto);
		if (s->fd < 0) {
			int perm = raw_errno == EPERM || raw_errno == EACCES;
			snprintf(err, errlen, "cannot open %s socket: %s%s", what,
				 strerror(raw_errno),
				 perm ? " (run as root or allow ping_group_range)" : "");
			return -1;
		}
	}
	/* The tunnel's routes may not be the default ones: send and receive
	 * through that device only. */
	if (interface && setsockopt(s->fd, SOL_SOCKET, SO_BINDTODEVICE, interface,
				    (socklen_t)strlen(interface) + 1) < 0) {
		snprintf(err, errlen, "cannot bind to interface %s: %s", interface,
			 strerror(errno));
		icmp_sock_close(s);
		return -2;
	}
	if (s->raw) {
		s->ident = ident;
		raw_filter(s->fd, family);
	} else if (dgram_setup(s, err, errlen) < 0) {
		icmp_sock_close(s);
		return -2;
	}
	s->has_rx_ts = set_int(s->fd, SOL_SOCKET, SO_TIMESTAMPNS, 1) == 0;
	return 0;
}

void icmp_sock_close(struct icmp_sock *s)
{
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
}

static uint16_t inet_checksum(const uint8_t *p, size_t len)
{
	uint32_t sum = 0;

	for (; len > 1; p += 2, len -= 2)
		sum += (uint32_t)p[0] << 8 | p[1];
	if (len)
		sum += (uint32_t)p[0] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

int icmp_sock_send(const struct icmp_sock *s, const struct sockaddr *to,
		   socklen_t tolen, uint16_t seq, const uint8_t *payload,
		   size_t len)
{
	uint8_t pkt[8 + 256];
	ssize_t n;

	if (len > sizeof(pkt) - 8)
		len = sizeof(pkt) - 8;
	memset(pkt, 0, 8);
	/* Echo header, same layout for ICMP and ICMPv6: type code cksum id seq. */
	pkt[0] = s->family == AF_INET ? ICMP_ECHO : ICMP6_ECHO_REQUEST;
	pkt[4] = (uint8_t)(s->ident >> 8);
	pkt[5] = (uint8_t)s->ident;
	pkt[6] = (uint8_t)(seq >> 8);
	pkt[7] = (uint8_t)seq;
	memcpy(pkt + 8, payload, len);
	if (s->family == AF_INET) { /* the kernel sums ICMPv6 (and ping sockets) */
		uint16_t c = inet_checksum(pkt, 8 + len);
		pkt[2] = (uint8_t)(c >> 8);
		pkt[3] = (uint8_t)c;
	}
	n = sendto(s->fd, pkt, 8 + len, 0, to, tolen);
	/* An ICMP error about an earlier request may be pending on the socket
	 * (ping sockets with IP_RECVERR): the send reports it instead of
	 * sending, and clears it. Once more tells a stale error from ours. */
	if (n < 0)
		n = sendto(s->fd, pkt, 8 + len, 0, to, tolen);
	if (n < 0)
		return errno;
	return (size_t)n == 8 + len ? 0 : EMSGSIZE;
}

static uint16_t be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static void set_inet(struct sockaddr_storage *ss, const void *addr4)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;

	memset(ss, 0, sizeof(*ss));
	sin->sin_family = AF_INET;
	memcpy(&sin->sin_addr, addr4, 4);
}

static void set_inet6(struct sockaddr_storage *ss, const void *addr6)
{
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	sin6->sin6_family = AF_INET6;
	memcpy(&sin6->sin6_addr, addr6, 16);
}

/* An ICMP message (no IP header) that arrived from `from`. Errors carry the
 * IP header and first 8 bytes of the request they are about (RFC 792). */
static void decode_icmp4(struct icmp_msg *m, const uint8_t *p, size_t len,
			 const struct sockaddr_storage *from, int check_sum)
{
	const uint8_t *in;
	size_t ihl;

	if (len < 8 || (check_sum && inet_checksum(p, len) != 0))
		return;
	if (p[0] == ICMP_ECHOREPLY) {
		m->kind = ICMP_MSG_REPLY;
		m->ident = be16(p + 4);
		m->seq = be16(p + 6);
		m->payload = p + 8;
		m->payload_len = len - 8;
		m->peer = *from;
		return;
	}
	if (p[0] != ICMP_DEST_UNREACH && p[0] != ICMP_TIME_EXCEEDED &&
	    p[0] != ICMP_PARAMETERPROB)
		return;
	in = p + 8;
	if (len < 8 + 20 || (in[0] >> 4) != 4)
		return;
	ihl = (size_t)(in[0] & 0x0f) * 4;
	if (ihl < 20 || len < 8 + ihl + 8 || in[9] != IPPROTO_ICMP ||
	    in[ihl] != ICMP_ECHO)
		return;
	m->kind = ICMP_MSG_ERROR;
	m->type = p[0];
	m->code = p[1];
	m->ident = be16(in + ihl + 4);
	m->seq = be16(in + ihl + 6);
	set_inet(&m->peer, in + 16);
	m->offender = *from;
}

static void decode_icmp6(struct icmp_msg *m, const uint8_t *p, size_t len,
			 const struct sockaddr_storage *from)
{
	const uint8_t *in = p + 8;

	if (len < 8)
		return;
	if (p[0] == ICMP6_ECHO_REPLY) {
		m->kind = ICMP_MSG_REPLY;
		m->ident = be16(p + 4);
		m->seq = be16(p + 6);
		m->payload = p + 8;
		m->payload_len = len - 8;
		m->peer = *from;
		return;
	}
	if (p[0] != ICMP6_DST_UNREACH && p[0] != ICMP6_PACKET_TOO_BIG &&
	    p[0] != ICMP6_TIME_EXCEEDED && p[0] != ICMP6_PARAM_PROB)
		return;
	/* Only a request without extension headers can be ours. */
	if (len < 8 + 40 + 8 || (in[0] >> 4) != 6 || in[6] != IPPROTO_ICMPV6 ||
	    in[40] != ICMP6_ECHO_REQUEST)
		return;
	m->kind = ICMP_MSG_ERROR;
	m->type = p[0];
	m->code = p[1];
	m->ident = be16(in + 44);
	m->seq = be16(in + 46);
	set_inet6(&m->peer, in + 24);
	m->offender = *from;
}

/* A ping socket's error queue: the datagram is our request, the cmsg says
 * what came back and who sent it; msg_name is where the request went. */
static void decode_errqueue(struct icmp_msg *m, const uint8_t *p, size_t len,
			    const struct sockaddr_storage *to,
			    const struct sock_extended_err *ee)
{
	const struct sockaddr *off;

	if (!ee || len < 8)
		return;
	if (ee->ee_origin != SO_EE_ORIGIN_ICMP && ee->ee_origin != SO_EE_ORIGIN_ICMP6)
		return;
	if (p[0] != ICMP_ECHO && p[0] != ICMP6_ECHO_REQUEST)
		return;
	m->kind = ICMP_MSG_ERROR;
	m->type = ee->ee_type;
	m->code = ee->ee_code;
	m->ident = be16(p + 4);
	m->seq = be16(p + 6);
	m->peer = *to;
	off = SO_EE_OFFENDER(ee);
	memset(&m->offender, 0, sizeof(m->offender));
	if (off->sa_family == AF_INET)
		memcpy(&m->offender, off, sizeof(struct sockaddr_in));
	else if (off->sa_family == AF_INET6)
		memcpy(&m->offender, off, sizeof(struct sockaddr_in6));
}

int icmp_sock_recv(const struct icmp_sock *s, int errqueue,
		   struct icmp_msg *m, uint8_t *buf, size_t buflen)
{
	struct sockaddr_storage from;
	union { char buf[512]; struct cmsghdr align; } ctrl;
	struct iovec iov = { .iov_base = buf, .iov_len = buflen };
	struct msghdr mh;
	const struct sock_extended_err *ee = NULL;
	struct cmsghdr *c;
	ssize_t n;

	memset(m, 0, sizeof(*m));
	memset(&from, 0, sizeof(from));
	memset(&mh, 0, sizeof(mh));
	mh.msg_name = &from;
	mh.msg_namelen = sizeof(from);
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = ctrl.buf;
	mh.msg_controllen = sizeof(ctrl.buf);
	do
		n = recvmsg(s->fd, &mh, MSG_DONTWAIT | (errqueue ? MSG_ERRQUEUE : 0));
	while (n < 0 && errno == EINTR);
	if (n < 0) /* EAGAIN: empty; else a pending socket error, now consumed */
		return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : 1;

	for (c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS &&
		    c->cmsg_len >= CMSG_LEN(sizeof(struct timespec))) {
			memcpy(&m->rx_ts, CMSG_DATA(c), sizeof(m->rx_ts));
			m->has_rx_ts = 1;
		} else if ((c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_RECVERR) ||
			   (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_RECVERR)) {
			ee = (const struct sock_extended_err *)(const void *)CMSG_DATA(c);
		}
	}
	if (errqueue) {
		decode_errqueue(m, buf, (size_t)n, &from, ee);
	} else if (s->family == AF_INET6) {
		decode_icmp6(m, buf, (size_t)n, &from);
	} else if (s->raw) { /* raw IPv4 sockets see the IP header */
		size_t ihl = (size_t)(buf[0] & 0x0f) * 4;
		if ((size_t)n >= 20 && ihl >= 20 && (size_t)n > ihl)
			decode_icmp4(m, buf + ihl, (size_t)n - ihl, &from, 1);
	} else {
		decode_icmp4(m, buf, (size_t)n, &from, 0);
	}
	return 1;
}

static const char *unreach4(int code)
{
	switch (code) {
	case ICMP_NET_UNREACH: return "destination net unreachable";
	case ICMP_HOST_UNREACH: return "destination host unreachable";
	case ICMP_PROT_UNREACH: return "destination protocol unreachable";
	case ICMP_PORT_UNREACH: return "destination port unreachable";
	case ICMP_FRAG_NEEDED: return "fragmentation needed";
	case ICMP_SR_FAILED: return "source route failed";
	case ICMP_NET_UNKNOWN: return "destination net unknown";
	case ICMP_HOST_UNKNOWN: return "destination host unknown";
	case ICMP_NET_ANO: case ICMP_HOST_ANO: case ICMP_PKT_FILTERED:
		return "communication administratively prohibited";
	case ICMP_NET_UNR_TOS: return "destination net unreachable for TOS";
	case ICMP_HOST_UNR_TOS: return "destination host unreachable for TOS";
	default: return NULL;
	}
}

static const char *unreach6(int code)
{
	switch (code) {
	case ICMP6_DST_UNREACH_NOROUTE: return "no route to destination";
	case ICMP6_DST_UNREACH_ADMIN: return "communication administratively prohibited";
	case ICMP6_DST_UNREACH_BEYONDSCOPE: return "beyond scope of source address";
	case ICMP6_DST_UNREACH_ADDR: return "destination address unreachable";
	case ICMP6_DST_UNREACH_NOPORT: return "destination port unreachable";
	case 5: return "source address failed ingress/egress policy";
	case 6: return "reject route to destination";
	default: return NULL;
	}
}

void icmp_error_text(int family, int type, int code, char *buf, size_t len)
{
	const char *t = NULL;

	if (family == AF_INET) {
		if (type == ICMP_DEST_UNREACH)
			t = unreach4(code);
		else if (type == ICMP_TIME_EXCEEDED)
			t = code ? "fragment reassembly time exceeded" : "time to live exceeded";
		else if (type == ICMP_PARAMETERPROB)
			t = "parameter problem";
	} else {
		if (type == ICMP6_DST_UNREACH)
			t = unreach6(code);
		else if (type == ICMP6_PACKET_TOO_BIG)
			t = "packet too big";
		else if (type == ICMP6_TIME_EXCEEDED)
			t = code ? "fragment reassembly time exceeded" : "hop limit exceeded";
		else if (type == ICMP6_PARAM_PROB)
			t = "parameter problem";
	}
	if (t)
		snprintf(buf, len, "%s", t);
	else
		snprintf(buf, len, "ICMP%s error type %d code %d",
			 family == AF_INET6 ? "v6" : "", type, code);
}

void icmp_addr_text(const struct sockaddr_storage *a, char *buf, size_t len)
{
	const void *p = NULL;

	if (a->ss_family == AF_INET)
		p = &((const struct sockaddr_in *)a)->sin_addr;
	else if (a->ss_family == AF_INET6)
		p = &((const struct sockaddr_in6 *)a)->sin6_addr;
	if (!p || !inet_ntop(a->ss_family, p, buf, (socklen_t)len))
		snprintf(buf, len, "?");
}
