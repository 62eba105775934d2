/* SPDX-License-Identifier: MIT */
/* epmon tunnel-setup: openconnect's script environment -> a checked plan
 * (address, MTU, routes, DNS) -> rtnetlink and the private resolv.conf. */
#include "vpn/tunsetup.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/rtnetlink.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vpn/netlink.h"
#include "vpn/nl_config.h"

#define RESOLV_CONF "/etc/resolv.conf"

extern char **environ;

__attribute__((format(printf, 3, 4)))
static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}

static const char *env_get(const char *const *envp, const char *name)
{
	size_t n = strlen(name);

	for (; *envp; envp++)
		if (strncmp(*envp, name, n) == 0 && (*envp)[n] == '=')
			return *envp + n + 1;
	return NULL;
}

/* "LIST_<i>_FIELD", e.g. CISCO_SPLIT_INC_0_ADDR; the name stays in `name`
 * for error messages. */
static const char *env_item(const char *const *envp, const char *list, long i,
			    const char *field, char *name, size_t len)
{
	snprintf(name, len, "%s_%ld_%s", list, i, field);
	return env_get(envp, name);
}

static int parse_long(const char *s, long min, long max, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (end == s || *end || errno || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

/* Numeric address into 16 zero-padded bytes: the family, or -1. */
static int parse_ip(const char *s, unsigned char *out)
{
	memset(out, 0, 16);
	if (inet_pton(AF_INET, s, out) == 1)
		return AF_INET;
	if (inet_pton(AF_INET6, s, out) == 1)
		return AF_INET6;
	return -1;
}

/* "255.255.255.0" -> 24; -1 when not a contiguous netmask. */
static int mask_len(const char *mask)
{
	struct in_addr a;
	uint32_t m, inv;

	if (inet_pton(AF_INET, mask, &a) != 1)
		return -1;
	m = ntohl(a.s_addr);
	inv = ~m;
	if (inv & (inv + 1))
		return -1;
	return __builtin_popcount(m);
}

static void clear_host_bits(unsigned char *addr, int len)
{
	for (int i = 0; i < 16; i++) {
		int keep = len - i * 8;
		if (keep <= 0)
			addr[i] = 0;
		else if (keep < 8)
			addr[i] &= (unsigned char)(0xff << (8 - keep));
	}
}

static int prefix_has(const unsigned char *net, int len, const unsigned char *addr)
{
	unsigned char a[16];

	memcpy(a, addr, sizeof(a));
	clear_host_bits(a, len);
	return memcmp(a, net, sizeof(a)) == 0;
}

static int add_route(struct tunsetup_plan *p, int family, const unsigned char *addr,
		     int len, int bypass, char *err, size_t errlen)
{
	struct tunsetup_route *r;

	if (p->nroutes == TUNSETUP_MAX_ROUTES)
		return fail(err, errlen, "too many routes (at most %d)", TUNSETUP_MAX_ROUTES);
	r = &p->routes[p->nroutes++];
	r->family = (unsigned char)family;
	r->len = (unsigned char)len;
	r->bypass = (unsigned char)bypass;
	memcpy(r->addr, addr, sizeof(r->addr));
	clear_host_bits(r->addr, len);
	return 0;
}

/* Prefix length of split route i: _MASKLEN, else (IPv4) _MASK. */
static int item_len(const char *const *envp, const char *list, long i, int family,
		    char *err, size_t errlen)
{
	char name[64];
	const char *v = env_item(envp, list, i, "MASKLEN", name, sizeof(name));
	long len;

	if (v) {
		if (parse_long(v, 0, family == AF_INET ? 32 : 128, &len) < 0)
			return fail(err, errlen, "%s=%s: not a prefix length", name, v);
		return (int)len;
	}
	if (family == AF_INET && (v = env_item(envp, list, i, "MASK", name, sizeof(name)))) {
		if ((len = mask_len(v)) < 0)
			return fail(err, errlen, "%s=%s: not a netmask", name, v);
		return (int)len;
	}
	env_item(envp, list, i, "MASKLEN", name, sizeof(name));
	return fail(err, errlen, "%s is not set", name);
}

/* Excludes that make no sense to route (vpnc-script skips them too; an
 * AnyConnect "local LAN access" pushes 0.0.0.0/32), or of the family the
 * gateway does not use: the site namespace has no other path for them. */
static int exclude_skipped(const struct tunsetup_plan *p, int family, const unsigned char *a)
{
	unsigned char gw[16];

	if (parse_ip(p->gateway, gw) != family)
		return 1;
	return family == AF_INET &&
	       (a[0] == 0 || a[0] == 127 || (a[0] == 169 && a[1] == 254));
}

static int plan_item(const char *const *envp, struct tunsetup_plan *p, const char *list,
		     long i, int family, int bypass, char *err, size_t errlen)
{
	char name[64];
	unsigned char addr[16];
	const char *a = env_item(envp, list, i, "ADDR", name, sizeof(name));
	int len;

	if (!a)
		return fail(err, errlen, "%s is not set", name);
	if (parse_ip(a, addr) != family)
		return fail(err, errlen, "%s=%s: not an IPv%d address", name, a,
			    family == AF_INET ? 4 : 6);
	if ((len = item_len(envp, list, i, family, err, errlen)) < 0)
		return -1;
	if (bypass && exclude_skipped(p, family, addr))
		return 0;
	return add_route(p, family, addr, len, bypass, err, errlen);
}

/* One split list (CISCO_SPLIT_INC, CISCO_IPV6_SPLIT_EXC...): its count, or -1. */
static long plan_list(const char *const *envp, struct tunsetup_plan *p, const char *list,
		      int family, int bypass, char *err, size_t errlen)
{
	const char *v = env_get(envp, list);
	long n;

	if (!v || !*v)
		return 0;
	if (parse_long(v, 0, 1000000, &n) < 0)
		return fail(err, errlen, "%s=%s: not a count", list, v);
	if (n > TUNSETUP_MAX_ROUTES)
		return fail(err, errlen, "%s=%ld: too many routes (at most %d)", list, n,
			    TUNSETUP_MAX_ROUTES);
	for (long i = 0; i < n; i++)
		if (plan_item(envp, p, list, i, family, bypass, err, errlen) < 0)
			return -1;
	return n;
}

/* Split includes, else the default route (per family, as vpnc-script), then
 * the excludes. */
static int plan_routes(const char *const *envp, struct tunsetup_plan *p, char *err,
		       size_t errlen)
{
	static const unsigned char any[16];
	long n4, n6;

	if ((n4 = plan_list(envp, p, "CISCO_SPLIT_INC", AF_INET, 0, err, errlen)) < 0)
		return -1;
	if (n4 == 0 && p->addr4[0] && add_route(p, AF_INET, any, 0, 0, err, errlen) < 0)
		return -1;
	if ((n6 = plan_list(envp, p, "CISCO_IPV6_SPLIT_INC", AF_INET6, 0, err, errlen)) < 0)
		return -1;
	if (n6 == 0 && p->addr6[0] && add_route(p, AF_INET6, any, 0, 0, err, errlen) < 0)
		return -1;
	if (plan_list(envp, p, "CISCO_SPLIT_EXC", AF_INET, 1, err, errlen) < 0 ||
	    plan_list(envp, p, "CISCO_IPV6_SPLIT_EXC", AF_INET6, 1, err, errlen) < 0)
		return -1;
	return 0;
}

/* Point-to-point, as vpnc-script on Linux: ADDR/32 (peer itself), so no
 * connected route appears; the pool's network, when a netmask is given,
 * becomes an ordinary route through the tunnel. */
static int plan_addr4(const char *const *envp, struct tunsetup_plan *p, char *err,
		      size_t errlen)
{
	const char *a = env_get(envp, "INTERNAL_IP4_ADDRESS");
	const char *ml = env_get(envp, "INTERNAL_IP4_NETMASKLEN");
	const char *m = env_get(envp, "INTERNAL_IP4_NETMASK");
	unsigned char addr[16];
	long len = 32;

	if (!a || !*a)
		return 0;
	if (parse_ip(a, addr) != AF_INET)
		return fail(err, errlen, "INTERNAL_IP4_ADDRESS=%s: not an IPv4 address", a);
	snprintf(p->addr4, sizeof(p->addr4), "%u.%u.%u.%u/32", addr[0], addr[1], addr[2],
		 addr[3]);
	if (ml && *ml) {
		if (parse_long(ml, 0, 32, &len) < 0)
			return fail(err, errlen, "INTERNAL_IP4_NETMASKLEN=%s: not a prefix length", ml);
	} else if (m && *m && (len = mask_len(m)) < 0) {
		return fail(err, errlen, "INTERNAL_IP4_NETMASK=%s: not a netmask", m);
	}
	if (len == 0 || len == 32)
		return 0;
	return add_route(p, AF_INET, addr, (int)len, 0, err, errlen);
}

/* INTERNAL_IP6_NETMASK is "ADDR/LEN" (address and prefix); else ADDR/128. */
static int plan_addr6(const char *const *envp, struct tunsetup_plan *p, char *err,
		      size_t errlen)
{
	const char *v = env_get(envp, "INTERNAL_IP6_NETMASK");
	const char *a = env_get(envp, "INTERNAL_IP6_ADDRESS");
	const char *var = "INTERNAL_IP6_NETMASK", *suffix = "";
	unsigned char addr[16];
	int len, n;

	if (!v || !strchr(v, '/')) {
		if (!a || !*a)
			return 0;
		var = "INTERNAL_IP6_ADDRESS", v = a, suffix = "/128";
	}
	n = snprintf(p->addr6, sizeof(p->addr6), "%s%s", v, suffix);
	if (n < 0 || (size_t)n >= sizeof(p->addr6) ||
	    nl_parse_cidr(p->addr6, addr, &len) != AF_INET6)
		return fail(err, errlen, "%s=%s: not an IPv6 address", var, v);
	return 0;
}

static int plan_dns_list(const char *const *envp, struct tunsetup_plan *p, const char *var,
			 int family, char *err, size_t errlen)
{
	const char *v = env_get(envp, var);
	unsigned char addr[16];
	char one[INET6_ADDRSTRLEN];

	while (v && *(v += strspn(v, " "))) {
		size_t n = strcspn(v, " ");
		snprintf(one, sizeof(one), "%.*s", (int)n, v);
		if (n >= sizeof(one) || parse_ip(one, addr) != family)
			return fail(err, errlen, "%s: '%.*s' is not an IPv%d address", var, (int)n,
				    v, family == AF_INET ? 4 : 6);
		if (p->ndns == TUNSETUP_MAX_DNS)
			return fail(err, errlen, "too many DNS servers (at most %d)", TUNSETUP_MAX_DNS);
		memcpy(p->dns[p->ndns++], one, sizeof(one));
		v += n;
	}
	return 0;
}

/* DNS only into a private resolv.conf (EPMON_PRIVATE_RESOLV=1): the
 * probe's own file is never touched. */
static int plan_dns(const char *const *envp, struct tunsetup_plan *p, char *err,
		    size_t errlen)
{
	const char *priv = env_get(envp, "EPMON_PRIVATE_RESOLV");
	const char *d = env_get(envp, "CISCO_DEF_DOMAIN");

	if (!priv || strcmp(priv, "1") != 0)
		return 0;
	if (plan_dns_list(envp, p, "INTERNAL_IP4_DNS", AF_INET, err, errlen) < 0 ||
	    plan_dns_list(envp, p, "INTERNAL_IP6_DNS", AF_INET6, err, errlen) < 0)
		return -1;
	for (size_t i = 0; d && d[i]; i++) {
		if ((unsigned char)d[i] < 0x20 || d[i] == 0x7f)
			return fail(err, errlen, "CISCO_DEF_DOMAIN holds a control character");
		if (i + 1 >= sizeof(p->domain))
			return fail(err, errlen, "CISCO_DEF_DOMAIN is longer than %zu bytes",
				    sizeof(p->domain) - 1);
		p->domain[i] = d[i] == ',' ? ' ' : d[i];
	}
	p->write_resolv = p->ndns > 0;
	return 0;
}

static int plan_link(const char *const *envp, struct tunsetup_plan *p, char *err,
		     size_t errlen)
{
	const char *t = env_get(envp, "TUNDEV"), *g = env_get(envp, "VPNGATEWAY");
	const char *mtu = env_get(envp, "INTERNAL_IP4_MTU");
	unsigned char gw[16];
	long v = TUNSETUP_DEFAULT_MTU;
	int family;

	if (!t || !*t)
		return fail(err, errlen, "TUNDEV is not set");
	if (strlen(t) >= IF_NAMESIZE || strpbrk(t, "/: \t\n") || !strcmp(t, ".") || !strcmp(t, ".."))
		return fail(err, errlen, "TUNDEV=%s: not an interface name", t);
	snprintf(p->tundev, sizeof(p->tundev), "%s", t);
	if (!g || !*g)
		return fail(err, errlen, "VPNGATEWAY is not set");
	if ((family = parse_ip(g, gw)) < 0)
		return fail(err, errlen, "VPNGATEWAY=%s: not a numeric IP address", g);
	inet_ntop(family, gw, p->gateway, sizeof(p->gateway));
	if (mtu && *mtu && strcmp(mtu, "0") != 0 && parse_long(mtu, 68, 65535, &v) < 0)
		return fail(err, errlen, "INTERNAL_IP4_MTU=%s: not an MTU in 68..65535", mtu);
	p->mtu = (int)v;
	return 0;
}

/* A route into the tunnel covers VPNGATEWAY: its own packets would loop, so
 * it gets a host route through the path it uses now (not for a proxy on
 * loopback). */
static int gateway_in_tunnel(const struct tunsetup_plan *p)
{
	static const unsigned char loop6[16] = { [15] = 1 };
	unsigned char gw[16];
	int family = parse_ip(p->gateway, gw);

	if ((family == AF_INET && gw[0] == 127) || memcmp(gw, loop6, 16) == 0)
		return 0;
	for (size_t i = 0; i < p->nroutes; i++) {
		const struct tunsetup_route *r = &p->routes[i];
		if (!r->bypass && r->family == family && prefix_has(r->addr, r->len, gw))
			return 1;
	}
	return 0;
}

int tunsetup_plan(const char *const *envp, struct tunsetup_plan *out, char *err,
		  size_t errlen)
{
	const char *reason = env_get(envp, "reason");

	memset(out, 0, sizeof(*out));
	if (!reason)
		return fail(err, errlen, "reason is not set (openconnect runs this as --script)");
	if (!strcmp(reason, "pre-init") || !strcmp(reason, "attempt-reconnect"))
		return 0;
	if (!strcmp(reason, "connect") || !strcmp(reason, "reconnect"))
		out->action = TUNSETUP_CONNECT;
	else if (!strcmp(reason, "disconnect"))
		out->action = TUNSETUP_DISCONNECT;
	else
		return fail(err, errlen, "unknown reason '%s'", reason);
	if (plan_link(envp, out, err, errlen) < 0 || plan_addr4(envp, out, err, errlen) < 0 ||
	    plan_addr6(envp, out, err, errlen) < 0)
		return -1;
	if (!out->addr4[0] && !out->addr6[0])
		return fail(err, errlen, "neither INTERNAL_IP4_ADDRESS nor INTERNAL_IP6_ADDRESS is set");
	if (plan_routes(envp, out, err, errlen) < 0)
		return -1;
	out->gateway_route = gateway_in_tunnel(out);
	return plan_dns(envp, out, err, errlen);
}

__attribute__((format(printf, 4, 5)))
static int append(char *buf, size_t len, size_t *off, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf + *off, len - *off, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= len - *off)
		return -1;
	*off += (size_t)n;
	return 0;
}

int tunsetup_resolv_text(const struct tunsetup_plan *p, char *buf, size_t len)
{
	size_t off = 0;

	if (append(buf, len, &off, "# epmon tunnel-setup: DNS of %s\n", p->tundev) < 0)
		return -1;
	for (size_t i = 0; i < p->ndns; i++)
		if (append(buf, len, &off, "nameserver %s\n", p->dns[i]) < 0)
			return -1;
	if (p->domain[0] && append(buf, len, &off, "search %s\n", p->domain) < 0)
		return -1;
	return (int)off;
}

/* The private copy is a bind mount: rewrite it in place (rename would fail
 * with EBUSY). A regular file takes a write this small whole. */
static int write_resolv(const struct tunsetup_plan *p, char *err, size_t errlen)
{
	char text[2048];
	int len = tunsetup_resolv_text(p, text, sizeof(text)), fd, e;
	ssize_t n;

	if (len < 0)
		return fail(err, errlen, RESOLV_CONF ": text longer than %zu bytes", sizeof(text));
	if ((fd = open(RESOLV_CONF, O_WRONLY | O_TRUNC | O_CLOEXEC)) < 0)
		return fail(err, errlen, RESOLV_CONF ": %s", strerror(errno));
	n = write(fd, text, (size_t)len);
	e = n < 0 ? errno : EIO;
	if (close(fd) < 0 && n == len)
		n = -1, e = errno;
	if (n != len)
		return fail(err, errlen, RESOLV_CONF ": write: %s", strerror(e));
	return 0;
}

/* Where VPNGATEWAY's packets go outside the tunnel. */
struct path {
	char gw[INET6_ADDRSTRLEN];   /* "" when on-link */
	char dev[IF_NAMESIZE];
};

/* The kernel's choice ignoring routes through TUNDEV (as vpnc-script):
 * longest matching prefix, then lowest metric. 1 found, 0 none, -1 error. */
static int find_path(const struct tunsetup_plan *p, struct path *out, char *err,
		     size_t errlen)
{
	const struct route_entry *best = NULL;
	struct route_list l;
	unsigned char gw[16];
	int family = parse_ip(p->gateway, gw), tun = (int)if_nametoindex(p->tundev);

	if (nl_route_dump(&l) < 0)
		return fail(err, errlen, "reading the routing table: %s", strerror(errno));
	for (size_t i = 0; i < l.n; i++) {
		const struct route_entry *r = &l.items[i];
		if (r->family != family || r->type != RTN_UNICAST || r->oif == 0 ||
		    r->oif == tun || !prefix_has(r->dst, r->dst_len, gw))
			continue;
		if (!best || r->dst_len > best->dst_len ||
		    (r->dst_len == best->dst_len && r->priority < best->priority))
			best = r;
	}
	if (best) {
		out->gw[0] = 0;
		if (best->has_gateway)
			inet_ntop(family, best->gateway, out->gw, sizeof(out->gw));
		if (!if_indextoname((unsigned)best->oif, out->dev))
			best = NULL;
	}
	route_list_free(&l);
	if (best)
		return 1;
	fail(err, errlen, "no route to VPNGATEWAY %s outside %s", p->gateway, p->tundev);
	return 0;
}

static int needs_path(const struct tunsetup_plan *p)
{
	for (size_t i = 0; i < p->nroutes; i++)
		if (p->routes[i].bypass)
			return 1;
	return p->gateway_route;
}

static void route_text(const struct tunsetup_route *r, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN];

	inet_ntop(r->family, r->addr, a, sizeof(a));
	snprintf(buf, len, "%s/%u", a, r->len);
}

