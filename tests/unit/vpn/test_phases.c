/* SPDX-License-Identifier: MIT */
/* Login phases: the arithmetic (phases.c) on the moments of a login, the
 * session timing each marked line when it comes (a fake client on a real
 * pty), and each profile's markers against the lines the real clients
 * printed in the lab (tests/lab/README.md). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <math.h>
#include <regex.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>

#include "config/config.h"
#include "util/log.h"
#include "vpn/phases.h"
#include "vpn/profiles.h"
#include "vpn/session.h"

#define CONNECT (1u << VPN_PHASE_CONNECT)
#define TLS (1u << VPN_PHASE_TLS)
#define AUTH (1u << VPN_PHASE_AUTH)
#define TUNNEL (1u << VPN_PHASE_TUNNEL)

static char fixture_dir[512];

static struct phase_moments moments(int c, int t, int a, double mc, double mt, double ma,
				    double secret, double up)
{
	return (struct phase_moments){ .shown = { c, t, a }, .mark_ms = { mc, mt, ma },
				       .secret_ms = secret, .up_ms = up };
}

static void near(double got, double want)
{
	if (fabs(got - want) > 1e-9)
		fail_msg("got %.6f, want %.6f", got, want);
}

static void names(void **state)
{
	assert_string_equal(vpn_phase_name(VPN_PHASE_CONNECT), "connect");
	assert_string_equal(vpn_phase_name(VPN_PHASE_TLS), "tls");
	assert_string_equal(vpn_phase_name(VPN_PHASE_AUTH), "auth");
	assert_string_equal(vpn_phase_name(VPN_PHASE_TUNNEL), "tunnel");
	assert_string_equal(vpn_phase_name(VPN_PHASES), "");
	assert_string_equal(vpn_phase_name(-1), "");
}

/* openconnect: every boundary shown and seen: the phases follow each other
 * and add up to the login time exactly. */
static void all_shown_add_up_to_the_login(void **state)
{
	struct phase_moments m = moments(1, 1, 1, 8.5, 24.0, 28.25, -1, 36.5);
	double ph[VPN_PHASES];

	assert_int_equal(phases_compute(&m, ph), CONNECT | TLS | AUTH | TUNNEL);
	near(ph[VPN_PHASE_CONNECT], 8.5);
	near(ph[VPN_PHASE_TLS], 15.5);
	near(ph[VPN_PHASE_AUTH], 4.25);
	near(ph[VPN_PHASE_TUNNEL], 8.25);
	near(ph[0] + ph[1] + ph[2] + ph[3], m.up_ms);
	assert_int_equal(phases_failed_in(&m), -1);    /* nothing left unseen */
}

/* WireGuard shows the handshake only: connect, then tunnel from there;
 * no tls and no auth of its own (left out, not zero). */
static void a_phase_not_shown_is_left_out(void **state)
{
	struct phase_moments m = moments(1, 0, 0, 7.0, 99, 99, -1, 9.5);
	double ph[VPN_PHASES];

	assert_int_equal(phases_compute(&m, ph), CONNECT | TUNNEL);
	near(ph[VPN_PHASE_CONNECT], 7.0);
	near(ph[VPN_PHASE_TUNNEL], 2.5);
}

/* startct: only the end of auth shown; auth runs from the password sent
 * on its prompt (what went before is no phase it shows). Without the
 * password's moment, auth has no start: unknown, never from the start. */
static void auth_starts_when_the_password_went(void **state)
{
	struct phase_moments m = moments(0, 0, 1, -1, -1, 950.0, 120.0, 1000.0);
	double ph[VPN_PHASES];

	assert_int_equal(phases_compute(&m, ph), AUTH | TUNNEL);
	near(ph[VPN_PHASE_AUTH], 830.0);
	near(ph[VPN_PHASE_TUNNEL], 50.0);
	m.secret_ms = -1;
	assert_int_equal(phases_compute(&m, ph), TUNNEL);
	/* with tls seen, a later password (a dialogue) still starts auth */
	m = moments(1, 1, 1, 5, 20, 80, 60, 90);
	assert_int_equal(phases_compute(&m, ph), CONNECT | TLS | AUTH | TUNNEL);
	near(ph[VPN_PHASE_AUTH], 20.0);
	/* the password on stdin (no moment): auth follows tls */
	m.secret_ms = -1;
	phases_compute(&m, ph);
	near(ph[VPN_PHASE_AUTH], 60.0);
}

