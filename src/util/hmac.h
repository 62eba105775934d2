/* SPDX-License-Identifier: MIT */
/* HMAC-SHA256 from OpenSSL's libcrypto, loaded with dlopen on first use
 * (only a webhook with a secret_file needs it). */
#ifndef EPMON_UTIL_HMAC_H
#define EPMON_UTIL_HMAC_H

#include <stddef.h>

/* hex: 64 lowercase hex digits and a NUL. 0, or -1 with *why set. */
int hmac_sha256_hex(const void *key, size_t keylen, const void *msg, size_t len,
		    char hex[65], const char **why);

#endif
