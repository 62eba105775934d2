/* SPDX-License-Identifier: MIT */
/* Ping engine: stats math, packet decoding, and real pings over loopback. */
#include <arpa/inet.h>
#include <math.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "probe/icmp.h"
#include "probe/icmp_socket.h"

static struct ping_stats stats_of(const double *rtt, int n, int sent)
{
	struct rtt_acc a;
	struct ping_stats s;
	int i;

	memset(&a, 0, sizeof(a));
	memset(&s, 0, sizeof(s));
	for (i = 0; i < n; i++)
		rtt_acc_add(&a, rtt[i]);
	s.sent = sent;
	ping_stats_finish(&s, &a);
	return s;
}

static void test_stats_known_series(void **state)
{
	/* mean 2.5, mean of squares 7.5: mdev = sqrt(7.5 - 6.25) */
	const double rtt[] = { 3.0, 1.0, 4.0, 2.0 };
	struct ping_stats s = stats_of(rtt, 4, 5);

	assert_int_equal(s.received, 4);
	assert_true(fabs(s.loss_pct - 20.0) < 1e-9);
	assert_true(fabs(s.min_ms - 1.0) < 1e-9);
	assert_true(fabs(s.max_ms - 4.0) < 1e-9);
	assert_true(fabs(s.avg_ms - 2.5) < 1e-9);
	assert_true(fabs(s.mdev_ms - sqrt(1.25)) < 1e-9);
}

static void test_stats_realistic_rtts(void **state)
{
	/* deviations -0.01, 0, 0.01, 0: mdev = sqrt(0.0002 / 4) = 0.00707 */
	const double rtt[] = { 20.051, 20.061, 20.071, 20.061 };
	struct ping_stats s = stats_of(rtt, 4, 4);

	assert_true(fabs(s.loss_pct) < 1e-9);
	assert_true(fabs(s.min_ms - 20.051) < 1e-9);
	assert_true(fabs(s.max_ms - 20.071) < 1e-9);
	assert_true(fabs(s.avg_ms - 20.061) < 1e-9);
	assert_true(fabs(s.mdev_ms - sqrt(0.0002 / 4)) < 1e-9);
}

static void test_stats_no_reply(void **state)
{
	struct ping_stats s = stats_of(NULL, 0, 3);

	assert_int_equal(s.received, 0);
	assert_true(s.loss_pct == 100.0);
	assert_true(s.min_ms == 0 && s.avg_ms == 0 && s.max_ms == 0 && s.mdev_ms == 0);

	s = stats_of(NULL, 0, 0); /* nothing could be sent */
	assert_true(s.loss_pct == 100.0);
}

static void test_stats_single_reply(void **state)
{
	const double rtt[] = { 0.123 };
	struct ping_stats s = stats_of(rtt, 1, 1);

	assert_int_equal(s.received, 1);
	assert_true(s.loss_pct == 0.0);
	assert_true(s.mdev_ms == 0.0);
	assert_true(fabs(s.min_ms - 0.123) < 1e-12 && fabs(s.max_ms - 0.123) < 1e-12);
	assert_true(fabs(s.avg_ms - 0.123) < 1e-12);
}

static void test_median(void **state)
{
	double odd[] = { 25.0, 0.4, 0.3, 0.5, 0.2 }, even[] = { 4.0, 1.0, 3.0, 2.0 };

	/* a cold first packet moves the average, not the median */
	assert_true(fabs(rtt_median(odd, 5) - 0.4) < 1e-12);
	assert_true(fabs(rtt_median(even, 4) - 2.5) < 1e-12);
	assert_true(rtt_median(NULL, 0) == 0.0);
}

static void test_error_text(void **state)
{
	char buf[80];

	icmp_error_text(AF_INET, 3, 1, buf, sizeof(buf));
	assert_string_equal(buf, "destination host unreachable");
	icmp_error_text(AF_INET, 11, 0, buf, sizeof(buf));
	assert_string_equal(buf, "time to live exceeded");
	icmp_error_text(AF_INET6, 1, 3, buf, sizeof(buf));
	assert_string_equal(buf, "destination address unreachable");
	icmp_error_text(AF_INET, 42, 7, buf, sizeof(buf));
	assert_string_equal(buf, "ICMP error type 42 code 7");
}

/* Decoding, fed through a datagram socketpair standing in for a raw socket. */
struct feed {
	int fd[2];
	struct icmp_sock s;
	uint8_t buf[2048];
	struct icmp_msg m;
};

static int feed(struct feed *f, int family, const uint8_t *pkt, size_t len)
{
	if (socketpair(AF_UNIX, SOCK_DGRAM, 0, f->fd) < 0)
		return -1;
	memset(&f->s, 0, sizeof(f->s));
	f->s.fd = f->fd[0];
	f->s.family = family;
	f->s.raw = 1;
	if (send(f->fd[1], pkt, len, 0) != (ssize_t)len)
		return -1;
	return icmp_sock_recv(&f->s, 0, &f->m, f->buf, sizeof(f->buf));
}

static void feed_close(struct feed *f)
{
	close(f->fd[0]);
	close(f->fd[1]);
}

