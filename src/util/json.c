/* SPDX-License-Identifier: MIT */
/* JSON output helpers (see json.h). */
#include "util/json.h"

#include <string.h>

#include "util/utf8.h"

void json_string(FILE *out, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = strlen(s);

	fputc('"', out);
	while (n > 0) {
		size_t len = utf8_seq_len(p, n);
		if (len == 0) {
			fputs("\\ufffd", out);
			len = 1;
		} else if (*p == '"' || *p == '\\') {
			fprintf(out, "\\%c", *p);
		} else if (*p < 0x20 || *p == 0x7f) {
			fprintf(out, "\\u%04x", *p);
		} else {
			fwrite(p, 1, len, out);
		}
		p += len;
		n -= len;
	}
	fputc('"', out);
}

void json_time_utc(FILE *out, time_t t)
{
	struct tm tm;
	char buf[32];

	gmtime_r(&t, &tm);
	strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
	fprintf(out, "\"%s\"", buf);
}
