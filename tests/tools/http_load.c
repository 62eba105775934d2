/* SPDX-License-Identifier: MIT */
/* http_load: hostile and heavy HTTP clients for the e2e tests of epmon's
 * server, bounded in count and time, to a numeric address only.
 *
 *   http_load flood --port P [--addr A] [--bind B] [--path PATH]
 *             [--requests N] [--concurrency C] [--seconds S]
 *       N requests (HTTP/1.0, one per connection), C at a time; prints
 *       "requests=N ok=N errors=N seconds=S rate=R p50_ms=.. p99_ms=.. max_ms=.."
 *   http_load slowloris --port P [--addr A] [--bind B] --connections N
 *             --seconds S [--interval I]
 *       opens N connections, sends a request line, then one header line
 *       every I seconds (I = 0: nothing more) and never ends the request;
 *       after S seconds, or once the server has closed them all, prints
 *       "opened=N refused=N dropped=N closed=N held=N first_close_s=T
 *       last_close_s=T" (refused: connect failed; dropped: closed by the
 *       server within DROP_S of connecting, i.e. refused at accept; closed:
 *       by the server later, first_close_s and last_close_s the first and
 *       last of those, -1 when none; held: still open)
 *   http_load bigheader --port P [--addr A] [--size BYTES]
 *       one GET with a header line of BYTES; prints "status=CODE" or
 *       "status=closed"
 *
 * Exit status 0 when the run completed (whatever the server answered),
 * 2 for bad arguments or when no socket could be made. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_CONNS 4096
#define DROP_S 2.0                  /* closed sooner: refused at accept */

struct opts {
	const char *mode, *addr, *bind, *path;
	int port, requests, concurrency, connections;
	double seconds, interval;
	long size;
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int make_addr(const char *text, int port, struct sockaddr_storage *ss,
		     socklen_t *len)
{
	struct sockaddr_in *a4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, text, &a4->sin_addr) == 1) {
		a4->sin_family = AF_INET;
		a4->sin_port = htons((unsigned short)port);
		*len = sizeof(*a4);
		return 0;
	}
	if (inet_pton(AF_INET6, text, &a6->sin6_addr) == 1) {
		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons((unsigned short)port);
		*len = sizeof(*a6);
		return 0;
	}
	return -1;
}

