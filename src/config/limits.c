/* SPDX-License-Identifier: MIT */
/* Limits of a config file: size, NUL bytes, nesting, value size, anchors and
 * aliases (on libyaml's events, before a document is built from them), and
 * the size of a regular expression once its repetitions are expanded. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/internal.h"

/* An &anchor of the document, and the size of what it names. */
struct anchor {
	char *name;
	int done;               /* its map or list has ended: the size is known */
	double nodes, bytes;    /* aliases inside it expanded */
};

/* The document level (0) or an open map or list. */
struct frame {
	double nodes, bytes;
	int anchor;             /* index into anchors, or -1 */
};

struct scan {
	struct cfg_ctx *c;
	struct anchor anchors[CFG_ANCHORS_MAX];
	int nanchors;
	struct frame frames[CFG_DEPTH_MAX + 1];
	int depth;
	double nodes, bytes;    /* of the whole stream, aliases expanded */
};

static void limit_error(struct scan *s, const yaml_mark_t *at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void limit_error(struct scan *s, const yaml_mark_t *at, const char *fmt, ...)
{
	char body[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(body, sizeof(body), fmt, ap);
	va_end(ap);
	cfg_diag_add(s->c, 0, "%s:%zu:%zu: %s", s->c->file, at->line + 1,
		     at->column + 1, body);
}

static void drop_anchors(struct scan *s)
{
	for (int i = 0; i < s->nanchors; i++)
		free(s->anchors[i].name);
	s->nanchors = 0;
}

/* Registers &name (NULL: none). Returns its index, -1 when none, -2 after
 * reporting the limit. */
static int add_anchor(struct scan *s, const yaml_event_t *ev,
		      const yaml_char_t *name, int done, double bytes)
{
	struct anchor *a;

	if (!name)
		return -1;
	if (s->nanchors == CFG_ANCHORS_MAX) {
		limit_error(s, &ev->start_mark, "more than %d anchors (&name) in the "
			    "document; that is the limit", CFG_ANCHORS_MAX);
		return -2;
	}
	a = &s->anchors[s->nanchors];
	a->name = strdup((const char *)name);
	if (!a->name) {
		s->c->oom = 1;
		return -2;
	}
	a->done = done;
	a->nodes = 1;
	a->bytes = bytes;
	return s->nanchors++;
}

/* Adds a value (with what an alias brings) to the open map or list and to
 * the totals. 0, or -1 after reporting a total over its limit. */
static int grow(struct scan *s, const yaml_event_t *ev, double nodes, double bytes)
{
	const char *alias = ev->type == YAML_ALIAS_EVENT ?
		(const char *)ev->data.alias.anchor : NULL;
	char what[64];

	s->frames[s->depth].nodes += nodes;
	s->frames[s->depth].bytes += bytes;
	s->nodes += nodes;
	s->bytes += bytes;
	if (s->nodes <= CFG_NODES_MAX && s->bytes <= CFG_TEXT_MAX)
		return 0;
	if (s->nodes > CFG_NODES_MAX)
		snprintf(what, sizeof(what), "%d values", CFG_NODES_MAX);
	else
		snprintf(what, sizeof(what), "%d bytes of values", CFG_TEXT_MAX);
	if (alias)
		limit_error(s, &ev->start_mark, "alias *%s makes the config hold more "
			    "than %s, aliases expanded; that is the limit (an alias "
			    "counts as a copy of what it names)", alias, what);
	else
		limit_error(s, &ev->start_mark, "the config holds more than %s; that "
			    "is the limit", what);
	return -1;
}

static int on_alias(struct scan *s, const yaml_event_t *ev)
{
	const char *name = (const char *)ev->data.alias.anchor;

	for (int i = s->nanchors - 1; i >= 0; i--) {
		const struct anchor *a = &s->anchors[i];
		if (strcmp(a->name, name))
			continue;
		if (!a->done) {
			limit_error(s, &ev->start_mark, "alias *%s stands for a map or "
				    "list that contains it (a recursive structure)", name);
			return -1;
		}
		return grow(s, ev, a->nodes, a->bytes);
	}
	return 1;       /* undefined: the loader reports it */
}

/* One event: 0 to go on, 1 to stop without a message (the loader will
 * report the problem), -1 after reporting a limit. */
static int on_event(struct scan *s, const yaml_event_t *ev)
{
	const yaml_char_t *anchor = NULL;
	int a;

	switch (ev->type) {
	case YAML_DOCUMENT_START_EVENT:
		drop_anchors(s);    /* anchors belong to their document */
		return 0;
	case YAML_ALIAS_EVENT:
		return on_alias(s, ev);
	case YAML_SCALAR_EVENT:
		if (ev->data.scalar.length > CFG_SCALAR_MAX) {
			limit_error(s, &ev->start_mark, "a value of %zu bytes; the limit "
				    "is %d bytes (64 KiB)", ev->data.scalar.length,
				    CFG_SCALAR_MAX);
			return -1;
		}
		if (add_anchor(s, ev, ev->data.scalar.anchor, 1,
			       (double)ev->data.scalar.length) == -2)
			return -1;
		return grow(s, ev, 1, (double)ev->data.scalar.length);
	case YAML_SEQUENCE_START_EVENT:
	case YAML_MAPPING_START_EVENT:
		if (s->depth == CFG_DEPTH_MAX) {
			limit_error(s, &ev->start_mark, "maps and lists nested more "
				    "than %d deep; that is the limit", CFG_DEPTH_MAX);
			return -1;
		}
		if (grow(s, ev, 1, 0) < 0)
			return -1;
		anchor = ev->type == YAML_SEQUENCE_START_EVENT ?
			ev->data.sequence_start.anchor : ev->data.mapping_start.anchor;
		if ((a = add_anchor(s, ev, anchor, 0, 0)) == -2)
			return -1;
		s->frames[++s->depth] = (struct frame){ 1, 0, a };
		return 0;
	case YAML_SEQUENCE_END_EVENT:
	case YAML_MAPPING_END_EVENT: {
		/* its own node was counted at its start: hand on the rest */
		struct frame f = s->frames[s->depth--];
		if (f.anchor >= 0) {
			s->anchors[f.anchor].done = 1;
			s->anchors[f.anchor].nodes = f.nodes;
			s->anchors[f.anchor].bytes = f.bytes;
		}
		s->frames[s->depth].nodes += f.nodes - 1;
		s->frames[s->depth].bytes += f.bytes;
		return 0;
	}
	case YAML_STREAM_END_EVENT:
		return 1;
	default:
		return 0;
	}
}

/* Line and column of byte `off`, counted as libyaml does (characters). */
static void text_position(const char *text, size_t off, size_t *line, size_t *col)
{
	*line = 1;
	*col = 1;
	for (size_t i = 0; i < off; i++) {
		if (text[i] == '\n') {
			(*line)++;
			*col = 1;
		} else if (((unsigned char)text[i] & 0xc0) != 0x80) {
			(*col)++;
		}
	}
}

int cfg_check_limits(struct cfg_ctx *c, const char *text, size_t len)
{
	struct scan *s;
	yaml_parser_t parser;
	const char *nul;
	int rc = 0;

	if (len > CFG_FILE_MAX) {
		cfg_diag_add(c, 0, "%s: the config is larger than the limit of %d "
			     "bytes (1 MiB)", c->file, CFG_FILE_MAX);
		return -1;
	}
	if ((nul = memchr(text, '\0', len))) {
		size_t line, col;
		text_position(text, (size_t)(nul - text), &line, &col);
		cfg_diag_add(c, 0, "%s:%zu:%zu: a NUL byte (at byte %zu): a config "
			     "is text", c->file, line, col, (size_t)(nul - text));
		return -1;
	}
	s = calloc(1, sizeof(*s));
	if (!s || !yaml_parser_initialize(&parser)) {
		free(s);
		c->oom = 1;
		return -1;
	}
	s->c = c;
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
	while (rc == 0) {
		yaml_event_t ev;
		if (!yaml_parser_parse(&parser, &ev))
			break;      /* a syntax error: the loader reports it */
		rc = on_event(s, &ev);
		yaml_event_delete(&ev);
	}
	yaml_parser_delete(&parser);
	drop_anchors(s);
	free(s);
	return rc < 0 ? -1 : 0;
}

/* The atoms of one group of a regex being sized. */
struct re_group {
	double sum;     /* of the group so far, every alternative */
	double last;    /* of its last atom or group: what a repetition repeats */
};

/* After '[': past the closing ']' of a bracket expression. */
static const char *skip_bracket(const char *p)
{
	if (*p == '^')
		p++;
	if (*p == ']')
		p++;
	while (*p && *p != ']') {
		if (*p == '[' && (p[1] == ':' || p[1] == '.' || p[1] == '=')) {
			char end[3] = { p[1], ']', 0 };
			const char *close = strstr(p + 2, end);
			if (!close)
				return p + strlen(p);
			p = close + 2;
		} else {
			p++;
		}
	}
	return *p ? p + 1 : p;
}

/* "{m}", "{m,}", "{m,n}", "{,n}" after '{': how many copies regcomp makes
 * (n, or m + 1 for "{m,}"; at least 1), and past the '}'; -1 when it is no
 * interval (the '{' is then a character). */
static double interval(const char **pp, long *big)
{
	const char *p = *pp;
	long m = 0, n = -1;
	int digits = 0, comma = 0;

	for (; *p >= '0' && *p <= '9'; p++, digits++)
		m = m > 100000 ? m : m * 10 + (*p - '0');
	if (*p == ',') {
		comma = 1;
		p++;
		if (*p >= '0' && *p <= '9')
			for (n = 0; *p >= '0' && *p <= '9'; p++, digits++)
				n = n > 100000 ? n : n * 10 + (*p - '0');
	}
	if (*p != '}' || !digits)
		return -1;
	*pp = p + 1;
	*big = m > n ? m : n;
	if (n >= 0)
		m = n > m ? n : m;
	else if (comma)
		m++;
	return m > 1 ? (double)m : 1;
}

double cfg_regex_size(const char *re, long *dup)
{
	struct re_group st[CFG_REGEX_LEN_MAX + 1];
	const char *p = re;
	int depth = 0;

	st[0] = (struct re_group){ 0, 0 };
	while (*p) {
		const char *start = p;
		double copies = 0;  /* 0: an atom; else a repetition of the last */
		long big = 0;

		if (*p == '(') {
			if (depth == CFG_REGEX_LEN_MAX)
				return CFG_REGEX_TOTAL_MAX + 1.0;
			st[++depth] = (struct re_group){ 0, 0 };
			p++;
			continue;
		}
		if (*p == ')' && depth > 0) {   /* a lone ')' is a character */
			double g = st[depth--].sum + 1;
			st[depth].last = g;
			st[depth].sum += g;
			p++;
			continue;
		}
		if (*p == '|') {
			st[depth].last = 0;
			p++;
			continue;
		}
		if (*p == '*' || *p == '?')     /* a loop: no copy */
			copies = 1;
		else if (*p == '+')             /* glibc: x+ is x x* */
			copies = 2;
		p++;
		if (*start == '{') {
			copies = interval(&p, &big);
			if (copies < 0)
				copies = 0;
			if (big > CFG_REGEX_DUP_MAX) {
				*dup = big;
				return -1;
			}
		} else if (*start == '[') {
			p = skip_bracket(p);
		} else if (*start == '\\' && *p) {
			p++;
		}
		/* one atom per character, not per UTF-8 byte */
		while (((unsigned char)*p & 0xc0) == 0x80)
			p++;
		if (copies == 0) {
			st[depth].last = 1;
			st[depth].sum += 1;
		} else if (copies > 1) {
			st[depth].sum += st[depth].last * (copies - 1);
			st[depth].last *= copies;
		}
	}
	while (depth > 0) {     /* an unclosed '(': regcomp reports it */
		double g = st[depth--].sum + 1;
		st[depth].sum += g;
	}
	return st[0].sum;
}