static int route_via(const char *dst, const struct path *path, char *err, size_t errlen)
{
	if (nl_route_add(dst, path->gw[0] ? path->gw : NULL, path->dev, 1) == 0)
		return 0;
	return fail(err, errlen, "route %s via %s dev %s: %s", dst, path->gw[0] ? path->gw : "-",
		    path->dev, strerror(errno));
}

static int route_del(const char *dst, const struct path *path, char *err, size_t errlen)
{
	if (nl_route_del(dst, path->dev) == 0 || errno == ESRCH || errno == ENOENT)
		return 0;
	return fail(err, errlen, "deleting route %s dev %s: %s", dst, path->dev, strerror(errno));
}

static int apply_connect(const struct tunsetup_plan *p, char *err, size_t errlen)
{
	struct path path;
	char dst[INET6_ADDRSTRLEN + 4];

	if (needs_path(p) && find_path(p, &path, err, errlen) <= 0)
		return -1;
	if (nl_link_up(p->tundev, p->mtu) < 0)
		return fail(err, errlen, "%s: link up, mtu %d: %s", p->tundev, p->mtu, strerror(errno));
	if (p->addr4[0] && nl_addr_add(p->tundev, p->addr4) < 0)
		return fail(err, errlen, "%s: address %s: %s", p->tundev, p->addr4, strerror(errno));
	if (p->addr6[0] && nl_addr_add(p->tundev, p->addr6) < 0)
		return fail(err, errlen, "%s: address %s: %s", p->tundev, p->addr6, strerror(errno));
	if (p->gateway_route && route_via(p->gateway, &path, err, errlen) < 0)
		return -1;
	for (size_t i = 0; i < p->nroutes; i++) {
		route_text(&p->routes[i], dst, sizeof(dst));
		if (p->routes[i].bypass) {
			if (route_via(dst, &path, err, errlen) < 0)
				return -1;
		} else if (nl_route_add(dst, NULL, p->tundev, 1) < 0) {
			return fail(err, errlen, "route %s dev %s: %s", dst, p->tundev, strerror(errno));
		}
	}
	return p->write_resolv ? write_resolv(p, err, errlen) : 0;
}

