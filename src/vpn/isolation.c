/* SPDX-License-Identifier: MIT */
/* The probe's side of site isolation: the run directory and its locks,
 * what a dead epmon left behind, the nftables table, ip_forward, and the
 * subnet check. */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <nftables/libnftables.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/fsutil.h"
#include "util/log.h"
#include "vpn/isolation_int.h"
#include "vpn/netlink.h"
#include "vpn/netlink_int.h"

#define IP_FORWARD "/proc/sys/net/ipv4/ip_forward"

void slot_path(const struct isolation *iso, unsigned slot, const char *suffix,
	       char *buf, size_t len)
{
	snprintf(buf, len, "%s/slot-%u%s", iso->dir, slot, suffix ? suffix : "");
}

int slot_try_lock(const struct isolation *iso, unsigned slot)
{
	char path[160];
	struct stat a, b;
	int fd;

	slot_path(iso, slot, NULL, path, sizeof(path));
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return -1;
	/* the lock must be on the file the path names now: a holder that
	 * released the slot unlinked it while we were opening */
	if (flock(fd, LOCK_EX | LOCK_NB) < 0 || fstat(fd, &a) < 0 || stat(path, &b) < 0 ||
	    a.st_ino != b.st_ino) {
		close(fd);
		return -1;
	}
	return fd;
}

void slot_release(const struct isolation *iso, unsigned slot, int fd)
{
	char path[160];

	slot_path(iso, slot, ".resolv", path, sizeof(path));
	unlink(path);
	slot_path(iso, slot, NULL, path, sizeof(path));
	unlink(path);
	close(fd);
}

/* ---- the subnet check ---- */

struct addr_scan {
	unsigned int net, mask;     /* the subnet */
	char *err;
	size_t errlen;
	int found;
};

static int overlaps(const struct addr_scan *s, unsigned int addr, int len)
{
	unsigned int mask = len == 0 ? 0 : 0xffffffffu << (32 - len);
	unsigned int common = mask & s->mask;   /* the shorter prefix decides */

	return (addr & common) == (s->net & common);
}

static int epmon_link(int index)
{
	char name[IF_NAMESIZE];

	return if_indextoname((unsigned)index, name) &&
	       strncmp(name, ISOLATION_LINK_PREFIX, strlen(ISOLATION_LINK_PREFIX)) == 0;
}

static int attr_cb(const struct nlattr *attr, void *data)
{
	const struct nlattr **tb = data;

	if (mnl_attr_type_valid(attr, IFA_MAX) >= 0)
		tb[mnl_attr_get_type(attr)] = attr;
	return MNL_CB_OK;
}

static int addr_cb(const struct nlmsghdr *nlh, void *data)
{
	struct addr_scan *s = data;
	const struct ifaddrmsg *ifa = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *tb[IFA_MAX + 1] = { 0 };
	const struct nlattr *a;
	char ip[INET_ADDRSTRLEN], dev[IF_NAMESIZE] = "?";
	unsigned int addr;

	if (s->found || ifa->ifa_family != AF_INET || epmon_link((int)ifa->ifa_index))
		return MNL_CB_OK;
	mnl_attr_parse(nlh, sizeof(*ifa), attr_cb, tb);
	a = tb[IFA_LOCAL] ? tb[IFA_LOCAL] : tb[IFA_ADDRESS];
	if (!a || mnl_attr_get_payload_len(a) != 4)
		return MNL_CB_OK;
	memcpy(&addr, mnl_attr_get_payload(a), 4);
	if (!overlaps(s, ntohl(addr), ifa->ifa_prefixlen))
		return MNL_CB_OK;
	inet_ntop(AF_INET, &addr, ip, sizeof(ip));
	if_indextoname(ifa->ifa_index, dev);
	snprintf(s->err, s->errlen, "address %s/%d on %s", ip, ifa->ifa_prefixlen, dev);
	s->found = 1;
	return MNL_CB_OK;
}

static int scan_addresses(struct addr_scan *s)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct ifaddrmsg *ifa;

	nlh->nlmsg_type = RTM_GETADDR;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
	ifa->ifa_family = AF_INET;
	return nl_talk(nlh, addr_cb, s);
}

