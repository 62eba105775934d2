/* SPDX-License-Identifier: MIT */
/* Reading typed values out of the libyaml document, with positioned errors. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config/internal.h"

char *cfg_strdup(struct cfg_ctx *c, const char *s)
{
	char *d = strdup(s);
	if (!d)
		c->oom = 1;
	return d;
}

yaml_node_t *cfg_node(struct cfg_ctx *c, int index)
{
	return yaml_document_get_node(c->doc, index);
}

const char *cfg_scalar(const yaml_node_t *n)
{
	if (!n || n->type != YAML_SCALAR_NODE)
		return NULL;
	return (const char *)n->data.scalar.value;
}

static int is_plain(const yaml_node_t *n)
{
	return n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE ||
	       n->data.scalar.style == YAML_ANY_SCALAR_STYLE;
}

/* YAML 1.1 null and booleans: written unquoted, they are not strings. */
static int is_null(const yaml_node_t *n)
{
	const char *s = cfg_scalar(n);
	return s && is_plain(n) &&
	       (!*s || !strcmp(s, "~") || !strcasecmp(s, "null"));
}

static int is_bool(const yaml_node_t *n)
{
	static const char *const words[] = { "y", "yes", "n", "no", "true",
		"false", "on", "off", NULL };
	const char *s = cfg_scalar(n);

	if (!s || !is_plain(n))
		return 0;
	for (size_t i = 0; words[i]; i++)
		if (!strcasecmp(s, words[i]))
			return 1;
	return 0;
}

/* What a node is, for "got ..." in type errors. */
static const char *node_kind(const yaml_node_t *n)
{
	if (n->type == YAML_MAPPING_NODE)
		return "a map";
	if (n->type == YAML_SEQUENCE_NODE)
		return "a list";
	if (is_null(n))
		return "nothing (null)";
	if (is_bool(n))
		return "a boolean";
	return is_plain(n) ? "a scalar" : "a quoted string";
}

void cfg_what(char *buf, size_t size, const char *key, const char *where)
{
	if (!strcmp(where, "top level"))
		snprintf(buf, size, "'%s'", key);
	else
		snprintf(buf, size, "'%s' in %s", key, where);
}

static void known_list(char *buf, size_t size, const char *const *known)
{
	size_t off = 0;
	buf[0] = '\0';
	for (size_t i = 0; known[i] && off < size; i++)
		off += (size_t)snprintf(buf + off, size - off, "%s%s",
					i ? ", " : "", known[i]);
}

int cfg_map(struct cfg_ctx *c, yaml_node_t *map, const char *where,
	    const char *const *known, yaml_node_t **keys, yaml_node_t **vals)
{
	size_t nknown = 0;
	while (known[nknown])
		nknown++;
	for (size_t i = 0; i < nknown; i++)
		keys[i] = vals[i] = NULL;

	if (map->type != YAML_MAPPING_NODE) {
		cfg_error(c, map, "%s must be a map (key: value lines), got %s",
			  where, node_kind(map));
		return -1;
	}
	for (yaml_node_pair_t *p = map->data.mapping.pairs.start;
	     p < map->data.mapping.pairs.top; p++) {
		yaml_node_t *k = cfg_node(c, p->key);
		const char *name = cfg_scalar(k);
		size_t i;

		if (!name) {
			cfg_error(c, k, "keys in %s must be plain names, got %s",
				  where, node_kind(k));
			continue;
		}
		for (i = 0; i < nknown; i++)
			if (!strcmp(name, known[i]))
				break;
		if (i == nknown) {
			char list[512];
			known_list(list, sizeof(list), known);
			cfg_error(c, k, "unknown key '%s' in %s (known: %s)",
				  name, where, list);
			continue;
		}
		if (keys[i]) {
			cfg_error(c, k, "duplicate key '%s' in %s (first at line %zu); "
				  "keep only one", name, where,
				  keys[i]->start_mark.line + 1);
			continue;
		}
		keys[i] = k;
		vals[i] = cfg_node(c, p->value);
	}
	return 0;
}

int cfg_get_str(struct cfg_ctx *c, yaml_node_t *n, const char *what, char **out)
{
	const char *s = cfg_scalar(n);

	if (!s || is_null(n)) {
		cfg_error(c, n, "%s must be a string, got %s", what, node_kind(n));
		return -1;
	}
	free(*out);
	*out = cfg_strdup(c, s);
	return *out ? 0 : -1;
}

