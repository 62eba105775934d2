/* SPDX-License-Identifier: MIT */
/* The sites: list: one struct site per entry, merged over the global ping. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/internal.h"

/* [A-Za-z0-9_.-]{1,63}: the name goes into file names and CSV rows. */
static int valid_site_name(const char *s)
{
	size_t n = strlen(s);

	if (n < 1 || n > 63)
		return 0;
	return strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
		      "0123456789_.-") == n;
}

/* The value node of key `key` in mapping n, NULL if absent (no checks). */
static yaml_node_t *peek(struct cfg_ctx *c, yaml_node_t *n, const char *key)
{
	if (n->type != YAML_MAPPING_NODE)
		return NULL;
	for (yaml_node_pair_t *p = n->data.mapping.pairs.start;
	     p < n->data.mapping.pairs.top; p++) {
		const char *k = cfg_scalar(cfg_node(c, p->key));
		if (k && !strcmp(k, key))
			return cfg_node(c, p->value);
	}
	return NULL;
}

/* The time one site test may take must fit in one cycle. */
static void check_budget(struct cfg_ctx *c, yaml_node_t *n, const char *label,
			 const struct site *s, double frequency)
{
	int pings = s->internal_ip ? 2 : 1;
	double budget = ping_settings_budget(&s->ping);
	double login = s->vpn.client != VPN_NONE ? s->vpn.login_timeout_s : 0;
	double need = pings * budget + login;

	if (frequency <= 0 || need <= frequency)
		return;
	cfg_error(c, n, "%s: ping settings cannot fit in frequency: %d ping(s) x "
		  "%g s (count %d, interval %g, timeout %g) + login_timeout %g s "
		  "= %g s > frequency %g s; lower ping count/interval/timeout or "
		  "raise frequency", label, pings, budget, s->ping.count,
		  s->ping.interval_s, s->ping.timeout_s, login, need, frequency);
}

static void parse_site(struct cfg_ctx *c, yaml_node_t *n, const char *label,
		       const struct config *cfg, struct site *s)
{
	static const char *const known[] = { "name", "external_ip",
		"internal_ip", "ping", "vpn", "alert", NULL };
	yaml_node_t *keys[6], *vals[6];
	char where[128], what[160];
	int bad_ip = 0;

	s->line = (int)n->start_mark.line + 1;
	s->ping = cfg->ping;
	s->alert = cfg->logging.alert;
	if (cfg_map(c, n, label, known, keys, vals) < 0)
		return;
	for (int i = 0; i < 2; i++)
		if (!vals[i])
			cfg_error(c, n, "missing required key '%s' in %s",
				  known[i], label);
	if (vals[0]) {
		cfg_what(what, sizeof(what), "name", label);
		if (cfg_get_str(c, vals[0], what, &s->name) == 0 &&
		    !valid_site_name(s->name))
			cfg_error(c, vals[0], "site name '%s' is not valid: use 1 "
				  "to 63 of A-Z a-z 0-9 _ . -", s->name);
	}
	for (int i = 1; i <= 2; i++) {
		char **ip = i == 1 ? &s->external_ip : &s->internal_ip;
		if (!vals[i])
			continue;
		cfg_what(what, sizeof(what), known[i], label);
		if (cfg_get_str(c, vals[i], what, ip) < 0 ||
		    cfg_check_ip(c, vals[i], label, known[i], *ip) < 0)
			bad_ip = 1;
	}
	if (vals[3]) {
		snprintf(where, sizeof(where), "ping of %s", label);
		cfg_parse_ping(c, vals[3], where, &s->ping);
	}
	if (vals[4]) {
		cfg_parse_vpn(c, vals[4], label, &s->vpn);
		if (!vals[2])
			cfg_error(c, n, "missing required key 'internal_ip' in %s "
				  "(needed with vpn: the address pinged through "
				  "the tunnel)", label);
	}
	if (vals[5]) {
		snprintf(where, sizeof(where), "alert of %s", label);
		cfg_parse_alert(c, vals[5], where, &s->alert);
	}
	if (!bad_ip)
		check_budget(c, n, label, s, cfg->frequency_s);
}

static int by_name_cmp(const void *a, const void *b)
{
	const struct site *x = *(const struct site *const *)a;
	const struct site *y = *(const struct site *const *)b;
	int d = strcmp(x->name, y->name);

	/* equal names: in file order (the array's), the first one first */
	return d ? d : (x > y) - (x < y);
}

/* Sorts the named sites into c->by_name and reports each later use of a
 * name: O(n log n), where comparing every pair took minutes at 100k sites. */
static void check_duplicates(struct cfg_ctx *c, const struct config *cfg,
			     yaml_node_t **names)
{
	size_t n = 0;

	c->by_name = malloc((cfg->nsites ? cfg->nsites : 1) * sizeof(*c->by_name));
	if (!c->by_name) {
		c->oom = 1;
		return;
	}
	for (size_t i = 0; i < cfg->nsites; i++)
		if (cfg->sites[i].name)
			c->by_name[n++] = &cfg->sites[i];
	qsort(c->by_name, n, sizeof(*c->by_name), by_name_cmp);
	for (size_t i = 1, first = 0; i < n; i++) {
		if (strcmp(c->by_name[i]->name, c->by_name[first]->name)) {
			first = i;
			continue;
		}
		cfg_error(c, names[c->by_name[i] - cfg->sites], "duplicate site name "
			  "'%s' (first defined at line %zu); site names must be unique",
			  c->by_name[i]->name,
			  names[c->by_name[first] - cfg->sites]->start_mark.line + 1);
	}
	c->nby_name = n;
}

const struct site *cfg_find_site(struct cfg_ctx *c, const char *name)
{
	size_t lo = 0, hi = c->nby_name;

	/* the lowest match: the first site of that name */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (strcmp(c->by_name[mid]->name, name) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < c->nby_name && !strcmp(c->by_name[lo]->name, name) ?
		c->by_name[lo] : NULL;
}

void cfg_parse_sites(struct cfg_ctx *c, yaml_node_t *n, struct config *cfg)
{
	yaml_node_item_t *items;
	yaml_node_t **names;
	size_t count;

	if (n->type != YAML_SEQUENCE_NODE) {
		cfg_error(c, n, "'sites' must be a list of sites (lines starting "
			  "with '- name: ...')");
		return;
	}
	items = n->data.sequence.items.start;
	count = (size_t)(n->data.sequence.items.top - items);
	if (!count) {
		cfg_error(c, n, "'sites' is empty; add at least one site");
		return;
	}
	if (count > CFG_SITES_MAX) {
		cfg_error(c, n, "'sites' lists %zu sites; the limit is %d", count,
			  CFG_SITES_MAX);
		return;
	}
	cfg->sites = calloc(count, sizeof(*cfg->sites));
	names = calloc(count, sizeof(*names));
	if (!cfg->sites || !names) {
		free(names);
		c->oom = 1;
		return;
	}
	cfg->nsites = count;
	for (size_t i = 0; i < count; i++) {
		yaml_node_t *site = cfg_node(c, items[i]);
		const char *name = cfg_scalar(peek(c, site, "name"));
		char label[96];

		if (name && valid_site_name(name))
			snprintf(label, sizeof(label), "site '%s'", name);
		else
			snprintf(label, sizeof(label), "site #%zu", i + 1);
		parse_site(c, site, label, cfg, &cfg->sites[i]);
		names[i] = peek(c, site, "name");
	}
	check_duplicates(c, cfg, names);
	free(names);
}
