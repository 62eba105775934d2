/* SPDX-License-Identifier: MIT */
/* Native ICMP echo engine: many targets concurrently from one socket per
 * address family, replies matched by identifier and sequence (like fping). */
#ifndef EPMON_PROBE_ICMP_H
#define EPMON_PROBE_ICMP_H

#include <stddef.h>

struct ping_stats {
	int sent;
	int received;
	int duplicates;         /* replies seen again for a sequence already answered */
	int errors;             /* ICMP errors (unreachable, TTL exceeded) received */
	double loss_pct;        /* 100 * (sent - received) / sent */
	double min_ms, avg_ms, max_ms, mdev_ms; /* 0 when received == 0 */
	double median_ms;       /* of the replies' RTTs (the mean of the middle two when even) */
};

/* Running statistics, filled one RTT at a time (stats math lives here so it
 * can be unit tested without sockets). mdev as iputils: sqrt(E[x^2]-E[x]^2). */
struct rtt_acc {
	int n;
	double sum, sumsq, min, max;
};
void rtt_acc_add(struct rtt_acc *a, double rtt_ms);
void ping_stats_finish(struct ping_stats *s, const struct rtt_acc *a);
/* The median of v[0..n) (sorts v); 0 when n is 0. */
double rtt_median(double *v, size_t n);

struct ping_target {
	const char *address;    /* numeric IPv4 or IPv6 */
	const char *interface;  /* SO_BINDTODEVICE; NULL: any */
	int count;
	double interval_s;
	double timeout_s;       /* wait after the last request */
	/* out */
	struct ping_stats stats;
	char error[160];        /* set when the target failed: "no reply from X in 2 s" */
};

/* Pings all targets concurrently; returns when every target has sent `count`
 * requests and waited `timeout_s` after its last (or got all replies).
 * Returns 0 when the engine ran (per-target outcome in stats/error), -1 with
 * errbuf set when no socket could be opened at all. `stop` (may be NULL) is
 * polled: when it becomes non-zero the run ends early. */
int icmp_ping(struct ping_target *targets, size_t ntargets,
	      volatile const int *stop, char *errbuf, size_t errlen);

#endif
