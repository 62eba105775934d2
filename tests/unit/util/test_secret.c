/* SPDX-License-Identifier: MIT */
/* The one secret reader: a password file's first line, an environment
 * variable, a whole PEM file, the wipe, the timing-safe comparison. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/secret.h"

static char dir[] = "/tmp/epmon-test-secret-XXXXXX";

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void equal_in_constant_time(void **state)
{
	assert_true(secret_equal("abc", "abc"));
	assert_false(secret_equal("abc", "abd"));
	assert_false(secret_equal("abc", "abcd"));
	assert_false(secret_equal("abcd", "abc"));
	assert_false(secret_equal("", "a"));
	assert_true(secret_equal("", ""));
}

static void first_line_of_a_file(void **state)
{
	char path[512], buf[64], err[256];

	snprintf(path, sizeof(path), "%s/pw", dir);
	write_file(path, "p4ss word\r\nsecond\n");
	assert_int_equal(secret_read_line(path, buf, sizeof(buf), err, sizeof(err)), 0);
	assert_string_equal(buf, "p4ss word");
	/* an empty first line is an error naming the file */
	write_file(path, "\nsecond\n");
	assert_int_equal(secret_read_line(path, buf, sizeof(buf), err, sizeof(err)), -1);
	assert_non_null(strstr(err, path));
	assert_non_null(strstr(err, "empty"));
	assert_int_equal(secret_read_line("/nonexistent/pw", buf, sizeof(buf), err,
					  sizeof(err)), -1);
	assert_non_null(strstr(err, "/nonexistent/pw"));
	/* a directory is not a password file */
	assert_int_equal(secret_read_line(dir, buf, sizeof(buf), err, sizeof(err)), -1);
	assert_non_null(strstr(err, "not a regular file"));
}

static void env_before_file(void **state)
{
	char path[512], buf[64], err[256];

	snprintf(path, sizeof(path), "%s/pw2", dir);
	write_file(path, "from-file\n");
	setenv("EPMON_TEST_SECRET", "from-env", 1);
	assert_int_equal(secret_get(path, "EPMON_TEST_SECRET", buf, sizeof(buf), err,
				    sizeof(err)), 0);
	assert_string_equal(buf, "from-env");
	assert_int_equal(secret_get(path, NULL, buf, sizeof(buf), err, sizeof(err)), 0);
	assert_string_equal(buf, "from-file");
	/* neither: no password (a certificate-only login) */
	assert_int_equal(secret_get(NULL, NULL, buf, sizeof(buf), err, sizeof(err)), 0);
	assert_string_equal(buf, "");
	unsetenv("EPMON_TEST_SECRET");
	assert_int_equal(secret_get(path, "EPMON_TEST_SECRET", buf, sizeof(buf), err,
				    sizeof(err)), -1);
	assert_non_null(strstr(err, "EPMON_TEST_SECRET"));
}

static void whole_file_bounded(void **state)
{
	char path[512], why[128];
	size_t len = 0;
	char *text;

	snprintf(path, sizeof(path), "%s/pem", dir);
	write_file(path, "-----BEGIN-----\n");
	text = secret_read_file(path, 1024, &len, why, sizeof(why));
	assert_non_null(text);
	assert_int_equal(len, 16);
	assert_string_equal(text, "-----BEGIN-----\n");
	secret_free(text, len);
	assert_null(secret_read_file(path, 8, &len, why, sizeof(why)));
	assert_non_null(strstr(why, "at most 8 bytes"));
	assert_null(secret_read_file(dir, 1024, &len, why, sizeof(why)));
	assert_non_null(strstr(why, "not a regular file"));
	secret_free(NULL, 0);
}

static int setup(void **state)
{
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[600];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(equal_in_constant_time),
		cmocka_unit_test(first_line_of_a_file),
		cmocka_unit_test(env_before_file),
		cmocka_unit_test(whole_file_bounded),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
