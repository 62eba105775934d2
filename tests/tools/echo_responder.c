/* SPDX-License-Identifier: MIT */
/* echo_responder: answers ICMP echo requests after a fixed delay, for tests.
 *
 *   echo_responder [--delay-ms MS] [--cold-delay-ms MS [--cold-after-ms MS]]
 *                  [--drop-every N] [--duplicate-every N] [--pidfile FILE] [-v]
 *
 * Run it inside a network namespace whose kernel does not answer pings
 * (net.ipv4.icmp_echo_ignore_all=1, net.ipv6.icmp.echo_ignore_all=1): it
 * reads every echo request on raw ICMP and ICMPv6 sockets and sends the reply
 * MS milliseconds after the kernel received the request, from the address
 * that was pinged. --drop-every N leaves every Nth request of each pinger
 * (source address + identifier + address pinged) unanswered, so a pinger sending 8 requests
 * with N=4 sees exactly 25% loss. --duplicate-every N answers every Nth
 * request (counted like drops) twice. --cold-delay-ms answers a request from
 * an address that sent nothing for --cold-after-ms (default 1000) that late
 * instead: the first packet through a gateway after a quiet spell (ARP,
 * session set-up). The pidfile is written once the sockets are open; SIGTERM
 * or SIGINT ends it. */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/icmp6.h>
#include <netinet/in.h>
#include <netinet/ip_icmp.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#ifndef ICMP_FILTER
#define ICMP_FILTER 1
#endif

#define NS_PER_S 1000000000LL
#define QUEUE_LEN 1024
#define MAX_PINGERS 256
#define MAX_DATA 1280
#define SPIN_NS 500000 /* the last stretch before a reply: exact sleep */
#define BUSY_NS 150000 /* ... and its very end: busy wait */

/* One reply waiting for its time. */
struct pending {
	int64_t due;                    /* CLOCK_MONOTONIC ns */
	int fd, family;
	struct sockaddr_storage to;     /* the pinger */
	struct sockaddr_storage local;  /* the address it pinged */
	size_t len;
	uint8_t data[MAX_DATA];         /* the reply, ready to send */
};

/* Requests seen per pinger and pinged address, for --drop-every. */
struct pinger {
	struct sockaddr_storage addr;
	struct sockaddr_storage local;
	uint16_t ident;
	unsigned long requests;
};

enum verdict { ANSWER, DROP, DUPLICATE };

/* When an address last sent a request, for --cold-delay-ms. */
struct source {
	struct sockaddr_storage addr;
	int64_t last;                   /* CLOCK_MONOTONIC ns */
};

struct responder {
	int64_t delay_ns;
	int64_t cold_delay_ns;          /* < 0: off */
	int64_t cold_after_ns;
	struct source sources[MAX_PINGERS];
	size_t nsources, next_source;
	unsigned long cold;
	unsigned long drop_every;
	unsigned long dup_every;
	int verbose;
	int fd4, fd6;
	struct pending *queue;          /* FIFO: a fixed delay keeps it sorted */
	size_t head, count;
	struct pinger pingers[MAX_PINGERS];
	size_t npingers, next_evict;
	unsigned long answered, dropped;
	int64_t late_sum, late_max;     /* how late replies went out, ns */
};

static volatile sig_atomic_t terminate;

static void on_signal(int sig)
{
	(void)sig;
	terminate = 1;
}

static int64_t now_ns(clockid_t c)
{
	struct timespec ts;

	clock_gettime(c, &ts);
	return (int64_t)ts.tv_sec * NS_PER_S + ts.tv_nsec;
}

static int same_addr(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
	if (a->ss_family != b->ss_family)
		return 0;
	if (a->ss_family == AF_INET)
		return ((const struct sockaddr_in *)a)->sin_addr.s_addr ==
		       ((const struct sockaddr_in *)b)->sin_addr.s_addr;
	return !memcmp(&((const struct sockaddr_in6 *)a)->sin6_addr,
		       &((const struct sockaddr_in6 *)b)->sin6_addr, 16);
}

