/* SPDX-License-Identifier: MIT */
/* The vpn: map of a site: which client, how to log in, how to tear down. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/internal.h"

enum {
	K_CLIENT, K_GATEWAY, K_USERNAME, K_REALM, K_PASSWORD_FILE, K_PASSWORD_ENV,
	K_PROTOCOL, K_CA_FILE, K_SERVERCERT, K_CONFIG_FILE, K_INTERFACE,
	K_COMMAND, K_ARGS, K_EXPECT, K_CONNECTED, K_FAILED, K_STOP_COMMAND,
	K_PROCESS_NAMES, K_LOGIN_TIMEOUT, K_TEARDOWN_TIMEOUT, K_SCRIPT,
	K_ENDPOINT, K_PRIVATE_KEY_FILE, K_PEER_PUBLIC_KEY, K_PRESHARED_KEY_FILE,
	K_ADDRESS, K_ALLOWED_IPS, K_MTU,
	K_SWANCTL_FILE, K_CONNECTION, K_CHILD, K_REMOTE_ID, K_PHASES, K_COUNT
};

static const char *const vpn_keys[] = {
	"client", "gateway", "username", "realm", "password_file",
	"password_env", "protocol", "ca_file", "servercert", "config_file",
	"interface", "command", "args", "expect", "connected", "failed",
	"stop_command", "process_names", "login_timeout", "teardown_timeout",
	"script", "endpoint", "private_key_file", "peer_public_key",
	"preshared_key_file", "address", "allowed_ips", "mtu",
	"swanctl_file", "connection", "child", "remote_id", "phases", NULL
};

static const char *const protocols[] = { "anyconnect", "gp", "pulse", "nc",
	"fortinet", "f5", "array", NULL };

#define IFNAME_MAX 15 /* IFNAMSIZ - 1, and TASK_COMM_LEN - 1 */

void cfg_vpn_free(struct vpn_settings *v)
{
	char **strs[] = { &v->gateway, &v->username, &v->realm,
		&v->password_file, &v->password_env, &v->protocol, &v->ca_file,
		&v->servercert, &v->config_file, &v->interface, &v->command,
		&v->connected, &v->stop_command, &v->script, &v->endpoint,
		&v->private_key_file, &v->peer_public_key, &v->preshared_key_file,
		&v->swanctl_file, &v->connection, &v->child, &v->remote_id };

	for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++)
		free(*strs[i]);
	for (size_t i = 0; i < sizeof(v->phase_marks) / sizeof(v->phase_marks[0]); i++)
		free(v->phase_marks[i]);
	cfg_free_str_list(v->args, v->nargs);
	cfg_free_str_list(v->failed, v->nfailed);
	cfg_free_str_list(v->process_names, v->nprocess_names);
	cfg_free_str_list(v->addresses, v->naddresses);
	cfg_free_str_list(v->allowed_ips, v->nallowed_ips);
	for (size_t i = 0; i < v->nexpect; i++) {
		free(v->expect[i].expect);
		free(v->expect[i].send);
	}
	free(v->expect);
	memset(v, 0, sizeof(*v));
}

static char **string_field(struct vpn_settings *v, int key)
{
	switch (key) {
	case K_GATEWAY: return &v->gateway;
	case K_USERNAME: return &v->username;
	case K_REALM: return &v->realm;
	case K_PASSWORD_FILE: return &v->password_file;
	case K_PASSWORD_ENV: return &v->password_env;
	case K_PROTOCOL: return &v->protocol;
	case K_CA_FILE: return &v->ca_file;
	case K_SERVERCERT: return &v->servercert;
	case K_CONFIG_FILE: return &v->config_file;
	case K_INTERFACE: return &v->interface;
	case K_SCRIPT: return &v->script;
	case K_COMMAND: return &v->command;
	case K_CONNECTED: return &v->connected;
	case K_STOP_COMMAND: return &v->stop_command;
	case K_ENDPOINT: return &v->endpoint;
	case K_PRIVATE_KEY_FILE: return &v->private_key_file;
	case K_PEER_PUBLIC_KEY: return &v->peer_public_key;
	case K_PRESHARED_KEY_FILE: return &v->preshared_key_file;
	case K_SWANCTL_FILE: return &v->swanctl_file;
	case K_CONNECTION: return &v->connection;
	case K_CHILD: return &v->child;
	case K_REMOTE_ID: return &v->remote_id;
	}
	return NULL;
}

