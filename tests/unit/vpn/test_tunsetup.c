/* SPDX-License-Identifier: MIT */
/* epmon tunnel-setup's plan: openconnect's script environment in, address,
 * MTU, routes and DNS out; every bad input refused with its name. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vpn/tunsetup.h"

static struct tunsetup_plan plan;   /* 5 KB: not on cmocka's stack */
static char err[256];

/* The lab's gateway 1 as openconnect 9.01 describes it (split tunnel). */
#define LAB_ENV "reason=connect", "TUNDEV=epmon0", "VPNGATEWAY=198.18.1.2", \
	"INTERNAL_IP4_ADDRESS=10.20.1.223", "INTERNAL_IP4_NETMASK=255.255.255.0", \
	"INTERNAL_IP4_NETMASKLEN=24", "INTERNAL_IP4_NETADDR=10.20.1.0", \
	"INTERNAL_IP4_MTU=1434", "INTERNAL_IP4_DNS=10.10.1.53"

/* 1 when the plan routes "ADDR/LEN" (through the tunnel, or around it). */
static int has_route(const char *cidr, int bypass)
{
	char text[INET6_ADDRSTRLEN + 4], a[INET6_ADDRSTRLEN];

	for (size_t i = 0; i < plan.nroutes; i++) {
		const struct tunsetup_route *r = &plan.routes[i];
		inet_ntop(r->family, r->addr, a, sizeof(a));
		snprintf(text, sizeof(text), "%s/%u", a, r->len);
		if (strcmp(text, cidr) == 0 && r->bypass == bypass)
			return 1;
	}
	return 0;
}

static int plan_of(const char *const *env)
{
	err[0] = 0;
	return tunsetup_plan(env, &plan, err, sizeof(err));
}

static void split_includes_go_through_the_tunnel(void **state)
{
	const char *env[] = { LAB_ENV, "CISCO_SPLIT_INC=2",
		"CISCO_SPLIT_INC_0_ADDR=10.10.1.0", "CISCO_SPLIT_INC_0_MASK=255.255.255.0",
		"CISCO_SPLIT_INC_0_MASKLEN=24", "CISCO_SPLIT_INC_1_ADDR=172.16.9.7",
		"CISCO_SPLIT_INC_1_MASKLEN=16", NULL };

	assert_int_equal(plan_of(env), 0);
	assert_int_equal(plan.action, TUNSETUP_CONNECT);
	assert_string_equal(plan.tundev, "epmon0");
	assert_int_equal(plan.mtu, 1434);
	assert_string_equal(plan.addr4, "10.20.1.223/32");   /* point-to-point */
	assert_string_equal(plan.addr6, "");
	assert_int_equal(plan.nroutes, 3);
	assert_true(has_route("10.20.1.0/24", 0));           /* the pool, from the netmask */
	assert_true(has_route("10.10.1.0/24", 0));
	assert_true(has_route("172.16.0.0/16", 0));          /* host bits cleared */
	assert_false(has_route("0.0.0.0/0", 0));
	assert_false(plan.gateway_route);                    /* no include covers it */
	assert_false(plan.write_resolv);                     /* no EPMON_PRIVATE_RESOLV */
}

static void no_split_include_means_default_route_and_gateway_pinned(void **state)
{
	const char *env[] = { "reason=reconnect", "TUNDEV=tun0", "VPNGATEWAY=203.0.113.10",
		"INTERNAL_IP4_ADDRESS=10.1.2.3", "CISCO_SPLIT_EXC=3",
		"CISCO_SPLIT_EXC_0_ADDR=192.0.2.0", "CISCO_SPLIT_EXC_0_MASKLEN=24",
		"CISCO_SPLIT_EXC_1_ADDR=0.0.0.0", "CISCO_SPLIT_EXC_1_MASKLEN=32",
		"CISCO_SPLIT_EXC_2_ADDR=169.254.0.0", "CISCO_SPLIT_EXC_2_MASKLEN=16", NULL };

	assert_int_equal(plan_of(env), 0);
	assert_int_equal(plan.action, TUNSETUP_CONNECT);
	assert_int_equal(plan.mtu, TUNSETUP_DEFAULT_MTU);   /* INTERNAL_IP4_MTU absent */
	assert_true(has_route("0.0.0.0/0", 0));
	assert_true(plan.gateway_route);
	assert_true(has_route("192.0.2.0/24", 1));          /* around the tunnel */
	assert_int_equal(plan.nroutes, 2);                  /* 0/8 and 169.254/16 skipped */
}