/* What to do with this request, from its number among those of its pinger
 * to this address. */
static enum verdict judge(struct responder *r, const struct sockaddr_storage *from,
		       const struct sockaddr_storage *local, uint16_t ident)
{
	struct pinger *p = NULL;
	size_t i;

	if (r->drop_every == 0 && r->dup_every == 0)
		return ANSWER;
	for (i = 0; i < r->npingers && !p; i++)
		if (r->pingers[i].ident == ident && same_addr(&r->pingers[i].addr, from) &&
		    same_addr(&r->pingers[i].local, local))
			p = &r->pingers[i];
	if (!p) {
		if (r->npingers < MAX_PINGERS) {
			p = &r->pingers[r->npingers++];
		} else {
			p = &r->pingers[r->next_evict];
			r->next_evict = (r->next_evict + 1) % MAX_PINGERS;
		}
		p->addr = *from;
		p->local = *local;
		p->ident = ident;
		p->requests = 0;
	}
	p->requests++;
	if (r->drop_every && p->requests % r->drop_every == 0)
		return DROP;
	if (r->dup_every && p->requests % r->dup_every == 0)
		return DUPLICATE;
	return ANSWER;
}

/* The delay of a request from `from` now: the cold one after a quiet spell. */
static int64_t delay_for(struct responder *r, const struct sockaddr_storage *from, int64_t now)
{
	struct source *s = NULL;
	int cold;

	if (r->cold_delay_ns < 0)
		return r->delay_ns;
	for (size_t i = 0; i < r->nsources && !s; i++)
		if (same_addr(&r->sources[i].addr, from))
			s = &r->sources[i];
	cold = !s || now - s->last >= r->cold_after_ns;
	if (!s) {
		if (r->nsources < MAX_PINGERS) {
			s = &r->sources[r->nsources++];
		} else {
			s = &r->sources[r->next_source];
			r->next_source = (r->next_source + 1) % MAX_PINGERS;
		}
		s->addr = *from;
	}
	s->last = now;
	if (cold)
		r->cold++;
	return cold ? r->cold_delay_ns : r->delay_ns;
}

static uint16_t checksum(const uint8_t *p, size_t len)
{
	uint32_t sum = 0;

	for (; len > 1; p += 2, len -= 2)
		sum += (uint32_t)p[0] << 8 | p[1];
	if (len)
		sum += (uint32_t)p[0] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

static int open_raw(int family)
{
	int on = 1, fd;

	fd = socket(family, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC,
		    family == AF_INET ? IPPROTO_ICMP : IPPROTO_ICMPV6);
	if (fd < 0)
		return -1;
	if (family == AF_INET) {
		uint32_t block = ~(1u << ICMP_ECHO);
		setsockopt(fd, SOL_RAW, ICMP_FILTER, &block, sizeof(block));
		setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &on, sizeof(on));
	} else {
		struct icmp6_filter f;
		ICMP6_FILTER_SETBLOCKALL(&f);
		ICMP6_FILTER_SETPASS(ICMP6_ECHO_REQUEST, &f);
		setsockopt(fd, IPPROTO_ICMPV6, ICMP6_FILTER, &f, sizeof(f));
		setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &on, sizeof(on));
	}
	setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &on, sizeof(on));
	return fd;
}