/* A non-blocking socket connecting to the server; -1 when none. */
static int open_conn(const struct opts *o)
{
	struct sockaddr_storage to, from;
	socklen_t tolen, fromlen;
	int fd;

	if (make_addr(o->addr, o->port, &to, &tolen) < 0)
		return -1;
	fd = socket(to.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (o->bind && (make_addr(o->bind, 0, &from, &fromlen) < 0 ||
			bind(fd, (struct sockaddr *)&from, fromlen) < 0)) {
		close(fd);
		return -1;
	}
	if (connect(fd, (struct sockaddr *)&to, tolen) < 0 && errno != EINPROGRESS) {
		close(fd);
		return -1;
	}
	return fd;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

struct flood_conn {
	int fd;
	int sent;
	double start;
	char head[16];
	size_t nhead;
};

static int flood(const struct opts *o)
{
	struct flood_conn *c = calloc((size_t)o->concurrency, sizeof(*c));
	struct pollfd *pfd = calloc((size_t)o->concurrency, sizeof(*pfd));
	double *lat = calloc((size_t)o->requests, sizeof(*lat));
	char req[512], buf[65536];
	int started = 0, done = 0, ok = 0, errors = 0, nlat = 0;
	double t0 = now_s();

	if (!c || !pfd || !lat)
		return 2;
	snprintf(req, sizeof(req), "GET %s HTTP/1.0\r\nHost: %s\r\n\r\n", o->path, o->addr);
	for (int i = 0; i < o->concurrency; i++)
		c[i].fd = -1;
	while (done < o->requests && now_s() - t0 < o->seconds) {
		for (int i = 0; i < o->concurrency; i++) {
			if (c[i].fd < 0 && started < o->requests) {
				c[i].fd = open_conn(o);
				started++;
				if (c[i].fd < 0) {
					errors++;
					done++;
					continue;
				}
				c[i].sent = 0;
				c[i].nhead = 0;
				c[i].start = now_s();
			}
			pfd[i].fd = c[i].fd;
			pfd[i].events = c[i].fd < 0 ? 0 : c[i].sent ? POLLIN : POLLOUT;
		}
		if (poll(pfd, (nfds_t)o->concurrency, 200) < 0 && errno != EINTR)
			break;
		for (int i = 0; i < o->concurrency; i++) {
			ssize_t n;
			if (c[i].fd < 0 || !pfd[i].revents)
				continue;
			if (!c[i].sent) {
				n = send(c[i].fd, req, strlen(req), MSG_NOSIGNAL);
				if (n == (ssize_t)strlen(req)) {
					c[i].sent = 1;
					continue;
				}
			} else {
				n = recv(c[i].fd, buf, sizeof(buf), 0);
				if (n > 0) {
					size_t k = sizeof(c[i].head) - 1 - c[i].nhead;
					if ((size_t)n < k)
						k = (size_t)n;
					memcpy(c[i].head + c[i].nhead, buf, k);
					c[i].nhead += k;
					c[i].head[c[i].nhead] = '\0';
					continue;
				}
				if (n < 0 && errno == EAGAIN)
					continue;
			}
			/* EOF: the answer is complete (HTTP/1.0); else an error */
			if (n == 0 && !strncmp(c[i].head, "HTTP/1.", 7) &&
			    !strncmp(c[i].head + 8, " 200", 4)) {
				ok++;
				lat[nlat++] = (now_s() - c[i].start) * 1e3;
			} else {
				errors++;
			}
			close(c[i].fd);
			c[i].fd = -1;
			done++;
		}
	}
	double secs = now_s() - t0;
	qsort(lat, (size_t)nlat, sizeof(*lat), cmp_double);
	printf("requests=%d ok=%d errors=%d unfinished=%d seconds=%.3f rate=%.0f "
	       "p50_ms=%.2f p99_ms=%.2f max_ms=%.2f\n", o->requests, ok, errors,
	       o->requests - done, secs, done / (secs > 0 ? secs : 1),
	       nlat ? lat[nlat / 2] : 0, nlat ? lat[nlat * 99 / 100] : 0,
	       nlat ? lat[nlat - 1] : 0);
	for (int i = 0; i < o->concurrency; i++)
		if (c[i].fd >= 0)
			close(c[i].fd);
	free(c);
	free(pfd);
	free(lat);
	return 0;
}

static int slowloris(const struct opts *o)
{
	int n = o->connections, opened = 0, refused = 0, dropped = 0, closed = 0, held = 0;
	int *fd = calloc((size_t)n, sizeof(*fd));
	struct pollfd *pfd = calloc((size_t)n, sizeof(*pfd));
	double t0 = now_s(), next = t0, first_close = -1, last_close = -1;
	char line[64], buf[4096];
	int header = 0;

	if (!fd || !pfd)
		return 2;
	for (int i = 0; i < n; i++) {
		fd[i] = open_conn(o);
		if (fd[i] < 0)
			refused++;
		else
			opened++;
	}
	while (now_s() - t0 < o->seconds && opened > dropped + closed) {
		double t = now_s();
		if (t >= next) {
			/* first the request line, then one more header line each time */
			if (header == 0)
				snprintf(line, sizeof(line), "GET / HTTP/1.1\r\nHost: x\r\n");
			else
				snprintf(line, sizeof(line), "X-Slow-%d: %d\r\n", header, header);
			for (int i = 0; i < n; i++)
				if (fd[i] >= 0)
					send(fd[i], line, strlen(line), MSG_NOSIGNAL);
			header++;
			next = o->interval > 0 ? t + o->interval : t0 + 1e9;
		}
		for (int i = 0; i < n; i++) {
			pfd[i].fd = fd[i];
			pfd[i].events = POLLIN;
		}
		if (poll(pfd, (nfds_t)n, 50) < 0 && errno != EINTR)
			break;
		for (int i = 0; i < n; i++) {
			if (fd[i] < 0 || !(pfd[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			ssize_t got = recv(fd[i], buf, sizeof(buf), 0);
			if (got > 0 || (got < 0 && errno == EAGAIN))
				continue;
			/* EOF or reset: the server gave up on this connection */
			double at = now_s() - t0;
			if (at < DROP_S) {
				dropped++;
			} else {
				if (first_close < 0)
					first_close = at;
				last_close = at;
				closed++;
			}
			close(fd[i]);
			fd[i] = -1;
		}
	}
	for (int i = 0; i < n; i++) {
		if (fd[i] >= 0) {
			held++;
			close(fd[i]);
		}
	}
	printf("opened=%d refused=%d dropped=%d closed=%d held=%d first_close_s=%.2f "
	       "last_close_s=%.2f\n", opened, refused, dropped, closed, held, first_close,
	       last_close);
	free(fd);
	free(pfd);
	return 0;
}

static int bigheader(const struct opts *o)
{
	int fd = open_conn(o);
	struct pollfd p;
	char *req, head[32] = "";
	size_t len, off = 0;
	ssize_t n;
	double t0 = now_s();

	if (fd < 0 || o->size < 1)
		return 2;
	len = (size_t)o->size + 64;
	req = malloc(len);
	if (!req)
		return 2;
	off = (size_t)snprintf(req, len, "GET / HTTP/1.1\r\nHost: x\r\nX-Big: ");
	memset(req + off, 'a', (size_t)o->size);
	off += (size_t)o->size;
	memcpy(req + off, "\r\n\r\n", 4);
	len = off + 4;
	off = 0;
	p.fd = fd;
	while (now_s() - t0 < o->seconds) {
		p.events = off < len ? POLLIN | POLLOUT : POLLIN;
		if (poll(&p, 1, 100) <= 0)
			continue;
		if (p.revents & POLLIN) {
			n = recv(fd, head, sizeof(head) - 1, 0);
			if (n > 0)
				head[n] = '\0';
			break;
		}
		if (p.revents & POLLOUT) {
			n = send(fd, req + off, len - off, MSG_NOSIGNAL);
			if (n < 0 && errno != EAGAIN)
				break;
			if (n > 0)
				off += (size_t)n;
		}
		if (p.revents & (POLLHUP | POLLERR))
			break;
	}
	if (!strncmp(head, "HTTP/1.", 7))
		printf("status=%.3s sent=%zu\n", head + 9, off);
	else
		printf("status=closed sent=%zu\n", off);
	close(fd);
	free(req);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "addr", required_argument, NULL, 'a' },
		{ "bind", required_argument, NULL, 'b' },
		{ "port", required_argument, NULL, 'p' },
		{ "path", required_argument, NULL, 'P' },
		{ "requests", required_argument, NULL, 'n' },
		{ "concurrency", required_argument, NULL, 'c' },
		{ "connections", required_argument, NULL, 'C' },
		{ "seconds", required_argument, NULL, 's' },
		{ "interval", required_argument, NULL, 'i' },
		{ "size", required_argument, NULL, 'S' },
		{ NULL, 0, NULL, 0 },
	};
	struct opts o = { .addr = "127.0.0.1", .path = "/metrics", .requests = 1000,
			  .concurrency = 8, .connections = 10, .seconds = 30,
			  .interval = 1, .size = 100000 };
	int ch;

	if (argc < 2) {
		fprintf(stderr, "usage: http_load flood|slowloris|bigheader --port P ...\n");
		return 2;
	}
	o.mode = argv[1];
	optind = 2;
	while ((ch = getopt_long(argc, argv, "", lopts, NULL)) != -1) {
		switch (ch) {
		case 'a': o.addr = optarg; break;
		case 'b': o.bind = optarg; break;
		case 'p': o.port = atoi(optarg); break;
		case 'P': o.path = optarg; break;
		case 'n': o.requests = atoi(optarg); break;
		case 'c': o.concurrency = atoi(optarg); break;
		case 'C': o.connections = atoi(optarg); break;
		case 's': o.seconds = atof(optarg); break;
		case 'i': o.interval = atof(optarg); break;
		case 'S': o.size = atol(optarg); break;
		default: return 2;
		}
	}
	if (o.port < 1 || o.port > 65535 || o.requests < 1 || o.requests > 1000000 ||
	    o.concurrency < 1 || o.concurrency > MAX_CONNS || o.connections < 1 ||
	    o.connections > MAX_CONNS || o.seconds <= 0 || o.seconds > 120) {
		fprintf(stderr, "http_load: bad arguments (limits: connections <= %d, "
			"seconds <= 120)\n", MAX_CONNS);
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	if (!strcmp(o.mode, "flood"))
		return flood(&o);
	if (!strcmp(o.mode, "slowloris"))
		return slowloris(&o);
	if (!strcmp(o.mode, "bigheader"))
		return bigheader(&o);
	fprintf(stderr, "http_load: unknown mode %s\n", o.mode);
	return 2;
}
