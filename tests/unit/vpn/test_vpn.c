/* SPDX-License-Identifier: MIT */
/* VPN helpers: client profiles (argv, placeholders, no password in argv),
 * the resolv.conf guard, stale-process lookup by exact name. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <errno.h>
#include <regex.h>
#include <unistd.h>

#include "config/config.h"
#include "vpn/ipsec.h"
#include "vpn/proc.h"
#include "vpn/profiles.h"
#include "vpn/resolv.h"

static struct site make_site(enum vpn_client client)
{
	struct site s;

	memset(&s, 0, sizeof(s));
	s.name = (char *)"paris";
	s.external_ip = (char *)"198.18.1.2";
	s.internal_ip = (char *)"10.10.1.10";
	s.vpn.client = client;
	s.vpn.gateway = (char *)"vpn.example.com";
	s.vpn.username = (char *)"monitor";
	s.vpn.login_timeout_s = 30;
	s.vpn.teardown_timeout_s = 10;
	return s;
}

static int argv_has(const struct vpn_profile *p, const char *arg)
{
	for (size_t i = 0; p->argv[i]; i++)
		if (strcmp(p->argv[i], arg) == 0)
			return 1;
	return 0;
}

static int argv_contains(const struct vpn_profile *p, const char *text)
{
	for (size_t i = 0; p->argv[i]; i++)
		if (strstr(p->argv[i], text))
			return 1;
	return 0;
}

static void openconnect_profile_uses_stdin_and_named_interface(void **state)
{
	struct site s = make_site(VPN_OPENCONNECT);
	struct vpn_profile p;
	char err[256];

	s.vpn.command = (char *)"/bin/true";   /* any executable stands in */
	s.vpn.protocol = (char *)"gp";
	s.vpn.ca_file = (char *)"/etc/epmon/ca.pem";
	assert_int_equal(profile_build(&s, "s3cret-pw", NULL, &p, err, sizeof(err)), 0);
	assert_string_equal(p.argv[0], "/bin/true");
	assert_true(argv_has(&p, "--protocol=gp"));
	assert_true(argv_has(&p, "--user=monitor"));
	assert_true(argv_has(&p, "--interface=epmon0"));
	assert_true(argv_has(&p, "--cafile=/etc/epmon/ca.pem"));
	assert_true(argv_has(&p, "--passwd-on-stdin"));
	assert_true(argv_has(&p, "vpn.example.com"));
	assert_false(argv_contains(&p, "s3cret-pw"));
	assert_true(p.password_on_stdin);
	assert_string_equal(p.interface, "epmon0");
	assert_int_equal(p.nprocess_names, 1);
	assert_string_equal(p.process_names[0], "openconnect");
	profile_free(&p);
}

static void startct_profile_defaults_and_realm(void **state)
{
	struct site s = make_site(VPN_STARTCT);
	struct vpn_profile p;
	char err[256];

	s.vpn.command = (char *)"/bin/true";
	s.vpn.realm = (char *)"Corp";
	assert_int_equal(profile_build(&s, "pw", NULL, &p, err, sizeof(err)), 0);
	assert_string_equal(p.argv[1], "-m");
	assert_string_equal(p.argv[2], "vpn.example.com");
	assert_string_equal(p.argv[3], "-u");
	assert_string_equal(p.argv[4], "monitor");
	assert_string_equal(p.argv[5], "-r");
	assert_string_equal(p.argv[6], "Corp");
	assert_null(p.argv[7]);
	assert_int_equal(p.nsteps, 1);
	assert_string_equal(p.steps[0].send, "{password}");
	assert_false(p.password_on_stdin);
	assert_int_equal(p.nprocess_names, 2);
	assert_string_equal(p.process_names[1], "AvConnect");
	assert_string_equal(p.interface, "");   /* detected as the new interface */
	profile_free(&p);
}

