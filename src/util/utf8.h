/* SPDX-License-Identifier: MIT */
/* UTF-8 text helpers for what goes into mails and state files. */
#ifndef EPMON_UTIL_UTF8_H
#define EPMON_UTIL_UTF8_H

#include <stddef.h>

/* Length of the valid UTF-8 sequence at s (1..4), 0 when invalid or at the
 * end (n bytes available). */
size_t utf8_seq_len(const unsigned char *s, size_t n);

/* Copies src into dst (size bytes, NUL included), cut at a character
 * boundary. Returns 1 when src was cut, else 0. */
int utf8_copy(char *dst, size_t size, const char *src);

/* Rewrites s in place as one line of valid UTF-8: control characters
 * (tab, CR, LF, ..., DEL and the C1 ones) become spaces, invalid bytes
 * become '?'. */
void utf8_clean_line(char *s);

#endif
