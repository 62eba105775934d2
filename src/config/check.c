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

int cfg_check_regex(struct cfg_ctx *c, yaml_node_t *at, const char *label,
		    const char *key, const char *re)
{
	regex_t rx;
	char why[256];
	int rc = regcomp(&rx, re, REG_EXTENDED | REG_NOSUB);

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