/* Strict decimal: [-+]digits[.digits][e[-+]digits]; no hex, inf or nan
 * (but 1e999 is +inf). */
static int parse_decimal(const char *s, double *out)
{
	const char *p = s;
	int digits = 0;

	if (*p == '-' || *p == '+')
		p++;
	while (*p >= '0' && *p <= '9')
		p++, digits++;
	if (*p == '.')
		for (p++; *p >= '0' && *p <= '9'; p++)
			digits++;
	if (!digits)
		return -1;
	if (*p == 'e' || *p == 'E') {
		p++;
		if (*p == '-' || *p == '+')
			p++;
		if (*p < '0' || *p > '9')
			return -1;
		while (*p >= '0' && *p <= '9')
			p++;
	}
	if (*p)
		return -1;
	/* 1e999 is +inf here: a number, refused by the range check */
	*out = strtod(s, NULL);
	return 0;
}

/* "'timeout' in ping" -> "timeout" and " in ping": messages name the key
 * in the range they give ("0 < timeout <= 3600 s"). */
static void split_what(const char *what, const char **key, int *keylen,
		       const char **rest)
{
	const char *close = what[0] == '\'' ? strchr(what + 1, '\'') : NULL;

	*key = close ? what + 1 : what;
	*keylen = close ? (int)(close - what - 1) : (int)strlen(what);
	*rest = close ? close + 1 : "";
}

/* A bound for messages: "86400 s", "31622400 s = 366d", "1000". */
static void fmt_bound(char *buf, size_t size, double v, const char *unit)
{
	if (!strcmp(unit, "s") && v >= 2 * CFG_DAY_S && fmod(v, CFG_DAY_S) == 0)
		snprintf(buf, size, "%.15g s = %.15gd", v, v / CFG_DAY_S);
	else
		snprintf(buf, size, "%.15g%s%s", v, *unit ? " " : "", unit);
}

/* The one range check of every number and duration of the config. bare:
 * the value was written as a plain number (its unit is r->unit). */
static int check_range(struct cfg_ctx *c, yaml_node_t *n, const char *what,
		       const struct cfg_range *r, double v, int bare)
{
	const char *key, *rest;
	char lo[32], hi[64];
	int keylen;

	if (!r || (isfinite(v) && (r->min_open ? v > r->min : v >= r->min) &&
		   v <= r->max))
		return 0;
	split_what(what, &key, &keylen, &rest);
	snprintf(lo, sizeof(lo), "%.15g", r->min);
	fmt_bound(hi, sizeof(hi), r->max, r->unit);
	cfg_error(c, n, "%.*s%s: %s%s%s is out of range (%s %s %.*s <= %s)",
		  keylen, key, rest, cfg_scalar(n), bare && *r->unit ? " " : "",
		  bare ? r->unit : "", lo, r->min_open ? "<" : "<=", keylen, key, hi);
	return -1;
}

int cfg_get_num(struct cfg_ctx *c, yaml_node_t *n, const char *what,
		const struct cfg_range *r, double *out)
{
	const char *s = cfg_scalar(n);
	double v;

	if (!s || is_null(n)) {
		cfg_error(c, n, "%s must be a number, got %s", what, node_kind(n));
		return -1;
	}
	if (is_bool(n)) {
		cfg_error(c, n, "%s must be a number, got the boolean '%s'", what, s);
		return -1;
	}
	if (parse_decimal(s, &v) < 0) {
		cfg_error(c, n, "%s must be a number, got '%s'", what, s);
		return -1;
	}
	if (!is_plain(n)) {
		cfg_error(c, n, "%s must be a number, got the quoted string '%s' "
			  "(remove the quotes)", what, s);
		return -1;
	}
	if (check_range(c, n, what, r, v, 1) < 0)
		return -1;
	*out = v;
	return 0;
}

int cfg_get_int(struct cfg_ctx *c, yaml_node_t *n, const char *what,
		long min, long max, int *out)
{
	double v;

	if (cfg_get_num(c, n, what, NULL, &v) < 0)
		return -1;
	/* Range first: casting a huge double to long is undefined. */
	if (v < (double)min || v > (double)max) {
		cfg_error(c, n, "%s must be between %ld and %ld, got %s", what,
			  min, max, cfg_scalar(n));
		return -1;
	}
	if (v != (double)(long)v) {
		cfg_error(c, n, "%s must be a whole number, got %s", what,
			  cfg_scalar(n));
		return -1;
	}
	*out = (int)v;
	return 0;
}

