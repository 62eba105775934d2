/* SPDX-License-Identifier: MIT */
#include "util/sdnotify.h"

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "util/log.h"

struct sdnotify {
	int fd;
	struct sockaddr_un addr;
	socklen_t addrlen;
	double watchdog_s;      /* 0: no watchdog */
};

/* WATCHDOG_USEC, if it is meant for this process. */
static double watchdog_from_env(void)
{
	const char *usec = getenv("WATCHDOG_USEC"), *pid = getenv("WATCHDOG_PID");
	unsigned long long v;
	char *end;

	if (!usec || !*usec)
		return 0;
	if (pid && *pid && strtol(pid, NULL, 10) != (long)getpid())
		return 0;
	errno = 0;
	v = strtoull(usec, &end, 10);
	if (errno || *end || v == 0) {
		log_warn(NULL, "systemd: ignoring WATCHDOG_USEC='%s'", usec);
		return 0;
	}
	return (double)v / 1e6;
}

struct sdnotify *sdnotify_new(void)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sdnotify *n;
	size_t len;

	if (!path || !*path)
		return NULL;
	n = calloc(1, sizeof(*n));
	if (!n)
		return NULL;
	len = strlen(path);
	/* "/run/systemd/notify", or "@name" for a name in the abstract namespace */
	if ((path[0] != '/' && path[0] != '@') || len >= sizeof(n->addr.sun_path)) {
		log_warn(NULL, "systemd: NOTIFY_SOCKET='%s' is not a socket path, not notifying", path);
		free(n);
		return NULL;
	}
	n->addr.sun_family = AF_UNIX;
	memcpy(n->addr.sun_path, path, len);
	if (path[0] == '@')
		n->addr.sun_path[0] = '\0';
	/* an abstract name is exactly its bytes: no trailing NUL in the length */
	n->addrlen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len + (path[0] == '/'));
	n->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (n->fd < 0) {
		log_warn(NULL, "systemd: cannot create a notification socket: %s", strerror(errno));
		free(n);
		return NULL;
	}
	n->watchdog_s = watchdog_from_env();
	unsetenv("NOTIFY_SOCKET");
	unsetenv("WATCHDOG_USEC");
	unsetenv("WATCHDOG_PID");
	return n;
}

void sdnotify_free(struct sdnotify *n)
{
	if (!n)
		return;
	close(n->fd);
	free(n);
}

int sdnotify_send(struct sdnotify *n, const char *message)
{
	ssize_t w;

	if (!n)
		return 0;
	do
		w = sendto(n->fd, message, strlen(message), MSG_NOSIGNAL | MSG_DONTWAIT,
			   (const struct sockaddr *)&n->addr, n->addrlen);
	while (w < 0 && errno == EINTR);
	if (w < 0) {
		log_debug(NULL, "systemd: cannot send '%s': %s", message, strerror(errno));
		return -1;
	}
	return 0;
}

void sdnotify_status(struct sdnotify *n, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	if (!n)
		return;
	memcpy(msg, "STATUS=", 7);
	va_start(ap, fmt);
	vsnprintf(msg + 7, sizeof(msg) - 7, fmt, ap);
	va_end(ap);
	sdnotify_send(n, msg);
}

double sdnotify_watchdog_s(const struct sdnotify *n)
{
	return n ? n->watchdog_s : 0;
}

void sdnotify_watchdog(struct sdnotify *n)
{
	if (n && n->watchdog_s > 0)
		sdnotify_send(n, "WATCHDOG=1");
}
