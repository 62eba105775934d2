/* SPDX-License-Identifier: MIT */
/* A small shared table of compiled patterns, looked up by their text. */
#include "vpn/patterns.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct pattern {
	struct pattern *next;
	char *text;
	regex_t re;
};

struct pattern_cache {
	pthread_mutex_t lock;
	struct pattern *head;
};

struct pattern_cache *pattern_cache_new(void)
{
	struct pattern_cache *c = calloc(1, sizeof(*c));

	if (c)
		pthread_mutex_init(&c->lock, NULL);
	return c;
}

void pattern_cache_free(struct pattern_cache *c)
{
	struct pattern *p, *next;

	if (!c)
		return;
	for (p = c->head; p; p = next) {
		next = p->next;
		regfree(&p->re);
		free(p->text);
		free(p);
	}
	pthread_mutex_destroy(&c->lock);
	free(c);
}

static const regex_t *compile(struct pattern_cache *c, const char *pattern,
			      char *err, size_t errlen)
{
	struct pattern *p = calloc(1, sizeof(*p));
	int rc;

	if (!p || !(p->text = strdup(pattern))) {
		free(p);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	rc = regcomp(&p->re, pattern, REG_EXTENDED | REG_NEWLINE);
	if (rc != 0) {
		char msg[128];
		regerror(rc, &p->re, msg, sizeof(msg));
		snprintf(err, errlen, "bad pattern '%s': %s", pattern, msg);
		free(p->text);
		free(p);
		return NULL;
	}
	p->next = c->head;
	c->head = p;
	return &p->re;
}

const regex_t *pattern_cache_get(struct pattern_cache *c, const char *pattern,
				 char *err, size_t errlen)
{
	const regex_t *re = NULL;
	struct pattern *p;

	pthread_mutex_lock(&c->lock);
	for (p = c->head; p && !re; p = p->next)
		if (strcmp(p->text, pattern) == 0)
			re = &p->re;
	if (!re)
		re = compile(c, pattern, err, errlen);
	pthread_mutex_unlock(&c->lock);
	return re;
}
