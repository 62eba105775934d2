/* SPDX-License-Identifier: MIT */
/* The on-disk spool of alert mails (see spool.h). */
#include "alert/spool.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "util/fsutil.h"
#include "util/log.h"

#define PATH_MAX_LEN 4096

struct spool {
	char dir[PATH_MAX_LEN];     /* e.g. STATE_DIR/spool */
	char dead[PATH_MAX_LEN];    /* DIR/dead */
	char ext[8];                /* ".eml", ".json" */
	unsigned counter;           /* tells apart names made in one microsecond */
};

struct spool *spool_new_at(const char *dir, const char *ext)
{
	struct spool *sp = calloc(1, sizeof(*sp));

	if (!sp)
		return NULL;
	if (snprintf(sp->dir, sizeof(sp->dir), "%s", dir) >=
	    (int)sizeof(sp->dir) - SPOOL_NAME_MAX - 8 ||
	    snprintf(sp->dead, sizeof(sp->dead), "%s/dead", dir) >=
	    (int)sizeof(sp->dead) - SPOOL_NAME_MAX - 8 ||
	    snprintf(sp->ext, sizeof(sp->ext), ".%s", ext) >= (int)sizeof(sp->ext)) {
		log_error(NULL, "spool directory name too long (%zu bytes): %.64s...",
			  strlen(dir), dir);
		free(sp);
		return NULL;
	}
	return sp;
}

struct spool *spool_new(const char *state_dir)
{
	char dir[PATH_MAX_LEN];

	if (snprintf(dir, sizeof(dir), "%s/spool", state_dir) >= (int)sizeof(dir)) {
		log_error(NULL, "state directory name too long (%zu bytes): %.64s...",
			  strlen(state_dir), state_dir);
		return NULL;
	}
	return spool_new_at(dir, "eml");
}

void spool_free(struct spool *sp)
{
	free(sp);
}

const char *spool_dir(const struct spool *sp)
{
	return sp->dir;
}

/* A path in a spool directory: room for any file name (NAME_MAX). */
#define PATH_IN_MAX (PATH_MAX_LEN + 260)

static void path_in(char *buf, const char *dir, const char *name)
{
	snprintf(buf, PATH_IN_MAX, "%s/%.255s", dir, name);
}

static void sync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd >= 0) {
		fsync(fd);
		close(fd);
	}
}

/* Writes len bytes of data to a new file path (0600), fsynced. 0 or -1/errno. */
static int write_file(const char *path, const char *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	size_t done = 0;
	int err = 0;

	if (fd < 0)
		return -1;
	while (done < len) {
		ssize_t w = write(fd, data + done, len - done);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			err = w < 0 ? errno : EIO;
			break;
		}
		done += (size_t)w;
	}
	if (!err && fsync(fd) < 0)
		err = errno;
	if (close(fd) < 0 && !err)
		err = errno;
	if (err) {
		unlink(path);
		errno = err;
		return -1;
	}
	return 0;
}

