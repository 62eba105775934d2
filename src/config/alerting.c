/* SPDX-License-Identifier: MIT */
/* The alerting: map (Alertmanager, webhooks, thresholds) and probe_name. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/internal.h"

#define LABEL_VALUE_MAX 63

const char *webhook_format_name(enum webhook_format f)
{
	switch (f) {
	case WEBHOOK_SLACK: return "slack";
	case WEBHOOK_TEAMS: return "teams";
	case WEBHOOK_JSON: break;
	}
	return "json";
}

void cfg_alerting_defaults(struct alerting_settings *a)
{
	a->login_factor = 2;
	a->rtt_factor = 3;
	a->login_floor_ms = 250;
	a->rtt_floor_ms = 5;
	a->window_s = 3600;
	a->baseline_s = 7 * 86400;
	a->min_samples = 3;
	a->am_timeout_s = 10;
	a->retry_min_s = 30;
	a->retry_max_s = 1800;
	a->spool_max_age_s = 7 * 86400;
}

void cfg_alerting_free(struct alerting_settings *a)
{
	cfg_free_str_list(a->am_urls, a->nam_urls);
	for (size_t i = 0; i < a->nam_labels; i++) {
		free(a->am_labels[i].name);
		free(a->am_labels[i].value);
	}
	free(a->am_labels);
	for (size_t i = 0; i < a->nwebhooks; i++) {
		free(a->webhooks[i].url);
		free(a->webhooks[i].secret_file);
	}
	free(a->webhooks);
	cfg_maintenance_free(a);
}

/* A value of [A-Za-z0-9_.-], 1..LABEL_VALUE_MAX long. */
static int label_word(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > LABEL_VALUE_MAX)
		return 0;
	return strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
		      "0123456789_.-") == n;
}

void cfg_parse_probe_name(struct cfg_ctx *c, yaml_node_t *n, struct config *cfg)
{
	char *name = NULL;

	if (cfg_get_str(c, n, "'probe_name'", &name) < 0)
		return;
	if (!label_word(name)) {
		cfg_error(c, n, "'probe_name' must be 1 to %d characters of letters, "
			  "digits, '_', '.' and '-', got '%s'", LABEL_VALUE_MAX, name);
		free(name);
		return;
	}
	free(cfg->probe_name);
	cfg->probe_name = name;
}

/* http:// or https://, then a host. */
static void check_url(struct cfg_ctx *c, yaml_node_t *at, const char *what,
		      const char *url)
{
	const char *rest = !strncmp(url, "http://", 7) ? url + 7
		: !strncmp(url, "https://", 8) ? url + 8 : NULL;

	if (!rest)
		cfg_error(c, at, "%s must start with http:// or https://, got '%s'",
			  what, url);
	else if (!*rest || *rest == '/' || *rest == ':')
		cfg_error(c, at, "%s has no host: '%s'", what, url);
	else if (strpbrk(url, " \t\r\n"))
		cfg_error(c, at, "%s must not contain white space: '%s'", what, url);
}

/* A duration more than 0 and at most max seconds. */
static void positive(struct cfg_ctx *c, yaml_node_t *n, const char *what,
		     double max, double *out)
{
	cfg_get_duration(c, n, what, 0, CFG_ABOVE(0, max, "s"), out);
}

static const char *const reserved_labels[] = { "alertname", "site", "probe",
	"failed_step", "severity", NULL };

