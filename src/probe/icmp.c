/* SPDX-License-Identifier: MIT */
/* The ping engine: every target keeps its own schedule, all requests go out
 * from one poll() loop, and a reply finds its request through the sequence
 * number, which is global to the call (like fping's seqmap). */
#include "probe/icmp.h"
#include "probe/icmp_socket.h"

#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#define NS_PER_S 1000000000LL
#define STOP_POLL_NS (100 * 1000000LL)
#define MAX_COUNT 1000000
#define MAX_SECONDS 86400.0     /* keeps nanosecond arithmetic in range */
#define RECV_BATCH 256          /* datagrams read per socket per wake-up */

enum req_state { REQ_PENDING = 0, REQ_REPLIED, REQ_ERROR, REQ_NOT_SENT };

/* One echo request: its index is its sequence number (mod 2^16), so a reply
 * leads back to the target and the send time. */
struct request {
	int target;
	enum req_state state;
	int64_t sent_rt;        /* CLOCK_REALTIME ns, the clock of rx timestamps */
	int64_t sent_mono;
	double rtt_ms;          /* REQ_REPLIED: its round trip */
};

/* SO_BINDTODEVICE is per socket: one socket per (family, interface). */
struct group {
	int family;
	const char *interface;
	struct icmp_sock sock;
	int open_rc;            /* of icmp_sock_open */
	char error[128];
};

struct target_run {
	struct sockaddr_storage addr;
	socklen_t addrlen;
	int group;              /* -1: not pinged, error already set */
	int sent;
	int settled;            /* requests answered, errored or not sent */
	int send_failed;
	int done;
	int64_t next_send;      /* CLOCK_MONOTONIC ns */
	int64_t deadline;       /* after the last request */
	struct rtt_acc acc;
	char icmp_error[160];
	char send_error[160];
};

struct engine {
	struct ping_target *t;
	size_t nt;
	struct target_run *run;
	struct group *groups;
	size_t ngroups;
	struct request *req;
	size_t nreq;
	struct pollfd *pfd;     /* one per open socket */
	size_t *pgroup;         /* pfd[k] is groups[pgroup[k]] */
	uint16_t raw_ident;
	uint8_t payload[ICMP_PAYLOAD_LEN]; /* a per-call cookie, then a pattern */
};

static int64_t now_ns(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return (int64_t)ts.tv_sec * NS_PER_S + ts.tv_nsec;
}

static int64_t seconds_ns(double s)
{
	return (int64_t)(s * 1e9 + 0.5);
}

/* Numeric IPv4 or IPv6, the latter with an optional %scope. */
static int parse_address(const char *text, struct sockaddr_storage *ss,
			 socklen_t *len)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
	char buf[INET6_ADDRSTRLEN + IF_NAMESIZE + 2];
	char *scope;

	memset(ss, 0, sizeof(*ss));
	if (!text || strlen(text) >= sizeof(buf))
		return -1;
	if (inet_pton(AF_INET, text, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		*len = sizeof(*sin);
		return 0;
	}
	strcpy(buf, text);
	scope = strchr(buf, '%');
	if (scope)
		*scope++ = '\0';
	if (inet_pton(AF_INET6, buf, &sin6->sin6_addr) != 1)
		return -1;
	sin6->sin6_family = AF_INET6;
	if (scope && !(sin6->sin6_scope_id = if_nametoindex(scope)))
		return -1;
	*len = sizeof(*sin6);
	return 0;
}

static int same_host(const struct sockaddr_storage *a,
		     const struct sockaddr_storage *b)
{
	if (a->ss_family != b->ss_family)
		return 0;
	if (a->ss_family == AF_INET)
		return ((const struct sockaddr_in *)a)->sin_addr.s_addr ==
		       ((const struct sockaddr_in *)b)->sin_addr.s_addr;
	return memcmp(&((const struct sockaddr_in6 *)a)->sin6_addr,
		      &((const struct sockaddr_in6 *)b)->sin6_addr, 16) == 0;
}

/* A random identifier per call keeps concurrent calls (and other pingers on
 * the host) apart on raw sockets; the cookie in the payload makes sure. */
