/* SPDX-License-Identifier: MIT */
/* Checks against the system: addresses, regexes, binaries, password files.
 * They run at load time so `epmon check-config` catches them before a cycle. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config/internal.h"
#include "util/exec.h"


int cfg_check_ip(struct cfg_ctx *c, yaml_node_t *at, const char *label,
		 const char *key, const char *ip)
{
	unsigned char buf[sizeof(struct in6_addr)];

	if (inet_pton(AF_INET, ip, buf) == 1 || inet_pton(AF_INET6, ip, buf) == 1)
		return 0;
	cfg_error(c, at, "%s: %s: '%s' is not a numeric IPv4 or IPv6 address "
		  "(write the address, not a host name)", label, key, ip);
	return -1;
}

static size_t hash_str(const char *s)
{
	size_t h = 14695981039346656037ull;     /* FNV-1a */

	while (*s)
		h = (h ^ (unsigned char)*s++) * 1099511628211ull;
	return h;
}

/* Adds re to the set of regexes seen. 1 when it was there already, 0 when
 * added, -1 out of memory. */
static int regex_seen(struct cfg_ctx *c, const char *re)
{
	size_t i;

	if (2 * (c->nregexes + 1) > c->regexes_cap) {   /* keep it half empty */
		size_t cap = c->regexes_cap ? 2 * c->regexes_cap : 64;
		char **slots = calloc(cap, sizeof(*slots));
		if (!slots)
			return -1;
		for (size_t k = 0; k < c->regexes_cap; k++) {
			if (!c->regexes[k])
				continue;
			for (i = hash_str(c->regexes[k]) & (cap - 1); slots[i];
			     i = (i + 1) & (cap - 1))
				;
			slots[i] = c->regexes[k];
		}
		free(c->regexes);
		c->regexes = slots;
		c->regexes_cap = cap;
	}
	for (i = hash_str(re) & (c->regexes_cap - 1); c->regexes[i];
	     i = (i + 1) & (c->regexes_cap - 1))
		if (!strcmp(c->regexes[i], re))
			return 1;
	if (!(c->regexes[i] = strdup(re)))
		return -1;
	c->nregexes++;
	return 0;
}

void cfg_regexes_free(struct cfg_ctx *c)
{
	for (size_t i = 0; i < c->regexes_cap; i++)
		free(c->regexes[i]);
	free(c->regexes);
	c->regexes = NULL;
	c->nregexes = c->regexes_cap = 0;
}

/* regcomp copies a repeated part once per repetition: a short pattern can
 * take gigabytes and minutes ("((a{1,100}){1,100}){1,100}"). Length,
 * repetition counts and the expanded size are bounded first. */
static int regex_within_limits(struct cfg_ctx *c, yaml_node_t *at,
			       const char *label, const char *key, const char *re)
{
	size_t len = strlen(re);
	long dup = 0;
	double size;

	if (len > CFG_REGEX_LEN_MAX) {
		cfg_error(c, at, "%s: %s: regular expression of %zu bytes; the limit "
			  "is %d", label, key, len, CFG_REGEX_LEN_MAX);
		return -1;
	}
	size = cfg_regex_size(re, &dup);
	if (size < 0) {
		cfg_error(c, at, "%s: %s: repetition count %ld in '%s' is over the "
			  "limit of %d", label, key, dup, re, CFG_REGEX_DUP_MAX);
		return -1;
	}
	if (size > CFG_REGEX_SIZE_MAX) {
		cfg_error(c, at, "%s: %s: regular expression '%s' is too large once its "
			  "repetitions are expanded (%.0f atoms; the limit is %d): nest "
			  "fewer {m,n} or lower their counts", label, key, re, size,
			  CFG_REGEX_SIZE_MAX);
		return -1;
	}
	if (c->regex_total + size > CFG_REGEX_TOTAL_MAX) {
		/* said once; the config is refused anyway */
		if (c->regex_total <= CFG_REGEX_TOTAL_MAX)
			cfg_error(c, at, "%s: %s: the regular expressions of the config "
				  "add up to more than %d atoms, repetitions expanded; "
				  "that is the limit", label, key, CFG_REGEX_TOTAL_MAX);
		c->regex_total = CFG_REGEX_TOTAL_MAX + 1.0;
		return -1;
	}
	c->regex_total += size;
	return 0;
}

int cfg_check_regex(struct cfg_ctx *c, yaml_node_t *at, const char *label,
		    const char *key, const char *re)
{
	regex_t rx;
	char why[256];
	int rc;

	/* seen before (an alias, a copy): checked and counted once, and
	 * reported, if wrong, where it was seen first */
	if ((rc = regex_seen(c, re)) != 0) {
		if (rc < 0)
			c->oom = 1;
		return 0;
	}
	if (regex_within_limits(c, at, label, key, re) < 0)
		return -1;
	rc = regcomp(&rx, re, REG_EXTENDED | REG_NOSUB);
	if (rc == 0) {
		regfree(&rx);
		return 0;
	}
	regerror(rc, &rx, why, sizeof(why));
	cfg_error(c, at, "%s: %s: bad regular expression '%s': %s (POSIX "
		  "extended syntax)", label, key, re, why);
	return -1;
}

static int is_executable(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISREG(st.st_mode) &&
	       access(path, X_OK) == 0;
}

void cfg_check_client_binary(struct cfg_ctx *c, yaml_node_t *at,
			     const char *label, const struct vpn_settings *v)
{
	const char *cmd = v->command ? v->command : vpn_default_command(v->client);
	char full[512];

	if (!cmd)
		return;
	if (strchr(cmd, '/')) {
		if (is_executable(cmd))
			return;
		cfg_error(c, at, "%s: VPN client '%s' not found (%s; install it "
			  "or set vpn.command)", label, cmd,
			  access(cmd, F_OK) == 0 ? "not an executable file"
						 : strerror(errno));
		return;
	}
	/* the same lookup the site test uses (its clean PATH), so that a
	 * config that checks OK never fails at run time for this reason */
	if (!exec_find(cmd, full, sizeof(full)))
		cfg_error(c, at, "%s: VPN client '%s' not found (not in %s; "
			  "install it or set vpn.command to its full path)", label, cmd,
			  EXEC_CLEAN_PATH);
}

void cfg_check_password_file(struct cfg_ctx *c, yaml_node_t *at,
			     const char *label, const char *path)
{
	struct stat st;
	/* O_NONBLOCK: a FIFO here must not hang the load. */
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);

	if (fd < 0) {
		cfg_error(c, at, "%s: cannot read password file %s: %s", label,
			  path, strerror(errno));
		return;
	}
	if (fstat(fd, &st) < 0)
		cfg_error(c, at, "%s: cannot stat password file %s: %s", label,
			  path, strerror(errno));
	else if (!S_ISREG(st.st_mode))
		cfg_error(c, at, "%s: password file %s is not a regular file",
			  label, path);
	else if (st.st_mode & 077)
		cfg_warn(c, at, "%s: password file %s is readable by others; "
			 "chmod 600 it", label, path);
	close(fd);
}