/* Routes through TUNDEV vanish with it; the ones around it are ours to remove. */
static int apply_disconnect(const struct tunsetup_plan *p, char *err, size_t errlen)
{
	struct path path;
	char dst[INET6_ADDRSTRLEN + 4];
	int found;

	if (!needs_path(p) || (found = find_path(p, &path, err, errlen)) == 0)
		return 0;
	if (found < 0)
		return -1;
	if (p->gateway_route && route_del(p->gateway, &path, err, errlen) < 0)
		return -1;
	for (size_t i = 0; i < p->nroutes; i++) {
		if (!p->routes[i].bypass)
			continue;
		route_text(&p->routes[i], dst, sizeof(dst));
		if (route_del(dst, &path, err, errlen) < 0)
			return -1;
	}
	return 0;
}

/* Parent of `pid` from /proc, 0 when unknown. */
static pid_t parent_of(pid_t pid)
{
	char path[32];
	int ppid = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if (!(f = fopen(path, "re")))
		return 0;
	/* "pid (comm) state ppid": comm may hold spaces, so scan past ") " */
	if (fscanf(f, "%*[^)]) %*c %d", &ppid) != 1)
		ppid = 0;
	fclose(f);
	return (pid_t)ppid;
}

/* openconnect ignores a failed connect script and keeps a tunnel that
 * carries nothing until epmon's login timeout: end it now. SIGTERM sends
 * the gateway a BYE and runs the disconnect step. VPNPID (openconnect 9.0+)
 * is trusted only when it is our parent or the parent of our /bin/sh -c. */
