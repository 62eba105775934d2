/* SPDX-License-Identifier: MIT */
/* WireGuard key parsing: what `wg genkey` writes, and what is not a key. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/wgkey.h"

/* 32 bytes 0x00..0x1f in base64 */
#define KEY_B64 "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="

static void decodes_a_key(void **state)
{
	unsigned char key[WGKEY_LEN];
	char hex[2 * WGKEY_LEN + 1];

	assert_int_equal(wgkey_decode(KEY_B64, key), 0);
	for (int i = 0; i < WGKEY_LEN; i++)
		assert_int_equal(key[i], i);
	wgkey_hex(key, hex);
	assert_string_equal(hex, "000102030405060708090a0b0c0d0e0f"
			    "101112131415161718191a1b1c1d1e1f");
	assert_int_equal(wgkey_decode(KEY_B64 "\n", key), 0);
	assert_int_equal(wgkey_decode(KEY_B64 "  ", key), 0);
}

static void refuses_what_is_not_a_key(void **state)
{
	unsigned char key[WGKEY_LEN];

	assert_int_equal(wgkey_decode("", key), -1);
	assert_int_equal(wgkey_decode("AAEC", key), -1);
	/* one character short, one too many, a bad character, no '=' */
	assert_int_equal(wgkey_decode("AECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=", key), -1);
	assert_int_equal(wgkey_decode(KEY_B64 "A", key), -1);
	assert_int_equal(wgkey_decode("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh*=", key), -1);
	assert_int_equal(wgkey_decode("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8A", key), -1);
	assert_int_equal(wgkey_decode(KEY_B64 " x", key), -1);
}

static void reads_the_first_line_of_a_file(void **state)
{
	char path[] = "/tmp/epmon-wgkey-XXXXXX";
	unsigned char key[WGKEY_LEN];
	int fd = mkstemp(path);
	FILE *f;

	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	fputs(KEY_B64 "\n", f);
	fclose(f);
	assert_int_equal(wgkey_read_file(path, key), 0);
	assert_int_equal(key[31], 31);
	f = fopen(path, "w");
	fputs("not a key\n", f);
	fclose(f);
	assert_int_equal(wgkey_read_file(path, key), -2);
	unlink(path);
	assert_int_equal(wgkey_read_file(path, key), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(decodes_a_key),
		cmocka_unit_test(refuses_what_is_not_a_key),
		cmocka_unit_test(reads_the_first_line_of_a_file),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