/* A marker that did not match (or out of order): its phase and the next
 * one are unknown, nothing is guessed; a client without markers has none. */
static void unseen_or_disordered_marks_are_unknown(void **state)
{
	struct phase_moments m = moments(1, 1, 1, 8, -1, 30, -1, 40);
	double ph[VPN_PHASES];

	assert_int_equal(phases_compute(&m, ph), CONNECT | TUNNEL);
	m = moments(1, 1, 1, 8, 6, 30, -1, 40);        /* tls before connect */
	assert_int_equal(phases_compute(&m, ph), CONNECT | AUTH | TUNNEL);
	m = moments(0, 0, 0, -1, -1, -1, 10, 40);      /* custom: nothing shown */
	assert_int_equal(phases_compute(&m, ph), 0);
	assert_int_equal(phases_failed_in(&m), -1);
}

/* The phase a failed login was in: the first shown one not finished. */
static void a_failure_names_its_phase(void **state)
{
	struct phase_moments m;
	double ph[VPN_PHASES];

	m = moments(1, 1, 1, 8, 24, -1, -1, -1);       /* wrong password */
	assert_int_equal(phases_failed_in(&m), VPN_PHASE_AUTH);
	assert_int_equal(phases_compute(&m, ph), CONNECT | TLS);  /* what it got through */
	m = moments(1, 1, 1, -1, -1, -1, -1, -1);      /* gateway down */
	assert_int_equal(phases_failed_in(&m), VPN_PHASE_CONNECT);
	m = moments(1, 1, 1, 8, -1, -1, -1, -1);       /* certificate refused */
	assert_int_equal(phases_failed_in(&m), VPN_PHASE_TLS);
	m = moments(1, 1, 1, 8, 24, 28, -1, -1);       /* no route through the tunnel */
	assert_int_equal(phases_failed_in(&m), VPN_PHASE_TUNNEL);
	m = moments(1, 0, 0, -1, -1, -1, -1, -1);      /* wireguard: no handshake */
	assert_int_equal(phases_failed_in(&m), VPN_PHASE_CONNECT);
	m = moments(0, 0, 1, -1, -1, -1, -1, -1);      /* startct before the password */
	assert_int_equal(phases_failed_in(&m), -1);
	m.secret_ms = 100;                             /* ... and after it */
	assert_int_equal(phases_failed_in(&m), VPN_PHASE_AUTH);
}

/* ---- the session times each marked line as it comes ---- */

static void marks_are_timed_line_by_line(void **state)
{
	static const char *const env[] = { "PATH=/usr/bin:/bin", "LANG=C", NULL };
	static const struct session_step steps[] = { { "Password:", "{password}", 5 } };
	const char *marks[] = { "^Connected to [^ ]+:[0-9]+$", "^Connected to HTTPS on ",
				"^Got CONNECT response", "", "never printed" };
	char path[600], err[256] = "";
	const char *argv[] = { "/bin/sh", path, NULL };
	struct session_spec spec = {
		.argv = argv, .env = env, .steps = steps, .nsteps = 1,
		.connected = "^Configured as ", .secret = "hunter2-correct",
		.marks = marks, .nmarks = 5, .login_timeout_s = 10, .site = "test",
	};
	struct session *s;
	double c, t, a, pw;

	snprintf(path, sizeof(path), "%s/fake-phases.sh", fixture_dir);
	s = session_start(&spec, err, sizeof(err));
	if (!s)
		fail_msg("session_start: %s", err);
	assert_int_equal(session_login(s), SESSION_CONNECTED);
	c = session_mark_at(s, 0);
	t = session_mark_at(s, 1);
	a = session_mark_at(s, 2);
	pw = session_secret_sent_at(s);
	print_message("connect %.1f, tls %.1f, password %.1f, auth %.1f ms\n", c, t, pw, a);
	assert_true(c > 0 && t > 0 && a > 0 && pw > 0);
	/* the client slept 0.2 s between them: each was timed when it came */
	assert_true(t - c >= 190);
	assert_true(pw >= t);
	assert_true(a - pw >= 190);
	assert_true(session_mark_at(s, 3) < 0);        /* empty: no mark */
	assert_true(session_mark_at(s, 4) < 0);        /* never matched */
	assert_true(session_mark_at(s, 5) < 0);        /* out of range */
	session_stop(s, SIGINT, 1, NULL);
	session_free(s);
}

