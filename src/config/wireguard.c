/* SPDX-License-Identifier: MIT */
/* The keys of client wireguard: the peer, the key files, the addresses and
 * what is routed through the tunnel. Checked at load time, key files too. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config/internal.h"
#include "util/wgkey.h"

enum { W_ENDPOINT, W_PRIVATE_KEY_FILE, W_PEER_PUBLIC_KEY, W_PRESHARED_KEY_FILE,
	W_ADDRESS, W_ALLOWED_IPS, W_MTU, W_COUNT };

static const char *const wg_keys[] = { "endpoint", "private_key_file",
	"peer_public_key", "preshared_key_file", "address", "allowed_ips", "mtu" };

#define DEFAULT_MTU 1420

/* An address and prefix length from "ADDR/LEN" (need_len) or "ADDR[/LEN]". */
struct cidr {
	int family;
	unsigned char addr[16];
	int len;
};

static int parse_cidr(const char *s, int need_len, struct cidr *out)
{
	char addr[INET6_ADDRSTRLEN + 1];
	const char *slash = strchr(s, '/');
	size_t alen = slash ? (size_t)(slash - s) : strlen(s);
	int max;

	if (alen >= sizeof(addr) || (need_len && !slash))
		return -1;
	memcpy(addr, s, alen);
	addr[alen] = 0;
	if (inet_pton(AF_INET, addr, out->addr) == 1)
		out->family = AF_INET;
	else if (inet_pton(AF_INET6, addr, out->addr) == 1)
		out->family = AF_INET6;
	else
		return -1;
	max = out->family == AF_INET ? 32 : 128;
	out->len = max;
	if (slash) {
		char *end;
		long n;
		errno = 0;
		n = strtol(slash + 1, &end, 10);
		if (end == slash + 1 || *end || errno || n < 0 || n > max)
			return -1;
		out->len = (int)n;
	}
	return 0;
}

static int cidr_contains(const struct cidr *net, const struct cidr *ip)
{
	int full = net->len / 8, rest = net->len % 8;

	if (net->family != ip->family || memcmp(net->addr, ip->addr, (size_t)full))
		return 0;
	return rest == 0 ||
	       ((net->addr[full] ^ ip->addr[full]) & (0xff << (8 - rest))) == 0;
}

/* "198.51.100.7:51820" or "[2001:db8::7]:51820": the address into ip. */
static int parse_endpoint(const char *s, struct cidr *ip)
{
	char host[INET6_ADDRSTRLEN + 1];
	const char *colon, *start = s;
	size_t len;
	char *end;
	long port;

	if (*s == '[') {
		const char *close = strchr(s, ']');
		if (!close || close[1] != ':')
			return -1;
		start = s + 1;
		len = (size_t)(close - start);
		colon = close + 1;
	} else {
		colon = strrchr(s, ':');
		if (!colon || memchr(s, ':', (size_t)(colon - s)))
			return -1;
		len = (size_t)(colon - s);
	}
	if (len == 0 || len >= sizeof(host))
		return -1;
	memcpy(host, start, len);
	host[len] = 0;
	errno = 0;
	port = strtol(colon + 1, &end, 10);
	if (end == colon + 1 || *end || errno || port < 1 || port > 65535)
		return -1;
	if (parse_cidr(host, 0, ip) < 0 || (*s == '[') != (ip->family == AF_INET6))
		return -1;
	return 0;
}

/* A key file: present, a regular file, no access for group or others, one
 * key in it. Its content never goes into a message. */
static void check_key_file(struct cfg_ctx *c, yaml_node_t *at, const char *label,
			   const char *key, const char *path)
{
	unsigned char k[WGKEY_LEN];
	struct stat st;
	int rc;

	if (stat(path, &st) < 0) {
		cfg_error(c, at, "%s: cannot read %s %s: %s", label, key, path,
			  strerror(errno));
		return;
	}
	if (!S_ISREG(st.st_mode)) {
		cfg_error(c, at, "%s: %s %s is not a regular file", label, key, path);
		return;
	}
	if (st.st_mode & 077) {
		cfg_error(c, at, "%s: %s %s is readable by others (mode %04o): a "
			  "private key must be 0600 or stricter; chmod 600 %s",
			  label, key, path, (unsigned)(st.st_mode & 07777), path);
		return;
	}
	rc = wgkey_read_file(path, k);
	explicit_bzero(k, sizeof(k));
	if (rc == -1)
		cfg_error(c, at, "%s: cannot read %s %s: %s", label, key, path,
			  strerror(errno));
	else if (rc < 0)
		cfg_error(c, at, "%s: %s %s does not hold a WireGuard key (one line: "
			  "base64 of 32 bytes, as `wg genkey` writes it)", label, key, path);
}