/* Turns one received request into a queued reply (or a counted drop). */
static void take_request(struct responder *r, int fd, int family)
{
	struct pending *p;
	uint8_t buf[MAX_DATA + 60];
	union { char b[256]; struct cmsghdr align; } ctrl;
	struct sockaddr_storage from;
	struct iovec iov = { buf, sizeof(buf) };
	struct msghdr mh;
	struct cmsghdr *c;
	int64_t rx = 0;
	size_t off = 0, len;
	enum verdict verdict;
	ssize_t n;

	memset(&mh, 0, sizeof(mh));
	mh.msg_name = &from;
	mh.msg_namelen = sizeof(from);
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = ctrl.b;
	mh.msg_controllen = sizeof(ctrl.b);
	n = recvmsg(fd, &mh, MSG_DONTWAIT);
	if (n <= 0)
		return;
	if (r->count == QUEUE_LEN) { /* read, so poll() stops saying so */
		r->dropped++;
		return;
	}
	p = &r->queue[(r->head + r->count) % QUEUE_LEN];
	memset(&p->local, 0, sizeof(p->local));
	p->local.ss_family = AF_UNSPEC;
	for (c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS) {
			struct timespec ts;
			memcpy(&ts, CMSG_DATA(c), sizeof(ts));
			rx = (int64_t)ts.tv_sec * NS_PER_S + ts.tv_nsec;
		} else if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
			struct in_pktinfo pi;
			memcpy(&pi, CMSG_DATA(c), sizeof(pi));
			p->local.ss_family = AF_INET;
			((struct sockaddr_in *)&p->local)->sin_addr = pi.ipi_addr;
		} else if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO) {
			struct in6_pktinfo pi;
			memcpy(&pi, CMSG_DATA(c), sizeof(pi));
			p->local.ss_family = AF_INET6;
			((struct sockaddr_in6 *)&p->local)->sin6_addr = pi.ipi6_addr;
		}
	}
	if (family == AF_INET) /* raw IPv4 sockets see the IP header */
		off = (size_t)(buf[0] & 0x0f) * 4;
	if ((size_t)n < off + 8)
		return;
	len = (size_t)n - off;
	if (len > MAX_DATA || buf[off] != (family == AF_INET ? ICMP_ECHO : ICMP6_ECHO_REQUEST))
		return;
	verdict = judge(r, &from, &p->local, (uint16_t)(buf[off + 4] << 8 | buf[off + 5]));
	if (verdict == DROP) {
		r->dropped++;
		return;
	}
	/* The delay counts from the kernel's receive time, not from our wake-up. */
	p->due = now_ns(CLOCK_MONOTONIC);
	p->due += delay_for(r, &from, p->due);
	if (rx)
		p->due -= now_ns(CLOCK_REALTIME) - rx;
	p->fd = fd;
	p->family = family;
	p->to = from;
	p->len = len;
	memcpy(p->data, buf + off, len);
	p->data[0] = family == AF_INET ? ICMP_ECHOREPLY : ICMP6_ECHO_REPLY;
	p->data[2] = p->data[3] = 0;
	if (family == AF_INET) { /* the kernel sums ICMPv6 */
		uint16_t s = checksum(p->data, len);
		p->data[2] = (uint8_t)(s >> 8);
		p->data[3] = (uint8_t)s;
	}
	r->count++;
	if (verdict == DUPLICATE && r->count < QUEUE_LEN) {
		r->queue[(r->head + r->count) % QUEUE_LEN] = *p;
		r->count++;
	}
	/* one delay keeps the queue in time order; with a cold one, sort it in */
	for (size_t k = r->count - 1; r->cold_delay_ns >= 0 && k > 0; k--) {
		struct pending *a = &r->queue[(r->head + k - 1) % QUEUE_LEN];
		struct pending *b = &r->queue[(r->head + k) % QUEUE_LEN];
		struct pending t;
		if (a->due <= b->due)
			break;
		t = *a;
		*a = *b;
		*b = t;
	}
}

