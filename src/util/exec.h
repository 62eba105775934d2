/* SPDX-License-Identifier: MIT */
/* What every child of epmon runs with: a fixed PATH and a minimal clean
 * environment (no password, no NOTIFY_SOCKET, no locale surprises), and the
 * lookup of a program name in that PATH. */
#ifndef EPMON_UTIL_EXEC_H
#define EPMON_UTIL_EXEC_H

#include <stddef.h>

/* The PATH of every child of epmon, and where client names are looked up. */
#define EXEC_CLEAN_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

/* The minimal clean environment every child of epmon gets. */
extern const char *const exec_clean_env[];

/* 1 when `name` (a path, or a name looked up in EXEC_CLEAN_PATH) is an
 * executable; its path is put in `path`. */
int exec_find(const char *name, char *path, size_t len);

#endif
