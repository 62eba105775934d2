/* SPDX-License-Identifier: MIT */
/* The mail spool: add, list (oldest first), read, remove, dead letters
 * (refused, too old), backoff. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/log.h"
#include "alert/spool.h"

static void make_dir(char *buf)
{
	strcpy(buf, "/tmp/epmon-test-spool-XXXXXX");
	assert_non_null(mkdtemp(buf));
}

static void remove_dir(const char *dir)
{
	char cmd[256];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

static char *slurp(const char *path)
{
	static char buf[4096];
	FILE *f = fopen(path, "r");
	size_t n;

	assert_non_null(f);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

static int files_in(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.' && e->d_type == DT_REG)
			n++;
	closedir(d);
	return n;
}

static void add_list_read_remove(void **state)
{
	char dir[64], name1[SPOOL_NAME_MAX], name2[SPOOL_NAME_MAX], path[256];
	struct spool *sp;
	struct spool_entry *list;
	struct stat st;
	char *msg;
	size_t len;

	make_dir(dir);
	sp = spool_new(dir);
	assert_non_null(sp);
	assert_int_equal(spool_count(sp), 0); /* no directory yet: empty */
	assert_int_equal(spool_list(sp, &list), 0);
	assert_null(list);

	assert_int_equal(spool_add(sp, "paris", "down", "Subject: a\r\n\r\nbody a\r\n",
				   22, 1700000100, name1), 0);
	assert_int_equal(spool_add(sp, "lyon-2", "up", "B", 1, 1700000000, name2), 0);
	assert_non_null(strstr(name1, "-paris-down.eml"));
	assert_non_null(strstr(name2, "-lyon-2-up.eml"));
	assert_int_equal(strncmp(name1, "1700000100.", 11), 0);
	snprintf(path, sizeof(path), "%s/spool", dir);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
	snprintf(path, sizeof(path), "%s/spool/%s", dir, name1);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);

	/* a temp file of an interrupted add and a stray file are not messages */
	snprintf(path, sizeof(path), "%s/spool/.x.eml.tmp", dir);
	fclose(fopen(path, "w"));
	snprintf(path, sizeof(path), "%s/spool/README", dir);
	fclose(fopen(path, "w"));

	assert_int_equal(spool_list(sp, &list), 2);
	assert_string_equal(list[0].name, name2); /* older first */
	assert_int_equal(list[0].created, 1700000000);
	assert_string_equal(list[1].name, name1);
	assert_int_equal(list[1].created, 1700000100);
	free(list);
	assert_int_equal(spool_count(sp), 2);

	assert_int_equal(spool_read(sp, name1, &msg, &len), 0);
	assert_int_equal(len, 22);
	assert_string_equal(msg, "Subject: a\r\n\r\nbody a\r\n");
	free(msg);
	assert_int_equal(spool_read(sp, "nope.eml", &msg, &len), -1);

	assert_int_equal(spool_remove(sp, name2), 0);
	assert_int_equal(spool_count(sp), 1);
	assert_int_equal(spool_remove(sp, name2), 0); /* already gone: fine */
	spool_free(sp);
	remove_dir(dir);
}

static void same_second_names_differ(void **state)
{
	char dir[64], a[SPOOL_NAME_MAX], b[SPOOL_NAME_MAX];
	struct spool *sp;

	make_dir(dir);
	sp = spool_new(dir);
	assert_int_equal(spool_add(sp, "x", "down", "1", 1, 42, a), 0);
	assert_int_equal(spool_add(sp, "x", "down", "2", 1, 42, b), 0);
	assert_string_not_equal(a, b);
	assert_int_equal(spool_count(sp), 2);
	/* odd characters never reach a file name */
	assert_int_equal(spool_add(sp, "../../etc/x y", "k/d", "3", 1, 42, a), 0);
	assert_null(strchr(a, '/'));
	assert_int_equal(spool_count(sp), 3);
	spool_free(sp);
	remove_dir(dir);
}