/* Sends from the address that was pinged, whatever the routes prefer. */
static void send_reply(struct responder *r, const struct pending *p)
{
	union { char b[128]; struct cmsghdr align; } ctrl;
	struct iovec iov = { (void *)p->data, p->len };
	struct msghdr mh;
	struct cmsghdr *c;
	int64_t late;

	memset(&mh, 0, sizeof(mh));
	memset(&ctrl, 0, sizeof(ctrl));
	mh.msg_name = (void *)&p->to;
	mh.msg_namelen = p->family == AF_INET ? sizeof(struct sockaddr_in)
					      : sizeof(struct sockaddr_in6);
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	if (p->local.ss_family == AF_INET) {
		struct in_pktinfo pi;
		memset(&pi, 0, sizeof(pi));
		pi.ipi_spec_dst = ((const struct sockaddr_in *)&p->local)->sin_addr;
		mh.msg_control = ctrl.b;
		mh.msg_controllen = CMSG_SPACE(sizeof(pi));
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = IPPROTO_IP;
		c->cmsg_type = IP_PKTINFO;
		c->cmsg_len = CMSG_LEN(sizeof(pi));
		memcpy(CMSG_DATA(c), &pi, sizeof(pi));
	} else if (p->local.ss_family == AF_INET6) {
		struct in6_pktinfo pi;
		memset(&pi, 0, sizeof(pi));
		pi.ipi6_addr = ((const struct sockaddr_in6 *)&p->local)->sin6_addr;
		mh.msg_control = ctrl.b;
		mh.msg_controllen = CMSG_SPACE(sizeof(pi));
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = IPPROTO_IPV6;
		c->cmsg_type = IPV6_PKTINFO;
		c->cmsg_len = CMSG_LEN(sizeof(pi));
		memcpy(CMSG_DATA(c), &pi, sizeof(pi));
	}
	late = now_ns(CLOCK_MONOTONIC) - p->due;
	if (sendmsg(p->fd, &mh, 0) < 0) {
		fprintf(stderr, "echo_responder: sendmsg: %s\n", strerror(errno));
		return;
	}
	r->answered++;
	r->late_sum += late;
	if (late > r->late_max)
		r->late_max = late;
	if (r->verbose) {
		char a[INET6_ADDRSTRLEN] = "?";
		const void *ap = p->family == AF_INET
			? (const void *)&((const struct sockaddr_in *)&p->to)->sin_addr
			: (const void *)&((const struct sockaddr_in6 *)&p->to)->sin6_addr;
		inet_ntop(p->family, ap, a, sizeof(a));
		fprintf(stderr, "echo_responder: reply to %s seq %u, %.1f us late\n", a,
			(unsigned)(p->data[6] << 8 | p->data[7]), (double)late / 1e3);
	}
}

static void serve(struct responder *r)
{
	struct pollfd pfd[2];
	sigset_t empty;
	int n = 0;

	sigemptyset(&empty);
	if (r->fd4 >= 0)
		pfd[n++] = (struct pollfd){ .fd = r->fd4, .events = POLLIN };
	if (r->fd6 >= 0)
		pfd[n++] = (struct pollfd){ .fd = r->fd6, .events = POLLIN };
	while (!terminate) {
		struct timespec ts, *tmo = NULL;
		int64_t wait;
		int i;

		/* Send what is due; the last stretch is an exact absolute sleep. */
		while (r->count) {
			struct pending *p = &r->queue[r->head];
			wait = p->due - now_ns(CLOCK_MONOTONIC);
			if (wait > SPIN_NS)
				break;
			if (wait > BUSY_NS) {
				int64_t until = p->due - BUSY_NS;
				ts.tv_sec = (time_t)(until / NS_PER_S);
				ts.tv_nsec = (long)(until % NS_PER_S);
				while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
					;
			}
			/* Timer wake-ups in VMs are tens of us late: spin the rest. */
			while (now_ns(CLOCK_MONOTONIC) < p->due)
				;
			send_reply(r, p);
			r->head = (r->head + 1) % QUEUE_LEN;
			r->count--;
		}
		if (r->count) {
			wait = r->queue[r->head].due - now_ns(CLOCK_MONOTONIC) - SPIN_NS;
			if (wait < 0)
				wait = 0;
			ts.tv_sec = (time_t)(wait / NS_PER_S);
			ts.tv_nsec = (long)(wait % NS_PER_S);
			tmo = &ts;
		}
		if (ppoll(pfd, (nfds_t)n, tmo, &empty) <= 0)
			continue;
		for (i = 0; i < n; i++)
			if (pfd[i].revents & POLLIN)
				take_request(r, pfd[i].fd, pfd[i].fd == r->fd4 ? AF_INET : AF_INET6);
	}
}

