/* SPDX-License-Identifier: MIT */
#include "fsutil.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int mkdir_p(const char *dir, mode_t mode)
{
	char *p = strdup(dir);
	char *s;
	int err = 0;

	if (!p)
		return -1;
	for (s = p + 1;; s++) {
		char c = *s;
		if (c != '/' && c != '\0')
			continue;
		*s = '\0';
		if (mkdir(p, mode) < 0 && errno != EEXIST) {
			err = errno;
			break;
		}
		*s = c;
		if (c == '\0')
			break;
	}
	free(p);
	errno = err;
	return err ? -1 : 0;
}
