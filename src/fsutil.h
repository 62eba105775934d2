/* SPDX-License-Identifier: MIT */
/* Small file-system helpers shared by the modules that write to disk. */
#ifndef EPMON_FSUTIL_H
#define EPMON_FSUTIL_H

#include <sys/types.h>

/* mkdir -p: creates dir and its missing parents with `mode` (less the
 * umask). 0, or -1 with errno. */
int mkdir_p(const char *dir, mode_t mode);

#endif
