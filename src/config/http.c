/* SPDX-License-Identifier: MIT */
/* The http: map: where `epmon run` serves /metrics, /status and the page. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/internal.h"

#define DEFAULT_LISTEN "127.0.0.1:9877"
#define DEFAULT_USERNAME "epmon"

int config_listen_parse(const char *listen, char *addr, size_t addrlen,
			int *port, int *ipv6)
{
	const char *colon, *host = listen;
	size_t hostlen;
	unsigned char buf[sizeof(struct in6_addr)];
	char *end;
	long p;

	if (listen[0] == '[') {
		const char *close = strchr(listen, ']');
		if (!close || close[1] != ':')
			return -1;
		host = listen + 1;
		hostlen = (size_t)(close - host);
		colon = close + 1;
		*ipv6 = 1;
	} else {
		colon = strrchr(listen, ':');
		if (!colon || memchr(listen, ':', (size_t)(colon - listen)))
			return -1;  /* an IPv6 address needs its brackets */
		hostlen = (size_t)(colon - listen);
		*ipv6 = 0;
	}
	if (hostlen == 0 || hostlen >= addrlen)
		return -1;
	memcpy(addr, host, hostlen);
	addr[hostlen] = '\0';
	if (inet_pton(*ipv6 ? AF_INET6 : AF_INET, addr, buf) != 1)
		return -1;
	errno = 0;
	p = strtol(colon + 1, &end, 10);
	if (colon[1] < '0' || colon[1] > '9' || *end || errno || p < 1 || p > 65535)
		return -1;
	*port = (int)p;
	return 0;
}

int config_listen_is_loopback(const char *listen)
{
	char addr[64];
	int port, ipv6;

	if (config_listen_parse(listen, addr, sizeof(addr), &port, &ipv6) < 0)
		return 0;
	return ipv6 ? strcmp(addr, "::1") == 0 : strncmp(addr, "127.", 4) == 0;
}

void cfg_http_free(struct http_settings *h)
{
	free(h->listen);
	free(h->username);
	free(h->password_file);
	free(h->cert_file);
	free(h->key_file);
	memset(h, 0, sizeof(*h));
}

enum { H_LISTEN, H_USERNAME, H_PASSWORD_FILE, H_CERT_FILE, H_KEY_FILE, H_COUNT };

static const char *const http_keys[] = { "listen", "username", "password_file",
	"cert_file", "key_file", NULL };

static void check_readable(struct cfg_ctx *c, yaml_node_t *at, const char *key,
			   const char *path)
{
	if (path && access(path, R_OK) < 0)
		cfg_error(c, at, "http: cannot read %s %s: %s", key, path,
			  strerror(errno));
}

/* Auth and TLS: which keys go together, and what crosses the network. */
static void check_security(struct cfg_ctx *c, yaml_node_t *n, yaml_node_t **vals,
			   const struct http_settings *h)
{
	if (vals[H_USERNAME] && !vals[H_PASSWORD_FILE])
		cfg_error(c, vals[H_USERNAME], "http: username needs "
			  "'password_file' too (basic auth)");
	if (!vals[H_CERT_FILE] != !vals[H_KEY_FILE])
		cfg_error(c, vals[H_CERT_FILE] ? vals[H_CERT_FILE] : vals[H_KEY_FILE],
			  "http: TLS needs both cert_file and key_file");
	if (h->password_file)
		cfg_check_password_file(c, vals[H_PASSWORD_FILE], "http",
					h->password_file);
	check_readable(c, vals[H_CERT_FILE], "cert_file", h->cert_file);
	check_readable(c, vals[H_KEY_FILE], "key_file", h->key_file);
	if (h->listen && h->password_file && !h->cert_file &&
	    !config_listen_is_loopback(h->listen))
		cfg_warn(c, vals[H_PASSWORD_FILE] ? vals[H_PASSWORD_FILE] : n,
			 "http: basic auth without TLS on %s: the password would "
			 "cross the network in clear text; add cert_file and "
			 "key_file", h->listen);
}

void cfg_parse_http(struct cfg_ctx *c, yaml_node_t *n, struct http_settings *h)
{
	yaml_node_t *keys[H_COUNT], *vals[H_COUNT];
	char **dst[H_COUNT] = { &h->listen, &h->username, &h->password_file,
				&h->cert_file, &h->key_file };
	char what[64], addr[64];
	int port, ipv6;

	if (cfg_map(c, n, "http", http_keys, keys, vals) < 0)
		return;
	h->enabled = 1;
	for (int i = 0; i < H_COUNT; i++) {
		if (!vals[i])
			continue;
		cfg_what(what, sizeof(what), http_keys[i], "http");
		cfg_get_str(c, vals[i], what, dst[i]);
	}
	if (!h->listen)
		h->listen = cfg_strdup(c, DEFAULT_LISTEN);
	else if (config_listen_parse(h->listen, addr, sizeof(addr), &port, &ipv6) < 0)
		cfg_error(c, vals[H_LISTEN], "'listen' in http must be ADDRESS:PORT "
			  "with a numeric address and a port 1..65535 (127.0.0.1:9877, "
			  "[::1]:9877), got '%s'", h->listen);
	if (h->password_file && !h->username)
		h->username = cfg_strdup(c, DEFAULT_USERNAME);
	check_security(c, n, vals, h);
}
