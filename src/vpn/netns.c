/* SPDX-License-Identifier: MIT */
/* One site's network namespace: created by the worker thread itself
 * (unshare), linked to the probe's namespace by a veth pair, emptied of
 * every process and deleted after the test. */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/log.h"
#include "util/clock.h"
#include "vpn/isolation_int.h"
#include "vpn/netlink.h"
#include "vpn/nl_config.h"

#define LINK_UP_WAIT_S 2.0      /* veth carrier: normally at once */

struct site_netns {
	struct isolation *iso;
	unsigned slot;
	int slot_fd;
	int fd;                 /* the site's namespace */
	unsigned long dev, ino;
	char host_link[16];
	char resolv[160];
	char site[64];
};

size_t netns_pids(unsigned long dev, unsigned long ino, int *pids, size_t max)
{
	DIR *d = opendir("/proc");
	struct dirent *e;
	size_t n = 0;
	int self = getpid();

	if (!d)
		return 0;
	while ((e = readdir(d))) {
		char path[64];
		struct stat st;
		int pid = atoi(e->d_name);
		if (pid <= 0 || pid == self)
			continue;
		snprintf(path, sizeof(path), "/proc/%d/ns/net", pid);
		if (stat(path, &st) < 0 || (unsigned long)st.st_dev != dev ||
		    (unsigned long)st.st_ino != ino)
			continue;
		if (n < max)
			pids[n] = pid;
		n++;
	}
	closedir(d);
	return n;
}

int netns_kill_all(unsigned long dev, unsigned long ino, double timeout_s)
{
	int pids[256];
	double deadline = monotonic_s() + timeout_s;
	size_t n = netns_pids(dev, ino, pids, 256);
	int killed = 0;

	/* a namespace holds a client and its helpers: a few processes; the
	 * loop also catches one forked while we were killing */
	while (n > 0) {
		for (size_t i = 0; i < n && i < 256; i++)
			if (kill(pids[i], SIGKILL) == 0)
				killed++;
		if (monotonic_s() > deadline)
			break;
		usleep(2000);
		n = netns_pids(dev, ino, pids, 256);
	}
	return killed;
}

/* The private resolv.conf: the probe's, or systemd-resolved's upstream
 * list when the probe's only names a loopback stub (unreachable from a
 * namespace with a loopback of its own). */
