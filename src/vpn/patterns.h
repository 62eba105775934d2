/* SPDX-License-Identifier: MIT */
/* Compiled client patterns, shared: a regex compiled once serves every
 * session that uses it, in any thread (glibc's regexec locks the pattern),
 * so 50 concurrent logins hold one copy of each pattern and its match
 * cache instead of 50. */
#ifndef EPMON_VPN_PATTERNS_H
#define EPMON_VPN_PATTERNS_H

#include <regex.h>
#include <stddef.h>

struct pattern_cache;

struct pattern_cache *pattern_cache_new(void);
void pattern_cache_free(struct pattern_cache *c);

/* `pattern` compiled as a POSIX ERE with REG_NEWLINE, on first use; the
 * result lives until pattern_cache_free. NULL with err when it is invalid
 * (or memory ran out). Thread-safe. */
const regex_t *pattern_cache_get(struct pattern_cache *c, const char *pattern,
				 char *err, size_t errlen);

#endif
