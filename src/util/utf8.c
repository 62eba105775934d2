/* SPDX-License-Identifier: MIT */
#include "util/utf8.h"

#include <string.h>

size_t utf8_seq_len(const unsigned char *s, size_t n)
{
	size_t len;
	unsigned min;
	unsigned cp;

	if (n == 0)
		return 0;
	if (s[0] < 0x80)
		return 1;
	if ((s[0] & 0xe0) == 0xc0)
		len = 2, cp = s[0] & 0x1f, min = 0x80;
	else if ((s[0] & 0xf0) == 0xe0)
		len = 3, cp = s[0] & 0x0f, min = 0x800;
	else if ((s[0] & 0xf8) == 0xf0)
		len = 4, cp = s[0] & 0x07, min = 0x10000;
	else
		return 0;
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	/* Overlong forms, UTF-16 surrogates and values past Unicode are invalid. */
	if (cp < min || (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return 0;
	return len;
}

int utf8_copy(char *dst, size_t size, const char *src)
{
	const unsigned char *s = (const unsigned char *)src;
	size_t n = strlen(src), used = 0;

	if (size == 0)
		return n > 0;
	while (used < n) {
		size_t len = utf8_seq_len(s + used, n - used);
		if (len == 0)
			len = 1; /* an invalid byte is copied as one byte */
		if (used + len > size - 1)
			break;
		used += len;
	}
	memcpy(dst, src, used);
	dst[used] = '\0';
	return used < n;
}

void utf8_clean_line(char *s)
{
	unsigned char *p = (unsigned char *)s;
	size_t n = strlen(s);

	for (size_t i = 0; i < n;) {
		size_t len = utf8_seq_len(p + i, n - i);
		if (len == 0) {
			p[i++] = '?';
		} else if (len == 1 && (p[i] < 0x20 || p[i] == 0x7f)) {
			p[i++] = ' ';
		} else if (len == 2 && p[i] == 0xc2 && p[i + 1] < 0xa0) {
			p[i++] = ' ';   /* a C1 control, U+0080..U+009F (CSI: U+009B) */
			p[i++] = ' ';
		} else {
			i += len;
		}
	}
}
