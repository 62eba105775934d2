/* SPDX-License-Identifier: MIT */
#include "util/fsutil.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

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

int fd_write_all(int fd, const void *data, size_t len)
{
	const char *p = data;
	int sock = 1;

	while (len > 0) {
		/* on a socket, a peer gone is EPIPE, never a SIGPIPE */
		ssize_t n = sock ? send(fd, p, len, MSG_NOSIGNAL) : write(fd, p, len);
		if (n < 0 && sock && errno == ENOTSOCK) {
			sock = 0;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int fd_read_all(int fd, void *data, size_t len)
{
	char *p = data;

	while (len > 0) {
		ssize_t n = read(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int file_replace(const char *path, const void *data, size_t len, mode_t mode)
{
	char tmp[4096], dir[4096];
	const char *slash = strrchr(path, '/');
	int fd, err = 0;

	if (snprintf(tmp, sizeof(tmp), "%s.epmon-XXXXXX", path) >= (int)sizeof(tmp)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	fd = mkstemp(tmp);
	if (fd < 0)
		return -1;
	if (fchmod(fd, mode) < 0 || fd_write_all(fd, data, len) < 0 || fsync(fd) < 0)
		err = errno;
	if (close(fd) < 0 && !err)
		err = errno;
	if (!err && rename(tmp, path) < 0)
		err = errno;
	if (err) {
		unlink(tmp);
		errno = err;
		return -1;
	}
	/* the rename is durable once the directory is synced */
	snprintf(dir, sizeof(dir), "%.*s", slash ? (int)(slash - path) + (slash == path) : 1,
		 slash ? path : ".");
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		fsync(fd);
		close(fd);
	}
	return 0;
}

int private_dir_new(const char *base, const char *prefix, char *dir, size_t len)
{
	struct stat st;

	if (mkdir(base, 0700) < 0 && errno != EEXIST)
		return -1;
	if (lstat(base, &st) < 0)
		return -1;
	if (!S_ISDIR(st.st_mode)) {
		errno = ENOTDIR;
		return -1;
	}
	if (snprintf(dir, len, "%s/%s.XXXXXX", base, prefix) >= (int)len) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return mkdtemp(dir) ? 0 : -1;
}

void file_replace_cleanup(const char *path)
{
	const char *slash = strrchr(path, '/');
	const char *base = slash ? slash + 1 : path;
	char dir[4096], stale[4096 + 256];
	size_t blen = strlen(base);
	struct dirent *e;
	DIR *d;

	snprintf(dir, sizeof(dir), "%.*s", slash ? (int)(slash - path) + (slash == path) : 1,
		 slash ? path : ".");
	if (!(d = opendir(dir)))
		return;
	while ((e = readdir(d)))
		if (!strncmp(e->d_name, base, blen) && !strncmp(e->d_name + blen, ".epmon-", 7) &&
		    strlen(e->d_name + blen) == 13) {
			snprintf(stale, sizeof(stale), "%s/%s", dir, e->d_name);
			unlink(stale);
		}
	closedir(d);
}