static int parse_client(struct cfg_ctx *c, yaml_node_t *n, const char *where,
			const char *label, enum vpn_client *out)
{
	char what[160];
	char *name = NULL;
	int rc = -1;

	cfg_what(what, sizeof(what), "client", where);
	if (cfg_get_str(c, n, what, &name) < 0)
		return -1;
	for (enum vpn_client k = VPN_STARTCT; k <= VPN_CUSTOM; k++)
		if (!strcmp(name, vpn_client_name(k))) {
			*out = k;
			rc = 0;
		}
	if (rc < 0)
		cfg_error(c, n, "%s: unknown VPN client '%s' (known: startct, "
			  "openconnect, openvpn, wireguard, ipsec, custom)", label, name);
	free(name);
	return rc;
}

/* expect: [{expect: ERE, send: text, timeout: seconds}, ...] */
static void parse_expect(struct cfg_ctx *c, yaml_node_t *n, const char *where,
			 const char *label, struct vpn_settings *v)
{
	static const char *const known[] = { "expect", "send", "timeout", NULL };
	yaml_node_item_t *items;
	size_t count;

	if (n->type != YAML_SEQUENCE_NODE) {
		cfg_error(c, n, "'expect' in %s must be a list of steps like "
			  "{expect: \"[Pp]assword:\", send: \"{password}\"}", where);
		return;
	}
	items = n->data.sequence.items.start;
	count = (size_t)(n->data.sequence.items.top - items);
	v->expect = calloc(count ? count : 1, sizeof(*v->expect));
	if (!v->expect) {
		c->oom = 1;
		return;
	}
	v->nexpect = count;
	v->has_expect = 1;
	for (size_t i = 0; i < count; i++) {
		yaml_node_t *step = cfg_node(c, items[i]), *keys[3], *vals[3];
		struct expect_step *e = &v->expect[i];
		char swhere[160], what[200];

		snprintf(swhere, sizeof(swhere), "expect step %zu of %s", i + 1,
			 label);
		if (cfg_map(c, step, swhere, known, keys, vals) < 0)
			continue;
		if (!vals[0])
			cfg_error(c, step, "missing required key 'expect' in %s",
				  swhere);
		cfg_what(what, sizeof(what), "expect", swhere);
		if (vals[0] && cfg_get_str(c, vals[0], what, &e->expect) == 0)
			cfg_check_regex(c, vals[0], label, "expect", e->expect);
		if (vals[1]) {
			cfg_what(what, sizeof(what), "send", swhere);
			cfg_get_str(c, vals[1], what, &e->send);
		}
		if (vals[2]) {
			cfg_what(what, sizeof(what), "timeout", swhere);
			/* 0: only login_timeout applies */
			cfg_get_num(c, vals[2], what, CFG_FROM(0, CFG_TIMEOUT_MAX_S, "s"),
				    &e->timeout_s);
		}
	}
}

/* phases: {connect: ERE, tls: ERE, auth: ERE}: the output lines that end
 * those login phases; "" for a phase the client does not show. */
static void parse_phases(struct cfg_ctx *c, yaml_node_t *n, const char *where,
			 const char *label, struct vpn_settings *v)
{
	static const char *const known[] = { "connect", "tls", "auth", NULL };
	yaml_node_t *keys[3], *vals[3];
	char pwhere[160], what[200], key[24];

	snprintf(pwhere, sizeof(pwhere), "phases in %s", where);
	if (cfg_map(c, n, pwhere, known, keys, vals) < 0)
		return;
	for (int i = 0; i < 3; i++) {
		if (!vals[i])
			continue;
		cfg_what(what, sizeof(what), known[i], pwhere);
		snprintf(key, sizeof(key), "phases.%s", known[i]);
		if (cfg_get_str(c, vals[i], what, &v->phase_marks[i]) == 0 &&
		    *v->phase_marks[i])
			cfg_check_regex(c, vals[i], label, key, v->phase_marks[i]);
	}
}

