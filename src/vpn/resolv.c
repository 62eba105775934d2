/* SPDX-License-Identifier: MIT */
#include "vpn/resolv.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/fsutil.h"
#include "vpn/proc.h"

int resolv_read(const char *path, struct resolv_copy *out)
{
	FILE *f = fopen(path, "re");
	char buf[4096];
	size_t n;

	memset(out, 0, sizeof(*out));
	if (!f)
		return errno == ENOENT ? 0 : -1;
	out->data = malloc(1);
	if (!out->data) {
		fclose(f);
		return -1;
	}
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0) {
		char *grown = realloc(out->data, out->len + n + 1);
		if (!grown) {
			fclose(f);
			resolv_copy_free(out);
			return -1;
		}
		out->data = grown;
		memcpy(out->data + out->len, buf, n);
		out->len += n;
	}
	out->data[out->len] = 0;
	fclose(f);
	return 0;
}

void resolv_copy_free(struct resolv_copy *c)
{
	free(c->data);
	memset(c, 0, sizeof(*c));
}

int resolv_equal(const struct resolv_copy *a, const struct resolv_copy *b)
{
	if (!a->data || !b->data)
		return !a->data && !b->data;
	return a->len == b->len && memcmp(a->data, b->data, a->len) == 0;
}

int resolv_has_client_mark(const struct resolv_copy *c)
{
	static const char *const marks[] = { "#@VPNC_GENERATED@", NULL };

	if (!c->data)
		return 0;
	for (size_t i = 0; marks[i]; i++)
		if (strstr(c->data, marks[i]))
			return 1;
	return 0;
}

/* Atomic replace (util/fsutil.h); *busy when resolv.conf is a mount point. */
static int replace_file(const char *path, const struct resolv_copy *good, int *busy)
{
	int rc = file_replace(path, good->data, good->len, 0644);

	*busy = rc < 0 && errno == EBUSY;
	return rc;
}

static int rewrite_in_place(const char *path, const struct resolv_copy *good)
{
	int fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC | O_NOFOLLOW);
	int rc;

	if (fd < 0)
		return -1;
	rc = fd_write_all(fd, good->data, good->len);
	if (rc == 0)
		rc = fsync(fd);
	close(fd);
	return rc;
}

int resolv_restore(const char *path, const struct resolv_copy *good, char *how,
		   size_t howlen)
{
	static const char *const resolvconf[] = { "resolvconf", "-u", NULL };
	char exe[256], err[256];
	struct resolv_copy now;
	int busy;

	if (!good->data) {
		snprintf(how, howlen, "no good copy of %s to restore", path);
		return -1;
	}
	if (exec_find("resolvconf", exe, sizeof(exe))) {
		int rc = proc_run(resolvconf, 10.0, err, sizeof(err));
		if (resolv_read(path, &now) == 0) {
			int same = resolv_equal(&now, good);
			resolv_copy_free(&now);
			if (rc == 0 && same) {
				snprintf(how, howlen, "ran 'resolvconf -u'");
				return 0;
			}
		}
	}
	if (replace_file(path, good, &busy) == 0) {
		snprintf(how, howlen, "restored %s from the saved copy", path);
		return 0;
	}
	if (busy && rewrite_in_place(path, good) == 0) {
		snprintf(how, howlen, "rewrote %s from the saved copy (mount point)", path);
		return 0;
	}
	snprintf(how, howlen, "cannot restore %s: %s", path, strerror(errno));
	return -1;
}

int resolv_save_good(const char *file, const struct resolv_copy *good)
{
	struct resolv_copy empty = { .data = (char *)"", .len = 0 };
	int busy;

	return replace_file(file, good->data ? good : &empty, &busy);
}

int resolv_load_good(const char *file, struct resolv_copy *out)
{
	int rc = resolv_read(file, out);

	if (rc == 0 && out->data && out->len == 0)
		resolv_copy_free(out);
	return rc;
}
