/* SPDX-License-Identifier: MIT */
/* The logging: map (SMTP and alert defaults) and a site's alert: map. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/internal.h"

const char *smtp_security_name(enum smtp_security s)
{
	switch (s) {
	case SMTP_SECURITY_STARTTLS: return "starttls";
	case SMTP_SECURITY_TLS: return "tls";
	case SMTP_SECURITY_NONE: break;
	}
	return "none";
}

void cfg_smtp_defaults(struct smtp_settings *l)
{
	l->smtp_port = 25;
	l->connect_timeout_s = 10;
	l->timeout_s = 30;
	l->spool_max_age_s = 7 * 86400;
	l->retry_min_s = 60;
	l->retry_max_s = 1800;
	l->alert.failure_threshold = 2;
	l->alert.success_threshold = 1;
	l->alert.reminder_interval_s = 0;
	l->alert.notify_recovery = 1;
}

void config_smtp_free(struct smtp_settings *l)
{
	free(l->smtp_server);
	free(l->sender);
	cfg_free_str_list(l->recipients, l->nrecipients);
	free(l->username);
	free(l->password_file);
	free(l->password_env);
	free(l->ca_file);
	memset(l, 0, sizeof(*l));
}

static int dup_str(char **dst, const char *src)
{
	*dst = src ? strdup(src) : NULL;
	return src && !*dst ? -1 : 0;
}

int config_smtp_copy(struct smtp_settings *dst, const struct smtp_settings *src)
{
	int bad = 0;

	*dst = *src;
	dst->smtp_server = dst->sender = dst->username = NULL;
	dst->password_file = dst->password_env = dst->ca_file = NULL;
	dst->recipients = NULL;
	dst->nrecipients = 0;
	bad |= dup_str(&dst->smtp_server, src->smtp_server);
	bad |= dup_str(&dst->sender, src->sender);
	bad |= dup_str(&dst->username, src->username);
	bad |= dup_str(&dst->password_file, src->password_file);
	bad |= dup_str(&dst->password_env, src->password_env);
	bad |= dup_str(&dst->ca_file, src->ca_file);
	if (src->nrecipients) {
		dst->recipients = calloc(src->nrecipients, sizeof(char *));
		bad |= !dst->recipients;
		for (size_t i = 0; dst->recipients && i < src->nrecipients; i++) {
			bad |= dup_str(&dst->recipients[i], src->recipients[i]);
			dst->nrecipients++;
		}
	}
	if (bad)
		config_smtp_free(dst);
	return bad ? -1 : 0;
}

enum { A_THRESHOLD, A_REMINDER, A_RECOVERY, A_COUNT };

/* The three alert keys at vals[0..2] (in the order of enum above). */
static void parse_alert_values(struct cfg_ctx *c, yaml_node_t **vals,
			       const char *where, struct alert_settings *a)
{
	char what[160];

	if (vals[A_THRESHOLD]) {
		cfg_what(what, sizeof(what), "failure_threshold", where);
		cfg_get_int(c, vals[A_THRESHOLD], what, 1, CFG_COUNT_MAX,
			    &a->failure_threshold);
	}
	if (vals[A_REMINDER]) {
		cfg_what(what, sizeof(what), "reminder_interval", where);
		cfg_get_duration(c, vals[A_REMINDER], what, 1,
				 CFG_FROM(0, CFG_PERIOD_MAX_S, "s"), &a->reminder_interval_s);
	}
	if (vals[A_RECOVERY]) {
		cfg_what(what, sizeof(what), "notify_recovery", where);
		cfg_get_bool(c, vals[A_RECOVERY], what, &a->notify_recovery);
	}
}

void cfg_parse_alert(struct cfg_ctx *c, yaml_node_t *n, const char *where,
		     struct alert_settings *a)
{
	static const char *const known[] = { "failure_threshold",
		"reminder_interval", "notify_recovery", "success_threshold", NULL };
	yaml_node_t *keys[A_COUNT + 1], *vals[A_COUNT + 1];
	char what[160];

	if (cfg_map(c, n, where, known, keys, vals) < 0)
		return;
	parse_alert_values(c, vals, where, a);
	if (vals[A_COUNT]) {
		cfg_what(what, sizeof(what), "success_threshold", where);
		cfg_get_int(c, vals[A_COUNT], what, 1, CFG_COUNT_MAX, &a->success_threshold);
	}
}

enum {
	L_SERVER, L_PORT, L_SENDER, L_RECIPIENTS, L_SECURITY, L_USERNAME,
	L_PASSWORD_FILE, L_PASSWORD_ENV, L_CA_FILE, L_CONNECT_TIMEOUT,
	L_TIMEOUT, L_SPOOL_MAX_AGE, L_RETRY_MIN, L_RETRY_MAX,
	L_THRESHOLD, L_REMINDER, L_RECOVERY, L_COUNT
};

static const char *const logging_keys[] = { "smtp_server", "smtp_port",
	"sender", "recipients", "security", "username", "password_file",
	"password_env", "ca_file", "connect_timeout", "timeout",
	"spool_max_age", "retry_min", "retry_max", "failure_threshold",
	"reminder_interval", "notify_recovery", NULL };

static void parse_security(struct cfg_ctx *c, yaml_node_t *n,
			   struct smtp_settings *l)
{
	static const char *const names[] = { "none", "starttls", "tls" };
	const char *s = cfg_scalar(n);

	for (int i = 0; s && i < 3; i++) {
		if (!strcmp(s, names[i])) {
			l->security = (enum smtp_security)i;
			return;
		}
	}
	cfg_error(c, n, "'security' in logging must be none, starttls or tls, "
		  "got '%s'", s ? s : "a non-scalar");
}

