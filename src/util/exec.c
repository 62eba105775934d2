/* SPDX-License-Identifier: MIT */
#include "util/exec.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

const char *const exec_clean_env[] = {
	"PATH=" EXEC_CLEAN_PATH,
	"LANG=C",
	"LC_ALL=C",
	"HOME=/root",
	"TERM=dumb",
	NULL,
};

int exec_find(const char *name, char *path, size_t len)
{
	const char *p = EXEC_CLEAN_PATH;

	if (strchr(name, '/')) {
		snprintf(path, len, "%s", name);
		return access(path, X_OK) == 0;
	}
	while (*p) {
		size_t n = strcspn(p, ":");
		snprintf(path, len, "%.*s/%s", (int)n, p, name);
		if (access(path, X_OK) == 0)
			return 1;
		p += n;
		if (*p == ':')
			p++;
	}
	return 0;
}