static void include_covering_the_gateway_pins_it(void **state)
{
	const char *env[] = { "reason=connect", "TUNDEV=tun0", "VPNGATEWAY=10.9.8.7",
		"INTERNAL_IP4_ADDRESS=10.1.2.3", "CISCO_SPLIT_INC=1",
		"CISCO_SPLIT_INC_0_ADDR=10.0.0.0", "CISCO_SPLIT_INC_0_MASKLEN=8", NULL };
	const char *proxy[] = { "reason=connect", "TUNDEV=tun0", "VPNGATEWAY=127.0.0.1",
		"INTERNAL_IP4_ADDRESS=10.1.2.3", NULL };

	assert_int_equal(plan_of(env), 0);
	assert_true(plan.gateway_route);
	assert_int_equal(plan_of(proxy), 0);      /* through a local proxy: no host route */
	assert_true(has_route("0.0.0.0/0", 0));
	assert_false(plan.gateway_route);
}

static void ipv6_address_routes_and_default(void **state)
{
	const char *env[] = { LAB_ENV, "INTERNAL_IP6_ADDRESS=fd00:20:1::223",
		"INTERNAL_IP6_NETMASK=fd00:20:1::223/64", "CISCO_IPV6_SPLIT_INC=1",
		"CISCO_IPV6_SPLIT_INC_0_ADDR=fd00:10:1::", "CISCO_IPV6_SPLIT_INC_0_MASKLEN=48",
		NULL };
	const char *bare[] = { "reason=connect", "TUNDEV=tun0", "VPNGATEWAY=2001:db8::1",
		"INTERNAL_IP6_ADDRESS=fd00::5", "CISCO_IPV6_SPLIT_EXC=1",
		"CISCO_IPV6_SPLIT_EXC_0_ADDR=2001:db8:5::", "CISCO_IPV6_SPLIT_EXC_0_MASKLEN=48",
		NULL };

	assert_int_equal(plan_of(env), 0);
	assert_string_equal(plan.addr6, "fd00:20:1::223/64");
	assert_true(has_route("fd00:10:1::/48", 0));
	assert_false(has_route("::/0", 0));
	assert_true(has_route("0.0.0.0/0", 0));   /* no IPv4 include: IPv4 default */

	assert_int_equal(plan_of(bare), 0);       /* IPv6 only, gateway over IPv6 */
	assert_string_equal(plan.addr4, "");
	assert_string_equal(plan.addr6, "fd00::5/128");
	assert_true(has_route("::/0", 0));
	assert_true(has_route("2001:db8:5::/48", 1));
	assert_true(plan.gateway_route);
}

static void dns_only_into_a_private_resolv_conf(void **state)
{
	const char *env[] = { LAB_ENV, "EPMON_PRIVATE_RESOLV=1",
		"INTERNAL_IP6_DNS=fd00::53", "CISCO_DEF_DOMAIN=corp.example,lab.example", NULL };
	const char *shared[] = { LAB_ENV, "CISCO_DEF_DOMAIN=corp.example", NULL };
	const char *evil[] = { LAB_ENV, "EPMON_PRIVATE_RESOLV=1",
		"CISCO_DEF_DOMAIN=x\nnameserver 6.6.6.6", NULL };
	const char *bad[] = { "reason=connect", "TUNDEV=tun0", "VPNGATEWAY=198.18.1.2",
		"INTERNAL_IP4_ADDRESS=10.20.1.223", "EPMON_PRIVATE_RESOLV=1",
		"INTERNAL_IP4_DNS=10.10.1.53  dns.example", NULL };
	char text[512];

	assert_int_equal(plan_of(env), 0);
	assert_true(plan.write_resolv);
	assert_int_equal(plan.ndns, 2);
	assert_true(tunsetup_resolv_text(&plan, text, sizeof(text)) > 0);
	assert_string_equal(text, "# epmon tunnel-setup: DNS of epmon0\n"
			    "nameserver 10.10.1.53\nnameserver fd00::53\n"
			    "search corp.example lab.example\n");
	assert_int_equal(tunsetup_resolv_text(&plan, text, 20), -1);

	assert_int_equal(plan_of(shared), 0);
	assert_false(plan.write_resolv);

	assert_int_equal(plan_of(evil), -1);
	assert_non_null(strstr(err, "CISCO_DEF_DOMAIN"));
	assert_int_equal(plan_of(bad), -1);
	assert_string_equal(err, "INTERNAL_IP4_DNS: 'dns.example' is not an IPv4 address");
}

