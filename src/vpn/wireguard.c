/* SPDX-License-Identifier: MIT */
/* WireGuard through wireguard-go: configuration over its UAPI socket
 * (https://www.wireguard.com/xplatform/), links and routes over rtnetlink,
 * and the handshake read back over UAPI. */
#include "vpn/wireguard.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "util/fsutil.h"
#include "vpn/nl_config.h"
#include "util/wgkey.h"

#define UAPI_TIMEOUT_MS 2000
/* NAT and stateful firewalls on the way keep the flow while pings run */
#define KEEPALIVE_S 25

int wg_run_dir(char *dir, size_t len, char *err, size_t errlen)
{
	char real[PATH_MAX];

	if (mkdir_p(WG_RUN_DIR, 0700) < 0 || !realpath(WG_RUN_DIR, real)) {
		snprintf(err, errlen, "cannot create %s: %s", WG_RUN_DIR, strerror(errno));
		return -1;
	}
	if (snprintf(dir, len, "%s", real) >= (int)len) {
		snprintf(err, errlen, "%s resolves to a path too long", WG_RUN_DIR);
		return -1;
	}
	return 0;
}

static int uapi_path(pid_t pid, const char *dir, const char *ifname, struct sockaddr_un *sa)
{
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	return snprintf(sa->sun_path, sizeof(sa->sun_path), "/proc/%d/root%s/%s.sock",
			(int)pid, dir, ifname) < (int)sizeof(sa->sun_path) ? 0 : -1;
}

/* Sends `req`, reads the reply up to its empty line into `reply`. Returns
 * the reply's errno= value (0 = accepted), or -1 with err. */
static int uapi_talk(pid_t pid, const char *dir, const char *ifname, const char *req,
		     char *reply, size_t replylen, char *err, size_t errlen)
{
	struct sockaddr_un sa;
	size_t got = 0, len = strlen(req);
	const char *e;
	int fd;

	if (uapi_path(pid, dir, ifname, &sa) < 0) {
		snprintf(err, errlen, "control socket path too long");
		return -1;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		snprintf(err, errlen, "cannot connect to wireguard-go's control socket "
			 "%s: %s", sa.sun_path, strerror(errno));
		goto fail;
	}
	for (size_t off = 0; off < len;) {
		ssize_t w = send(fd, req + off, len - off, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			snprintf(err, errlen, "cannot write to wireguard-go's control "
				 "socket: %s", strerror(errno));
			goto fail;
		}
		off += (size_t)w;
	}
	while (got + 1 < replylen) {
		struct pollfd p = { fd, POLLIN, 0 };
		ssize_t r;
		if (poll(&p, 1, UAPI_TIMEOUT_MS) <= 0) {
			snprintf(err, errlen, "no answer on wireguard-go's control socket "
				 "in %d ms", UAPI_TIMEOUT_MS);
			goto fail;
		}
		r = read(fd, reply + got, replylen - 1 - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		got += (size_t)r;
		reply[got] = 0;
		if (got >= 2 && !strcmp(reply + got - 2, "\n\n"))
			break;
	}
	reply[got] = 0;
	close(fd);
	e = strstr(reply, "errno=");
	if (!e || (e != reply && e[-1] != '\n')) {
		snprintf(err, errlen, "wireguard-go's control socket gave no errno= "
			 "line (%zu bytes)", got);
		return -1;
	}
	return atoi(e + 6);
fail:
	if (fd >= 0)
		close(fd);
	return -1;
}

/* "ADDR" -> "ADDR/32" (or /128); "ADDR/LEN" as it is. */
static void with_prefix(const char *ip, char *buf, size_t len)
{
	if (strchr(ip, '/'))
		snprintf(buf, len, "%s", ip);
	else
		snprintf(buf, len, "%s/%s", ip, strchr(ip, ':') ? "128" : "32");
}

/* What is routed through the tunnel: allowed_ips, or internal_ip alone. */
static size_t allowed_at(const struct site *site, size_t i, char *buf, size_t len)
{
	const struct vpn_settings *v = &site->vpn;

	if (v->nallowed_ips == 0) {
		if (i == 0 && site->internal_ip)
			with_prefix(site->internal_ip, buf, len);
		return site->internal_ip ? 1 : 0;
	}
	if (i < v->nallowed_ips)
		with_prefix(v->allowed_ips[i], buf, len);
	return v->nallowed_ips;
}

/* The set=1 request. Keys in hex, as the UAPI wants them. */
static int build_set(const struct site *site, char *req, size_t len,
		     char *err, size_t errlen)
{
	const struct vpn_settings *v = &site->vpn;
	unsigned char key[WGKEY_LEN];
	char hex[2 * WGKEY_LEN + 1], ip[80];
	size_t off = 0, n;
	int rc;

#define PUT(...) do { \
	int w_ = snprintf(req + off, off < len ? len - off : 0, __VA_ARGS__); \
	off += w_ > 0 ? (size_t)w_ : 0; } while (0)

	if ((rc = wgkey_read_file(v->private_key_file, key)) < 0) {
		snprintf(err, errlen, "cannot read private_key_file %s: %s", v->private_key_file,
			 rc == -1 ? strerror(errno) : "not a WireGuard key");
		return -1;
	}
	wgkey_hex(key, hex);
	PUT("set=1\nprivate_key=%s\nreplace_peers=true\n", hex);
	if (wgkey_decode(v->peer_public_key, key) < 0) {
		snprintf(err, errlen, "peer_public_key is not a WireGuard key");
		goto fail;
	}
	wgkey_hex(key, hex);
	PUT("public_key=%s\n", hex);
	if (v->preshared_key_file) {
		if ((rc = wgkey_read_file(v->preshared_key_file, key)) < 0) {
			snprintf(err, errlen, "cannot read preshared_key_file %s: %s",
				 v->preshared_key_file,
				 rc == -1 ? strerror(errno) : "not a WireGuard key");
			goto fail;
		}
		wgkey_hex(key, hex);
		PUT("preshared_key=%s\n", hex);
	}
	PUT("endpoint=%s\npersistent_keepalive_interval=%d\nreplace_allowed_ips=true\n",
	    v->endpoint, KEEPALIVE_S);
	n = allowed_at(site, 0, ip, sizeof(ip));
	for (size_t i = 0; i < n; i++) {
		allowed_at(site, i, ip, sizeof(ip));
		PUT("allowed_ip=%s\n", ip);
	}
	PUT("\n");
#undef PUT
	explicit_bzero(key, sizeof(key));
	explicit_bzero(hex, sizeof(hex));
	if (off >= len) {
		snprintf(err, errlen, "WireGuard configuration too long");
		return -1;
	}
	return 0;
fail:
	explicit_bzero(key, sizeof(key));
	explicit_bzero(hex, sizeof(hex));
	return -1;
}

