/* SPDX-License-Identifier: MIT */
/* The harnesses' scratch space: one private directory on a tmpfs
 * ($EPMON_FUZZ_TMP, set by fuzz/run.sh, else /dev/shm, else /tmp), removed
 * at exit, and the few file helpers the harnesses share. */
#ifndef EPMON_FUZZ_SCRATCH_H
#define EPMON_FUZZ_SCRATCH_H

#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char scratch_path[512];

static inline int scratch_unlink_one(const char *path, const struct stat *st, int flag,
				     struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
}

/* Removes dir and everything in it; a missing dir is fine. */
static inline void scratch_remove_tree(const char *dir)
{
	nftw(dir, scratch_unlink_one, 16, FTW_DEPTH | FTW_PHYS);
}

static inline void scratch_cleanup(void)
{
	if (scratch_path[0])
		scratch_remove_tree(scratch_path);
}

/* The harness's own directory, made once; exits when it cannot be made
 * (nothing could be fuzzed). */
static inline const char *scratch_dir(const char *name)
{
	const char *base = getenv("EPMON_FUZZ_TMP");
	struct stat st;

	if (scratch_path[0])
		return scratch_path;
	if (!base || !*base)
		base = stat("/dev/shm", &st) == 0 && S_ISDIR(st.st_mode) ? "/dev/shm" : "/tmp";
	snprintf(scratch_path, sizeof(scratch_path), "%s/epmon-%s-XXXXXX", base, name);
	if (!mkdtemp(scratch_path)) {
		perror(scratch_path);
		exit(1);
	}
	atexit(scratch_cleanup);
	return scratch_path;
}

/* Writes data to path (created or truncated, mode). 0, or -1. */
static inline int scratch_write(const char *path, const void *data, size_t len, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	const char *p = data;

	if (fd < 0)
		return -1;
	while (len > 0) {
		ssize_t w = write(fd, p, len);
		if (w <= 0) {
			close(fd);
			return -1;
		}
		p += w;
		len -= (size_t)w;
	}
	return close(fd);
}

#endif