static void parse_labels(struct cfg_ctx *c, yaml_node_t *n, struct alerting_settings *a)
{
	yaml_node_pair_t *p;

	if (n->type != YAML_MAPPING_NODE) {
		cfg_error(c, n, "'labels' in alerting.alertmanager must be a map of "
			  "label names to values, e.g. {team: netops}");
		return;
	}
	a->am_labels = calloc((size_t)(n->data.mapping.pairs.top -
				       n->data.mapping.pairs.start) + 1,
			      sizeof(*a->am_labels));
	if (!a->am_labels) {
		c->oom = 1;
		return;
	}
	for (p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
		yaml_node_t *k = cfg_node(c, p->key), *v = cfg_node(c, p->value);
		const char *name = cfg_scalar(k), *value = cfg_scalar(v);
		size_t len = name ? strlen(name) : 0;
		int ok = len > 0 && !(name[0] >= '0' && name[0] <= '9') &&
			 strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
				"0123456789_") == len && strncmp(name, "__", 2) != 0;

		if (!ok) {
			cfg_error(c, k, "label name '%s' in alerting.alertmanager.labels "
				  "must match [a-zA-Z_][a-zA-Z0-9_]* (and not start with "
				  "__)", name ? name : "(not a scalar)");
			continue;
		}
		for (int i = 0; reserved_labels[i]; i++)
			if (!strcmp(name, reserved_labels[i]))
				ok = 0;
		if (!ok) {
			cfg_error(c, k, "label '%s' in alerting.alertmanager.labels is "
				  "set by epmon itself; choose another name", name);
			continue;
		}
		if (!value || !*value) {
			cfg_error(c, v, "label '%s' in alerting.alertmanager.labels needs "
				  "a non-empty scalar value", name);
			continue;
		}
		a->am_labels[a->nam_labels].name = cfg_strdup(c, name);
		a->am_labels[a->nam_labels].value = cfg_strdup(c, value);
		a->nam_labels++;
	}
}

static void parse_alertmanager(struct cfg_ctx *c, yaml_node_t *n, struct alerting_settings *a)
{
	static const char *const known[] = { "url", "labels", "timeout", NULL };
	yaml_node_t *keys[3], *vals[3];

	if (cfg_map(c, n, "alerting.alertmanager", known, keys, vals) < 0)
		return;
	if (!vals[0]) {
		cfg_error(c, n, "missing required key 'url' in alerting.alertmanager "
			  "(e.g. url: http://127.0.0.1:9093, or a list for a cluster)");
	} else if (cfg_get_str_list(c, vals[0], "'url' in alerting.alertmanager",
				    &a->am_urls, &a->nam_urls) == 0) {
		if (!a->nam_urls)
			cfg_error(c, vals[0], "'url' in alerting.alertmanager is empty; "
				  "list at least one");
		for (size_t i = 0; i < a->nam_urls; i++)
			check_url(c, vals[0], "'url' in alerting.alertmanager", a->am_urls[i]);
	}
	if (vals[1])
		parse_labels(c, vals[1], a);
	if (vals[2])
		positive(c, vals[2], "'timeout' in alerting.alertmanager", CFG_TIMEOUT_MAX_S,
			 &a->am_timeout_s);
}

static void parse_format(struct cfg_ctx *c, yaml_node_t *n, const char *where,
			 enum webhook_format *f)
{
	const char *s = cfg_scalar(n);

	for (int i = WEBHOOK_JSON; s && i <= WEBHOOK_TEAMS; i++) {
		if (!strcmp(s, webhook_format_name((enum webhook_format)i))) {
			*f = (enum webhook_format)i;
			return;
		}
	}
	cfg_error(c, n, "'format' in %s must be json, slack or teams, got '%s'",
		  where, s ? s : "a non-scalar");
}

static void parse_webhook(struct cfg_ctx *c, yaml_node_t *n, const char *where,
			  struct webhook_settings *w)
{
	static const char *const known[] = { "url", "format", "secret_file",
		"timeout", NULL };
	yaml_node_t *keys[4], *vals[4];
	char what[96];

