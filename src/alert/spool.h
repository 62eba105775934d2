/* SPDX-License-Identifier: MIT */
/* The on-disk spool of alert mails: STATE_DIR/spool/, one file per message
 * (the RFC 5322 text, as sent), named CREATED.USEC.PID-SITE-KIND.eml so the
 * names sort by age. A message is written (temp file, fsync, rename, fsync
 * of the directory) before any attempt to send it, and removed only after
 * the server accepted it; messages that can never be sent are moved to
 * spool/dead/ with a NAME.reason file beside them.
 * A struct spool is used by one thread; several may share a directory (the
 * daemon's main thread adds, the sender thread sends). */
#ifndef EPMON_ALERT_SPOOL_H
#define EPMON_ALERT_SPOOL_H

#include <stddef.h>
#include <time.h>

#define SPOOL_NAME_MAX 160

struct spool_entry {
	char name[SPOOL_NAME_MAX];  /* file name inside the spool directory */
	time_t created;             /* wall clock, from the name */
};

struct spool;

/* Paths only: the directories are created by spool_add (mode 0700). NULL
 * when out of memory or the path is too long. spool_new: the mail spool
 * STATE_DIR/spool of .eml files; spool_new_at: DIR of .EXT files. */
struct spool *spool_new(const char *state_dir);
struct spool *spool_new_at(const char *dir, const char *ext);
void spool_free(struct spool *sp);
const char *spool_dir(const struct spool *sp);

/* Adds a message; its file name goes to name (SPOOL_NAME_MAX) when not NULL.
 * 0, or -1 with the reason logged (nothing is left behind). */
int spool_add(struct spool *sp, const char *site, const char *kind,
	      const char *msg, size_t len, time_t now, char *name);

/* A message written as part of alert-state batch `stage`: invisible to the
 * sender until spool_settle commits it. Together with the batch number in
 * the alert state this makes "mails of a cycle + the state after it" one
 * step: a crash between the two neither loses nor doubles a mail. 0, or -1
 * (logged). */
int spool_stage(struct spool *sp, unsigned long stage, const char *site, const char *kind,
		const char *msg, size_t len, time_t now);

/* Commits the staged messages of batches <= committed (renamed into the
 * spool) and removes those of later batches (their state was never
 * saved), and temporary files of writes killed mid-way. After each state
 * save, and at start, by the thread that adds. Returns how many went in. */
size_t spool_settle(const struct spool *sp, unsigned long committed);

/* The messages waiting, oldest first, in *out (malloc'd; NULL when none).
 * Returns their number, or -1 when the directory cannot be read (a
 * missing directory is an empty spool). */
long spool_list(const struct spool *sp, struct spool_entry **out);
size_t spool_count(const struct spool *sp);

/* The whole message, malloc'd and NUL-terminated. 0, or -1 with errno. */
int spool_read(const struct spool *sp, const char *name, char **msg, size_t *len);
/* After the server accepted it. 0, or -1 (logged). */
int spool_remove(const struct spool *sp, const char *name);
/* Moves the message to dead/ and writes why into dead/NAME.reason.
 * 0, or -1 (logged). */
int spool_bury(const struct spool *sp, const char *name, const char *reason);

/* Moves every message older than max_age_s (at wall clock now) to dead/,
 * logged, with last_error (may be NULL) in its reason. Returns how many. */
size_t spool_expire(const struct spool *sp, time_t now, double max_age_s,
		    const char *last_error);

/* Seconds to wait after the n-th failed attempt in a row (n >= 1):
 * min_s, 2 min_s, 4 min_s, ... at most max_s. */
double spool_backoff_s(int n, double min_s, double max_s);

#endif