static void parse_timeout(struct cfg_ctx *c, yaml_node_t *n, const char *what,
			  double *out)
{
	cfg_get_num(c, n, what, CFG_ABOVE(0, CFG_TIMEOUT_MAX_S, "s"), out);
}

/* Item i of a list, or the node itself when a single string stood for it. */
static yaml_node_t *item_at(struct cfg_ctx *c, yaml_node_t *n, size_t i)
{
	if (n->type != YAML_SEQUENCE_NODE)
		return n;
	return cfg_node(c, n->data.sequence.items.start[i]);
}

static int short_name_ok(struct cfg_ctx *c, yaml_node_t *n, const char *label,
			 const char *key, const char *s)
{
	if (*s && strlen(s) <= IFNAME_MAX && !strpbrk(s, "/ \t\n"))
		return 1;
	cfg_error(c, n, "%s: %s '%s' must be 1 to %d characters without '/' "
		  "or spaces", label, key, s, IFNAME_MAX);
	return 0;
}

/* Values read from the map; client-dependent rules are checked after. */
static void parse_values(struct cfg_ctx *c, yaml_node_t **vals,
			 const char *where, const char *label,
			 struct vpn_settings *v)
{
	char what[200];

	for (int k = K_GATEWAY; k < K_COUNT; k++) {
		char **field = string_field(v, k);
		if (!vals[k])
			continue;
		cfg_what(what, sizeof(what), vpn_keys[k], where);
		if (field) {
			cfg_get_str(c, vals[k], what, field);
		} else if (k == K_ARGS) {
			if (vals[k]->type != YAML_SEQUENCE_NODE)
				cfg_error(c, vals[k], "%s must be a list of strings, "
					  "e.g. [\"-u\", \"{username}\"]", what);
			else if (cfg_get_str_list(c, vals[k], what, &v->args,
						  &v->nargs) == 0)
				v->has_args = 1;
		} else if (k == K_EXPECT) {
			parse_expect(c, vals[k], where, label, v);
		} else if (k == K_FAILED) {
			if (cfg_get_str_list(c, vals[k], what, &v->failed,
					     &v->nfailed) == 0)
				v->has_failed = 1;
			for (size_t i = 0; v->has_failed && i < v->nfailed; i++)
				cfg_check_regex(c, item_at(c, vals[k], i), label,
						"failed", v->failed[i]);
		} else if (k == K_PROCESS_NAMES) {
			if (cfg_get_str_list(c, vals[k], what, &v->process_names,
					     &v->nprocess_names) == 0)
				v->has_process_names = 1;
			for (size_t i = 0; i < v->nprocess_names; i++)
				short_name_ok(c, item_at(c, vals[k], i), label,
					      "process name", v->process_names[i]);
		} else if (k == K_LOGIN_TIMEOUT) {
			parse_timeout(c, vals[k], what, &v->login_timeout_s);
		} else if (k == K_TEARDOWN_TIMEOUT) {
			parse_timeout(c, vals[k], what, &v->teardown_timeout_s);
		} else if (k == K_ADDRESS) {
			cfg_get_str_list(c, vals[k], what, &v->addresses, &v->naddresses);
		} else if (k == K_ALLOWED_IPS) {
			cfg_get_str_list(c, vals[k], what, &v->allowed_ips, &v->nallowed_ips);
		} else if (k == K_MTU) {
			cfg_get_int(c, vals[k], what, 576, 65535, &v->mtu);
		} else if (k == K_PHASES) {
			parse_phases(c, vals[k], where, label, v);
		}
	}
	if (v->connected)
		cfg_check_regex(c, vals[K_CONNECTED], label, "connected",
				v->connected);
	if (v->interface)
		short_name_ok(c, vals[K_INTERFACE], label, "interface",
			      v->interface);
}