static void bad_or_missing_tundev_is_refused(void **state)
{
	const char *none[] = { "reason=connect", "VPNGATEWAY=198.18.1.2",
		"INTERNAL_IP4_ADDRESS=10.20.1.223", NULL };
	const char *slash[] = { "reason=connect", "TUNDEV=../x", "VPNGATEWAY=198.18.1.2",
		"INTERNAL_IP4_ADDRESS=10.20.1.223", NULL };
	const char *longname[] = { "reason=connect", "TUNDEV=a-very-long-ifname",
		"VPNGATEWAY=198.18.1.2", "INTERNAL_IP4_ADDRESS=10.20.1.223", NULL };

	assert_int_equal(plan_of(none), -1);
	assert_string_equal(err, "TUNDEV is not set");
	assert_int_equal(plan_of(slash), -1);
	assert_string_equal(err, "TUNDEV=../x: not an interface name");
	assert_int_equal(plan_of(longname), -1);
	assert_non_null(strstr(err, "not an interface name"));
}

static void netmask_or_masklen(void **state)
{
	const char *mask_only[] = { "reason=connect", "TUNDEV=tun0", "VPNGATEWAY=198.18.1.2",
		"INTERNAL_IP4_ADDRESS=10.20.1.223", "INTERNAL_IP4_NETMASK=255.255.240.0",
		"CISCO_SPLIT_INC=1", "CISCO_SPLIT_INC_0_ADDR=10.10.0.0",
		"CISCO_SPLIT_INC_0_MASK=255.255.0.0", NULL };
	const char *holes[] = { "reason=connect", "TUNDEV=tun0", "VPNGATEWAY=198.18.1.2",
		"INTERNAL_IP4_ADDRESS=10.20.1.223", "CISCO_SPLIT_INC=1",
		"CISCO_SPLIT_INC_0_ADDR=10.10.0.0", "CISCO_SPLIT_INC_0_MASK=255.0.255.0", NULL };
	const char *neither[] = { "reason=connect", "TUNDEV=tun0", "VPNGATEWAY=198.18.1.2",
		"INTERNAL_IP4_ADDRESS=10.20.1.223", "CISCO_SPLIT_INC=1",
		"CISCO_SPLIT_INC_0_ADDR=10.10.0.0", NULL };

	assert_int_equal(plan_of(mask_only), 0);
	assert_true(has_route("10.20.0.0/20", 0));
	assert_true(has_route("10.10.0.0/16", 0));
	assert_int_equal(plan_of(holes), -1);
	assert_string_equal(err, "CISCO_SPLIT_INC_0_MASK=255.0.255.0: not a netmask");
	assert_int_equal(plan_of(neither), -1);
	assert_string_equal(err, "CISCO_SPLIT_INC_0_MASKLEN is not set");
}