/* A failure and a mark in one read: the mark counts only when its line came
 * first, so the phase a login failed in never depends on how the client's
 * output was split (openvpn's expired-certificate warning, then its "TLS:
 * Initial packet" line: failed in connect, also on a busy machine). */
static void a_mark_after_the_failure_line_does_not_count(void **state)
{
	static const char *const env[] = { "PATH=/usr/bin:/bin", "LANG=C", NULL };
	static const char *const failed[] = { "certificate has expired" };
	static const char *const order[] = { "fail-first", "mark-first" };
	const char *marks[] = { "^TLS: Initial packet from " };
	char path[600], err[256] = "";

	(void)state;
	snprintf(path, sizeof(path), "%s/fake-fail-then-mark.sh", fixture_dir);
	for (int i = 0; i < 2; i++) {
		const char *argv[] = { "/bin/sh", path, order[i], NULL };
		struct session_spec spec = {
			.argv = argv, .env = env, .failed = failed, .nfailed = 1,
			.connected = "^never$", .marks = marks, .nmarks = 1,
			.login_timeout_s = 10, .site = "test",
		};
		struct session *s = session_start(&spec, err, sizeof(err));

		if (!s)
			fail_msg("session_start: %s", err);
		assert_int_equal(session_login(s), SESSION_FAILED_PATTERN);
		if (i == 0)
			assert_true(session_mark_at(s, 0) < 0);
		else
			assert_true(session_mark_at(s, 0) > 0);
		session_stop(s, SIGINT, 1, NULL);
		session_free(s);
	}
}

/* ---- each profile's markers against the real clients' lines ---- */

/* The index of the first line of `text` the ERE matches, -1 for none. */
static int first_line(const char *re_text, const char *text)
{
	regex_t re;
	char line[512];
	int i = 0, found = -1;

	if (!re_text)
		return -1;
	assert_int_equal(regcomp(&re, re_text, REG_EXTENDED | REG_NEWLINE | REG_NOSUB), 0);
	for (const char *p = text; *p && found < 0; i++) {
		size_t n = strcspn(p, "\n");
		snprintf(line, sizeof(line), "%.*s", (int)n, p);
		if (regexec(&re, line, 0, NULL, 0) == 0)
			found = i;
		p += n + (p[n] == '\n');
	}
	regfree(&re);
	return found;
}

static struct site client_site(enum vpn_client client)
{
	struct site s;

	memset(&s, 0, sizeof(s));
	s.name = (char *)"lab";
	s.vpn.client = client;
	s.vpn.command = (char *)"/bin/true";
	s.vpn.gateway = (char *)"198.18.1.2";
	s.vpn.username = (char *)"monitor";
	s.vpn.config_file = (char *)"/dev/null";
	s.vpn.login_timeout_s = 30;
	return s;
}

/* Which line (0-based) ends connect, tls and auth; -1: not shown. */
static void expect_marks(enum vpn_client client, const char *output, int c, int t, int a)
{
	struct site s = client_site(client);
	struct vpn_profile p;
	char err[256];

	assert_int_equal(profile_build(&s, "", NULL, &p, err, sizeof(err)), 0);
	assert_int_equal(first_line(p.phase_marks[VPN_PHASE_CONNECT], output), c);
	assert_int_equal(first_line(p.phase_marks[VPN_PHASE_TLS], output), t);
	assert_int_equal(first_line(p.phase_marks[VPN_PHASE_AUTH], output), a);
	assert_int_equal(p.phase_marks[VPN_PHASE_TLS] == NULL, t < 0);
	profile_free(&p);
}