/* Site names are [A-Za-z0-9_.-]; anything else is kept out of file names. */
static void safe_part(char *buf, size_t len, const char *s)
{
	size_t n = 0;

	for (; *s && n + 1 < len && n < 63; s++)
		buf[n++] = ((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
			    (*s >= '0' && *s <= '9') || *s == '_' || *s == '.' ||
			    *s == '-') ? *s : '_';
	buf[n] = '\0';
}

#define STAGE_PREFIX ".stage-"

/* spool_add, or with stage (> 0) spool_stage: the file is named
 * .stage-STAGE-NAME until spool_settle commits it. */
static int add(struct spool *sp, unsigned long stage, const char *site, const char *kind,
	       const char *msg, size_t len, time_t now, char *name)
{
	char file[SPOOL_NAME_MAX + 32], tmp[SPOOL_NAME_MAX + 40];
	char path[PATH_IN_MAX], tpath[sizeof(path)];
	char s[64], k[32];
	struct timeval tv;

	gettimeofday(&tv, NULL);
	safe_part(s, sizeof(s), site);
	safe_part(k, sizeof(k), kind);
	if (stage)
		snprintf(file, sizeof(file), STAGE_PREFIX "%lu-", stage);
	else
		file[0] = '\0';
	snprintf(file + strlen(file), sizeof(file) - strlen(file), "%010lld.%06ld.%d.%u-%s-%s%s",
		 (long long)now, (long)tv.tv_usec, (int)getpid(), sp->counter++, s, k,
		 sp->ext);
	snprintf(tmp, sizeof(tmp), ".%s.tmp", file);
	path_in(path, sp->dir, file);
	path_in(tpath, sp->dir, tmp);
	if (mkdir_p(sp->dir, 0700) < 0) {
		log_error(NULL, "cannot create spool directory %s: %s", sp->dir,
			  strerror(errno));
		return -1;
	}
	if (write_file(tpath, msg, len) < 0 || rename(tpath, path) < 0) {
		log_error(NULL, "cannot write %s to the spool %s: %s", file, sp->dir,
			  strerror(errno));
		unlink(tpath);
		return -1;
	}
	sync_dir(sp->dir);
	if (name)
		snprintf(name, SPOOL_NAME_MAX, "%.*s", SPOOL_NAME_MAX - 1, file);
	return 0;
}

int spool_add(struct spool *sp, const char *site, const char *kind,
	      const char *msg, size_t len, time_t now, char *name)
{
	return add(sp, 0, site, kind, msg, len, now, name);
}

int spool_stage(struct spool *sp, unsigned long stage, const char *site, const char *kind,
		const char *msg, size_t len, time_t now)
{
	return add(sp, stage ? stage : 1, site, kind, msg, len, now, NULL);
}

size_t spool_settle(const struct spool *sp, unsigned long committed)
{
	DIR *d = opendir(sp->dir);
	struct dirent *e;
	size_t n = 0;

	if (!d)
		return 0;
	while ((e = readdir(d))) {
		char from[PATH_IN_MAX], to[sizeof(from)];
		unsigned long stage;
		int at = 0;

		size_t len = strlen(e->d_name);

		/* a write killed mid-way (the adding thread is this one) */
		if (e->d_name[0] == '.' && len > 4 && !strcmp(e->d_name + len - 4, ".tmp") &&
		    strncmp(e->d_name, STAGE_PREFIX, strlen(STAGE_PREFIX)) != 0) {
			path_in(from, sp->dir, e->d_name);
			unlink(from);
			continue;
		}
		if (strncmp(e->d_name, STAGE_PREFIX, strlen(STAGE_PREFIX)) != 0 ||
		    sscanf(e->d_name + strlen(STAGE_PREFIX), "%lu-%n", &stage, &at) != 1 ||
		    at == 0)
			continue;
		path_in(from, sp->dir, e->d_name);
		if (stage <= committed) {
			path_in(to, sp->dir, e->d_name + strlen(STAGE_PREFIX) + at);
			if (rename(from, to) == 0)
				n++;
			else
				log_error(NULL, "cannot commit %s in the spool %s: %s", e->d_name,
					  sp->dir, strerror(errno));
		} else {
			/* written by a cycle whose alert state never reached the
			 * disk: that cycle's events come again from the state */
			log_warn(NULL, "%s of a cycle that did not complete: removed", e->d_name);
			unlink(from);
		}
	}
	closedir(d);
	if (n)
		sync_dir(sp->dir);
	return n;
}

static int is_message(const struct spool *sp, const struct dirent *d)
{
	size_t n = strlen(d->d_name), e = strlen(sp->ext);

	return d->d_name[0] != '.' && n > e && n < SPOOL_NAME_MAX &&
	       !strcmp(d->d_name + n - e, sp->ext) &&
	       (d->d_type == DT_REG || d->d_type == DT_UNKNOWN);
}

static int by_name(const void *a, const void *b)
{
	return strcmp(((const struct spool_entry *)a)->name,
		      ((const struct spool_entry *)b)->name);
}

long spool_list(const struct spool *sp, struct spool_entry **out)
{
	DIR *d = opendir(sp->dir);
	struct spool_entry *list = NULL;
	size_t n = 0, cap = 0;
	struct dirent *e;

	*out = NULL;
	if (!d)
		return errno == ENOENT ? 0 : -1;
	while ((e = readdir(d))) {
		if (!is_message(sp, e))
			continue;
		if (n == cap) {
			size_t bigger = cap ? cap * 2 : 16;
			struct spool_entry *grown = realloc(list, bigger * sizeof(*list));
			if (!grown) {
				free(list);
				closedir(d);
				errno = ENOMEM;
				return -1;
			}
			list = grown;
			cap = bigger;
		}
		/* is_message() checked the length */
		memcpy(list[n].name, e->d_name, strlen(e->d_name) + 1);
		list[n].created = (time_t)strtoll(e->d_name, NULL, 10);
		n++;
	}
	closedir(d);
	if (n)
		qsort(list, n, sizeof(*list), by_name);
	*out = list;
	return (long)n;
}

size_t spool_count(const struct spool *sp)
{
	struct spool_entry *list;
	long n = spool_list(sp, &list);

	free(list);
	return n > 0 ? (size_t)n : 0;
}

int spool_read(const struct spool *sp, const char *name, char **msg, size_t *len)
{
	char path[PATH_IN_MAX];
	struct stat st;
	char *buf;
	size_t done = 0;
	int fd;

	path_in(path, sp->dir, name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	if (fstat(fd, &st) < 0 || !(buf = malloc((size_t)st.st_size + 1))) {
		close(fd);
		return -1;
	}
	while (done < (size_t)st.st_size) {
		ssize_t r = read(fd, buf + done, (size_t)st.st_size - done);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		done += (size_t)r;
	}
	close(fd);
	buf[done] = '\0';
	*msg = buf;
	*len = done;
	return 0;
}

int spool_remove(const struct spool *sp, const char *name)
{
	char path[PATH_IN_MAX];

	path_in(path, sp->dir, name);
	if (unlink(path) < 0 && errno != ENOENT) {
		log_error(NULL, "cannot remove sent message %s: %s (it may be sent "
			  "again)", path, strerror(errno));
		return -1;
	}
	sync_dir(sp->dir);
	return 0;
}

int spool_bury(const struct spool *sp, const char *name, const char *reason)
{
	char from[PATH_IN_MAX], to[sizeof(from)];
	char why[sizeof(from)], reason_name[SPOOL_NAME_MAX + 8];
	char *text = NULL;
	int n;

	path_in(from, sp->dir, name);
	path_in(to, sp->dead, name);
	snprintf(reason_name, sizeof(reason_name), "%s.reason", name);
	path_in(why, sp->dead, reason_name);
	if (mkdir_p(sp->dead, 0700) < 0 || rename(from, to) < 0) {
		log_error(NULL, "cannot move %s to %s: %s", from, sp->dead,
			  strerror(errno));
		return -1;
	}
	/* A reason left by an earlier bury of the same name is replaced. */
	unlink(why);
	n = asprintf(&text, "%s\n", reason);
	if (n < 0)
		text = NULL;
	if (!text || write_file(why, text, (size_t)n) < 0)
		log_warn(NULL, "cannot write %s: %s", why, strerror(errno));
	free(text);
	sync_dir(sp->dead);
	sync_dir(sp->dir);
	return 0;
}

size_t spool_expire(const struct spool *sp, time_t now, double max_age_s,
		    const char *last_error)
{
	struct spool_entry *list;
	long n = spool_list(sp, &list);
	size_t moved = 0;
	char why[1024];

	for (long i = 0; i < n; i++) {
		double age = difftime(now, list[i].created);
		if (age <= max_age_s)
			continue;
		snprintf(why, sizeof(why), "not delivered in %.0f s (spool_max_age "
			 "%.0f s); last error: %s", age, max_age_s,
			 last_error && *last_error ? last_error : "none");
		if (spool_bury(sp, list[i].name, why) == 0) {
			log_error(NULL, "gave up on alert mail %s: %s; moved to %s",
				  list[i].name, why, sp->dead);
			moved++;
		}
	}
	free(list);
	return moved;
}

double spool_backoff_s(int n, double min_s, double max_s)
{
	double d = min_s;

	for (int i = 1; i < n && d < max_s; i++)
		d *= 2;
	return d < max_s ? d : max_s;
}
