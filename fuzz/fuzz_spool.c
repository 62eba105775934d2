/* SPDX-License-Identifier: MIT */
/* Fuzzes the spool reader: each input is a spool directory, entries
 * separated by a line "%%", each a file name (its first line) and the
 * message (the rest). The files are made in STATE_DIR/spool on a tmpfs and
 * read as the sender thread does after a restart: spool_list (names, ages
 * from the names, order), spool_read of each, spool_expire (old ones moved
 * to dead/ with a reason), spool_remove. The spool outlives crashes and
 * holds whatever an earlier epmon, a full disk or a hand left there.
 * Asserts that each listed message reads back exactly as written. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "scratch.h"
#include "alert/spool.h"
#include "util/log.h"

#define ENTRIES_MAX 32
#define NOW 1717228800          /* 2024-06-01T08:00:00Z: seed names are around it */

struct entry {
	char name[256];
	const char *msg;
	size_t len;
};

static char state_dir[600], spool_path[700];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	log_init(-1);
	snprintf(state_dir, sizeof(state_dir), "%s", scratch_dir("spool"));
	snprintf(spool_path, sizeof(spool_path), "%s/spool", state_dir);
	return 0;
}

/* Splits the input into entries; returns their number. */
static size_t split(const char *p, const char *end, struct entry *e)
{
	size_t n = 0;

	while (p < end && n < ENTRIES_MAX) {
		const char *next = memmem(p, (size_t)(end - p), "\n%%\n", 4);
		const char *stop = next ? next : end;
		const char *nl = memchr(p, '\n', (size_t)(stop - p));
		size_t namelen = (size_t)((nl ? nl : stop) - p);

		if (namelen >= sizeof(e[n].name))
			namelen = sizeof(e[n].name) - 1;
		memcpy(e[n].name, p, namelen);
		e[n].name[namelen] = '\0';
		/* a file name: no '/', no NUL (cut there), not . or .. */
		for (char *c = e[n].name; *c; c++)
			if (*c == '/')
				*c = '_';
		e[n].msg = nl ? nl + 1 : stop;
		e[n].len = (size_t)(stop - e[n].msg);
		if (e[n].name[0] && strcmp(e[n].name, ".") && strcmp(e[n].name, ".."))
			n++;
		p = next ? next + 4 : end;
	}
	return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct entry e[ENTRIES_MAX];
	struct spool_entry *list;
	struct spool *sp;
	size_t n = split((const char *)data, (const char *)data + size, e);
	char path[1024];
	long count;

	mkdir(spool_path, 0700);
	for (size_t i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/%s", spool_path, e[i].name);
		scratch_write(path, e[i].msg, e[i].len, 0600);
	}
	if (!(sp = spool_new(state_dir)))
		abort();
	count = spool_list(sp, &list);
	if (count < 0)
		abort();
	for (long i = 0; i < count; i++) {
		char *msg;
		size_t len;
		if (spool_read(sp, list[i].name, &msg, &len) < 0)
			abort();
		/* the last entry of a name wins, as the file was rewritten */
		for (size_t k = n; k-- > 0;) {
			if (strcmp(e[k].name, list[i].name))
				continue;
			if (len != e[k].len || memcmp(msg, e[k].msg, len))
				abort();
			break;
		}
		free(msg);
	}
	spool_expire(sp, NOW, 3600, "421 try later");
	free(list);
	count = spool_list(sp, &list);
	if (count > 0)
		spool_remove(sp, list[0].name);
	free(list);
	(void)spool_count(sp);
	spool_free(sp);
	scratch_remove_tree(spool_path);
	return 0;
}
