/* SPDX-License-Identifier: MIT */
/* Secrets (VPN, SMTP and HTTP passwords, webhook keys, TLS keys): read
 * from a file or an environment variable at the moment they are needed,
 * wiped after use, compared in constant time. The one reader of them. */
#ifndef EPMON_UTIL_SECRET_H
#define EPMON_UTIL_SECRET_H

#include <stddef.h>

/* The first line of the regular file `path` (no newline) into buf, which
 * the caller wipes after use. 0, or -1 with err set (the path and why;
 * an empty first line is an error). */
int secret_read_line(const char *path, char *buf, size_t len, char *err,
		     size_t errlen);

/* A password given as `password_env` (the variable's value) or else as
 * `password_file` (its first line); both NULL: buf is "" and 0 is
 * returned. -1 with err set: the variable is unset or the file unreadable. */
int secret_get(const char *password_file, const char *password_env,
	       char *buf, size_t len, char *err, size_t errlen);

/* The whole of a regular file of at most `max` bytes, NUL-added (PEM),
 * its length in *len; NULL with the reason in why. Free with secret_free. */
char *secret_read_file(const char *path, size_t max, size_t *len, char *why,
		       size_t whylen);

/* Wipes len bytes of s, then frees it (NULL is fine). */
void secret_free(char *s, size_t len);

/* 1 when equal; the time taken does not depend on where they differ. */
int secret_equal(const char *a, const char *b);

#endif
