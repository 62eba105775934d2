/* SPDX-License-Identifier: MIT */
/* The concurrency key and the isolation: map: how many site tests run at
 * once, and whether each VPN client gets a network namespace of its own. */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/internal.h"

#define DEFAULT_CONCURRENCY 8
#define MAX_CONCURRENCY 1024
#define DEFAULT_SUBNET "100.64.0.0/16"

const char *isolation_mode_name(enum isolation_mode m)
{
	return m == ISOLATION_NONE ? "none" : "netns";
}

unsigned int isolation_slots(const struct isolation_settings *iso)
{
	return 1u << (30 - iso->prefix);
}

/* "A.B.C.D/LEN" with LEN 8..30 and no host bits: 0, else -1 with why. */
static int parse_subnet(const char *text, unsigned int *net, int *prefix,
			char *why, size_t len)
{
	char addr[INET_ADDRSTRLEN];
	const char *slash = strchr(text, '/');
	struct in_addr in;
	unsigned int mask;
	char *end;
	long n;

	if (!slash || (size_t)(slash - text) >= sizeof(addr)) {
		snprintf(why, len, "must be an IPv4 network in CIDR form, e.g. %s",
			 DEFAULT_SUBNET);
		return -1;
	}
	memcpy(addr, text, (size_t)(slash - text));
	addr[slash - text] = 0;
	n = strtol(slash + 1, &end, 10);
	if (inet_pton(AF_INET, addr, &in) != 1 || end == slash + 1 || *end) {
		snprintf(why, len, "must be an IPv4 network in CIDR form, e.g. %s",
			 DEFAULT_SUBNET);
		return -1;
	}
	if (n < 8 || n > 30) {
		snprintf(why, len, "prefix length must be 8..30 (each site needs a /30), got /%ld", n);
		return -1;
	}
	mask = 0xffffffffu << (32 - n);
	*net = ntohl(in.s_addr);
	*prefix = (int)n;
	if (*net & ~mask) {
		struct in_addr fixed = { htonl(*net & mask) };
		char buf[INET_ADDRSTRLEN];
		inet_ntop(AF_INET, &fixed, buf, sizeof(buf));
		snprintf(why, len, "has host bits set; did you mean %s/%ld?", buf, n);
		return -1;
	}
	return 0;
}

void cfg_isolation_defaults(struct config *cfg)
{
	char why[8];

	cfg->concurrency = 0;       /* 0 until given: the default depends on the mode */
	cfg->isolation.mode = ISOLATION_NETNS;
	parse_subnet(DEFAULT_SUBNET, &cfg->isolation.subnet, &cfg->isolation.prefix,
		     why, sizeof(why));
}

yaml_node_t *cfg_parse_isolation(struct cfg_ctx *c, yaml_node_t *n, struct config *cfg)
{
	static const char *const known[] = { "mode", "subnet", NULL };
	struct isolation_settings *iso = &cfg->isolation;
	yaml_node_t *keys[2], *vals[2];
	char why[160];
	const char *s;

	iso->line = (int)n->start_mark.line + 1;
	iso->col = (int)n->start_mark.column + 1;
	if (cfg_map(c, n, "isolation", known, keys, vals) < 0)
		return n;
	if (vals[0]) {
		s = cfg_scalar(vals[0]);
		if (s && strcmp(s, "netns") == 0)
			iso->mode = ISOLATION_NETNS;
		else if (s && strcmp(s, "none") == 0)
			iso->mode = ISOLATION_NONE;
		else
			cfg_error(c, vals[0], "'mode' in isolation must be netns (each VPN "
				  "site test in a network namespace of its own) or none "
				  "(clients in epmon's namespace, one at a time), got '%s'",
				  s ? s : "a non-scalar");
	}
	if (vals[1]) {
		s = cfg_scalar(vals[1]);
		iso->line = (int)vals[1]->start_mark.line + 1;
		iso->col = (int)vals[1]->start_mark.column + 1;
		if (!s || parse_subnet(s, &iso->subnet, &iso->prefix, why, sizeof(why)) < 0)
			cfg_error(c, vals[1], "'subnet' in isolation %s", s ? why :
				  "must be an IPv4 network in CIDR form, e.g. " DEFAULT_SUBNET);
		return vals[1];
	}
	return n;
}

/* After the whole root is parsed: concurrency against the mode and the
 * subnet's size. `at` is the concurrency node, NULL when not given. */
void cfg_check_concurrency(struct cfg_ctx *c, yaml_node_t *at, yaml_node_t *subnet_at,
			   struct config *cfg)
{
	const struct isolation_settings *iso = &cfg->isolation;

	if (at && cfg_get_int(c, at, "'concurrency'", 1, MAX_CONCURRENCY,
			      &cfg->concurrency) < 0)
		return;
	if (!at)
		cfg->concurrency = iso->mode == ISOLATION_NONE ? 1 : DEFAULT_CONCURRENCY;
	if (iso->mode == ISOLATION_NONE && cfg->concurrency > 1) {
		cfg_error(c, at, "'concurrency' must be 1 with isolation mode none (clients "
			  "in one namespace would fight over routes and resolv.conf), got %d; "
			  "use isolation mode netns to test sites at the same time",
			  cfg->concurrency);
		return;
	}
	if (iso->mode == ISOLATION_NETNS && (unsigned)cfg->concurrency > isolation_slots(iso)) {
		int need = 30;
		while ((1u << (30 - need)) < (unsigned)cfg->concurrency)
			need--;
		cfg_error(c, subnet_at ? subnet_at : at, "isolation subnet /%d holds %u site "
			  "links (a /30 each), fewer than concurrency %d: use a /%d or larger",
			  iso->prefix, isolation_slots(iso), cfg->concurrency, need);
	}
}
