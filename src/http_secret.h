/* SPDX-License-Identifier: MIT */
/* The secrets of the http: map: password, certificate and key files, read
 * whole and wiped when freed; a comparison that does not leak timing. */
#ifndef EPMON_HTTP_SECRET_H
#define EPMON_HTTP_SECRET_H

#include <stddef.h>

#define HTTP_PASSWORD_MAX 1024

/* The whole of a regular file of at most HTTP_FILE_MAX bytes, NUL-added,
 * its length in *len; NULL with the reason in why. */
char *http_read_file(const char *path, size_t *len, char *why, size_t whylen);

/* The first line of a password file, without its newline; NULL (logged)
 * when unreadable or empty. Free with http_free_secret. */
char *http_read_password(const char *path);

/* Wipes len bytes of s, then frees it (NULL is fine). */
void http_free_secret(char *s, size_t len);

/* 1 when equal; the time taken does not depend on where they differ. */
int http_same_secret(const char *a, const char *b);

#endif
