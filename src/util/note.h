/* SPDX-License-Identifier: MIT */
/* Notes appended to a fixed buffer, "; "-separated: how a site test's
 * steps explain a failure or a repair in one CSV field. */
#ifndef EPMON_UTIL_NOTE_H
#define EPMON_UTIL_NOTE_H

#include <stdarg.h>
#include <stddef.h>

/* Appends to the NUL-terminated buf of `size` bytes; truncated, never
 * overflowing, when full. What is added is made one line of valid UTF-8:
 * control characters become spaces, invalid bytes '?' (utf8_clean_line). */
void note_add(char *buf, size_t size, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void note_vadd(char *buf, size_t size, const char *fmt, va_list ap)
	__attribute__((format(printf, 3, 0)));

#endif