static void bury_and_expire(void **state)
{
	char dir[64], old[SPOOL_NAME_MAX], fresh[SPOOL_NAME_MAX], path[512], dead[128];
	struct spool *sp;

	make_dir(dir);
	sp = spool_new(dir);
	snprintf(dead, sizeof(dead), "%s/spool/dead", dir);
	assert_int_equal(spool_add(sp, "paris", "down", "old", 3, 1000, old), 0);
	assert_int_equal(spool_add(sp, "paris", "up", "new", 3, 1000 + 7 * 86400, fresh), 0);

	/* 7 days and 1 s after the old one: only it is too old */
	assert_int_equal(spool_expire(sp, 1000 + 7 * 86400 + 1, 7 * 86400,
				      "connection refused"), 1);
	assert_int_equal(spool_count(sp), 1);
	snprintf(path, sizeof(path), "%s/%s", dead, old);
	assert_string_equal(slurp(path), "old");
	snprintf(path, sizeof(path), "%s/%s.reason", dead, old);
	assert_non_null(strstr(slurp(path), "not delivered in 604801 s"));
	assert_non_null(strstr(slurp(path), "last error: connection refused"));
	/* nothing else is old enough */
	assert_int_equal(spool_expire(sp, 1000 + 7 * 86400 + 1, 7 * 86400, NULL), 0);

	/* refused for good */
	assert_int_equal(spool_bury(sp, fresh, "550 5.7.1 no"), 0);
	assert_int_equal(spool_count(sp), 0);
	assert_int_equal(files_in(dead), 4);
	snprintf(path, sizeof(path), "%s/%s.reason", dead, fresh);
	assert_string_equal(slurp(path), "550 5.7.1 no\n");
	assert_int_equal(spool_bury(sp, fresh, "again"), -1); /* gone */
	spool_free(sp);
	remove_dir(dir);
}

/* Staged mails are invisible until their batch is committed; a later
 * batch (its state never saved) is dropped; killed writes are cleaned. */
static void staged_until_settled(void **state)
{
	char dir[64], path[256];
	struct spool_entry *list = NULL;
	struct spool *sp;
	FILE *f;

	make_dir(dir);
	sp = spool_new(dir);
	assert_int_equal(spool_stage(sp, 5, "paris", "down", "five", 4, 42), 0);
	assert_int_equal(spool_stage(sp, 6, "lyon", "down", "six", 3, 42), 0);
	assert_int_equal(spool_count(sp), 0);               /* the sender sees none */
	snprintf(path, sizeof(path), "%s/spool/.0000000042.000001.1.0-x-down.eml.tmp", dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fclose(f);
	/* batch 5's state was saved, 6's was not (the process was killed) */
	assert_int_equal(spool_settle(sp, 5), 1);
	assert_int_equal(spool_list(sp, &list), 1);
	assert_non_null(strstr(list[0].name, "-paris-down.eml"));
	free(list);
	assert_int_equal(access(path, F_OK), -1);           /* killed write removed */
	assert_int_equal(spool_settle(sp, 6), 0);           /* 6 is gone for good */
	assert_int_equal(spool_count(sp), 1);
	spool_free(sp);
	remove_dir(dir);
}

static void backoff_doubles_up_to_max(void **state)
{
	assert_true(spool_backoff_s(1, 60, 1800) == 60);
	assert_true(spool_backoff_s(2, 60, 1800) == 120);
	assert_true(spool_backoff_s(3, 60, 1800) == 240);
	assert_true(spool_backoff_s(5, 60, 1800) == 960);
	assert_true(spool_backoff_s(6, 60, 1800) == 1800);
	assert_true(spool_backoff_s(1000, 60, 1800) == 1800);
	assert_true(spool_backoff_s(0, 60, 1800) == 60);
	assert_true(spool_backoff_s(3, 1, 2) == 2);
}

static void unwritable_spool(void **state)
{
	char dir[64], path[128];
	struct spool *sp;

	make_dir(dir);
	/* STATE_DIR/spool is a file: nothing can be added, nothing is left */
	snprintf(path, sizeof(path), "%s/spool", dir);
	fclose(fopen(path, "w"));
	sp = spool_new(dir);
	assert_int_equal(spool_add(sp, "a", "down", "x", 1, 5, NULL), -1);
	assert_int_equal(spool_list(sp, &(struct spool_entry *){ NULL }), -1);
	assert_int_equal(spool_count(sp), 0);
	spool_free(sp);

	char longdir[5000];
	memset(longdir, 'a', sizeof(longdir) - 1);
	longdir[sizeof(longdir) - 1] = '\0';
	assert_null(spool_new(longdir));
	remove_dir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(add_list_read_remove),
		cmocka_unit_test(same_second_names_differ),
		cmocka_unit_test(bury_and_expire),
		cmocka_unit_test(staged_until_settled),
		cmocka_unit_test(backoff_doubles_up_to_max),
		cmocka_unit_test(unwritable_spool),
	};
	log_init(-1);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
