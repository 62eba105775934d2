/* SPDX-License-Identifier: MIT */
/* Secret files and comparisons of the HTTP server (http_secret.h). */
#include "http_secret.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "http.h"
#include "log.h"

/* The whole of a small file, NUL-terminated (PEM for GnuTLS). */
char *http_read_file(const char *path, size_t *len, char *why, size_t whylen)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	struct stat st;
	char *buf = NULL;
	size_t done = 0;

	if (fd < 0 || fstat(fd, &st) < 0) {
		snprintf(why, whylen, "%s", strerror(errno));
	} else if (!S_ISREG(st.st_mode) || st.st_size > HTTP_FILE_MAX) {
		snprintf(why, whylen, "not a regular file of at most %d bytes",
			 HTTP_FILE_MAX);
	} else if (!(buf = malloc((size_t)st.st_size + 1))) {
		snprintf(why, whylen, "out of memory");
	} else {
		while (done < (size_t)st.st_size) {
			ssize_t n = read(fd, buf + done, (size_t)st.st_size - done);
			if (n <= 0)
				break;
			done += (size_t)n;
		}
		buf[done] = '\0';
		*len = done;
	}
	if (fd >= 0)
		close(fd);
	return buf;
}

/* Frees a buffer that held a secret, wiping it first. */
void http_free_secret(char *s, size_t len)
{
	if (s) {
		explicit_bzero(s, len);
		free(s);
	}
}

/* The first line of password_file, without its newline. */
char *http_read_password(const char *path)
{
	char why[128];
	size_t len = 0;
	char *text = http_read_file(path, &len, why, sizeof(why));
	char *pw;

	if (!text) {
		log_error(NULL, "http: cannot read password_file %s: %s", path, why);
		return NULL;
	}
	text[strcspn(text, "\r\n")] = '\0';
	pw = strlen(text) > 0 && strlen(text) <= HTTP_PASSWORD_MAX ? strdup(text) : NULL;
	if (!pw)
		log_error(NULL, "http: password_file %s: the first line must hold the "
			  "password (1 to %d bytes)", path, HTTP_PASSWORD_MAX);
	http_free_secret(text, len);
	return pw;
}

/* Compares in a time that does not depend on where the strings differ. */
int http_same_secret(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), n = la > lb ? la : lb;
	unsigned char diff = la != lb;

	for (size_t i = 0; i < n; i++)
		diff |= (unsigned char)(i < la ? a[i] : 0) ^ (unsigned char)(i < lb ? b[i] : 0);
	return diff == 0;
}

