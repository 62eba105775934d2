/* SPDX-License-Identifier: MIT */
/* The keys of client ipsec: a swanctl connection of the user's, or the
 * remote-access case inline (gateway, EAP user and password, CA, identity). */
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config/internal.h"

enum { I_SWANCTL_FILE, I_CONNECTION, I_CHILD, I_REMOTE_ID, I_COUNT };
enum { S_GATEWAY, S_USERNAME, S_CA_FILE, S_PASSWORD_FILE, S_PASSWORD_ENV };

static const char *const ipsec_keys[] = { "swanctl_file", "connection", "child",
	"remote_id" };

/* swanctl names: letters, digits, '-', '_', '.' (they go into swanctl.conf
 * and swanctl's arguments) */
static int good_name(const char *s)
{
	return *s && strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
			    "0123456789-_.") == strlen(s);
}

/* The swanctl file holds secrets: readable by its owner only. */
static void check_swanctl_file(struct cfg_ctx *c, yaml_node_t *at, const char *label,
			       const char *path)
{
	struct stat st;

	if (stat(path, &st) < 0)
		cfg_error(c, at, "%s: swanctl_file %s: %s", label, path, strerror(errno));
	else if (!S_ISREG(st.st_mode))
		cfg_error(c, at, "%s: swanctl_file %s is not a regular file", label, path);
	else if (st.st_mode & 077)
		cfg_error(c, at, "%s: swanctl_file %s is mode %04o; it holds secrets: "
			  "chmod 600 it", label, path, (unsigned)(st.st_mode & 07777));
}

/* Inline: `value` must be one word swanctl.conf takes unquoted. */
static void check_word(struct cfg_ctx *c, yaml_node_t *at, const char *label,
		       const char *key, const char *value)
{
	if (value && (!*value || strpbrk(value, " \t\r\n\"{}=#\\")))
		cfg_error(c, at, "%s: %s '%s' must be one word without spaces, quotes, "
			  "braces, '=' or '#'", label, key, value);
}

static void check_inline(struct cfg_ctx *c, yaml_node_t *map, yaml_node_t **vals,
			 yaml_node_t *const *shared, const char *where, const char *label,
			 const struct vpn_settings *v)
{
	static const char *const need[] = { "gateway", "username", "ca_file" };
	unsigned char buf[16];

	for (int k = 0; k < 3; k++)
		if (!shared[k])
			cfg_error(c, map, "missing required key '%s' in %s (client ipsec "
				  "needs it, or swanctl_file and connection)", need[k], where);
	if (!shared[S_PASSWORD_FILE] && !shared[S_PASSWORD_ENV])
		cfg_error(c, map, "missing required key 'password_file' or 'password_env' "
			  "in %s (client ipsec logs in with EAP-MSCHAPv2)", where);
	for (int k = I_CONNECTION; k <= I_CHILD; k++)
		if (vals[k])
			cfg_error(c, vals[k], "%s: %s is only used with swanctl_file", label,
				  ipsec_keys[k]);
	if (v->gateway && inet_pton(AF_INET, v->gateway, buf) != 1 &&
	    inet_pton(AF_INET6, v->gateway, buf) != 1)
		cfg_error(c, shared[S_GATEWAY], "%s: gateway '%s' is not a numeric IP "
			  "address (client ipsec)", label, v->gateway);
	check_word(c, shared[S_USERNAME], label, "username", v->username);
	check_word(c, vals[I_REMOTE_ID], label, "remote_id", v->remote_id);
	check_word(c, shared[S_CA_FILE], label, "ca_file", v->ca_file);
	if (v->ca_file && access(v->ca_file, R_OK) < 0)
		cfg_error(c, shared[S_CA_FILE], "%s: ca_file %s: %s", label, v->ca_file,
			  strerror(errno));
}

void cfg_check_ipsec(struct cfg_ctx *c, yaml_node_t *map, yaml_node_t **vals,
		     yaml_node_t *const *shared, const char *where, const char *label,
		     struct vpn_settings *v)
{
	if (v->client != VPN_IPSEC) {
		for (int k = 0; k < I_COUNT; k++)
			if (vals[k])
				cfg_warn(c, vals[k], "%s: %s is only used with client ipsec; "
					 "ignored", label, ipsec_keys[k]);
		return;
	}
	if (!vals[I_SWANCTL_FILE]) {
		check_inline(c, map, vals, shared, where, label, v);
		return;
	}
	/* a connection of the user's: the inline keys would be ignored */
	static const char *const inline_keys[] = { "gateway", "username", "ca_file",
		"password_file", "password_env" };
	for (int k = 0; k < 5; k++)
		if (shared[k])
			cfg_error(c, shared[k], "%s: %s is not used with swanctl_file (the "
				  "connection and its secrets are in that file)", label,
				  inline_keys[k]);
	if (vals[I_REMOTE_ID])
		cfg_error(c, vals[I_REMOTE_ID], "%s: remote_id is not used with "
			  "swanctl_file", label);
	if (!vals[I_CONNECTION])
		cfg_error(c, map, "missing required key 'connection' in %s (the connection "
			  "of swanctl_file to initiate)", where);
	for (int k = I_CONNECTION; k <= I_CHILD; k++) {
		const char *s = k == I_CONNECTION ? v->connection : v->child;
		if (s && !good_name(s))
			cfg_error(c, vals[k], "%s: %s '%s' is not a swanctl name (letters, "
				  "digits, '-', '_', '.')", label, ipsec_keys[k], s);
	}
	if (v->swanctl_file)
		check_swanctl_file(c, vals[I_SWANCTL_FILE], label, v->swanctl_file);
}
