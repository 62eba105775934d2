/* SPDX-License-Identifier: MIT */
/* rtnetlink queries, against the kernel in a network namespace a forked child makes for itself. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "vpn/netlink.h"

/* What the child saw; plain data, written whole to the pipe. */
struct seen {
	char failed[200];           /* set when the child could not run a step */
	int lo_before_up;           /* nl_link_state("lo") in the fresh namespace */
	int lo_after_up;
	int missing_state;          /* nl_link_state of an interface that does not exist */
	int get_lo_rc, get_lo_oif, lo_index;
	char get_lo_if[IF_NAMESIZE];
	int get_none_rc;
	char get_none_err[160];
	int get_bad_rc;
	char get_bad_err[160];
	int dump_rc, dump_found, had_before;
	char route_text[160];
	int event_seen, event_drained;
	int delete_rc, found_after_delete;
	int dump6_found;
	char route6_text[160];
	int other_table_listed;     /* a route of table 510 in the dump of the main table */
	int veth_down, veth_up, veth_delete_rc, veth_gone, peer_gone;
};

/* ip(8) inside the child's namespace: its exit status, or -1. */
static int ip(const char *a1, const char *a2, const char *a3, const char *a4,
	      const char *a5, const char *a6, const char *a7, const char *a8)
{
	const char *argv[] = { "/usr/sbin/ip", a1, a2, a3, a4, a5, a6, a7, a8, NULL };
	int status;
	pid_t pid = fork();

	if (pid < 0)
		return -1;
	if (pid == 0) {
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* The index of the IPv4 route dst/len in l, or -1. */
static int find_route(const struct route_list *l, unsigned char family, const char *dst,
		      unsigned char len)
{
	unsigned char want[16] = { 0 };

	inet_pton(family, dst, want);
	for (size_t i = 0; i < l->n; i++)
		if (l->items[i].family == family && l->items[i].dst_len == len &&
		    memcmp(l->items[i].dst, want, family == AF_INET ? 4 : 16) == 0)
			return (int)i;
	return -1;
}

/* An interface is gone once the kernel forgets its name (bounded wait). */
static int link_gone(const char *name)
{
	for (int i = 0; i < 500; i++) {
		struct timespec ts = { 0, 10 * 1000 * 1000 };
		if (if_nametoindex(name) == 0)
			return 1;
		nanosleep(&ts, NULL);
	}
	return 0;
}

#define STEP(cond, ...) do { if (!(cond)) { \
	snprintf(s->failed, sizeof(s->failed), __VA_ARGS__); return; } } while (0)