static void too_many_routes_is_refused(void **state)
{
	static char vars[2 * TUNSETUP_MAX_ROUTES + 8][64];
	const char *env[2 * TUNSETUP_MAX_ROUTES + 16] = { LAB_ENV };
	size_t n = 9, v = 0;

	/* MAX includes fit the count, but with the pool's route they overflow */
	snprintf(vars[v], sizeof(vars[v]), "CISCO_SPLIT_INC=%d", TUNSETUP_MAX_ROUTES);
	env[n++] = vars[v++];
	for (int i = 0; i < TUNSETUP_MAX_ROUTES; i++) {
		snprintf(vars[v], sizeof(vars[v]), "CISCO_SPLIT_INC_%d_ADDR=10.%d.%d.0", i,
			 i / 256, i % 256);
		env[n++] = vars[v++];
		snprintf(vars[v], sizeof(vars[v]), "CISCO_SPLIT_INC_%d_MASKLEN=24", i);
		env[n++] = vars[v++];
	}
	env[n] = NULL;
	assert_int_equal(plan_of(env), -1);
	assert_string_equal(err, "too many routes (at most 256)");

	snprintf(vars[0], sizeof(vars[0]), "CISCO_SPLIT_INC=%d", TUNSETUP_MAX_ROUTES + 1);
	assert_int_equal(plan_of(env), -1);
	assert_string_equal(err, "CISCO_SPLIT_INC=257: too many routes (at most 256)");
}

static void reasons_and_other_bad_input(void **state)
{
	const char *preinit[] = { "reason=pre-init", NULL };
	const char *attempt[] = { "reason=attempt-reconnect", "TUNDEV=tun0", NULL };
	const char *disc[] = { LAB_ENV, NULL };
	const char *unknown[] = { "reason=whatever", NULL };
	const char *noreason[] = { "TUNDEV=tun0", NULL };
	const char *mtu[] = { "reason=connect", "TUNDEV=tun0", "VPNGATEWAY=198.18.1.2",
		"INTERNAL_IP4_ADDRESS=10.20.1.223", "INTERNAL_IP4_MTU=0", NULL };
	const char *noaddr[] = { "reason=connect", "TUNDEV=tun0", "VPNGATEWAY=198.18.1.2", NULL };
	const char *gw[] = { "reason=connect", "TUNDEV=tun0", "VPNGATEWAY=vpn.example.com",
		"INTERNAL_IP4_ADDRESS=10.20.1.223", NULL };

	assert_int_equal(plan_of(preinit), 0);
	assert_int_equal(plan.action, TUNSETUP_NOTHING);
	assert_int_equal(plan_of(attempt), 0);
	assert_int_equal(plan.action, TUNSETUP_NOTHING);
	disc[0] = "reason=disconnect";
	assert_int_equal(plan_of(disc), 0);
	assert_int_equal(plan.action, TUNSETUP_DISCONNECT);
	assert_int_equal(plan_of(unknown), -1);
	assert_string_equal(err, "unknown reason 'whatever'");
	assert_int_equal(plan_of(noreason), -1);
	assert_non_null(strstr(err, "reason is not set"));
	assert_int_equal(plan_of(mtu), 0);
	assert_int_equal(plan.mtu, TUNSETUP_DEFAULT_MTU);    /* 0: openconnect had none */
	mtu[4] = "INTERNAL_IP4_MTU=9x";
	assert_int_equal(plan_of(mtu), -1);
	assert_string_equal(err, "INTERNAL_IP4_MTU=9x: not an MTU in 68..65535");
	assert_int_equal(plan_of(noaddr), -1);
	assert_non_null(strstr(err, "neither INTERNAL_IP4_ADDRESS"));
	assert_int_equal(plan_of(gw), -1);
	assert_string_equal(err, "VPNGATEWAY=vpn.example.com: not a numeric IP address");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(split_includes_go_through_the_tunnel),
		cmocka_unit_test(no_split_include_means_default_route_and_gateway_pinned),
		cmocka_unit_test(include_covering_the_gateway_pins_it),
		cmocka_unit_test(ipv6_address_routes_and_default),
		cmocka_unit_test(dns_only_into_a_private_resolv_conf),
		cmocka_unit_test(bad_or_missing_tundev_is_refused),
		cmocka_unit_test(netmask_or_masklen),
		cmocka_unit_test(too_many_routes_is_refused),
		cmocka_unit_test(reasons_and_other_bad_input),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