static void overrides_replace_profile_fields(void **state)
{
	struct site s = make_site(VPN_STARTCT);
	struct vpn_profile p;
	char *args[] = { (char *)"--host={gateway}:443", (char *)"--who={username}@{realm}",
			 (char *)"{site}" };
	char *names[] = { (char *)"myct" };
	char *failed[] = { (char *)"DENIED" };
	struct expect_step steps[] = { { (char *)"PIN:", (char *)"{password}", 5 },
					{ (char *)"User:", (char *)"{username}", 0 } };
	char err[256];

	s.vpn.command = (char *)"/bin/true";
	s.vpn.realm = (char *)"R";
	s.vpn.args = args; s.vpn.nargs = 3; s.vpn.has_args = 1;
	s.vpn.process_names = names; s.vpn.nprocess_names = 1; s.vpn.has_process_names = 1;
	s.vpn.failed = failed; s.vpn.nfailed = 1; s.vpn.has_failed = 1;
	s.vpn.expect = steps; s.vpn.nexpect = 2; s.vpn.has_expect = 1;
	s.vpn.connected = (char *)"UP";
	s.vpn.stop_command = (char *)"/opt/ct/stop";
	assert_int_equal(profile_build(&s, "pw", NULL, &p, err, sizeof(err)), 0);
	assert_string_equal(p.argv[1], "--host=vpn.example.com:443");
	assert_string_equal(p.argv[2], "--who=monitor@R");
	assert_string_equal(p.argv[3], "paris");
	assert_null(p.argv[4]);
	assert_string_equal(p.connected, "UP");
	assert_string_equal(p.failed[0], "DENIED");
	assert_null(p.failed_why);
	assert_string_equal(p.steps[0].expect, "PIN:");
	assert_string_equal(p.steps[0].send, "{password}");
	assert_string_equal(p.steps[1].send, "monitor");
	assert_string_equal(p.process_names[0], "myct");
	assert_string_equal(p.stop_command, "/opt/ct/stop");
	profile_free(&p);
}