static void profile_markers_match_the_real_clients(void **state)
{
	/* openconnect 9.01 against ocserv 1.1.6 */
	expect_marks(VPN_OPENCONNECT,
		"POST https://198.18.1.2/\n"
		"Connected to 198.18.1.2:443\n"
		"SSL negotiation with 198.18.1.2\n"
		"Connected to HTTPS on 198.18.1.2 with ciphersuite (TLS1.3)-(ECDHE-SECP256R1)-(ECDSA-SECP256R1-SHA256)-(AES-256-GCM)\n"
		"XML POST enabled\n"
		"Please enter your username.\n"
		"POST https://198.18.1.2/auth\n"
		"Please enter your password.\n"
		"POST https://198.18.1.2/auth\n"
		"Got CONNECT response: HTTP/1.1 200 CONNECTED\n"
		"CSTP connected. DPD 60, Keepalive 300\n"
		"Configured as 10.20.1.223, with SSL connected and DTLS connected\n", 1, 3, 9);
	/* openvpn 2.6.14 */
	expect_marks(VPN_OPENVPN,
		"2026-12-01 05:36:01 UDPv4 link remote: [AF_INET]198.18.100.2:1194\n"
		"2026-12-01 05:36:01 TLS: Initial packet from [AF_INET]198.18.100.2:1194, sid=9d84e921 e855a027\n"
		"2026-12-01 05:36:01 VERIFY OK: depth=0, O=epmon test lab, CN=198.18.100.2\n"
		"2026-12-01 05:36:01 Control Channel: TLSv1.3, cipher TLSv1.3 TLS_AES_256_GCM_SHA384, peer certificate: 256 bits ECprime256v1\n"
		"2026-12-01 05:36:01 [198.18.100.2] Peer Connection Initiated with [AF_INET]198.18.100.2:1194\n"
		"2026-12-01 05:36:01 PUSH: Received control message: 'PUSH_REPLY,route 10.30.0.0 255.255.255.0'\n"
		"2026-12-01 05:36:01 TUN/TAP device epmon0 opened\n"
		"2026-12-01 05:36:01 Initialization Sequence Completed\n", 1, 2, 5);
	/* wireguard-go 0.0.20220316, LOG_LEVEL=verbose */
	expect_marks(VPN_WIREGUARD,
		"DEBUG: (epmon0) 2026/12/01 05:36:03 UAPI listener started\n"
		"DEBUG: (epmon0) 2026/12/01 05:36:03 peer(7VNp\xe2\x80\xa6" "8nWc) - Sending handshake initiation\n"
		"DEBUG: (epmon0) 2026/12/01 05:36:03 peer(7VNp\xe2\x80\xa6" "8nWc) - Received handshake response\n",
		2, -1, -1);
	/* charon 5.9.8, EAP-MSCHAPv2 */
	expect_marks(VPN_IPSEC,
		"07[NET] sending packet: from 0.0.0.0[500] to 198.18.102.2[500] (892 bytes)\n"
		"04[NET] received packet: from 198.18.102.2[500] to 100.64.0.2[500] (248 bytes)\n"
		"04[ENC] parsed IKE_SA_INIT response 0 [ SA KE No N(NATD_S_IP) N(NATD_D_IP) ]\n"
		"06[ENC] parsed IKE_AUTH response 1 [ IDr CERT AUTH EAP/REQ/ID ]\n"
		"06[IKE] authentication of '198.18.102.2' with ECDSA_WITH_SHA256_DER successful\n"
		"10[IKE] EAP method EAP_MSCHAPV2 succeeded, MSK established\n"
		"10[IKE] authentication of '100.64.0.2' (myself) with EAP\n"
		"04[IKE] authentication of '198.18.102.2' with EAP successful\n"
		"04[IKE] IKE_SA epmon[1] established between 100.64.0.2[100.64.0.2]...198.18.102.2[198.18.102.2]\n"
		"04[IKE] CHILD_SA epmon{1} established with SPIs d8670b54_i c206ec37_o\n", 2, 4, 8);
}

/* vpn.phases overrides a marker, "" says the client does not show it;
 * startct's auth ends at its connected pattern, whichever it is; custom
 * shows nothing unless told. */