int wg_configure(pid_t pid, const char *dir, const struct site *site, const char *ifname,
		 char *err, size_t errlen)
{
	const struct vpn_settings *v = &site->vpn;
	char req[8192], reply[256], ip[80];
	size_t n;
	int rc;

	if (build_set(site, req, sizeof(req), err, errlen) < 0)
		return -1;
	rc = uapi_talk(pid, dir, ifname, req, reply, sizeof(reply), err, errlen);
	explicit_bzero(req, sizeof(req));
	if (rc != 0) {
		if (rc > 0)
			snprintf(err, errlen, "wireguard-go refused the configuration "
				 "(errno=%d)", rc);
		return -1;
	}
	for (size_t i = 0; i < v->naddresses; i++)
		if (nl_addr_add(ifname, v->addresses[i]) < 0) {
			snprintf(err, errlen, "cannot add address %s to %s: %s",
				 v->addresses[i], ifname, strerror(errno));
			return -1;
		}
	if (nl_link_up(ifname, v->mtu) < 0) {
		snprintf(err, errlen, "cannot set %s up (mtu %d): %s", ifname, v->mtu,
			 strerror(errno));
		return -1;
	}
	n = allowed_at(site, 0, ip, sizeof(ip));
	for (size_t i = 0; i < n; i++) {
		allowed_at(site, i, ip, sizeof(ip));
		if (nl_route_add(ip, NULL, ifname, 1) < 0) {
			snprintf(err, errlen, "cannot add route %s dev %s: %s", ip, ifname,
				 strerror(errno));
			return -1;
		}
	}
	return 0;
}

int wg_send_kick(const char *ip, const char *ifname)
{
	struct sockaddr_storage ss;
	socklen_t sslen;
	int fd, rc, family = strchr(ip, ':') ? AF_INET6 : AF_INET;

	memset(&ss, 0, sizeof(ss));
	if (family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
		sin->sin_family = AF_INET;
		sin->sin_port = htons(9);   /* discard */
		rc = inet_pton(AF_INET, ip, &sin->sin_addr);
		sslen = sizeof(*sin);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(9);
		rc = inet_pton(AF_INET6, ip, &sin6->sin6_addr);
		sslen = sizeof(*sin6);
	}
	if (rc != 1) {
		errno = EINVAL;
		return -1;
	}
	fd = socket(family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	rc = setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, ifname, (socklen_t)strlen(ifname));
	if (rc == 0)
		rc = sendto(fd, "epmon", 5, MSG_DONTWAIT, (struct sockaddr *)&ss, sslen) < 0 ? -1 : 0;
	int e = errno;
	close(fd);
	errno = e;
	return rc;
}

int wg_handshake_done(pid_t pid, const char *dir, const char *ifname, char *err, size_t errlen)
{
	/* the reply holds the private key too: wiped, never logged */
	char reply[16384];
	const char *p;
	int rc = uapi_talk(pid, dir, ifname, "get=1\n\n", reply, sizeof(reply), err, errlen);
	int done = 0;

	if (rc > 0)
		snprintf(err, errlen, "wireguard-go answered get with errno=%d", rc);
	/* one peer: a non-zero time means a completed handshake */
	for (p = reply; rc == 0 && !done && (p = strstr(p, "last_handshake_time_sec=")); p++)
		if ((p == reply || p[-1] == '\n') && strtoll(p + 24, NULL, 10) > 0)
			done = 1;
	explicit_bzero(reply, sizeof(reply));
	return rc != 0 ? -1 : done;
}