static void scan_routes(struct addr_scan *s)
{
	struct route_list routes;

	if (nl_route_dump(&routes) < 0)
		return;
	for (size_t i = 0; i < routes.n && !s->found; i++) {
		const struct route_entry *r = &routes.items[i];
		unsigned int dst;
		char text[160];
		/* a default route covers everything and is no conflict */
		if (r->family != AF_INET || r->dst_len == 0 || epmon_link(r->oif))
			continue;
		memcpy(&dst, r->dst, 4);
		if (!overlaps(s, ntohl(dst), r->dst_len))
			continue;
		route_format(r, text, sizeof(text));
		snprintf(s->err, s->errlen, "route %s", text);
		s->found = 1;
	}
	route_list_free(&routes);
}

int isolation_check_subnet(const struct isolation_settings *set, char *err, size_t errlen)
{
	char what[200] = "", net[INET_ADDRSTRLEN];
	struct in_addr a = { htonl(set->subnet) };
	struct addr_scan s = { set->subnet, 0xffffffffu << (32 - set->prefix), what,
			       sizeof(what), 0 };

	if (scan_addresses(&s) < 0) {
		snprintf(err, errlen, "cannot list this namespace's addresses: %s",
			 strerror(errno));
		return -1;
	}
	if (!s.found)
		scan_routes(&s);
	if (!s.found)
		return 0;
	inet_ntop(AF_INET, &a, net, sizeof(net));
	snprintf(err, errlen, "isolation.subnet %s/%d overlaps %s of this network namespace; "
		 "choose a subnet no address or route here uses (isolation: {subnet: ...})",
		 net, set->prefix, what);
	return -1;
}

/* ---- the probe stays untouched ---- */

static void drop_own_routes(struct route_list *l)
{
	size_t kept = 0;

	for (size_t i = 0; i < l->n; i++)
		if (!epmon_link(l->items[i].oif))
			l->items[kept++] = l->items[i];
	l->n = kept;
}

static void snapshot_free(struct isolation *iso)
{
	if (!iso->have_snapshot)
		return;
	route_list_free(&iso->routes);
	resolv_copy_free(&iso->resolv);
	iso->have_snapshot = 0;
}

void isolation_probe_snapshot(struct isolation *iso)
{
	snapshot_free(iso);
	if (nl_route_dump(&iso->routes) < 0)
		return;
	if (resolv_read("/etc/resolv.conf", &iso->resolv) < 0) {
		route_list_free(&iso->routes);
		return;
	}
	drop_own_routes(&iso->routes);
	iso->have_snapshot = 1;
}

/* Routes in a and not in b, each logged with `what`. */
static int route_diff(const struct route_list *a, const struct route_list *b, const char *what)
{
	int n = 0;

	for (size_t i = 0; i < a->n; i++) {
		char text[160];
		if (route_list_has(b, &a->items[i]))
			continue;
		route_format(&a->items[i], text, sizeof(text));
		log_warn(NULL, "the probe's routing table changed during the cycle: route %s %s",
			 text, what);
		n++;
	}
	return n;
}

int isolation_probe_check(struct isolation *iso)
{
	struct route_list now;
	struct resolv_copy resolv;
	int changes = 0;

	if (!iso->have_snapshot || nl_route_dump(&now) < 0)
		return 0;
	drop_own_routes(&now);
	changes += route_diff(&now, &iso->routes, "appeared");
	changes += route_diff(&iso->routes, &now, "vanished");
	route_list_free(&now);
	if (resolv_read("/etc/resolv.conf", &resolv) == 0) {
		if (!resolv_equal(&resolv, &iso->resolv)) {
			log_warn(NULL, "the probe's /etc/resolv.conf changed during the cycle "
				 "(not by a client in a site namespace: they write private copies)");
			changes++;
		}
		resolv_copy_free(&resolv);
	}
	snapshot_free(iso);
	return changes;
}

/* ---- nftables ---- */

/* Runs nft commands through libnftables; the error text in err. */
static int nft_run(const char *cmds, char *err, size_t errlen)
{
	struct nft_ctx *ctx = nft_ctx_new(NFT_CTX_DEFAULT);
	int rc;

	if (!ctx) {
		snprintf(err, errlen, "cannot initialise libnftables");
		return -1;
	}
	nft_ctx_buffer_output(ctx);
	nft_ctx_buffer_error(ctx);
	rc = nft_run_cmd_from_buffer(ctx, cmds);
	if (rc != 0) {
		const char *e = nft_ctx_get_error_buffer(ctx);
		snprintf(err, errlen, "%s", e && *e ? e : "nft command failed");
		err[strcspn(err, "\n")] = 0;
	}
	nft_ctx_free(ctx);
	return rc == 0 ? 0 : -1;
}