	w->timeout_s = 10;
	if (cfg_map(c, n, where, known, keys, vals) < 0)
		return;
	cfg_what(what, sizeof(what), "url", where);
	if (!vals[0])
		cfg_error(c, n, "missing required key 'url' in %s", where);
	else if (cfg_get_str(c, vals[0], what, &w->url) == 0)
		check_url(c, vals[0], what, w->url);
	if (vals[1])
		parse_format(c, vals[1], where, &w->format);
	cfg_what(what, sizeof(what), "secret_file", where);
	if (vals[2] && cfg_get_str(c, vals[2], what, &w->secret_file) == 0)
		cfg_check_password_file(c, vals[2], where, w->secret_file);
	cfg_what(what, sizeof(what), "timeout", where);
	if (vals[3])
		positive(c, vals[3], what, CFG_TIMEOUT_MAX_S, &w->timeout_s);
}

static void parse_webhooks(struct cfg_ctx *c, yaml_node_t *n, struct alerting_settings *a)
{
	size_t count;

	if (n->type != YAML_SEQUENCE_NODE) {
		cfg_error(c, n, "'webhooks' in alerting must be a list of maps "
			  "(- url: https://...)");
		return;
	}
	count = (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
	a->webhooks = calloc(count + 1, sizeof(*a->webhooks));
	if (!a->webhooks) {
		c->oom = 1;
		return;
	}
	for (size_t i = 0; i < count; i++) {
		char where[64];
		snprintf(where, sizeof(where), "alerting.webhooks[%zu]", i + 1);
		parse_webhook(c, cfg_node(c, n->data.sequence.items.start[i]), where,
			      &a->webhooks[i]);
		a->nwebhooks++;
	}
}

/* The node of `key` in mapping `map`, or NULL. */
static yaml_node_t *find_key(struct cfg_ctx *c, yaml_node_t *map, const char *key)
{
	if (!map || map->type != YAML_MAPPING_NODE)
		return NULL;
	for (yaml_node_pair_t *p = map->data.mapping.pairs.start;
	     p < map->data.mapping.pairs.top; p++) {
		const char *k = cfg_scalar(cfg_node(c, p->key));
		if (k && !strcmp(k, key))
			return cfg_node(c, p->key);
	}
	return NULL;
}

/* A factor: 0 (off) or more than 1. */
static void factor(struct cfg_ctx *c, yaml_node_t *n, const char *what, double *out)
{
	double v;

	if (cfg_get_num(c, n, what, CFG_FROM(0, CFG_FACTOR_MAX, ""), &v) < 0)
		return;
	if (v != 0 && v <= 1)
		cfg_error(c, n, "%s must be more than 1 (or 0: off), got %s", what,
			  cfg_scalar(n));
	else
		*out = v;
}

static void parse_degraded(struct cfg_ctx *c, yaml_node_t *n, struct alerting_settings *a)
{
	static const char *const known[] = { "login_factor", "rtt_factor",
		"login_floor_ms", "rtt_floor_ms", "window", "baseline", "min_samples", NULL };
	enum { LF, RF, LFL, RFL, WIN, BASE, MIN, N };
	yaml_node_t *keys[N], *vals[N];

	if (cfg_map(c, n, "alerting.degraded", known, keys, vals) < 0)
		return;
	a->degraded = 1;
	if (vals[LF])
		factor(c, vals[LF], "'login_factor' in alerting.degraded", &a->login_factor);
	if (vals[RF])
		factor(c, vals[RF], "'rtt_factor' in alerting.degraded", &a->rtt_factor);
	if (vals[LFL])
		cfg_get_num(c, vals[LFL], "'login_floor_ms' in alerting.degraded",
			    CFG_FROM(0, CFG_FLOOR_MAX_MS, "ms"), &a->login_floor_ms);
	if (vals[RFL])
		cfg_get_num(c, vals[RFL], "'rtt_floor_ms' in alerting.degraded",
			    CFG_FROM(0, CFG_FLOOR_MAX_MS, "ms"), &a->rtt_floor_ms);
	if (vals[WIN])
		positive(c, vals[WIN], "'window' in alerting.degraded", CFG_PERIOD_MAX_S,
			 &a->window_s);
	if (vals[BASE])
		positive(c, vals[BASE], "'baseline' in alerting.degraded", CFG_PERIOD_MAX_S,
			 &a->baseline_s);
	if (vals[MIN])
		cfg_get_int(c, vals[MIN], "'min_samples' in alerting.degraded", 1,
			    CFG_COUNT_MAX, &a->min_samples);
	if (a->baseline_s <= a->window_s)
		cfg_error(c, vals[BASE] ? vals[BASE] : n, "alerting.degraded: baseline "
			  "(%g s) must be longer than window (%g s)", a->baseline_s,
			  a->window_s);
	if (a->login_factor == 0 && a->rtt_factor == 0)
		cfg_warn(c, n, "alerting.degraded: login_factor and rtt_factor are both "
			 "0: nothing is judged");
}

enum { K_FAILURE, K_SUCCESS, K_AM, K_HOOKS, K_RETRY_MIN, K_RETRY_MAX,
       K_MAX_AGE, K_MAINTENANCE, K_DEGRADED, K_COUNT };

void cfg_parse_alerting(struct cfg_ctx *c, yaml_node_t *n, yaml_node_t *logging,
			struct config *cfg)
{
	static const char *const known[] = { "failure_threshold",
		"success_threshold", "alertmanager", "webhooks", "retry_min",
		"retry_max", "spool_max_age", "maintenance", "degraded", NULL };
	struct alerting_settings *a = &cfg->alerting;
	yaml_node_t *keys[K_COUNT], *vals[K_COUNT], *dup;

	if (cfg_map(c, n, "alerting", known, keys, vals) < 0)
		return;
	if (vals[K_FAILURE]) {
		if ((dup = find_key(c, logging, "failure_threshold")))
			cfg_error(c, vals[K_FAILURE], "failure_threshold is set in "
				  "alerting and in logging (line %zu); keep one",
				  dup->start_mark.line + 1);
		cfg_get_int(c, vals[K_FAILURE], "'failure_threshold' in alerting", 1,
			    CFG_COUNT_MAX, &cfg->logging.alert.failure_threshold);
	}
	if (vals[K_SUCCESS])
		cfg_get_int(c, vals[K_SUCCESS], "'success_threshold' in alerting", 1,
			    CFG_COUNT_MAX, &cfg->logging.alert.success_threshold);
	if (vals[K_AM])
		parse_alertmanager(c, vals[K_AM], a);
	if (vals[K_HOOKS])
		parse_webhooks(c, vals[K_HOOKS], a);
	if (vals[K_DEGRADED])
		parse_degraded(c, vals[K_DEGRADED], a);
	if (vals[K_RETRY_MIN])
		positive(c, vals[K_RETRY_MIN], "'retry_min' in alerting", CFG_RETRY_MAX_S,
			 &a->retry_min_s);
	if (vals[K_RETRY_MAX])
		positive(c, vals[K_RETRY_MAX], "'retry_max' in alerting", CFG_RETRY_MAX_S,
			 &a->retry_max_s);
	if (vals[K_MAX_AGE])
		positive(c, vals[K_MAX_AGE], "'spool_max_age' in alerting", CFG_PERIOD_MAX_S,
			 &a->spool_max_age_s);
	if (a->retry_max_s < a->retry_min_s)
		cfg_error(c, vals[K_RETRY_MAX] ? vals[K_RETRY_MAX] : vals[K_RETRY_MIN],
			  "alerting: retry_max (%g s) must not be less than retry_min "
			  "(%g s)", a->retry_max_s, a->retry_min_s);
}

yaml_node_t *cfg_alerting_maintenance(struct cfg_ctx *c, yaml_node_t *n)
{
	yaml_node_t *v = NULL;

	if (!n || n->type != YAML_MAPPING_NODE)
		return NULL;
	for (yaml_node_pair_t *p = n->data.mapping.pairs.start;
	     p < n->data.mapping.pairs.top; p++) {
		const char *k = cfg_scalar(cfg_node(c, p->key));
		if (k && !strcmp(k, "maintenance"))
			v = cfg_node(c, p->value);
	}
	return v;
}
