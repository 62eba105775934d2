/* SPDX-License-Identifier: MIT */
/* Secrets read from files at the moment they are needed (never kept). */
#ifndef EPMON_SECRET_H
#define EPMON_SECRET_H

#include <stddef.h>

/* The first line of the regular file `path` (no newline) into buf, which
 * the caller wipes after use. 0, or -1 with err set (the path and why). */
int secret_read_line(const char *path, char *buf, size_t len, char *err,
		     size_t errlen);

#endif