/* A duration of logging, more than 0 and at most max seconds. */
static void positive(struct cfg_ctx *c, yaml_node_t *n, const char *key,
		     double max, double *out)
{
	char what[96];

	cfg_what(what, sizeof(what), key, "logging");
	cfg_get_duration(c, n, what, 0, CFG_ABOVE(0, max, "s"), out);
}

/* AUTH needs a username and exactly one password source. */
static void check_auth(struct cfg_ctx *c, yaml_node_t *n, yaml_node_t **vals,
		       const struct smtp_settings *l)
{
	int nsources = (vals[L_PASSWORD_FILE] != NULL) +
		       (vals[L_PASSWORD_ENV] != NULL);

	if (nsources > 1)
		cfg_error(c, vals[L_PASSWORD_ENV], "logging: set only one of "
			  "password_file and password_env");
	else if (vals[L_USERNAME] && nsources == 0)
		cfg_error(c, n, "missing required key 'password_file' or "
			  "'password_env' in logging (needed with username)");
	else if (!vals[L_USERNAME] && nsources == 1)
		cfg_error(c, vals[L_PASSWORD_FILE] ? vals[L_PASSWORD_FILE]
			  : vals[L_PASSWORD_ENV], "logging: a password needs "
			  "'username' too (SMTP AUTH)");
	if (l->password_file)
		cfg_check_password_file(c, vals[L_PASSWORD_FILE], "logging",
					l->password_file);
	if (l->password_env && !getenv(l->password_env))
		cfg_warn(c, vals[L_PASSWORD_ENV], "logging: environment variable "
			 "%s is not set; set it in epmon's environment",
			 l->password_env);
	if (l->username && l->security == SMTP_SECURITY_NONE)
		cfg_warn(c, vals[L_USERNAME], "logging: username with security "
			 "none: the SMTP password would cross the network in clear "
			 "text; use starttls or tls");
	if (l->ca_file && access(l->ca_file, R_OK) < 0)
		cfg_error(c, vals[L_CA_FILE], "logging: cannot read ca_file %s",
			  l->ca_file);
}

static void parse_strings(struct cfg_ctx *c, yaml_node_t **vals,
			  struct smtp_settings *l)
{
	char **dst[L_COUNT] = { 0 };
	char what[96];

	dst[L_SERVER] = &l->smtp_server;
	dst[L_SENDER] = &l->sender;
	dst[L_USERNAME] = &l->username;
	dst[L_PASSWORD_FILE] = &l->password_file;
	dst[L_PASSWORD_ENV] = &l->password_env;
	dst[L_CA_FILE] = &l->ca_file;
	for (int i = 0; i < L_COUNT; i++) {
		if (!dst[i] || !vals[i])
			continue;
		cfg_what(what, sizeof(what), logging_keys[i], "logging");
		cfg_get_str(c, vals[i], what, dst[i]);
	}
}

void cfg_parse_logging(struct cfg_ctx *c, yaml_node_t *n, struct smtp_settings *l)
{
	yaml_node_t *keys[L_COUNT], *vals[L_COUNT];
	char what[96];

	if (cfg_map(c, n, "logging", logging_keys, keys, vals) < 0)
		return;
	for (int i = L_SERVER; i <= L_RECIPIENTS; i++)
		if (!vals[i] && i != L_PORT) /* smtp_port has a default */
			cfg_error(c, n, "missing required key '%s' in logging",
				  logging_keys[i]);
	parse_strings(c, vals, l);
	if (vals[L_PORT])
		cfg_get_int(c, vals[L_PORT], "'smtp_port' in logging", 1, 65535,
			    &l->smtp_port);
	if (vals[L_RECIPIENTS]) {
		cfg_what(what, sizeof(what), "recipients", "logging");
		if (cfg_get_str_list(c, vals[L_RECIPIENTS], what, &l->recipients,
				     &l->nrecipients) == 0 && !l->nrecipients)
			cfg_error(c, vals[L_RECIPIENTS], "%s is empty; list at "
				  "least one address", what);
	}
	/* The usual ports say which security they speak. */
	if (vals[L_SECURITY])
		parse_security(c, vals[L_SECURITY], l);
	else if (l->smtp_port == 465)
		l->security = SMTP_SECURITY_TLS;
	else if (l->smtp_port == 587)
		l->security = SMTP_SECURITY_STARTTLS;
	else
		l->security = SMTP_SECURITY_NONE;
	check_auth(c, n, vals, l);
	if (vals[L_CONNECT_TIMEOUT])
		positive(c, vals[L_CONNECT_TIMEOUT], "connect_timeout",
			 CFG_TIMEOUT_MAX_S, &l->connect_timeout_s);
	if (vals[L_TIMEOUT])
		positive(c, vals[L_TIMEOUT], "timeout", CFG_TIMEOUT_MAX_S, &l->timeout_s);
	if (vals[L_SPOOL_MAX_AGE])
		positive(c, vals[L_SPOOL_MAX_AGE], "spool_max_age", CFG_PERIOD_MAX_S,
			 &l->spool_max_age_s);
	if (vals[L_RETRY_MIN])
		positive(c, vals[L_RETRY_MIN], "retry_min", CFG_RETRY_MAX_S,
			 &l->retry_min_s);
	if (vals[L_RETRY_MAX])
		positive(c, vals[L_RETRY_MAX], "retry_max", CFG_RETRY_MAX_S,
			 &l->retry_max_s);
	if (l->retry_max_s < l->retry_min_s)
		cfg_error(c, vals[L_RETRY_MAX] ? vals[L_RETRY_MAX] : vals[L_RETRY_MIN],
			  "logging: retry_max (%g s) must not be less than "
			  "retry_min (%g s)", l->retry_max_s, l->retry_min_s);
	parse_alert_values(c, vals + L_THRESHOLD, "logging", &l->alert);
}
