/* SPDX-License-Identifier: MIT */
#include "util/note.h"

#include <stdio.h>
#include <string.h>

void note_vadd(char *buf, size_t size, const char *fmt, va_list ap)
{
	size_t used = strnlen(buf, size);

	if (used > 0 && used + 2 < size) {
		memcpy(buf + used, "; ", 3);
		used += 2;
	}
	if (used + 1 >= size)
		return;
	vsnprintf(buf + used, size - used, fmt, ap);
}

void note_add(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	note_vadd(buf, size, fmt, ap);
	va_end(ap);
}
