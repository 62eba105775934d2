/* SPDX-License-Identifier: MIT */
#include "util/note.h"

#include <stdio.h>
#include <string.h>

#include "util/utf8.h"

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
	/* a note quotes what a client or server said: one line of valid
	 * UTF-8 without control characters wherever it is shown (a terminal,
	 * the journal, the CSV, a page, a mail) */
	utf8_clean_line(buf + used);
}

void note_add(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	note_vadd(buf, size, fmt, ap);
	va_end(ap);
}
