/* SPDX-License-Identifier: MIT */
/* Fuzzes the HTTP request path: the real server of `epmon run`, started
 * once with http_server_new on 127.0.0.1 and a free port (basic auth on, as
 * a probe reachable from Prometheus has it), gets each input written raw on
 * a new TCP connection, half-closed; the answer is read until the server
 * closes or 500 ms pass. Requests come from anyone who can reach the port:
 * method, URL, headers and the Authorization header must only ever get an
 * answer (or none, for an incomplete request). As libmicrohttpd and the
 * request handler now run in the unprivileged web process (web/server.c,
 * forked by http.c), a crash there does not stop this process: the harness
 * then gets no answer and finds the port refusing connections (the parent
 * restarts the web process after a backoff of 1 s or more), and aborts on
 * that input. Coverage feedback comes only from this process's side (the
 * pages rendered for the web process); the web process's is not seen. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "scratch.h"
#include "config/config.h"
#include "util/log.h"
#include "web/http.h"

/* libmicrohttpd waits out an incomplete request even after the client's
 * half-close (up to its idle timeout): no first byte within this time is
 * taken as no answer */
#define FIRST_BYTE_WAIT_MS 25
#define ANSWER_WAIT_MS 500

static struct sockaddr_in server = { .sin_family = AF_INET };
static struct config *cfg;          /* the server's, for the whole run */
static struct http_server *http;

/* A port nothing listens on right now. */
static int free_port(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), port = -1;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&sa, &len) == 0)
		port = ntohs(sa.sin_port);
	if (fd >= 0)
		close(fd);
	return port;
}

/* A connection to the server; -1 (errno set) when there is none. libFuzzer's
 * SIGALRM (its -timeout watch) may interrupt connect(): the connection then
 * goes on, and is waited for. */
static int dial(void)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), err = 0;
	socklen_t len = sizeof(err);
	struct pollfd p;

	if (fd < 0) {
		perror("socket");
		abort();
	}
	if (connect(fd, (struct sockaddr *)&server, sizeof(server)) == 0)
		return fd;
	if (errno == EINTR) {
		p = (struct pollfd){ .fd = fd, .events = POLLOUT };
		while (poll(&p, 1, -1) < 0 && errno == EINTR)
			;
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err == 0)
			return fd;
		errno = err;
	}
	err = errno;
	close(fd);
	errno = err;
	return -1;
}

/* Closed with a reset: no TIME_WAIT left behind by thousands of runs. */
static void hang_up(int fd)
{
	struct linger lg = { 1, 0 };

	setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(fd);
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

/* At exit: the web process is stopped, not left behind. */
static void stop_server(void)
{
	http_server_free(http);
	config_free(cfg);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char text[2048], pw[700];
	struct config_diag diag = { 0 };
	const char *dir;
	int port;

	(void)argc;
	(void)argv;
	log_init(-1);
	dir = scratch_dir("http");
	snprintf(pw, sizeof(pw), "%s/http.pw", dir);
	if (scratch_write(pw, "fuzz-secret\n", 12, 0600) < 0 || (port = free_port()) < 0) {
		perror(dir);
		exit(1);
	}
	snprintf(text, sizeof(text),
		 "frequency: 60\nprobe_name: fuzz\nresults: {directory: %s}\n"
		 "state_directory: %s\n"
		 "http: {listen: \"127.0.0.1:%d\", username: prometheus, password_file: %s}\n"
		 "sites:\n  - {name: paris, external_ip: 192.0.2.1}\n"
		 "  - {name: lyon-2, external_ip: 192.0.2.2}\n", dir, dir, port, pw);
	cfg = config_parse("fuzz.yml", text, strlen(text), &diag);
	for (size_t i = 0; i < diag.nerrors; i++)
		fprintf(stderr, "%s\n", diag.errors[i]);
	config_diag_free(&diag);
	if (!cfg || !(http = http_server_new(cfg, "fuzz", NULL))) {
		fprintf(stderr, "fuzz_http: cannot start the HTTP server\n");
		exit(1);
	}
	atexit(stop_server);
	server.sin_port = htons((uint16_t)port);
	server.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	double start = now_ms();
	size_t answered = 0;
	char buf[65536];
	int fd = dial(), probe;

	if (fd < 0) {
		fprintf(stderr, "fuzz_http: cannot connect (%s): the web process died on an "
			"earlier input\n", strerror(errno));
		abort();
	}
	for (size_t sent = 0; sent < size;) {
		ssize_t w = send(fd, data + sent, size - sent, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && errno != EPIPE && errno != ECONNRESET) {
			perror("send");
			abort();
		}
		if (w <= 0)
			break;  /* the server closed first: its answer is still read */
		sent += (size_t)w;
	}
	shutdown(fd, SHUT_WR);
	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		double left = start + (answered ? ANSWER_WAIT_MS : FIRST_BYTE_WAIT_MS) - now_ms();
		ssize_t n;
		if (left <= 0)
			break;
		if ((n = poll(&p, 1, (int)left + 1)) < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		n = recv(fd, buf, sizeof(buf), 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		answered += (size_t)n;
	}
	hang_up(fd);
	/* no answer at all: is the web process still there? */
	if (!answered) {
		if ((probe = dial()) < 0) {
			fprintf(stderr, "fuzz_http: no answer, and no connection since "
				"(%s): the web process died on this input\n", strerror(errno));
			abort();
		}
		hang_up(probe);
	}
	return 0;
}