/* Our own table only: masquerade the sites' traffic out of the probe,
 * let it through, and keep sites from reaching each other. */
static int nft_table_up(const struct isolation_settings *s, char *err, size_t errlen)
{
	char cmds[1024], net[INET_ADDRSTRLEN + 4];
	struct in_addr a = { htonl(s->subnet) };

	inet_ntop(AF_INET, &a, net, sizeof(net));
	snprintf(cmds, sizeof(cmds),
		 "table inet " ISOLATION_NFT_TABLE " {\n"
		 " chain forward {\n"
		 "  type filter hook forward priority filter; policy accept;\n"
		 "  ip saddr %s/%d ip daddr %s/%d drop\n"
		 "  ip saddr %s/%d accept\n"
		 "  ip daddr %s/%d ct state established,related accept\n"
		 " }\n"
		 " chain postrouting {\n"
		 "  type nat hook postrouting priority srcnat; policy accept;\n"
		 "  ip saddr %s/%d ip daddr != %s/%d masquerade\n"
		 " }\n"
		 "}\n",
		 net, s->prefix, net, s->prefix, net, s->prefix, net, s->prefix,
		 net, s->prefix, net, s->prefix);
	return nft_run(cmds, err, errlen);
}

static int nft_table_exists(void)
{
	char err[256];

	return nft_run("list table inet " ISOLATION_NFT_TABLE, err, sizeof(err)) == 0;
}

static void nft_table_down(void)
{
	char err[256];

	if (nft_table_exists() &&
	    nft_run("delete table inet " ISOLATION_NFT_TABLE, err, sizeof(err)) < 0)
		log_warn(NULL, "cannot delete nftables table inet %s: %s",
			 ISOLATION_NFT_TABLE, err);
}

/* ---- ip_forward ---- */

static int read_small(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -1;
	buf[n] = 0;
	buf[strcspn(buf, "\n")] = 0;
	return 0;
}

static int write_small(const char *path, const char *text, int flags)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC | flags, 0600);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = write(fd, text, strlen(text));
	if (close(fd) < 0 || n != (ssize_t)strlen(text))
		return -1;
	return 0;
}

/* Turns forwarding on, keeping the value before the first epmon in
 * <dir>/ip_forward.orig (a crashed run's record is kept as it is). */
static int forward_on(const struct isolation *iso, char *err, size_t errlen)
{
	char orig[160], now[8] = "";

	snprintf(orig, sizeof(orig), "%s/ip_forward.orig", iso->dir);
	if (read_small(IP_FORWARD, now, sizeof(now)) < 0) {
		snprintf(err, errlen, "cannot read %s: %s", IP_FORWARD, strerror(errno));
		return -1;
	}
	if (strcmp(now, "1") == 0)
		return 0;
	if (access(orig, F_OK) < 0)
		write_small(orig, now, O_CREAT | O_TRUNC);
	if (write_small(IP_FORWARD, "1", 0) < 0) {
		snprintf(err, errlen, "cannot turn on %s: %s", IP_FORWARD, strerror(errno));
		return -1;
	}
	log_info(NULL, "turned on %s for the site namespaces (was %s)", IP_FORWARD, now);
	return 0;
}

static void forward_restore(const struct isolation *iso)
{
	char orig[160], was[8];

	snprintf(orig, sizeof(orig), "%s/ip_forward.orig", iso->dir);
	if (read_small(orig, was, sizeof(was)) < 0)
		return;
	if (write_small(IP_FORWARD, was, 0) < 0)
		log_warn(NULL, "cannot restore %s to %s: %s", IP_FORWARD, was, strerror(errno));
	unlink(orig);
}

/* ---- leftovers ---- */

/* Slot file `name` of a dead epmon (its lock is free): the processes in
 * its namespace, its veth, the file. */
static void clean_slot(const struct isolation *iso, unsigned slot)
{
	char rec[160] = "", site[64] = "?", link[16];
	unsigned long dev = 0, ino = 0;
	int fd = slot_try_lock(iso, slot), killed = 0;

	if (fd < 0)
		return;     /* in use by a live epmon */
	if (pread(fd, rec, sizeof(rec) - 1, 0) > 0 &&
	    sscanf(rec, "%lu %lu %63s", &dev, &ino, site) >= 2)
		killed = netns_kill_all(dev, ino, 2.0);
	snprintf(link, sizeof(link), ISOLATION_LINK_PREFIX "%u", slot);
	if (if_nametoindex(link) && nl_link_delete(link) == 0)
		log_warn(NULL, "removed leftover %s of site %s (an earlier epmon died)", link, site);
	if (killed > 0)
		log_warn(NULL, "removed leftover processes of site %s: killed %d in its "
			 "namespace (an earlier epmon died)", site, killed);
	log_info(NULL, "removed leftover slot %u of site %s (an earlier epmon died)", slot, site);
	slot_release(iso, slot, fd);
}

