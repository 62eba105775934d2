/* SPDX-License-Identifier: MIT */
/* Reading typed values out of the libyaml document, with positioned errors. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config/internal.h"

static void diag_push(struct cfg_ctx *c, int warning, char *msg)
{
	char ***list = warning ? &c->diag->warnings : &c->diag->errors;
	size_t *n = warning ? &c->diag->nwarnings : &c->diag->nerrors;
	char **grown = realloc(*list, (*n + 1) * sizeof(**list));

	if (!grown) {
		free(msg);
		c->oom = 1;
		return;
	}
	grown[(*n)++] = msg;
	*list = grown;
}

static void diag_vadd(struct cfg_ctx *c, int warning, const yaml_node_t *at,
		      const char *fmt, va_list ap)
{
	char *body = NULL, *msg = NULL;

	if (vasprintf(&body, fmt, ap) < 0) {
		c->oom = 1;
		return;
	}
	int r;
	if (at)
		r = asprintf(&msg, "%s:%zu:%zu: %s", c->file,
			     at->start_mark.line + 1, at->start_mark.column + 1, body);
	else
		r = asprintf(&msg, "%s", body);
	free(body);
	if (r < 0) {
		c->oom = 1;
		return;
	}
	diag_push(c, warning, msg);
}

void cfg_diag_add(struct cfg_ctx *c, int warning, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	diag_vadd(c, warning, NULL, fmt, ap);
	va_end(ap);
}

void cfg_error(struct cfg_ctx *c, const yaml_node_t *at, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	diag_vadd(c, 0, at, fmt, ap);
	va_end(ap);
}

void cfg_warn(struct cfg_ctx *c, const yaml_node_t *at, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	diag_vadd(c, 1, at, fmt, ap);
	va_end(ap);
}

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

/* Strict decimal: [-+]digits[.digits][e[-+]digits]; no hex, inf or nan. */
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
	errno = 0;
	*out = strtod(s, NULL);
	return errno == ERANGE ? -1 : 0;
}

int cfg_get_num(struct cfg_ctx *c, yaml_node_t *n, const char *what, double *out)
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
	*out = v;
	return 0;
}

int cfg_get_int(struct cfg_ctx *c, yaml_node_t *n, const char *what,
		long min, long max, int *out)
{
	double v;

	if (cfg_get_num(c, n, what, &v) < 0)
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

		if (!(*s >= '0' && *s <= '9'))
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
	return total;
}

int config_parse_duration(const char *s, double *out)
{
	double v;

	if (parse_decimal(s, &v) == 0) {
		if (v < 0)
			return -1;
		*out = v;
		return 0;
	}
	v = parse_units(s);
	if (v < 0)
		return -1;
	*out = v;
	return 0;
}

int cfg_get_duration(struct cfg_ctx *c, yaml_node_t *n, const char *what,
		     int off_ok, double *out)
{
	const char *s = cfg_scalar(n);
	double v;

	if (off_ok && is_bool(n) && (!strcasecmp(s, "off") || !strcasecmp(s, "no") ||
				     !strcasecmp(s, "n") || !strcasecmp(s, "false"))) {
		*out = 0;
		return 0;
	}
	/* A bare number (plain, unquoted) is seconds, as everywhere else. */
	if (!s || is_null(n) || is_bool(n) || parse_decimal(s, &v) == 0) {
		if (cfg_get_num(c, n, what, &v) < 0)
			return -1;
		if (v < 0) {
			cfg_error(c, n, "%s must not be negative, got %s", what, s);
			return -1;
		}
		*out = v;
		return 0;
	}
	v = parse_units(s);
	if (v < 0) {
		cfg_error(c, n, "%s must be seconds or a duration like 90s, 30m, "
			  "4h, 1h30m, 7d; got '%s'", what, s);
		return -1;
	}
	*out = v;
	return 0;
}
