/* SPDX-License-Identifier: MIT */
/* The messages of one parse: "FILE:LINE:COL: message", capped in number and
 * length, sorted by position at the end. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/internal.h"

/* Appends msg to the errors or warnings. The list grows by doubling: its
 * capacity is the next power of two of its length. */
static void diag_push(struct cfg_ctx *c, int warning, char *msg)
{
	char ***list = warning ? &c->diag->warnings : &c->diag->errors;
	size_t *n = warning ? &c->diag->nwarnings : &c->diag->nerrors;

	if ((*n & (*n - 1)) == 0) {     /* 0, 1, 2, 4...: full */
		char **grown = realloc(*list, (*n ? 2 * *n : 1) * sizeof(**list));
		if (!grown) {
			free(msg);
			c->oom = 1;
			return;
		}
		*list = grown;
	}
	(*list)[(*n)++] = msg;
}

/* Cuts a message over CFG_MESSAGE_LEN_MAX bytes (a huge value quoted in
 * it) at a character boundary. */
static void cut_message(char *body)
{
	static const char mark[] = " [...]";
	size_t end = CFG_MESSAGE_LEN_MAX - sizeof(mark);

	if (strlen(body) < CFG_MESSAGE_LEN_MAX)
		return;
	while (end > 0 && ((unsigned char)body[end] & 0xc0) == 0x80)
		end--;
	memcpy(body + end, mark, sizeof(mark));
}

static void diag_vadd(struct cfg_ctx *c, int warning, const yaml_node_t *at,
		      const char *fmt, va_list ap)
{
	char *body = NULL, *msg = NULL;

	/* A flood of messages is counted, not kept (nor even formatted). */
	if ((warning ? c->diag->nwarnings : c->diag->nerrors) >= CFG_MESSAGES_MAX) {
		if (warning)
			c->warnings_dropped++;
		else
			c->errors_dropped++;
		return;
	}
	if (vasprintf(&body, fmt, ap) < 0) {
		c->oom = 1;
		return;
	}
	cut_message(body);
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

/* Position of "FILE:LINE:COL: ..." as one number; 0 when it has none. */
static unsigned long long msg_pos(const char *msg, size_t skip)
{
	unsigned long line, col;
	char *end;

	if (strlen(msg) <= skip || msg[skip] != ':')
		return 0;
	line = strtoul(msg + skip + 1, &end, 10);
	if (*end != ':')
		return 0;
	col = strtoul(end + 1, &end, 10);
	return *end == ':' ? (unsigned long long)line << 32 | col : 0;
}

struct keyed_msg {
	unsigned long long pos;
	size_t order;           /* ties keep the order found: a stable sort */
	char *msg;
};

static int keyed_cmp(const void *a, const void *b)
{
	const struct keyed_msg *x = a, *y = b;

	if (x->pos != y->pos)
		return x->pos < y->pos ? -1 : 1;
	return x->order < y->order ? -1 : x->order > y->order;
}

/* Messages are found key by key; they read better in file order. */
static void sort_by_position(struct cfg_ctx *c, char **msgs, size_t n)
{
	size_t skip = strlen(c->file);
	struct keyed_msg *k;

	if (n < 2)
		return;
	k = malloc(n * sizeof(*k));
	if (!k) {
		c->oom = 1;
		return;
	}
	for (size_t i = 0; i < n; i++)
		k[i] = (struct keyed_msg){ msg_pos(msgs[i], skip), i, msgs[i] };
	qsort(k, n, sizeof(*k), keyed_cmp);
	for (size_t i = 0; i < n; i++)
		msgs[i] = k[i].msg;
	free(k);
}

void cfg_diag_finish(struct cfg_ctx *c, size_t errors_before, size_t warnings_before)
{
	char *msg;

	/* (no arithmetic on a NULL array: nothing to sort when none was added) */
	if (c->diag->nerrors > errors_before)
		sort_by_position(c, c->diag->errors + errors_before,
				 c->diag->nerrors - errors_before);
	if (c->diag->nwarnings > warnings_before)
		sort_by_position(c, c->diag->warnings + warnings_before,
				 c->diag->nwarnings - warnings_before);
	/* after the sort, past the cap: these lines always come last */
	if (c->errors_dropped &&
	    asprintf(&msg, "%s: %zu more errors not shown (at most %d are "
		     "reported)", c->file, c->errors_dropped, CFG_MESSAGES_MAX) >= 0)
		diag_push(c, 0, msg);
	if (c->warnings_dropped &&
	    asprintf(&msg, "%s: %zu more warnings not shown (at most %d are "
		     "reported)", c->file, c->warnings_dropped, CFG_MESSAGES_MAX) >= 0)
		diag_push(c, 1, msg);
}