static void usage(void)
{
	fprintf(stderr, "usage: echo_responder [--delay-ms MS] [--cold-delay-ms MS "
			"[--cold-after-ms MS]] [--drop-every N] [--duplicate-every N] "
			"[--pidfile FILE] [-v]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "delay-ms", required_argument, NULL, 'd' },
		{ "cold-delay-ms", required_argument, NULL, 'c' },
		{ "cold-after-ms", required_argument, NULL, 'a' },
		{ "drop-every", required_argument, NULL, 'n' },
		{ "duplicate-every", required_argument, NULL, 'u' },
		{ "pidfile", required_argument, NULL, 'p' },
		{ "verbose", no_argument, NULL, 'v' },
		{ NULL, 0, NULL, 0 },
	};
	static struct responder r;
	const char *pidfile = NULL;
	struct sigaction sa;
	sigset_t block;
	char *end;
	double ms = 0, cold_ms = -1, cold_after_ms = 1000;
	int c;

	while ((c = getopt_long(argc, argv, "d:c:a:n:u:p:v", opts, NULL)) != -1) {
		switch (c) {
		case 'd':
			ms = strtod(optarg, &end);
			if (*end || ms < 0 || ms > 60000)
				usage();
			break;
		case 'c':
			cold_ms = strtod(optarg, &end);
			if (*end || cold_ms < 0 || cold_ms > 60000)
				usage();
			break;
		case 'a':
			cold_after_ms = strtod(optarg, &end);
			if (*end || cold_after_ms < 0 || cold_after_ms > 3600000)
				usage();
			break;
		case 'n':
			r.drop_every = strtoul(optarg, &end, 10);
			if (*end)
				usage();
			break;
		case 'u':
			r.dup_every = strtoul(optarg, &end, 10);
			if (*end)
				usage();
			break;
		case 'p': pidfile = optarg; break;
		case 'v': r.verbose = 1; break;
		default: usage();
		}
	}
	if (optind != argc)
		usage();
	r.delay_ns = (int64_t)(ms * 1e6 + 0.5);
	r.cold_delay_ns = cold_ms < 0 ? -1 : (int64_t)(cold_ms * 1e6 + 0.5);
	r.cold_after_ns = (int64_t)(cold_after_ms * 1e6 + 0.5);
	r.queue = calloc(QUEUE_LEN, sizeof(*r.queue));
	if (!r.queue) {
		fprintf(stderr, "echo_responder: out of memory\n");
		return 1;
	}
	/* Microsecond wake-ups instead of the default 50 us timer slack, and
	 * not preempted by a busy test machine when running as root (the busy
	 * wait before each reply is short, so this starves nobody). */
	prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
	{
		struct sched_param sp = { .sched_priority = 10 };
		(void)sched_setscheduler(0, SCHED_FIFO, &sp);
	}

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigemptyset(&block); /* delivered only inside ppoll: no lost wake-up */
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigprocmask(SIG_BLOCK, &block, NULL);

	r.fd4 = open_raw(AF_INET);
	if (r.fd4 < 0) {
		fprintf(stderr, "echo_responder: raw ICMP socket: %s\n", strerror(errno));
		return 1;
	}
	r.fd6 = open_raw(AF_INET6); /* IPv6 is optional */
	if (pidfile) {
		FILE *f = fopen(pidfile, "w");
		if (!f || fprintf(f, "%ld\n", (long)getpid()) < 0 || fclose(f) != 0) {
			fprintf(stderr, "echo_responder: %s: %s\n", pidfile, strerror(errno));
			return 1;
		}
	}
	serve(&r);
	fprintf(stderr, "echo_responder: answered %lu (%lu cold), dropped %lu, sent late by "
		"%.1f us on average, %.1f us at most\n", r.answered, r.cold, r.dropped,
		r.answered ? (double)r.late_sum / (double)r.answered / 1e3 : 0.0,
		(double)r.late_max / 1e3);
	if (pidfile)
		unlink(pidfile);
	close(r.fd4);
	if (r.fd6 >= 0)
		close(r.fd6);
	free(r.queue);
	return 0;
}