static void clean_leftovers(const struct isolation *iso, int sole)
{
	DIR *d = opendir(iso->dir);
	struct if_nameindex *links, *l;
	struct dirent *e;

	while (d && (e = readdir(d))) {
		unsigned slot;
		char tail;
		if (sscanf(e->d_name, "slot-%u%c", &slot, &tail) == 1)
			clean_slot(iso, slot);
	}
	if (d)
		closedir(d);
	if (!sole)
		return;
	/* links without a slot file (a crash between the veth and the record
	 * cannot leave one, but a removed run directory can) */
	links = if_nameindex();
	for (l = links; l && l->if_index; l++) {
		if (strncmp(l->if_name, ISOLATION_LINK_PREFIX, strlen(ISOLATION_LINK_PREFIX)) == 0 &&
		    nl_link_delete(l->if_name) == 0)
			log_warn(NULL, "removed leftover link %s (an earlier epmon died)", l->if_name);
	}
	if (links)
		if_freenameindex(links);
	if (nft_table_exists()) {
		nft_table_down();
		log_warn(NULL, "removed leftover nftables table inet %s (an earlier epmon died)",
			 ISOLATION_NFT_TABLE);
	}
}

struct isolation *isolation_open(const struct isolation_settings *s, char *err, size_t errlen)
{
	struct isolation *iso = calloc(1, sizeof(*iso));
	char users[160];
	struct stat st;
	int sole;

	if (!iso) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	iso->settings = *s;
	iso->users_fd = -1;
	iso->probe_fd = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	if (iso->probe_fd < 0 || fstat(iso->probe_fd, &st) < 0) {
		snprintf(err, errlen, "cannot open this network namespace: %s", strerror(errno));
		goto fail;
	}
	snprintf(iso->dir, sizeof(iso->dir), "%s/%lu", ISOLATION_RUN_DIR, (unsigned long)st.st_ino);
	if (mkdir_p(iso->dir, 0700) < 0) {
		snprintf(err, errlen, "cannot create %s: %s", iso->dir, strerror(errno));
		goto fail;
	}
	snprintf(users, sizeof(users), "%s/users", iso->dir);
	iso->users_fd = open(users, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (iso->users_fd < 0) {
		snprintf(err, errlen, "cannot open %s: %s", users, strerror(errno));
		goto fail;
	}
	/* alone: everything of epmon's here is a dead run's; else only the
	 * slots nobody holds */
	sole = flock(iso->users_fd, LOCK_EX | LOCK_NB) == 0;
	clean_leftovers(iso, sole);
	if (!sole && flock(iso->users_fd, LOCK_SH) < 0) {
		snprintf(err, errlen, "cannot lock %s: %s", users, strerror(errno));
		goto fail;
	}
	if (isolation_check_subnet(s, err, errlen) < 0)
		goto fail;
	if ((sole || !nft_table_exists()) && nft_table_up(s, err, errlen) < 0) {
		char why[256];
		snprintf(why, sizeof(why), "%s", err);
		snprintf(err, errlen, "cannot create nftables table inet %s: %s",
			 ISOLATION_NFT_TABLE, why);
		goto fail;
	}
	if (forward_on(iso, err, errlen) < 0)
		goto fail;
	if (sole)
		flock(iso->users_fd, LOCK_SH);
	return iso;
fail:
	isolation_close(iso);
	return NULL;
}

void isolation_close(struct isolation *iso)
{
	if (!iso)
		return;
	/* the last epmon here takes the shared pieces down */
	if (iso->users_fd >= 0 && flock(iso->users_fd, LOCK_EX | LOCK_NB) == 0) {
		nft_table_down();
		forward_restore(iso);
	}
	if (iso->users_fd >= 0)
		close(iso->users_fd);
	if (iso->probe_fd >= 0)
		close(iso->probe_fd);
	snapshot_free(iso);
	free(iso);
}