static void child_steps(struct seen *s)
{
	struct route_list before, after;
	char scratch[IF_NAMESIZE];
	int i, ev;

	STEP(unshare(CLONE_NEWNET) == 0, "unshare(CLONE_NEWNET): %s", strerror(errno));
	s->lo_before_up = nl_link_state("lo");
	s->missing_state = nl_link_state("epmt-none0");
	/* nothing is up in a new namespace: no route to anywhere */
	s->get_none_rc = nl_route_get("10.1.2.3", &i, scratch, s->get_none_err,
				      sizeof(s->get_none_err));
	STEP(ip("link", "set", "lo", "up", NULL, NULL, NULL, NULL) == 0, "ip link set lo up");
	s->lo_after_up = nl_link_state("lo");
	s->lo_index = (int)if_nametoindex("lo");
	s->get_lo_rc = nl_route_get("127.0.0.1", &s->get_lo_oif, s->get_lo_if, s->get_bad_err,
				    sizeof(s->get_bad_err));
	s->get_bad_rc = nl_route_get("vpn.example.com", &i, scratch, s->get_bad_err,
				     sizeof(s->get_bad_err));

	/* a route appears: the dump lists it, the event socket wakes */
	STEP(nl_route_dump(&before) == 0, "first nl_route_dump: %s", strerror(errno));
	s->had_before = find_route(&before, AF_INET, "10.9.8.0", 24) >= 0;
	ev = nl_events_open();
	STEP(ev >= 0, "nl_events_open: %s", strerror(errno));
	STEP(ip("route", "add", "10.9.8.0/24", "dev", "lo", NULL, NULL, NULL) == 0,
	     "ip route add 10.9.8.0/24 dev lo");
	{
		struct pollfd p = { ev, POLLIN, 0 };
		s->event_seen = poll(&p, 1, 10000) == 1;
		nl_events_drain(ev);
		s->event_drained = poll(&p, 1, 0) == 0;
		close(ev);
	}
	s->dump_rc = nl_route_dump(&after);
	i = s->dump_rc == 0 ? find_route(&after, AF_INET, "10.9.8.0", 24) : -1;
	s->dump_found = i >= 0 && !route_list_has(&before, &after.items[i]) &&
			route_list_has(&after, &after.items[i]);
	if (i >= 0) {
		route_format(&after.items[i], s->route_text, sizeof(s->route_text));
		s->delete_rc = nl_route_delete(&after.items[i]);
	}
	route_list_free(&before);
	route_list_free(&after);
	STEP(nl_route_dump(&after) == 0, "third nl_route_dump: %s", strerror(errno));
	s->found_after_delete = find_route(&after, AF_INET, "10.9.8.0", 24) >= 0;
	route_list_free(&after);

	/* IPv6: the other family of the dump */
	if (ip("-6", "route", "add", "2001:db8:9::/64", "dev", "lo", NULL, NULL) == 0 &&
	    nl_route_dump(&after) == 0) {
		i = find_route(&after, AF_INET6, "2001:db8:9::", 64);
		s->dump6_found = i >= 0;
		if (i >= 0)
			route_format(&after.items[i], s->route6_text, sizeof(s->route6_text));
		route_list_free(&after);
	}

	/* a route of another routing table is not one of the main table */
	STEP(ip("route", "add", "10.9.7.0/24", "dev", "lo", "table", "510", NULL) == 0,
	     "ip route add 10.9.7.0/24 dev lo table 510");
	STEP(nl_route_dump(&after) == 0, "fourth nl_route_dump: %s", strerror(errno));
	s->other_table_listed = find_route(&after, AF_INET, "10.9.7.0", 24) >= 0;
	route_list_free(&after);

	/* a veth pair: down, up, deleted with its peer */
	STEP(ip("link", "add", "epmt-v0", "type", "veth", "peer", "name", "epmt-v1") == 0,
	     "ip link add epmt-v0 type veth peer name epmt-v1");
	s->veth_down = nl_link_state("epmt-v0");
	STEP(ip("link", "set", "epmt-v1", "up", NULL, NULL, NULL, NULL) == 0, "ip link set epmt-v1 up");
	STEP(ip("link", "set", "epmt-v0", "up", NULL, NULL, NULL, NULL) == 0, "ip link set epmt-v0 up");
	/* the carrier of a veth comes up as soon as both ends are up */
	for (i = 0; i < 500 && (s->veth_up = nl_link_state("epmt-v0")) != 1; i++) {
		struct timespec ts = { 0, 10 * 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
	s->veth_delete_rc = nl_link_delete("epmt-v0");
	s->veth_gone = link_gone("epmt-v0");
	s->peer_gone = link_gone("epmt-v1");
}

/* Runs child_steps in a forked child (its namespace goes when it exits). */
static void run_child(struct seen *s)
{
	int fds[2], status;
	size_t got = 0;
	pid_t pid;

	memset(s, 0, sizeof(*s));
	assert_int_equal(pipe(fds), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct seen mine;
		size_t off = 0;
		memset(&mine, 0, sizeof(mine));
		close(fds[0]);
		child_steps(&mine);
		while (off < sizeof(mine)) {
			ssize_t w = write(fds[1], (char *)&mine + off, sizeof(mine) - off);
			if (w <= 0)
				_exit(2);
			off += (size_t)w;
		}
		_exit(0);
	}
	close(fds[1]);
	while (got < sizeof(*s)) {
		ssize_t r = read(fds[0], (char *)s + got, sizeof(*s) - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	close(fds[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	assert_int_equal(got, sizeof(*s));
	if (s->failed[0])
		fail_msg("child: %s", s->failed);
}

static struct seen seen;

static int setup(void **state)
{
	run_child(&seen);
	return 0;
}

static void link_state_of_lo_and_of_nothing(void **state)
{
	assert_int_equal(seen.lo_before_up, 0);
	assert_int_equal(seen.lo_after_up, 1);
	assert_int_equal(seen.missing_state, -1);
}

static void route_get_names_the_interface(void **state)
{
	assert_int_equal(seen.get_lo_rc, 0);
	assert_true(seen.lo_index > 0);
	assert_int_equal(seen.get_lo_oif, seen.lo_index);
	assert_string_equal(seen.get_lo_if, "lo");
}

static void route_get_without_a_route_fails_with_why(void **state)
{
	assert_int_equal(seen.get_none_rc, -1);
	assert_string_equal(seen.get_none_err, "no route to 10.1.2.3: Network is unreachable");
	assert_int_equal(seen.get_bad_rc, -1);
	assert_string_equal(seen.get_bad_err, "'vpn.example.com' is not a numeric IP address");
}

static void dump_lists_a_new_route_and_delete_removes_it(void **state)
{
	assert_int_equal(seen.had_before, 0);
	assert_int_equal(seen.dump_rc, 0);
	assert_true(seen.dump_found);
	assert_string_equal(seen.route_text, "10.9.8.0/24 dev lo");
	assert_int_equal(seen.delete_rc, 0);
	assert_int_equal(seen.found_after_delete, 0);
	assert_true(seen.dump6_found);
	assert_string_equal(seen.route6_text, "2001:db8:9::/64 dev lo");
}

static void events_wake_on_a_route_change(void **state)
{
	assert_true(seen.event_seen);
	assert_true(seen.event_drained);
}

/* "Every route of the main table": a route of table 510 is not one. */
static void dump_keeps_to_the_main_table(void **state)
{
	/* RTA_TABLE is 32 bits: once kept in an unsigned char, table 510
	 * became 254 (RT_TABLE_MAIN), listed as a main-table route that
	 * nl_route_delete then could not delete (ESRCH) */
	assert_int_equal(seen.other_table_listed, 0);
}

static void link_delete_removes_a_veth_pair(void **state)
{
	assert_int_equal(seen.veth_down, 0);
	assert_int_equal(seen.veth_up, 1);
	assert_int_equal(seen.veth_delete_rc, 0);
	assert_true(seen.veth_gone);
	assert_true(seen.peer_gone);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(link_state_of_lo_and_of_nothing),
		cmocka_unit_test(route_get_names_the_interface),
		cmocka_unit_test(route_get_without_a_route_fails_with_why),
		cmocka_unit_test(dump_lists_a_new_route_and_delete_removes_it),
		cmocka_unit_test(events_wake_on_a_route_change),
		cmocka_unit_test(dump_keeps_to_the_main_table),
		cmocka_unit_test(link_delete_removes_a_veth_pair),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