static void stop_client(const char *const *envp)
{
	const char *v = env_get(envp, "VPNPID");
	long pid;

	if (!v || parse_long(v, 2, INT_MAX, &pid) < 0)
		return;
	if (getppid() == (pid_t)pid || parent_of(getppid()) == (pid_t)pid)
		kill((pid_t)pid, SIGTERM);
}

int tunsetup_main(int argc, char **argv)
{
	const char *const *envp = (const char *const *)environ;
	const char *reason = env_get(envp, "reason");
	struct tunsetup_plan plan;
	char err[512];
	int rc;

	if (argc > 1) {
		fprintf(stderr, "epmon tunnel-setup: unexpected argument '%s'\n", argv[1]);
		return 1;
	}
	rc = tunsetup_plan(envp, &plan, err, sizeof(err));
	if (rc == 0 && plan.action == TUNSETUP_CONNECT)
		rc = apply_connect(&plan, err, sizeof(err));
	else if (rc == 0 && plan.action == TUNSETUP_DISCONNECT)
		rc = apply_disconnect(&plan, err, sizeof(err));
	if (rc == 0)
		return 0;
	/* values come from the gateway: keep the message on one line */
	for (char *c = err; *c; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			*c = '?';
	fprintf(stderr, "epmon tunnel-setup: %s%s%s\n", reason ? reason : "", reason ? ": " : "",
		err);
	if (reason && (!strcmp(reason, "connect") || !strcmp(reason, "reconnect")))
		stop_client(envp);
	return 1;
}
