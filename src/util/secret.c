/* SPDX-License-Identifier: MIT */
#include "util/secret.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int secret_read_line(const char *path, char *buf, size_t len, char *err,
		     size_t errlen)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	struct stat st;
	ssize_t n = 0;

	if (len == 0)
		return -1;
	buf[0] = '\0';
	if (fd < 0 || fstat(fd, &st) < 0) {
		snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s is not a regular file", path);
		close(fd);
		return -1;
	}
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0) {
		snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno));
		return -1;
	}
	buf[n] = '\0';
	buf[strcspn(buf, "\r\n")] = '\0';
	if (!buf[0]) {
		snprintf(err, errlen, "%s: the first line is empty (it must hold the "
			 "secret)", path);
		return -1;
	}
	return 0;
}

int secret_get(const char *password_file, const char *password_env,
	       char *buf, size_t len, char *err, size_t errlen)
{
	if (len == 0)
		return -1;
	buf[0] = '\0';
	if (password_env) {
		const char *v = getenv(password_env);

		if (!v) {
			snprintf(err, errlen, "environment variable %s (password_env) is "
				 "not set", password_env);
			return -1;
		}
		snprintf(buf, len, "%s", v);
		return 0;
	}
	if (password_file)
		return secret_read_line(password_file, buf, len, err, errlen);
	return 0;
}

char *secret_read_file(const char *path, size_t max, size_t *len, char *why,
		       size_t whylen)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	struct stat st;
	char *buf = NULL;
	size_t done = 0;

	if (fd < 0 || fstat(fd, &st) < 0) {
		snprintf(why, whylen, "%s", strerror(errno));
	} else if (!S_ISREG(st.st_mode) || (size_t)st.st_size > max) {
		snprintf(why, whylen, "not a regular file of at most %zu bytes", max);
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

void secret_free(char *s, size_t len)
{
	if (s) {
		explicit_bzero(s, len);
		free(s);
	}
}

int secret_equal(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), n = la > lb ? la : lb;
	unsigned char diff = la != lb;

	for (size_t i = 0; i < n; i++)
		diff |= (unsigned char)(i < la ? a[i] : 0) ^ (unsigned char)(i < lb ? b[i] : 0);
	return diff == 0;
}