static uint16_t sum16(const uint8_t *p, size_t len)
{
	uint32_t s = 0;

	for (; len > 1; p += 2, len -= 2)
		s += (uint32_t)p[0] << 8 | p[1];
	if (len)
		s += (uint32_t)p[0] << 8;
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

static void fix_sum(uint8_t *icmp, size_t len)
{
	uint16_t c;

	icmp[2] = icmp[3] = 0;
	c = sum16(icmp, len);
	icmp[2] = (uint8_t)(c >> 8);
	icmp[3] = (uint8_t)c;
}

/* 20-byte IPv4 header, protocol ICMP. */
static void ip4_header(uint8_t *p, const char *src, const char *dst)
{
	memset(p, 0, 20);
	p[0] = 0x45;
	p[9] = IPPROTO_ICMP;
	inet_pton(AF_INET, src, p + 12);
	inet_pton(AF_INET, dst, p + 16);
}

static void test_decode_v4_reply(void **state)
{
	struct feed f;
	uint8_t pkt[20 + 8 + 56];

	ip4_header(pkt, "192.0.2.7", "192.0.2.1");
	memset(pkt + 20, 0, sizeof(pkt) - 20);
	pkt[20] = 0;                            /* echo reply */
	pkt[24] = 0x12; pkt[25] = 0x34;         /* id */
	pkt[26] = 0x00; pkt[27] = 0x05;         /* seq */
	memcpy(pkt + 28, "cookie!!", 8);
	fix_sum(pkt + 20, sizeof(pkt) - 20);

	assert_int_equal(feed(&f, AF_INET, pkt, sizeof(pkt)), 1);
	assert_int_equal(f.m.kind, ICMP_MSG_REPLY);
	assert_int_equal(f.m.ident, 0x1234);
	assert_int_equal(f.m.seq, 5);
	assert_int_equal(f.m.payload_len, 56);
	assert_memory_equal(f.m.payload, "cookie!!", 8);
	feed_close(&f);

	pkt[30] ^= 0xff; /* corrupt: the checksum must catch it */
	assert_int_equal(feed(&f, AF_INET, pkt, sizeof(pkt)), 1);
	assert_int_equal(f.m.kind, ICMP_MSG_NONE);
	feed_close(&f);

	assert_int_equal(feed(&f, AF_INET, pkt, 20 + 4), 1); /* truncated */
	assert_int_equal(f.m.kind, ICMP_MSG_NONE);
	feed_close(&f);
}

static void test_decode_v4_error(void **state)
{
	struct feed f;
	uint8_t pkt[20 + 8 + 20 + 8];
	char addr[INET6_ADDRSTRLEN];

	ip4_header(pkt, "10.9.0.1", "10.0.0.2");        /* the router's error */
	memset(pkt + 20, 0, 8);
	pkt[20] = 3;                                    /* destination unreachable */
	pkt[21] = 1;                                    /* host */
	ip4_header(pkt + 28, "10.0.0.2", "10.1.0.10");  /* our request */
	memset(pkt + 48, 0, 8);
	pkt[48] = 8;                                    /* echo request */
	pkt[52] = 0xbe; pkt[53] = 0xef;
	pkt[54] = 0x01; pkt[55] = 0x02;
	fix_sum(pkt + 20, sizeof(pkt) - 20);

	assert_int_equal(feed(&f, AF_INET, pkt, sizeof(pkt)), 1);
	assert_int_equal(f.m.kind, ICMP_MSG_ERROR);
	assert_int_equal(f.m.type, 3);
	assert_int_equal(f.m.code, 1);
	assert_int_equal(f.m.ident, 0xbeef);
	assert_int_equal(f.m.seq, 0x0102);
	icmp_addr_text(&f.m.peer, addr, sizeof(addr));
	assert_string_equal(addr, "10.1.0.10");
	feed_close(&f);

	pkt[28 + 9] = IPPROTO_UDP; /* an error about someone's UDP: not ours */
	fix_sum(pkt + 20, sizeof(pkt) - 20);
	assert_int_equal(feed(&f, AF_INET, pkt, sizeof(pkt)), 1);
	assert_int_equal(f.m.kind, ICMP_MSG_NONE);
	feed_close(&f);
}

static void test_decode_v6_error(void **state)
{
	struct feed f;
	uint8_t pkt[8 + 40 + 8];
	char addr[INET6_ADDRSTRLEN];

	memset(pkt, 0, sizeof(pkt));
	pkt[0] = 3;                     /* time exceeded (ICMPv6: no IP header) */
	pkt[8] = 0x60;                  /* embedded IPv6 header */
	pkt[8 + 6] = IPPROTO_ICMPV6;
	inet_pton(AF_INET6, "fd00::2", pkt + 8 + 8);
	inet_pton(AF_INET6, "fd00:9::10", pkt + 8 + 24);
	pkt[48] = 128;                  /* echo request */
	pkt[52] = 0x00; pkt[53] = 0x07;
	pkt[54] = 0xff; pkt[55] = 0xfe;

	assert_int_equal(feed(&f, AF_INET6, pkt, sizeof(pkt)), 1);
	assert_int_equal(f.m.kind, ICMP_MSG_ERROR);
	assert_int_equal(f.m.type, 3);
	assert_int_equal(f.m.ident, 7);
	assert_int_equal(f.m.seq, 0xfffe);
	icmp_addr_text(&f.m.peer, addr, sizeof(addr));
	assert_string_equal(addr, "fd00:9::10");
	feed_close(&f);
}

static int have_ipv6_loopback(void)
{
	char line[256];
	FILE *fp = fopen("/proc/net/if_inet6", "r");
	int found = 0;

	if (!fp)
		return 0;
	while (!found && fgets(line, sizeof(line), fp))
		found = !strncmp(line, "00000000000000000000000000000001", 32);
	fclose(fp);
	return found;
}

static void target_init(struct ping_target *t, const char *address,
			const char *interface, int count, double interval)
{
	memset(t, 0, sizeof(*t));
	t->address = address;
	t->interface = interface;
	t->count = count;
	t->interval_s = interval;
	t->timeout_s = 1;
}

static double since(const struct timespec *a)
{
	struct timespec b;

	clock_gettime(CLOCK_MONOTONIC, &b);
	return (double)(b.tv_sec - a->tv_sec) + (double)(b.tv_nsec - a->tv_nsec) / 1e9;
}

static void test_loopback_v4_v6_together(void **state)
{
	struct ping_target t[2];
	size_t n = have_ipv6_loopback() ? 2 : 1, i;
	struct timespec start;
	char err[200];
	int rc;

	target_init(&t[0], "127.0.0.1", NULL, 3, 0.05);
	target_init(&t[1], "::1", NULL, 3, 0.05);
	clock_gettime(CLOCK_MONOTONIC, &start);
	rc = icmp_ping(t, n, NULL, err, sizeof(err));
	if (rc < 0) {
		print_message("no ICMP socket here (%s): skipped\n", err);
		skip();
	}
	for (i = 0; i < n; i++) {
		assert_int_equal(t[i].stats.sent, 3);
		assert_int_equal(t[i].stats.received, 3);
		assert_int_equal(t[i].stats.duplicates, 0);
		assert_true(t[i].stats.loss_pct == 0.0);
		assert_true(t[i].stats.avg_ms > 0 && t[i].stats.avg_ms < 1.0);
		assert_true(t[i].stats.min_ms <= t[i].stats.avg_ms);
		assert_true(t[i].stats.avg_ms <= t[i].stats.max_ms);
		assert_true(t[i].stats.min_ms <= t[i].stats.median_ms);
		assert_true(t[i].stats.median_ms <= t[i].stats.max_ms);
		assert_string_equal(t[i].error, "");
	}
	/* concurrent: 2 intervals and the last reply, not 2 x that */
	assert_true(since(&start) < 0.5);
}

static void test_bad_targets_do_not_stop_good_ones(void **state)
{
	struct ping_target t[3];
	char err[200];

	target_init(&t[0], "127.0.0.1", NULL, 2, 0.01);
	target_init(&t[1], "not-an-ip", NULL, 2, 0.01);
	target_init(&t[2], "127.0.0.1", "nosuchdev0", 2, 0.01);
	if (icmp_ping(t, 3, NULL, err, sizeof(err)) < 0)
		skip();
	assert_int_equal(t[0].stats.received, 2);
	assert_string_equal(t[0].error, "");
	assert_string_equal(t[1].error, "invalid address: not-an-ip");
	assert_int_equal(t[1].stats.sent, 0);
	assert_true(t[1].stats.loss_pct == 100.0);
	assert_non_null(strstr(t[2].error, "cannot bind to interface nosuchdev0"));
	assert_int_equal(t[2].stats.received, 0);
}

static void test_stop_ends_the_run(void **state)
{
	struct ping_target t;
	volatile int stop = 1;
	struct timespec start;
	char err[200];

	target_init(&t, "127.0.0.1", NULL, 100, 0.5);
	clock_gettime(CLOCK_MONOTONIC, &start);
	if (icmp_ping(&t, 1, &stop, err, sizeof(err)) < 0)
		skip();
	assert_true(since(&start) < 0.2);
	assert_int_equal(t.stats.received, 0);
	assert_string_equal(t.error, "ping of 127.0.0.1 interrupted");
}

static void test_no_targets(void **state)
{
	char err[200];

	assert_int_equal(icmp_ping(NULL, 0, NULL, err, sizeof(err)), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_stats_known_series),
		cmocka_unit_test(test_stats_realistic_rtts),
		cmocka_unit_test(test_stats_no_reply),
		cmocka_unit_test(test_stats_single_reply),
		cmocka_unit_test(test_median),
		cmocka_unit_test(test_error_text),
		cmocka_unit_test(test_decode_v4_reply),
		cmocka_unit_test(test_decode_v4_error),
		cmocka_unit_test(test_decode_v6_error),
		cmocka_unit_test(test_loopback_v4_v6_together),
		cmocka_unit_test(test_bad_targets_do_not_stop_good_ones),
		cmocka_unit_test(test_stop_ends_the_run),
		cmocka_unit_test(test_no_targets),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