void cfg_free_str_list(char **list, size_t count)
{
	for (size_t i = 0; i < count; i++)
		free(list[i]);
	free(list);
}

int cfg_get_str_list(struct cfg_ctx *c, yaml_node_t *n, const char *what,
		     char ***out, size_t *count)
{
	int single = n->type == YAML_SCALAR_NODE && !is_null(n);
	size_t len;
	char **list;
	int bad = 0;

	if (!single && n->type != YAML_SEQUENCE_NODE) {
		cfg_error(c, n, "%s must be a list of strings, got %s", what,
			  node_kind(n));
		return -1;
	}
	len = single ? 1 : (size_t)(n->data.sequence.items.top -
				    n->data.sequence.items.start);
	list = calloc(len ? len : 1, sizeof(*list));
	if (!list) {
		c->oom = 1;
		return -1;
	}
	for (size_t i = 0; i < len; i++) {
		yaml_node_t *item = single ? n :
			cfg_node(c, n->data.sequence.items.start[i]);
		if (cfg_get_str(c, item, what, &list[i]) < 0)
			bad = 1;
	}
	if (bad) {
		cfg_free_str_list(list, len);
		return -1;
	}
	cfg_free_str_list(*out, *count);
	*out = list;
	*count = len;
	return 0;
}

int cfg_get_bool(struct cfg_ctx *c, yaml_node_t *n, const char *what, int *out)
{
	static const char *const yes[] = { "y", "yes", "true", "on", NULL };
	const char *s = cfg_scalar(n);

	if (!is_bool(n)) {
		cfg_error(c, n, "%s must be true or false, got %s%s%s%s", what,
			  node_kind(n), s ? " '" : "", s ? s : "", s ? "'" : "");
		return -1;
	}
	*out = 0;
	for (size_t i = 0; yes[i]; i++)
		if (!strcasecmp(s, yes[i]))
			*out = 1;
	return 0;
}

/* "1h30m" -> 5400; -1 unless the whole text is number+unit parts. */
static double parse_units(const char *s)
{
	double total = 0;

	if (!*s)
		return -1;
	while (*s) {
		char *end;
		double v;

		/* digits first, and no hex (strtod would take 0x1p9) */
		if (!(*s >= '0' && *s <= '9') || s[1] == 'x' || s[1] == 'X')
			return -1;
		v = strtod(s, &end);
		if (end == s)
			return -1;
		if (!strncmp(end, "min", 3))
			v *= 60, end += 3;
		else if (*end == 's')
			end++;
		else if (*end == 'm')
			v *= 60, end++;
		else if (*end == 'h')
			v *= 3600, end++;
		else if (*end == 'd')
			v *= 86400, end++;
		else
			return -1;
		total += v;
		s = end;
	}
	return total;   /* maybe +inf ("1e999s"): the range check says so */
}

int config_parse_duration(const char *s, double *out)
{
	double v;

	if (parse_decimal(s, &v) < 0)
		v = parse_units(s);
	if (v < 0 || !isfinite(v))
		return -1;
	*out = v;
	return 0;
}

int cfg_get_duration(struct cfg_ctx *c, yaml_node_t *n, const char *what,
		     int off_ok, const struct cfg_range *r, double *out)
{
	const char *s = cfg_scalar(n);
	double v;

	if (off_ok && is_bool(n) && (!strcasecmp(s, "off") || !strcasecmp(s, "no") ||
				     !strcasecmp(s, "n") || !strcasecmp(s, "false"))) {
		*out = 0;
		return 0;
	}
	/* A bare number (plain, unquoted) is seconds, as everywhere else. */
	if (!s || is_null(n) || is_bool(n) || parse_decimal(s, &v) == 0)
		return cfg_get_num(c, n, what, r, out);
	v = parse_units(s);
	if (v < 0) {
		cfg_error(c, n, "%s must be seconds or a duration like 90s, 30m, "
			  "4h, 1h30m, 7d; got '%s'", what, s);
		return -1;
	}
	if (check_range(c, n, what, r, v, 0) < 0)
		return -1;
	*out = v;
	return 0;
}