static yaml_node_t *item_at(struct cfg_ctx *c, yaml_node_t *n, size_t i)
{
	if (n->type != YAML_SEQUENCE_NODE)
		return n;
	return cfg_node(c, n->data.sequence.items.start[i]);
}

static void check_lists(struct cfg_ctx *c, yaml_node_t **vals, const char *label,
			const struct vpn_settings *v)
{
	struct cidr peer, net;
	int have_peer = v->endpoint && parse_endpoint(v->endpoint, &peer) == 0;

	for (size_t i = 0; i < v->naddresses; i++)
		if (parse_cidr(v->addresses[i], 1, &net) < 0)
			cfg_error(c, item_at(c, vals[W_ADDRESS], i), "%s: address '%s' "
				  "is not ADDRESS/LENGTH (e.g. 10.41.0.2/32)", label,
				  v->addresses[i]);
	for (size_t i = 0; i < v->nallowed_ips; i++) {
		yaml_node_t *at = item_at(c, vals[W_ALLOWED_IPS], i);
		if (parse_cidr(v->allowed_ips[i], 0, &net) < 0)
			cfg_error(c, at, "%s: allowed_ips '%s' is not an address or "
				  "ADDRESS/LENGTH (e.g. 10.40.0.0/24)", label,
				  v->allowed_ips[i]);
		else if (have_peer && cidr_contains(&net, &peer))
			/* the handshake itself would be routed into the tunnel */
			cfg_error(c, at, "%s: allowed_ips '%s' contains the endpoint's "
				  "address: epmon routes allowed_ips through the tunnel, "
				  "which would cut the tunnel's own path; list the networks "
				  "behind the peer", label, v->allowed_ips[i]);
	}
}

void cfg_check_wireguard(struct cfg_ctx *c, yaml_node_t *map, yaml_node_t **vals,
			 const char *where, const char *label, struct vpn_settings *v)
{
	static const int required[] = { W_ENDPOINT, W_PRIVATE_KEY_FILE,
		W_PEER_PUBLIC_KEY, W_ADDRESS };
	unsigned char key[WGKEY_LEN];
	struct cidr ip;

	if (v->client != VPN_WIREGUARD) {
		for (int k = 0; k < W_COUNT; k++)
			if (vals[k])
				cfg_warn(c, vals[k], "%s: %s is only used with client "
					 "wireguard; ignored", label, wg_keys[k]);
		return;
	}
	if (!vals[W_MTU])
		v->mtu = DEFAULT_MTU;
	for (size_t i = 0; i < sizeof(required) / sizeof(required[0]); i++)
		if (!vals[required[i]])
			cfg_error(c, map, "missing required key '%s' in %s (client "
				  "wireguard needs it)", wg_keys[required[i]], where);
	if (v->endpoint && parse_endpoint(v->endpoint, &ip) < 0)
		cfg_error(c, vals[W_ENDPOINT], "%s: endpoint '%s' is not ADDRESS:PORT "
			  "(numeric, e.g. 198.51.100.7:51820 or [2001:db8::7]:51820)",
			  label, v->endpoint);
	if (v->peer_public_key && wgkey_decode(v->peer_public_key, key) < 0)
		cfg_error(c, vals[W_PEER_PUBLIC_KEY], "%s: peer_public_key is not a "
			  "WireGuard public key (base64 of 32 bytes, as `wg pubkey` "
			  "writes it)", label);
	if (v->private_key_file)
		check_key_file(c, vals[W_PRIVATE_KEY_FILE], label, "private_key_file",
			       v->private_key_file);
	if (v->preshared_key_file)
		check_key_file(c, vals[W_PRESHARED_KEY_FILE], label,
			       "preshared_key_file", v->preshared_key_file);
	check_lists(c, vals, label, v);
}
