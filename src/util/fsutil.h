/* SPDX-License-Identifier: MIT */
/* Small file-system helpers shared by the modules that write to disk. */
#ifndef EPMON_UTIL_FSUTIL_H
#define EPMON_UTIL_FSUTIL_H

#include <stddef.h>
#include <sys/types.h>

/* The default results_directory and state_directory. */
#define EPMON_STATE_DIR "/var/lib/epmon"
/* Where per-site runtime directories live (root's, 0700). */
#define EPMON_RUN_DIR "/run/epmon"

/* mkdir -p: creates dir and its missing parents with `mode` (less the
 * umask). 0, or -1 with errno. */
int mkdir_p(const char *dir, mode_t mode);

/* All len bytes, retrying after EINTR and short counts: 0, or -1 (errno
 * set; EOF on a read counts as an error). A socket whose peer is gone
 * gives EPIPE, not SIGPIPE. */
int fd_write_all(int fd, const void *data, size_t len);
int fd_read_all(int fd, void *data, size_t len);

/* Replaces path atomically with len bytes of data and `mode`: a temporary
 * file in the same directory, fsync, rename, fsync of the directory. A
 * reader sees the old file or the new one, never a part. 0, or -1 with
 * errno (EBUSY: path is a mount point, e.g. a bind-mounted resolv.conf). */
int file_replace(const char *path, const void *data, size_t len, mode_t mode);

/* Removes what a file_replace of path killed mid-way left (its temporary
 * files, path.epmon-XXXXXX). For the one writer of path, at start. */
void file_replace_cleanup(const char *path);

/* A new private directory BASE/PREFIX.XXXXXX, BASE created 0700 when
 * missing (and refused unless it is a directory, not a symlink). Its
 * path goes in dir. 0, or -1 with errno. */
int private_dir_new(const char *base, const char *prefix, char *dir, size_t len);

#endif