static void site_overrides_the_markers(void **state)
{
	struct site s = client_site(VPN_OPENCONNECT);
	struct vpn_profile p;
	char err[256];

	s.vpn.phase_marks[VPN_PHASE_TLS] = (char *)"";
	s.vpn.phase_marks[VPN_PHASE_AUTH] = (char *)"^Cookie accepted";
	assert_int_equal(profile_build(&s, "", NULL, &p, err, sizeof(err)), 0);
	assert_string_equal(p.phase_marks[VPN_PHASE_CONNECT], "^Connected to [^ ]+:[0-9]+$");
	assert_null(p.phase_marks[VPN_PHASE_TLS]);
	assert_string_equal(p.phase_marks[VPN_PHASE_AUTH], "^Cookie accepted");
	profile_free(&p);

	s = client_site(VPN_STARTCT);
	s.vpn.connected = (char *)"Tunnel UP";
	assert_int_equal(profile_build(&s, "pw", NULL, &p, err, sizeof(err)), 0);
	assert_null(p.phase_marks[VPN_PHASE_CONNECT]);
	assert_null(p.phase_marks[VPN_PHASE_TLS]);
	assert_string_equal(p.phase_marks[VPN_PHASE_AUTH], "Tunnel UP");
	profile_free(&p);

	s = client_site(VPN_CUSTOM);
	s.vpn.connected = (char *)"up";
	assert_int_equal(profile_build(&s, "", NULL, &p, err, sizeof(err)), 0);
	for (int i = 0; i < VPN_PHASE_MARKS; i++)
		assert_null(p.phase_marks[i]);
	profile_free(&p);
	s.vpn.phase_marks[VPN_PHASE_CONNECT] = (char *)"^reached";
	assert_int_equal(profile_build(&s, "", NULL, &p, err, sizeof(err)), 0);
	assert_string_equal(p.phase_marks[VPN_PHASE_CONNECT], "^reached");
	profile_free(&p);
}

/* The config takes vpn.phases: a map of EREs, "" allowed, a bad ERE or an
 * unknown key refused with its place. */
static void config_reads_phases(void **state)
{
	static const char good[] =
		"frequency: 60\n"
		"sites:\n"
		"  - name: a\n"
		"    external_ip: 192.0.2.1\n"
		"    internal_ip: 10.0.0.1\n"
		"    vpn: {client: custom, command: /bin/true, connected: up,\n"
		"          phases: {connect: '^reached', tls: '', auth: 'welcome'}}\n";
	static const char bad[] =
		"frequency: 60\n"
		"sites:\n"
		"  - name: a\n"
		"    external_ip: 192.0.2.1\n"
		"    internal_ip: 10.0.0.1\n"
		"    vpn: {client: custom, command: /bin/true, connected: up,\n"
		"          phases: {connect: '(', tunnel: 'x'}}\n";
	struct config_diag d = { 0 };
	struct config *cfg = config_parse("t.yml", good, strlen(good), &d);

	assert_non_null(cfg);
	assert_string_equal(cfg->sites[0].vpn.phase_marks[VPN_PHASE_CONNECT], "^reached");
	assert_string_equal(cfg->sites[0].vpn.phase_marks[VPN_PHASE_TLS], "");
	assert_string_equal(cfg->sites[0].vpn.phase_marks[VPN_PHASE_AUTH], "welcome");
	config_free(cfg);
	config_diag_free(&d);
	memset(&d, 0, sizeof(d));
	cfg = config_parse("t.yml", bad, strlen(bad), &d);
	assert_null(cfg);
	assert_true(d.nerrors >= 2);
	for (size_t i = 0; i < d.nerrors; i++)
		print_message("%s\n", d.errors[i]);
	assert_non_null(strstr(d.errors[0], "t.yml:7:"));
	config_diag_free(&d);
}

static int setup(void **state)
{
	const char *dir = getenv("EPMON_FIXTURES");

	if (dir) {
		snprintf(fixture_dir, sizeof(fixture_dir), "%s", dir);
	} else {
		/* __FILE__ is tests/unit/vpn/test_phases.c as the Makefile passes it */
		snprintf(fixture_dir, sizeof(fixture_dir), "%s", __FILE__);
		char *slash = strrchr(fixture_dir, '/');
		if (slash)
			*slash = '\0';
		else
			snprintf(fixture_dir, sizeof(fixture_dir), ".");
		strncat(fixture_dir, "/fixtures", sizeof(fixture_dir) - strlen(fixture_dir) - 1);
	}
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	log_init(getenv("TEST_DEBUG") ? 1 : 0);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(names),
		cmocka_unit_test(all_shown_add_up_to_the_login),
		cmocka_unit_test(a_phase_not_shown_is_left_out),
		cmocka_unit_test(auth_starts_when_the_password_went),
		cmocka_unit_test(unseen_or_disordered_marks_are_unknown),
		cmocka_unit_test(a_failure_names_its_phase),
		cmocka_unit_test(marks_are_timed_line_by_line),
		cmocka_unit_test(a_mark_after_the_failure_line_does_not_count),
		cmocka_unit_test(profile_markers_match_the_real_clients),
		cmocka_unit_test(site_overrides_the_markers),
		cmocka_unit_test(config_reads_phases),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