static void engine_randomize(struct engine *e)
{
	uint8_t rnd[10];
	size_t i;

	if (getrandom(rnd, sizeof(rnd), GRND_NONBLOCK) != (ssize_t)sizeof(rnd)) {
		uint64_t x = (uint64_t)now_ns(CLOCK_MONOTONIC) ^
			     ((uint64_t)getpid() << 32) ^ (uint64_t)(uintptr_t)e;
		for (i = 0; i < sizeof(rnd); i++, x = x * 6364136223846793005ULL + 1)
			rnd[i] = (uint8_t)(x >> 56);
	}
	e->raw_ident = (uint16_t)(rnd[0] << 8 | rnd[1]);
	memcpy(e->payload, rnd + 2, 8);
	for (i = 8; i < sizeof(e->payload); i++)
		e->payload[i] = (uint8_t)i;
}

/* Finds or opens the socket for target i; returns its group. */
static struct group *engine_group(struct engine *e, size_t i)
{
	struct ping_target *t = &e->t[i];
	int family = e->run[i].addr.ss_family;
	struct group *g;
	size_t k;

	for (k = 0; k < e->ngroups; k++) {
		g = &e->groups[k];
		if (g->family == family &&
		    (g->interface == t->interface ||
		     (g->interface && t->interface && !strcmp(g->interface, t->interface))))
			return g;
	}
	g = &e->groups[e->ngroups++];
	g->family = family;
	g->interface = t->interface;
	g->open_rc = icmp_sock_open(&g->sock, family, t->interface, e->raw_ident,
				    g->error, sizeof(g->error));
	return g;
}

/* Returns 0, or -1 when not one socket could be opened. */
static int engine_setup(struct engine *e, char *errbuf, size_t errlen)
{
	const char *perm_err = NULL;
	size_t i, total = 0;
	int any_open = 0;

	engine_randomize(e);
	for (i = 0; i < e->nt; i++) {
		struct ping_target *t = &e->t[i];
		struct target_run *r = &e->run[i];
		struct group *g;

		memset(&t->stats, 0, sizeof(t->stats));
		t->error[0] = '\0';
		r->group = -1;
		if (t->count < 1 || t->count > MAX_COUNT ||
		    !(t->interval_s >= 0 && t->interval_s <= MAX_SECONDS) ||
		    !(t->timeout_s >= 0 && t->timeout_s <= MAX_SECONDS)) {
			snprintf(t->error, sizeof(t->error), "%s: invalid ping settings",
				 t->address ? t->address : "(null)");
			continue;
		}
		if (parse_address(t->address, &r->addr, &r->addrlen) < 0) {
			snprintf(t->error, sizeof(t->error), "invalid address: %s",
				 t->address ? t->address : "(null)");
			continue;
		}
		g = engine_group(e, i);
		if (g->open_rc < 0) {
			snprintf(t->error, sizeof(t->error), "%s: %s", t->address, g->error);
			if (g->open_rc == -1 && !perm_err)
				perm_err = g->error;
			continue;
		}
		r->group = (int)(g - e->groups);
		any_open = 1;
		total += (size_t)t->count;
	}
	if (!any_open && perm_err) {
		snprintf(errbuf, errlen, "%s", perm_err);
		return -1;
	}
	e->req = calloc(total ? total : 1, sizeof(*e->req));
	e->pfd = calloc(e->ngroups ? e->ngroups : 1, sizeof(*e->pfd));
	e->pgroup = calloc(e->ngroups ? e->ngroups : 1, sizeof(*e->pgroup));
	if (!e->req || !e->pfd || !e->pgroup) {
		snprintf(errbuf, errlen, "out of memory for %zu ping requests", total);
		return -1;
	}
	return 0;
}

static void send_one(struct engine *e, size_t i, int64_t now)
{
	struct ping_target *t = &e->t[i];
	struct target_run *r = &e->run[i];
	struct group *g = &e->groups[r->group];
	struct request *q = &e->req[e->nreq];
	int err;

	q->target = (int)i;
	/* REALTIME right before sendto: the rx timestamp is on that clock. */
	q->sent_mono = now_ns(CLOCK_MONOTONIC);
	q->sent_rt = now_ns(CLOCK_REALTIME);
	err = icmp_sock_send(&g->sock, (struct sockaddr *)&r->addr, r->addrlen,
			     (uint16_t)e->nreq, e->payload, sizeof(e->payload));
	e->nreq++;
	r->sent++;
	if (err) {
		q->state = REQ_NOT_SENT;
		r->send_failed++;
		r->settled++;
		snprintf(r->send_error, sizeof(r->send_error), "cannot send to %s: %s",
			 t->address, strerror(err));
	}
	/* Keep the phase; after a stall, do not burst to catch up. */
	r->next_send += seconds_ns(t->interval_s);
	if (r->next_send < now)
		r->next_send = now + seconds_ns(t->interval_s);
	if (r->sent == t->count)
		r->deadline = r->send_failed == r->sent ? q->sent_mono
			      : q->sent_mono + seconds_ns(t->timeout_s);
}