static void check_protocol(struct cfg_ctx *c, yaml_node_t **vals,
			   const char *label, struct vpn_settings *v)
{
	if (v->client != VPN_OPENCONNECT) {
		if (v->protocol && v->client != VPN_CUSTOM)
			cfg_warn(c, vals[K_PROTOCOL], "%s: protocol is only used "
				 "with client openconnect; ignored", label);
		return;
	}
	if (!v->protocol) {
		v->protocol = cfg_strdup(c, "anyconnect");
		return;
	}
	for (size_t i = 0; protocols[i]; i++)
		if (!strcmp(v->protocol, protocols[i]))
			return;
	cfg_error(c, vals[K_PROTOCOL], "%s: unknown openconnect protocol '%s' "
		  "(known: anyconnect, gp, pulse, nc, fortinet, f5, array)",
		  label, v->protocol);
}

/* Which keys each client needs, and the password source rule. */
static void check_client_needs(struct cfg_ctx *c, yaml_node_t *n,
			       yaml_node_t **vals, const char *where,
			       const char *label, const struct vpn_settings *v)
{
	int need_login = v->client == VPN_STARTCT || v->client == VPN_OPENCONNECT;
	int nsources = (vals[K_PASSWORD_FILE] != NULL) +
		       (vals[K_PASSWORD_ENV] != NULL);
	const char *cname = vpn_client_name(v->client);

	if (need_login && !vals[K_GATEWAY])
		cfg_error(c, n, "missing required key 'gateway' in %s (client %s "
			  "needs it)", where, cname);
	if (need_login && !vals[K_USERNAME])
		cfg_error(c, n, "missing required key 'username' in %s (client %s "
			  "needs it)", where, cname);
	if (v->client == VPN_OPENVPN && !vals[K_CONFIG_FILE])
		cfg_error(c, n, "missing required key 'config_file' in %s (client "
			  "openvpn needs it)", where);
	if (v->client == VPN_CUSTOM && !vals[K_COMMAND])
		cfg_error(c, n, "missing required key 'command' in %s (client "
			  "custom needs it)", where);
	if (nsources > 1)
		cfg_error(c, vals[K_PASSWORD_ENV], "%s: set only one of "
			  "password_file and password_env", label);
	else if (need_login && nsources == 0)
		cfg_error(c, n, "missing required key 'password_file' or "
			  "'password_env' in %s (client %s needs a password)",
			  where, cname);
}

void cfg_parse_vpn(struct cfg_ctx *c, yaml_node_t *n, const char *label,
		   struct vpn_settings *v)
{
	yaml_node_t *keys[K_COUNT], *vals[K_COUNT];
	char where[128];

	v->login_timeout_s = 30;
	v->teardown_timeout_s = 10;
	snprintf(where, sizeof(where), "vpn of %s", label);
	if (cfg_map(c, n, where, vpn_keys, keys, vals) < 0)
		return;
	if (!vals[K_CLIENT])
		cfg_error(c, n, "missing required key 'client' in %s (startct, "
			  "openconnect, openvpn, wireguard, ipsec or custom)", where);
	else
		parse_client(c, vals[K_CLIENT], where, label, &v->client);
	/* Without a known client, the other keys still get checked. */
	parse_values(c, vals, where, label, v);
	if (v->client == VPN_NONE)
		return;
	check_client_needs(c, n, vals, where, label, v);
	check_protocol(c, vals, label, v);
	cfg_check_wireguard(c, n, vals + K_ENDPOINT, where, label, v);
	{
		yaml_node_t *shared[] = { vals[K_GATEWAY], vals[K_USERNAME],
			vals[K_CA_FILE], vals[K_PASSWORD_FILE], vals[K_PASSWORD_ENV] };
		cfg_check_ipsec(c, n, vals + K_SWANCTL_FILE, shared, where, label, v);
	}
	if (v->password_file)
		cfg_check_password_file(c, vals[K_PASSWORD_FILE], label,
					v->password_file);
	if (v->password_env && !getenv(v->password_env))
		cfg_warn(c, vals[K_PASSWORD_ENV], "%s: environment variable %s "
			 "is not set; set it in epmon's environment", label,
			 v->password_env);
	if (v->client != VPN_CUSTOM || v->command)
		cfg_check_client_binary(c, vals[K_COMMAND] ? vals[K_COMMAND]
					: vals[K_CLIENT], label, v);
}
