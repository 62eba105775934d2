/* SPDX-License-Identifier: MIT */
/* WireGuard keys: base64 in, raw bytes and hex out. The one reader of key
 * files, shared by the config check and the site test. */
#include "util/wgkey.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

static int b64_value(char ch)
{
	if (ch >= 'A' && ch <= 'Z')
		return ch - 'A';
	if (ch >= 'a' && ch <= 'z')
		return ch - 'a' + 26;
	if (ch >= '0' && ch <= '9')
		return ch - '0' + 52;
	if (ch == '+')
		return 62;
	if (ch == '/')
		return 63;
	return -1;
}

int wgkey_decode(const char *text, unsigned char key[WGKEY_LEN])
{
	size_t len = strcspn(text, " \t\r\n");
	unsigned int acc = 0;
	int bits = 0;
	size_t out = 0;

	if (len != 44 || text[43] != '=' || text[len + strspn(text + len, " \t\r\n")])
		return -1;
	for (size_t i = 0; i < 43; i++) {
		int v = b64_value(text[i]);
		if (v < 0)
			return -1;
		acc = (acc << 6) | (unsigned)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (out < WGKEY_LEN)
				key[out] = (unsigned char)(acc >> bits);
			out++;
		}
	}
	/* 43 symbols = 258 bits: the 2 bits left over must be zero */
	if (out != WGKEY_LEN || (acc & ((1u << bits) - 1)) != 0)
		return -1;
	return 0;
}

int wgkey_read_file(const char *path, unsigned char key[WGKEY_LEN])
{
	char buf[256];
	ssize_t n;
	int fd, rc;

	/* O_NONBLOCK: a FIFO here must not hang the caller */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	if (n < 0) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	close(fd);
	buf[n] = 0;
	buf[strcspn(buf, "\n")] = 0;
	rc = wgkey_decode(buf, key) == 0 ? 0 : -2;
	explicit_bzero(buf, sizeof(buf));
	return rc;
}

void wgkey_hex(const unsigned char key[WGKEY_LEN], char hex[2 * WGKEY_LEN + 1])
{
	static const char digits[] = "0123456789abcdef";

	for (int i = 0; i < WGKEY_LEN; i++) {
		hex[2 * i] = digits[key[i] >> 4];
		hex[2 * i + 1] = digits[key[i] & 15];
	}
	hex[2 * WGKEY_LEN] = 0;
}