/* Sends what is due, marks finished targets; returns the next moment
 * something is due, or -1 when every target is done. */
static int64_t engine_step(struct engine *e)
{
	int64_t now = now_ns(CLOCK_MONOTONIC), wake = -1, at;
	size_t i;

	for (i = 0; i < e->nt; i++) {
		struct target_run *r = &e->run[i];
		int count = e->t[i].count;

		if (r->done)
			continue;
		if (r->sent < count && r->next_send <= now)
			send_one(e, i, now);
		if (r->sent == count &&
		    (r->settled == count || now_ns(CLOCK_MONOTONIC) >= r->deadline)) {
			r->done = 1;
			continue;
		}
		at = r->sent < count ? r->next_send : r->deadline;
		if (wake < 0 || at < wake)
			wake = at;
	}
	return wake;
}

/* Prefers the kernel receive timestamp; falls back to the monotonic clock
 * when there is none or the wall clock was stepped meanwhile. */
static double rtt_ms(const struct request *q, const struct icmp_msg *m)
{
	int64_t mono = now_ns(CLOCK_MONOTONIC) - q->sent_mono;
	int64_t wall = now_ns(CLOCK_REALTIME) - q->sent_rt;

	if (m->has_rx_ts && llabs(wall - mono) < 1000000) {
		int64_t k = (int64_t)m->rx_ts.tv_sec * NS_PER_S + m->rx_ts.tv_nsec -
			    q->sent_rt;
		if (k >= 0 && k <= wall)
			return (double)k / 1e6;
	}
	return (double)mono / 1e6;
}

/* The latest request with this sequence number sent through group gi to the
 * host the message is about. */
static struct request *engine_find(struct engine *e, size_t gi,
				   const struct icmp_msg *m)
{
	struct request *found = NULL;
	size_t idx;

	for (idx = m->seq; idx < e->nreq; idx += 65536) {
		struct request *q = &e->req[idx];
		struct target_run *r = &e->run[q->target];
		if (r->group == (int)gi && same_host(&r->addr, &m->peer))
			found = q;
	}
	return found;
}

static void engine_handle(struct engine *e, size_t gi, const struct icmp_msg *m)
{
	struct request *q = engine_find(e, gi, m);
	struct ping_target *t;
	struct target_run *r;
	char what[64], from[INET6_ADDRSTRLEN];

	if (!q || q->state == REQ_NOT_SENT)
		return;
	t = &e->t[q->target];
	r = &e->run[q->target];
	if (r->done)
		return; /* late: the target's figures are final */
	if (m->kind == ICMP_MSG_REPLY) {
		if (m->payload_len < 8 || memcmp(m->payload, e->payload, 8) != 0)
			return; /* same id and seq, but not our request */
		if (q->state == REQ_REPLIED) {
			t->stats.duplicates++;
			return;
		}
		if (q->state == REQ_PENDING)
			r->settled++;
		q->state = REQ_REPLIED;
		q->rtt_ms = rtt_ms(q, m);
		rtt_acc_add(&r->acc, q->rtt_ms);
		return;
	}
	t->stats.errors++;
	if (q->state == REQ_PENDING) {
		q->state = REQ_ERROR;
		r->settled++;
	}
	icmp_error_text(r->addr.ss_family, m->type, m->code, what, sizeof(what));
	if (m->offender.ss_family == AF_INET || m->offender.ss_family == AF_INET6) {
		icmp_addr_text(&m->offender, from, sizeof(from));
		snprintf(r->icmp_error, sizeof(r->icmp_error), "%s: %s (from %s)",
			 t->address, what, from);
	} else {
		snprintf(r->icmp_error, sizeof(r->icmp_error), "%s: %s", t->address, what);
	}
}

static void engine_drain(struct engine *e, size_t gi, int errqueue)
{
	struct group *g = &e->groups[gi];
	uint8_t buf[2048];
	struct icmp_msg m;
	int k;

	for (k = 0; k < RECV_BATCH; k++) {
		if (icmp_sock_recv(&g->sock, errqueue, &m, buf, sizeof(buf)) == 0)
			break;
		if (m.kind != ICMP_MSG_NONE && m.ident == g->sock.ident)
			engine_handle(e, gi, &m);
	}
}