static void openvpn_auth_file_is_private_and_removed(void **state)
{
	struct site s = make_site(VPN_OPENVPN);
	struct vpn_profile p;
	char err[256], auth[320], buf[64] = "";
	struct stat st;
	FILE *f;

	s.vpn.command = (char *)"/bin/true";
	s.vpn.config_file = (char *)"/etc/openvpn/paris.conf";
	assert_int_equal(profile_build(&s, "ovpn-pw", NULL, &p, err, sizeof(err)), 0);
	assert_false(argv_contains(&p, "ovpn-pw"));
	assert_true(argv_has(&p, "--auth-user-pass"));
	snprintf(auth, sizeof(auth), "%s/auth", p.runtime_dir);
	assert_true(argv_has(&p, auth));
	assert_int_equal(stat(auth, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(stat(p.runtime_dir, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
	f = fopen(auth, "r");
	assert_non_null(f);
	assert_non_null(fgets(buf, sizeof(buf), f));
	assert_string_equal(buf, "monitor\n");
	assert_non_null(fgets(buf, sizeof(buf), f));
	assert_string_equal(buf, "ovpn-pw\n");
	fclose(f);
	profile_free(&p);
	assert_int_equal(stat(auth, &st), -1);
}

/* The meaning epmon gives a client output: the failed pattern that matches
 * earliest in it (as the session does), compiled as the session compiles
 * them; NULL when none matches. */
static const char *why_of(const struct vpn_profile *p, const char *output)
{
	regoff_t best = -1;
	const char *why = NULL;

	for (size_t i = 0; i < p->nfailed; i++) {
		regex_t re;
		regmatch_t m;
		assert_int_equal(regcomp(&re, p->failed[i], REG_EXTENDED | REG_NEWLINE), 0);
		if (regexec(&re, output, 1, &m, 0) == 0 && (best < 0 || m.rm_so < best)) {
			best = m.rm_so;
			why = p->failed_why[i];
		}
		regfree(&re);
	}
	return why;
}

/* openvpn 2.6.14's own lines (captured against the lab's openvpn 2.6 server,
 * tests/lab/README.md): each failure gets its words, a good login none. */
static void openvpn_failures_have_words(void **state)
{
	struct site s = make_site(VPN_OPENVPN);
	struct vpn_profile p;
	char err[256];
	const char *const good =
		"2026-12-01 00:10:20 DCO version: N/A\n"
		"2026-12-01 00:10:20 TCP/UDP: Preserving recently used remote address: [AF_INET]198.18.100.2:1194\n"
		"2026-12-01 00:10:20 UDPv4 link local: (not bound)\n"
		"2026-12-01 00:10:20 UDPv4 link remote: [AF_INET]198.18.100.2:1194\n"
		"2026-12-01 00:10:20 TLS: Initial packet from [AF_INET]198.18.100.2:1194, sid=50ed15d2 0f69ea71\n"
		"2026-12-01 00:10:20 VERIFY OK: depth=1, O=epmon test lab, CN=epmon lab OpenVPN CA ovx1\n"
		"2026-12-01 00:10:20 VERIFY KU OK\n"
		"2026-12-01 00:10:20 VERIFY EKU OK\n"
		"2026-12-01 00:10:20 VERIFY OK: depth=0, O=epmon test lab, CN=198.18.100.2\n"
		"2026-12-01 00:10:20 Control Channel: TLSv1.3, cipher TLSv1.3 TLS_AES_256_GCM_SHA384\n"
		"2026-12-01 00:10:20 [198.18.100.2] Peer Connection Initiated with [AF_INET]198.18.100.2:1194\n"
		"2026-12-01 00:10:20 TLS: tls_multi_process: initial untrusted session promoted to trusted\n"
		"2026-12-01 00:10:20 PUSH: Received control message: 'PUSH_REPLY,route 10.30.0.0 255.255.255.0'\n"
		"2026-12-01 00:10:20 TUN/TAP device epmon0 opened\n"
		"2026-12-01 00:10:20 net_route_v4_add: 10.30.0.0/24 via 10.31.0.1 dev [NULL] table 0 metric -1\n"
		"2026-12-01 00:10:20 Initialization Sequence Completed\n";
	const struct { const char *output, *why; } cases[] = {
		{ "2026-12-01 00:10:20 AUTH: Received control message: AUTH_FAILED\n"
		  "2026-12-01 00:10:20 SIGTERM[soft,auth-failure] received, process exiting\n",
		  "bad credentials" },
		{ "2026-12-01 00:10:47 WARNING: Your certificate has expired!\n",
		  "client certificate expired" },
		{ "2026-12-01 00:10:47 WARNING: Your certificate is not yet valid!\n",
		  "client certificate not yet valid" },
		{ "2026-12-01 00:12:40 VERIFY ERROR: depth=1, error=self-signed certificate in certificate chain: O=epmon test lab, CN=epmon lab OpenVPN CA ovx1, serial=1\n"
		  "2026-12-01 00:12:40 OpenSSL: error:0A000086:SSL routines::certificate verify failed:\n"
		  "2026-12-01 00:12:40 TLS Error: TLS handshake failed\n",
		  "certificate not trusted" },
		{ "2026-12-01 00:12:40 VERIFY X509NAME ERROR: O=epmon test lab, CN=198.18.100.2, must be wrong.example\n"
		  "2026-12-01 00:12:40 TLS Error: TLS handshake failed\n",
		  "server certificate rejected (name or key usage)" },
		{ "2026-12-01 00:12:40 VERIFY EKU ERROR\n",
		  "server certificate rejected (name or key usage)" },
		{ "2026-12-01 00:12:56 read UDPv4 [ECONNREFUSED]: Connection refused (fd=3,code=111)\n",
		  "gateway unreachable" },
		{ "2026-12-01 00:10:50 read UDPv4 [EHOSTUNREACH|EHOSTUNREACH]: No route to host (fd=3,code=113)\n",
		  "gateway unreachable" },
		{ "2026-12-01 00:10:47 read UDPv4 [ENETUNREACH]: Network is unreachable (fd=3,code=101)\n",
		  "gateway unreachable" },
		{ "2026-12-01 00:12:40 Attempting to establish TCP connection with [AF_INET]198.18.100.2:1194\n"
		  "2026-12-01 00:12:40 TCP: connect to [AF_INET]198.18.100.2:1194 failed: Connection refused\n",
		  "gateway unreachable" },
		{ "2026-12-01 00:12:40 RESOLVE: Cannot resolve host address: vpn.nonexistent.invalid:1194 (Temporary failure in name resolution)\n",
		  "gateway name not resolved" },
		{ "2026-12-01 00:12:53 TLS Error: TLS key negotiation failed to occur within 3 seconds (check your network connectivity)\n"
		  "2026-12-01 00:12:53 TLS Error: TLS handshake failed\n",
		  "TLS handshake failed (certificate rejected, or the server does not answer)" },
		{ "2026-12-01 00:10:20 Options error: No client-side authentication method is specified.\n",
		  "client configuration error" },
	};

	s.vpn.command = (char *)"/bin/true";
	s.vpn.config_file = (char *)"/etc/openvpn/paris.conf";
	/* no password ("" as the engine passes for a site without one): certificates
	 * only, no auth file, no --auth-user-pass (openvpn would refuse an empty one) */
	assert_int_equal(profile_build(&s, "", NULL, &p, err, sizeof(err)), 0);
	assert_false(argv_has(&p, "--auth-user-pass"));
	assert_false(argv_has(&p, "--auth-nocache"));
	assert_string_equal(p.runtime_dir, "");
	assert_non_null(p.failed_why);
	assert_null(why_of(&p, good));
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *why = why_of(&p, cases[i].output);
		if (!why || strcmp(why, cases[i].why) != 0)
			fail_msg("case %zu: '%s' for: %s", i, why ? why : "(no match)", cases[i].output);
	}
	profile_free(&p);
}

static void missing_client_is_an_error(void **state)
{
	struct site s = make_site(VPN_OPENCONNECT);
	struct vpn_profile p;
	char err[256];

	s.vpn.command = (char *)"/nonexistent/openconnect";
	assert_int_equal(profile_build(&s, "pw", NULL, &p, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "/nonexistent/openconnect"));
	assert_non_null(strstr(err, "not found"));
}

static char tmpdir[64];

static int make_tmpdir(void **state)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/epmon-test-vpn-XXXXXX");
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int remove_tmpdir(void **state)
{
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void resolv_restore_puts_back_the_good_copy(void **state)
{
	char path[128], good_file[128], how[256];
	struct resolv_copy good, now, saved;

	snprintf(path, sizeof(path), "%s/resolv.conf", tmpdir);
	snprintf(good_file, sizeof(good_file), "%s/resolv.conf.good", tmpdir);
	write_file(path, "nameserver 198.18.0.1\n");
	assert_int_equal(resolv_read(path, &good), 0);
	assert_false(resolv_has_client_mark(&good));
	assert_int_equal(resolv_save_good(good_file, &good), 0);

	write_file(path, "#@VPNC_GENERATED@ -- this file is generated by vpnc\nnameserver 10.10.1.53\n");
	assert_int_equal(resolv_read(path, &now), 0);
	assert_true(resolv_has_client_mark(&now));
	assert_false(resolv_equal(&now, &good));
	resolv_copy_free(&now);

	assert_int_equal(resolv_load_good(good_file, &saved), 0);
	assert_true(resolv_equal(&saved, &good));
	assert_int_equal(resolv_restore(path, &saved, how, sizeof(how)), 0);
	assert_int_equal(resolv_read(path, &now), 0);
	assert_true(resolv_equal(&now, &good));
	resolv_copy_free(&now);
	resolv_copy_free(&saved);
	resolv_copy_free(&good);
}

static void resolv_missing_file_reads_as_absent(void **state)
{
	struct resolv_copy a, b;
	char path[128];

	snprintf(path, sizeof(path), "%s/none", tmpdir);
	assert_int_equal(resolv_read(path, &a), 0);
	assert_null(a.data);
	assert_int_equal(resolv_read(path, &b), 0);
	assert_true(resolv_equal(&a, &b));
}

/* A child exec'd under a known name is found by exact name, and only that. */
static void stale_process_found_by_exact_name_and_stopped(void **state)
{
	char link[128];
	pid_t pid, found[8];
	const char *const names[] = { "epmtest-stale" };
	const char *const partial[] = { "epmtest-stal" };
	size_t n;
	int status;

	snprintf(link, sizeof(link), "%s/epmtest-stale", tmpdir);
	assert_int_equal(symlink("/bin/sleep", link), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		execl(link, link, "30", (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 200; i++) {   /* until exec has renamed it */
		n = proc_find_by_name(names, 1, NULL, found, 8);
		if (n)
			break;
		usleep(5000);
	}
	assert_int_equal(n, 1);
	assert_int_equal(found[0], pid);
	assert_int_equal(proc_find_by_name(partial, 1, NULL, found, 8), 0);
	{
		/* the marks of epmon's own clients: the last argument, a mount */
		struct proc_mark last = { .last_arg = "30" }, other = { .last_arg = "3" };
		struct proc_mark mount = { .mount_root = "/epmon/", .mount_point = "/run" };
		assert_int_equal(proc_find_by_name(names, 1, &last, found, 8), 1);
		assert_int_equal(proc_find_by_name(names, 1, &other, found, 8), 0);
		assert_int_equal(proc_find_by_name(names, 1, &mount, found, 8), 0);
	}
	assert_int_equal(proc_stop_pid(pid, SIGINT, 1.0), 0);
	/* gone and reaped: proc_stop_pid reaps a child of ours */
	assert_int_equal(kill(pid, 0), -1);
	(void)status;
	assert_int_equal(proc_find_by_name(names, 1, NULL, found, 8), 0);
}

static void proc_run_reports_exit_status(void **state)
{
	const char *const ok[] = { "true", NULL };
	const char *const bad[] = { "false", NULL };
	const char *const none[] = { "/nonexistent/x", NULL };
	char err[128];

	assert_int_equal(proc_run(ok, 5, err, sizeof(err)), 0);
	assert_int_equal(proc_run(bad, 5, err, sizeof(err)), 1);
	assert_int_equal(proc_run(none, 5, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "not found"));
}

/* charon's failure lines (strongSwan 5.9.8, seen against the lab's
 * responder) get the words of issue 10, with the line minus its thread tag. */
static void ipsec_failures_have_words(void **state)
{
	static const struct { const char *tail, *words, *line; } cases[] = {
		{ "12[NET] sending packet\n14[IKE] EAP-MS-CHAPv2 failed with error "
		  "ERROR_AUTHENTICATION_FAILURE: '(null)'\n14[ENC] generating\n",
		  "bad credentials",
		  "EAP-MS-CHAPv2 failed with error ERROR_AUTHENTICATION_FAILURE: '(null)'" },
		{ "09[IKE] received AUTHENTICATION_FAILED notify error\r\n",
		  "bad credentials", "received AUTHENTICATION_FAILED notify error" },
		{ "09[CFG] no trusted ECDSA public key found for '198.18.102.2'\n",
		  "certificate not trusted", "no trusted ECDSA public key found for '198.18.102.2'" },
		{ "09[IKE] received NO_PROPOSAL_CHOSEN notify error\n",
		  "proposal mismatch", "received NO_PROPOSAL_CHOSEN notify error" },
		{ "05[IKE] giving up after 5 retransmits\n", "gateway unreachable",
		  "giving up after 5 retransmits" },
	};
	char line[200];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *w = ipsec_failure_words(cases[i].tail, line, sizeof(line));
		assert_non_null(w);
		assert_string_equal(w, cases[i].words);
		assert_string_equal(line, cases[i].line);
	}
	assert_null(ipsec_failure_words("00[DMN] Starting IKE charon daemon\n", line,
					sizeof(line)));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(openconnect_profile_uses_stdin_and_named_interface),
		cmocka_unit_test(startct_profile_defaults_and_realm),
		cmocka_unit_test(overrides_replace_profile_fields),
		cmocka_unit_test(openvpn_auth_file_is_private_and_removed),
		cmocka_unit_test(openvpn_failures_have_words),
		cmocka_unit_test(ipsec_failures_have_words),
		cmocka_unit_test(missing_client_is_an_error),
		cmocka_unit_test(resolv_restore_puts_back_the_good_copy),
		cmocka_unit_test(resolv_missing_file_reads_as_absent),
		cmocka_unit_test(stale_process_found_by_exact_name_and_stopped),
		cmocka_unit_test(proc_run_reports_exit_status),
	};
	return cmocka_run_group_tests(tests, make_tmpdir, remove_tmpdir);
}