static int write_private_resolv(const char *path, char *err, size_t errlen)
{
	const char *src = "/etc/resolv.conf";
	char line[512];
	FILE *in, *out;
	int loopback_only = 0, servers = 0;

	in = fopen(src, "re");
	while (in && fgets(line, sizeof(line), in)) {
		char addr[64];
		if (sscanf(line, " nameserver %63s", addr) == 1) {
			servers++;
			loopback_only += strncmp(addr, "127.", 4) == 0 || strcmp(addr, "::1") == 0;
		}
	}
	if (in && servers > 0 && loopback_only == servers &&
	    access("/run/systemd/resolve/resolv.conf", R_OK) == 0) {
		fclose(in);
		src = "/run/systemd/resolve/resolv.conf";
		in = fopen(src, "re");
	} else if (in) {
		rewind(in);
	}
	out = fopen(path, "we");
	if (!out) {
		snprintf(err, errlen, "cannot create %s: %s", path, strerror(errno));
		if (in)
			fclose(in);
		return -1;
	}
	while (in && fgets(line, sizeof(line), in))
		fputs(line, out);
	if (in)
		fclose(in);
	if (fclose(out) != 0) {
		snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

static void slot_addr(const struct isolation *iso, unsigned slot, int host, char *buf,
		      size_t len)
{
	struct in_addr a = { htonl(iso->settings.subnet + slot * 4 + (host ? 1u : 2u)) };
	char ip[INET_ADDRSTRLEN];

	inet_ntop(AF_INET, &a, ip, sizeof(ip));
	snprintf(buf, len, "%s", ip);
}

/* Waits until the link is up and running (carrier): a veth's peer may come
 * up a moment after the request. */
static int wait_link_up(const char *ifname)
{
	double deadline = monotonic_s() + LINK_UP_WAIT_S;

	while (nl_link_state(ifname) != 1) {
		if (monotonic_s() > deadline)
			return -1;
		usleep(1000);
	}
	return 0;
}

/* Inside the new namespace: lo, the site's end of the veth, default route. */
static int setup_inside(struct site_netns *n, char *err, size_t errlen)
{
	char site_ip[INET_ADDRSTRLEN], host_ip[INET_ADDRSTRLEN], cidr[32];

	slot_addr(n->iso, n->slot, 0, site_ip, sizeof(site_ip));
	slot_addr(n->iso, n->slot, 1, host_ip, sizeof(host_ip));
	snprintf(cidr, sizeof(cidr), "%s/30", site_ip);
	if (nl_addr_add(ISOLATION_SITE_LINK, cidr) < 0 ||
	    nl_link_up(ISOLATION_SITE_LINK, 0) < 0 ||
	    nl_route_add("default", host_ip, ISOLATION_SITE_LINK, 0) < 0) {
		snprintf(err, errlen, "cannot configure %s (%s) in the site's namespace: %s",
			 ISOLATION_SITE_LINK, cidr, strerror(errno));
		return -1;
	}
	if (wait_link_up(ISOLATION_SITE_LINK) < 0) {
		snprintf(err, errlen, "%s did not come up within %g s", ISOLATION_SITE_LINK,
			 LINK_UP_WAIT_S);
		return -1;
	}
	return 0;
}

/* Creates the namespace (the thread enters it), records it in the slot
 * file, links it to the probe, and returns the thread to the probe. */
static int create(struct site_netns *n, char *err, size_t errlen)
{
	char cidr[32], ip[INET_ADDRSTRLEN], rec[160];
	struct stat st;

	if (unshare(CLONE_NEWNET) < 0) {
		snprintf(err, errlen, "cannot create a network namespace: %s", strerror(errno));
		return -1;
	}
	n->fd = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	if (n->fd < 0 || fstat(n->fd, &st) < 0 || nl_link_up("lo", 0) < 0) {
		snprintf(err, errlen, "cannot set up the new network namespace: %s",
			 strerror(errno));
		setns(n->iso->probe_fd, CLONE_NEWNET);
		return -1;
	}
	n->dev = (unsigned long)st.st_dev;
	n->ino = (unsigned long)st.st_ino;
	if (setns(n->iso->probe_fd, CLONE_NEWNET) < 0) {
		snprintf(err, errlen, "cannot return to the probe's namespace: %s", strerror(errno));
		return -1;
	}
	/* written before any process can live in it: a crash from here on
	 * leaves a record the next start cleans up after */
	snprintf(rec, sizeof(rec), "%lu %lu %s\n", n->dev, n->ino, n->site);
	if (ftruncate(n->slot_fd, 0) < 0 || pwrite(n->slot_fd, rec, strlen(rec), 0) < 0) {
		snprintf(err, errlen, "cannot record the namespace: %s", strerror(errno));
		return -1;
	}
	slot_addr(n->iso, n->slot, 1, ip, sizeof(ip));
	snprintf(cidr, sizeof(cidr), "%s/30", ip);
	if (nl_veth_add(n->host_link, ISOLATION_SITE_LINK, n->fd) < 0 ||
	    nl_addr_add(n->host_link, cidr) < 0 || nl_link_up(n->host_link, 0) < 0) {
		snprintf(err, errlen, "cannot create the veth %s (%s): %s", n->host_link, cidr,
			 strerror(errno));
		return -1;
	}
	if (site_netns_enter(n) < 0) {
		snprintf(err, errlen, "cannot enter the site's namespace: %s", strerror(errno));
		return -1;
	}
	if (setup_inside(n, err, errlen) < 0) {
		site_netns_leave(n);
		return -1;
	}
	return site_netns_leave(n);
}

struct site_netns *site_netns_new(struct isolation *iso, const char *site,
				  char *err, size_t errlen)
{
	struct site_netns *n = calloc(1, sizeof(*n));
	unsigned slots = isolation_slots(&iso->settings);

	if (!n) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	n->iso = iso;
	n->fd = -1;
	n->slot_fd = -1;
	snprintf(n->site, sizeof(n->site), "%s", site);
	for (unsigned s = 0; s < slots && n->slot_fd < 0; s++) {
		n->slot_fd = slot_try_lock(iso, s);
		n->slot = s;
	}
	if (n->slot_fd < 0) {
		snprintf(err, errlen, "no free slot in isolation subnet (%u in use)", slots);
		free(n);
		return NULL;
	}
	snprintf(n->host_link, sizeof(n->host_link), ISOLATION_LINK_PREFIX "%u", n->slot);
	slot_path(iso, n->slot, ".resolv", n->resolv, sizeof(n->resolv));
	if (write_private_resolv(n->resolv, err, errlen) < 0 || create(n, err, errlen) < 0) {
		site_netns_free(n);
		return NULL;
	}
	return n;
}

int site_netns_enter(struct site_netns *n)
{
	return setns(n->fd, CLONE_NEWNET);
}

int site_netns_leave(struct site_netns *n)
{
	return setns(n->iso->probe_fd, CLONE_NEWNET);
}

const char *site_netns_resolv(const struct site_netns *n)
{
	return n->resolv;
}

int site_netns_free(struct site_netns *n)
{
	int killed = 0;

	if (!n)
		return 0;
	if (n->ino) {
		killed = netns_kill_all(n->dev, n->ino, 2.0);
		if (killed > 0)
			log_warn(n->site, "killed %d process(es) left in the site's namespace", killed);
	}
	/* deleting one end deletes both; the namespace goes with its last fd */
	if (nl_link_delete(n->host_link) < 0)
		log_warn(n->site, "cannot delete %s: %s", n->host_link, strerror(errno));
	if (n->fd >= 0)
		close(n->fd);
	slot_release(n->iso, n->slot, n->slot_fd);
	free(n);
	return killed;
}