/* Returns 1 when stopped early. */
static int engine_loop(struct engine *e, volatile const int *stop)
{
	struct pollfd *pfd = e->pfd;
	size_t *pgroup = e->pgroup;
	int64_t start = now_ns(CLOCK_MONOTONIC), wake, wait;
	size_t i, np = 0;
	int stopped = 0;

	for (i = 0; i < e->ngroups; i++) {
		if (e->groups[i].open_rc < 0)
			continue;
		pfd[np].fd = e->groups[i].sock.fd;
		pfd[np].events = POLLIN;
		pgroup[np++] = i;
	}
	for (i = 0; i < e->nt; i++) {
		e->run[i].next_send = start;
		e->run[i].done = e->run[i].group < 0;
	}
	for (;;) {
		struct timespec ts;

		if (stop && *stop) {
			stopped = 1;
			break;
		}
		wake = engine_step(e);
		if (wake < 0)
			break;
		wait = wake - now_ns(CLOCK_MONOTONIC);
		if (wait < 0)
			wait = 0;
		if (stop && wait > STOP_POLL_NS)
			wait = STOP_POLL_NS;
		ts.tv_sec = (time_t)(wait / NS_PER_S);
		ts.tv_nsec = (long)(wait % NS_PER_S);
		if (ppoll(pfd, np, &ts, NULL) <= 0)
			continue; /* timeout or EINTR */
		for (i = 0; i < np; i++) {
			if (pfd[i].revents & POLLERR)
				engine_drain(e, pgroup[i], 1);
			if (pfd[i].revents & (POLLIN | POLLERR))
				engine_drain(e, pgroup[i], 0);
		}
	}
	return stopped;
}

/* The median RTT of target i, from its answered requests. */
static double target_median(const struct engine *e, size_t i, double *scratch)
{
	size_t n = 0;

	for (size_t k = 0; k < e->nreq; k++)
		if (e->req[k].target == (int)i && e->req[k].state == REQ_REPLIED)
			scratch[n++] = e->req[k].rtt_ms;
	return rtt_median(scratch, n);
}

static void engine_report(struct engine *e, int stopped)
{
	double *scratch = malloc((e->nreq ? e->nreq : 1) * sizeof(*scratch));
	size_t i;

	for (i = 0; i < e->nt; i++) {
		struct ping_target *t = &e->t[i];
		struct target_run *r = &e->run[i];

		t->stats.sent = r->sent;
		ping_stats_finish(&t->stats, &r->acc);
		/* out of memory: the average stands in */
		t->stats.median_ms = scratch ? target_median(e, i, scratch) : t->stats.avg_ms;
		if (t->error[0] || t->stats.received > 0)
			continue; /* partial loss is not an error */
		if (stopped)
			snprintf(t->error, sizeof(t->error), "ping of %s interrupted",
				 t->address);
		else if (r->icmp_error[0])
			snprintf(t->error, sizeof(t->error), "%s", r->icmp_error);
		else if (r->send_error[0])
			snprintf(t->error, sizeof(t->error), "%s", r->send_error);
		else
			snprintf(t->error, sizeof(t->error), "no reply from %s in %g s",
				 t->address, t->timeout_s);
	}
	free(scratch);
}

int icmp_ping(struct ping_target *targets, size_t ntargets,
	      volatile const int *stop, char *errbuf, size_t errlen)
{
	struct engine e;
	size_t i;
	int rc = 0, stopped;

	memset(&e, 0, sizeof(e));
	if (errlen)
		errbuf[0] = '\0';
	e.t = targets;
	e.nt = ntargets;
	e.run = calloc(ntargets ? ntargets : 1, sizeof(*e.run));
	e.groups = calloc(ntargets ? ntargets : 1, sizeof(*e.groups));
	if (!e.run || !e.groups) {
		snprintf(errbuf, errlen, "out of memory for %zu ping targets", ntargets);
		rc = -1;
		goto out;
	}
	if (engine_setup(&e, errbuf, errlen) < 0) {
		for (i = 0; i < ntargets; i++) { /* nothing sent: 100% loss */
			ping_stats_finish(&targets[i].stats, &e.run[i].acc);
			if (!targets[i].error[0])
				snprintf(targets[i].error, sizeof(targets[i].error), "%s", errbuf);
		}
		rc = -1;
		goto out;
	}
	stopped = engine_loop(&e, stop);
	engine_report(&e, stopped);
out:
	for (i = 0; i < e.ngroups; i++)
		if (e.groups[i].open_rc == 0)
			icmp_sock_close(&e.groups[i].sock);
	free(e.pfd);
	free(e.pgroup);
	free(e.req);
	free(e.groups);
	free(e.run);
	return rc;
}
