/* SPDX-License-Identifier: MIT */
/* Config: every field parsed, every kind of error positioned as FILE:LINE:COL. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "config/config.h"
#include "vpn/proc.h"

/* A real file with mode `mode` holding `text`; the path goes in buf. */
static void make_file(char *buf, const char *text, mode_t mode)
{
	strcpy(buf, "/tmp/epmon-test-config-XXXXXX");
	int fd = mkstemp(buf);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	assert_int_equal(fchmod(fd, mode), 0);
	close(fd);
}

static struct config *parse(const char *text, struct config_diag *d)
{
	memset(d, 0, sizeof(*d));
	return config_parse("t.yml", text, strlen(text), d);
}

static void print_diag(const struct config_diag *d)
{
	for (size_t i = 0; i < d->nerrors; i++)
		print_message("error: %s\n", d->errors[i]);
	for (size_t i = 0; i < d->nwarnings; i++)
		print_message("warning: %s\n", d->warnings[i]);
}

static int has_prefix(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* The config is rejected with exactly one error: at `pos`, saying `phrase`. */
static void expect_error(const char *text, const char *pos, const char *phrase)
{
	struct config_diag d;
	struct config *cfg = parse(text, &d);

	if (cfg || d.nerrors != 1 || !has_prefix(d.errors[0], pos) ||
	    !strstr(d.errors[0], phrase)) {
		print_message("want: %s ... %s\n", pos, phrase);
		print_diag(&d);
	}
	assert_null(cfg);
	assert_int_equal(d.nerrors, 1);
	assert_true(has_prefix(d.errors[0], pos));
	assert_non_null(strstr(d.errors[0], phrase));
	config_diag_free(&d);
}

static struct config *expect_ok(const char *text, struct config_diag *d)
{
	struct config *cfg = parse(text, d);
	if (!cfg)
		print_diag(d);
	assert_non_null(cfg);
	assert_int_equal(d->nerrors, 0);
	return cfg;
}

static void valid_full_config(void **state)
{
	char pw[64], *text;
	struct config_diag d;

	make_file(pw, "secret\n", 0600);
	assert_true(asprintf(&text,
		"frequency: 300.5\n"
		"logging:\n"
		"  smtp_server: mail.example.com\n"
		"  smtp_port: 587\n"
		"  sender: epmon@example.com\n"
		"  recipients: [noc@example.com, ops@example.com]\n"
		"results:\n"
		"  directory: /srv/epmon\n"
		"ping: {count: 4, interval: 0.5, timeout: 3}\n"
		"sites:\n"
		"  - name: paris\n"
		"    external_ip: 203.0.113.10\n"
		"    internal_ip: 10.1.0.10\n"
		"    ping: {count: 3}\n"
		"    vpn:\n"
		"      client: startct\n"
		"      gateway: vpn-paris.example.com\n"
		"      username: monitor\n"
		"      realm: Corp\n"
		"      password_file: %s\n"
		"      ca_file: /etc/epmon/ca.pem\n"
		"      servercert: pin-sha256:abc\n"
		"      config_file: /etc/x.conf\n"
		"      interface: epmon0\n"
		"      command: /bin/true\n"
		"      args: [\"-m\", \"{gateway}\", \"-u\", \"{username}\"]\n"
		"      expect:\n"
		"        - {expect: \"[Pp]assword:\", send: \"{password}\", timeout: 20}\n"
		"        - {expect: \"OTP\"}\n"
		"      connected: \"Connected|Tunnel is up\"\n"
		"      failed: [\"Login failed\", \"denied\"]\n"
		"      stop_command: /opt/x/stopct\n"
		"      process_names: [startct, AvConnect]\n"
		"      login_timeout: 45\n"
		"      teardown_timeout: 5.5\n"
		"  - name: lyon-2\n"
		"    external_ip: 2001:db8::1\n", pw) > 0);
	struct config *cfg = expect_ok(text, &d);
	assert_int_equal(d.nwarnings, 0);

	assert_string_equal(cfg->path, "t.yml");
	assert_true(cfg->frequency_s == 300.5);
	assert_string_equal(cfg->logging.smtp_server, "mail.example.com");
	assert_int_equal(cfg->logging.smtp_port, 587);
	assert_string_equal(cfg->logging.sender, "epmon@example.com");
	assert_int_equal(cfg->logging.nrecipients, 2);
	assert_string_equal(cfg->logging.recipients[1], "ops@example.com");
	assert_string_equal(cfg->results_dir, "/srv/epmon");
	assert_int_equal(cfg->ping.count, 4);
	assert_true(cfg->ping.interval_s == 0.5 && cfg->ping.timeout_s == 3);
	assert_int_equal(cfg->nsites, 2);

	const struct site *s = config_find_site(cfg, "paris");
	assert_ptr_equal(s, &cfg->sites[0]);
	assert_int_equal(s->line, 11);
	assert_string_equal(s->external_ip, "203.0.113.10");
	assert_string_equal(s->internal_ip, "10.1.0.10");
	assert_int_equal(s->ping.count, 3);
	assert_true(s->ping.interval_s == 0.5 && s->ping.timeout_s == 3);
	const struct vpn_settings *v = &s->vpn;
	assert_int_equal(v->client, VPN_STARTCT);
	assert_string_equal(v->gateway, "vpn-paris.example.com");
	assert_string_equal(v->username, "monitor");
	assert_string_equal(v->realm, "Corp");
	assert_string_equal(v->password_file, pw);
	assert_null(v->password_env);
	assert_null(v->protocol); /* only openconnect gets a default */
	assert_string_equal(v->ca_file, "/etc/epmon/ca.pem");
	assert_string_equal(v->servercert, "pin-sha256:abc");
	assert_string_equal(v->config_file, "/etc/x.conf");
	assert_string_equal(v->interface, "epmon0");
	assert_string_equal(v->command, "/bin/true");
	assert_true(v->has_args);
	assert_int_equal(v->nargs, 4);
	assert_string_equal(v->args[3], "{username}");
	assert_true(v->has_expect);
	assert_int_equal(v->nexpect, 2);
	assert_string_equal(v->expect[0].expect, "[Pp]assword:");
	assert_string_equal(v->expect[0].send, "{password}");
	assert_true(v->expect[0].timeout_s == 20);
	assert_string_equal(v->expect[1].expect, "OTP");
	assert_null(v->expect[1].send);
	assert_true(v->expect[1].timeout_s == 0);
	assert_string_equal(v->connected, "Connected|Tunnel is up");
	assert_true(v->has_failed);
	assert_int_equal(v->nfailed, 2);
	assert_string_equal(v->failed[1], "denied");
	assert_string_equal(v->stop_command, "/opt/x/stopct");
	assert_true(v->has_process_names);
	assert_int_equal(v->nprocess_names, 2);
	assert_string_equal(v->process_names[1], "AvConnect");
	assert_true(v->login_timeout_s == 45 && v->teardown_timeout_s == 5.5);

	s = config_find_site(cfg, "lyon-2");
	assert_non_null(s);
	assert_string_equal(s->external_ip, "2001:db8::1");
	assert_null(s->internal_ip);
	assert_int_equal(s->vpn.client, VPN_NONE);
	assert_null(config_find_site(cfg, "nope"));

	config_free(cfg);
	config_diag_free(&d);
	free(text);
	unlink(pw);
}

static void defaults_apply(void **state)
{
	struct config_diag d;
	struct config *cfg = expect_ok(
		"frequency: 60\n"
		"logging: {smtp_server: m, sender: a@b, recipients: c@d}\n"
		"sites:\n"
		"  - name: a\n"
		"    external_ip: 192.0.2.1\n"
		"    internal_ip: 10.0.0.1\n"
		"    vpn: {client: openconnect, gateway: g, username: u,\n"
		"          password_env: EPMON_TEST_PW, command: /bin/true}\n", &d);

	assert_int_equal(cfg->logging.smtp_port, 25);
	assert_int_equal(cfg->logging.nrecipients, 1);
	assert_string_equal(cfg->logging.recipients[0], "c@d");
	assert_string_equal(cfg->results_dir, "/var/lib/epmon");
	assert_int_equal(cfg->sites[0].ping.count, 5);
	assert_true(cfg->sites[0].ping.interval_s == 0.2);
	assert_true(cfg->sites[0].ping.timeout_s == 2);
	const struct vpn_settings *v = &cfg->sites[0].vpn;
	assert_int_equal(v->client, VPN_OPENCONNECT);
	assert_string_equal(v->password_env, "EPMON_TEST_PW");
	assert_string_equal(v->protocol, "anyconnect");
	assert_true(v->login_timeout_s == 30 && v->teardown_timeout_s == 10);
	assert_false(v->has_args || v->has_expect || v->has_failed ||
		     v->has_process_names);
	config_free(cfg);
	config_diag_free(&d);
}

#define SITE "sites:\n  - name: paris\n    external_ip: 192.0.2.1\n"

static void unknown_key_top(void **state)
{
	expect_error("freqency: 300\nfrequency: 300\n" SITE, "t.yml:1:1: ",
		     "unknown key 'freqency' in top level (known: frequency, "
		     "logging, results, ping, sites, state_directory, http, concurrency, "
		     "isolation, alerting, probe_name)");
}

/* alerting: and probe_name: values, defaults and every error */
static void alerting_values(void **state)
{
	struct config_diag d;
	char secret[] = "/tmp/epmon-test-secret-XXXXXX";
	int fd = mkstemp(secret);
	char text[1024];
	struct config *cfg;

	assert_true(fd >= 0);
	close(fd);
	chmod(secret, 0600);
	snprintf(text, sizeof(text), "frequency: 300\n"
		 "probe_name: paris-dc1\n"
		 "alerting:\n"
		 "  failure_threshold: 3\n"
		 "  success_threshold: 2\n"
		 "  retry_min: 10s\n"
		 "  alertmanager:\n"
		 "    url: [http://127.0.0.1:9093, 'https://am2.example.com:9093/']\n"
		 "    labels: {team: netops, env: prod}\n"
		 "  webhooks:\n"
		 "    - {url: 'https://chat.example.com/hooks/T0', format: slack, secret_file: %s}\n"
		 "    - {url: 'http://127.0.0.1:8080/x', timeout: 3s}\n" SITE, secret);
	cfg = parse(text, &d);
	print_diag(&d);
	assert_non_null(cfg);
	assert_string_equal(cfg->probe_name, "paris-dc1");
	assert_int_equal(cfg->sites[0].alert.failure_threshold, 3);
	assert_int_equal(cfg->sites[0].alert.success_threshold, 2);
	assert_int_equal(cfg->alerting.nam_urls, 2);
	assert_string_equal(cfg->alerting.am_urls[1], "https://am2.example.com:9093/");
	assert_int_equal(cfg->alerting.nam_labels, 2);
	assert_string_equal(cfg->alerting.am_labels[0].name, "team");
	assert_string_equal(cfg->alerting.am_labels[0].value, "netops");
	assert_true(cfg->alerting.am_timeout_s == 10);
	assert_int_equal(cfg->alerting.nwebhooks, 2);
	assert_int_equal(cfg->alerting.webhooks[0].format, WEBHOOK_SLACK);
	assert_string_equal(cfg->alerting.webhooks[0].secret_file, secret);
	assert_int_equal(cfg->alerting.webhooks[1].format, WEBHOOK_JSON);
	assert_null(cfg->alerting.webhooks[1].secret_file);
	assert_true(cfg->alerting.webhooks[1].timeout_s == 3);
	assert_true(cfg->alerting.retry_min_s == 10);
	assert_true(cfg->alerting.retry_max_s == 1800);
	config_free(cfg);
	config_diag_free(&d);

	cfg = parse("frequency: 300\n" SITE, &d);
	assert_non_null(cfg);
	assert_non_null(cfg->probe_name);       /* the host name, or "epmon" */
	assert_true(strlen(cfg->probe_name) > 0);
	assert_int_equal(cfg->sites[0].alert.success_threshold, 1);
	assert_int_equal(cfg->alerting.nam_urls, 0);
	assert_int_equal(cfg->alerting.nwebhooks, 0);
	config_free(cfg);
	config_diag_free(&d);
	unlink(secret);
}

static void alerting_errors(void **state)
{
	expect_error("frequency: 300\nprobe_name: 'paris dc'\n" SITE, "t.yml:2:13: ",
		     "'probe_name' must be 1 to 63 characters of letters, digits");
	expect_error("frequency: 300\nalerting: {alertmanager: {url: 'ftp://x'}}\n" SITE,
		     "t.yml:2:32: ", "'url' in alerting.alertmanager must start with "
		     "http:// or https://, got 'ftp://x'");
	expect_error("frequency: 300\nalerting: {alertmanager: {labels: {a: b}}}\n" SITE,
		     "t.yml:2:26: ", "missing required key 'url' in alerting.alertmanager");
	expect_error("frequency: 300\nalerting:\n  alertmanager: {url: 'http://h', "
		     "labels: {site: x}}\n" SITE, "t.yml:3:44: ",
		     "label 'site' in alerting.alertmanager.labels is set by epmon itself");
	expect_error("frequency: 300\nalerting:\n  alertmanager: {url: 'http://h', "
		     "labels: {9x: y}}\n" SITE, "t.yml:3:44: ",
		     "label name '9x' in alerting.alertmanager.labels must match");
	expect_error("frequency: 300\nalerting:\n  webhooks:\n    - {url: 'http://h', "
		     "format: xml}\n" SITE, "t.yml:4:33: ",
		     "'format' in alerting.webhooks[1] must be json, slack or teams, got 'xml'");
	expect_error("frequency: 300\nalerting:\n  webhooks: {url: 'http://h'}\n" SITE,
		     "t.yml:3:13: ", "'webhooks' in alerting must be a list of maps");
	expect_error("frequency: 300\nalerting:\n  webhooks:\n    - {url: 'https://'}\n" SITE,
		     "t.yml:4:13: ", "'url' in alerting.webhooks[1] has no host");
	expect_error("frequency: 300\nalerting:\n  webhooks:\n    - {url: 'http://h', "
		     "secret_file: /nonexistent/epmon.secret}\n" SITE, "t.yml:4:38: ",
		     "/nonexistent/epmon.secret");
	expect_error("frequency: 300\nlogging: {smtp_server: h, sender: a@b, recipients: c@d, "
		     "failure_threshold: 2}\nalerting: {failure_threshold: 3}\n" SITE,
		     "t.yml:3:31: ", "failure_threshold is set in alerting and in logging "
		     "(line 2); keep one");
	expect_error("frequency: 300\n" SITE "alerting:\n  maintenance:\n"
		     "    - {sites: [paris], every: 'sun 25:00', duration: 2h}\n", "t.yml:7:31: ",
		     "'every' in alerting.maintenance[1] must be [DAYS ]HH:MM");
	expect_error("frequency: 300\n" SITE "alerting:\n  maintenance:\n"
		     "    - {sites: [paris], every: 'sun 02:00', duration: 8d}\n", "t.yml:7:54: ",
		     "'duration' in alerting.maintenance[1] must be at most 7d for a "
		     "weekly window, got 8d");
	expect_error("frequency: 300\n" SITE "alerting:\n  maintenance:\n"
		     "    - {sites: [lyon], start: 2026-12-24T22:00, duration: 3h}\n", "t.yml:7:15: ",
		     "'sites' in alerting.maintenance[1]: no site is named 'lyon'");
	expect_error("frequency: 300\n" SITE "alerting:\n  maintenance:\n"
		     "    - {sites: '*', start: 2026-12-24T22:00, every: 'sun 02:00', "
		     "duration: 3h}\n", "t.yml:7:7: ", "needs exactly one of 'every'");
	expect_error("frequency: 300\n" SITE "alerting:\n  maintenance:\n"
		     "    - {sites: '*', start: 2026-12-24T22:00, duration: 3h, "
		     "timezone: Mars/Olympus}\n", "t.yml:7:69: ",
		     "no time zone 'Mars/Olympus' in /usr/share/zoneinfo");
	expect_error("frequency: 300\n" SITE "alerting:\n  maintenance:\n"
		     "    - {sites: '*', start: 2026-13-24T22:00, duration: 3h}\n", "t.yml:7:27: ",
		     "'start' in alerting.maintenance[1] must be YYYY-MM-DDTHH:MM");
	expect_error("frequency: 300\nalerting: {success_threshold: 0}\n" SITE, "t.yml:2:31: ",
		     "'success_threshold' in alerting");
	expect_error("frequency: 300\nalerting: {retry_min: 1h, retry_max: 1m}\n" SITE,
		     "t.yml:2:38: ", "alerting: retry_max (60 s) must not be less than "
		     "retry_min (3600 s)");
}

/* concurrency and isolation: defaults, the mode none rule, subnet checks */
static void isolation_defaults(void **state)
{
	struct config_diag d;
	struct config *cfg = parse("frequency: 300\n" SITE, &d);

	assert_non_null(cfg);
	assert_int_equal(cfg->concurrency, 8);
	assert_int_equal(cfg->isolation.mode, ISOLATION_NETNS);
	assert_int_equal(cfg->isolation.subnet, 0x64400000u);  /* 100.64.0.0 */
	assert_int_equal(cfg->isolation.prefix, 16);
	assert_int_equal(isolation_slots(&cfg->isolation), 16384);
	config_free(cfg);
	config_diag_free(&d);
	/* mode none alone: one at a time, as the seed did */
	cfg = parse("frequency: 300\nisolation: {mode: none}\n" SITE, &d);
	assert_non_null(cfg);
	assert_int_equal(cfg->concurrency, 1);
	assert_int_equal(cfg->isolation.mode, ISOLATION_NONE);
	config_free(cfg);
	config_diag_free(&d);
	cfg = parse("frequency: 300\nconcurrency: 1024\nisolation: {subnet: 10.9.0.0/20}\n" SITE, &d);
	assert_non_null(cfg);
	assert_int_equal(cfg->concurrency, 1024);
	assert_int_equal(cfg->isolation.prefix, 20);
	assert_int_equal(cfg->isolation.line, 3);
	assert_int_equal(cfg->isolation.col, 21);
	config_free(cfg);
	config_diag_free(&d);
}

static void isolation_errors(void **state)
{
	expect_error("frequency: 300\nconcurrency: 0\n" SITE, "t.yml:2:14: ", "'concurrency'");
	expect_error("frequency: 300\nconcurrency: 1025\n" SITE, "t.yml:2:14: ", "'concurrency'");
	expect_error("frequency: 300\nconcurrency: 4\nisolation: {mode: none}\n" SITE,
		     "t.yml:2:14: ", "'concurrency' must be 1 with isolation mode none");
	expect_error("frequency: 300\nisolation: {mode: chroot}\n" SITE, "t.yml:2:19: ",
		     "'mode' in isolation must be netns");
	expect_error("frequency: 300\nisolation: {subnet: 10.1.2.3/16}\n" SITE, "t.yml:2:21: ",
		     "has host bits set; did you mean 10.1.0.0/16?");
	expect_error("frequency: 300\nisolation: {subnet: 10.1.0.0/31}\n" SITE, "t.yml:2:21: ",
		     "prefix length must be 8..30");
	expect_error("frequency: 300\nisolation: {subnet: fd00::/64}\n" SITE, "t.yml:2:21: ",
		     "must be an IPv4 network in CIDR form");
	expect_error("frequency: 300\nisolation: {subnet: 10.1.0.0/29}\n" SITE, "t.yml:2:21: ",
		     "isolation subnet /29 holds 2 site links (a /30 each), fewer than "
		     "concurrency 8: use a /27 or larger");
	expect_error("frequency: 300\nisolation: {subnet: 10.1.0.0/27, mtu: 3}\n" SITE,
		     "t.yml:2:34: ", "unknown key 'mtu' in isolation (known: mode, subnet)");
}

static void unknown_key_site(void **state)
{
	expect_error("frequency: 300\n" SITE "    interal_ip: 10.0.0.1\n",
		     "t.yml:5:5: ", "unknown key 'interal_ip' in site 'paris' "
		     "(known: name, external_ip, internal_ip, ping, vpn, alert)");
}

static void unknown_key_vpn(void **state)
{
	expect_error("frequency: 300\n" SITE
		     "    internal_ip: 10.0.0.1\n"
		     "    vpn:\n"
		     "      client: custom\n"
		     "      command: /bin/true\n"
		     "      passwd_file: /x\n",
		     "t.yml:9:7: ", "unknown key 'passwd_file' in vpn of site "
		     "'paris' (known: client, gateway,");
}

static void unknown_key_ping(void **state)
{
	expect_error("frequency: 300\nping: {count: 2, intervall: 1}\n" SITE,
		     "t.yml:2:18: ", "unknown key 'intervall' in ping (known: "
		     "count, interval, timeout)");
	expect_error("frequency: 300\n" SITE "    ping:\n      tmeout: 1\n",
		     "t.yml:6:7: ", "unknown key 'tmeout' in ping of site 'paris'");
}

static void wrong_types(void **state)
{
	expect_error("frequency: 300\nlogging: [a, b]\n" SITE, "t.yml:2:10: ",
		     "logging must be a map");
	expect_error("frequency: {a: 1}\n" SITE, "t.yml:1:12: ",
		     "'frequency' must be a number, got a map");
	expect_error("frequency: 300\n" SITE "    internal_ip: [10.0.0.1]\n",
		     "t.yml:5:18: ", "'internal_ip' in site 'paris' must be a "
		     "string, got a list");
	expect_error("frequency: 300\nping: {count: '3'}\n" SITE, "t.yml:2:15: ",
		     "'count' in ping must be a number, got the quoted string");
	expect_error("frequency: 300\nping: {count: 2.5}\n" SITE, "t.yml:2:15: ",
		     "must be a whole number");
	expect_error("frequency: 300\nsites: {name: x}\n", "t.yml:2:8: ",
		     "'sites' must be a list");
	expect_error("frequency: 300\nresults: {directory: ~}\n" SITE,
		     "t.yml:2:22: ", "'directory' in results must be a string, "
		     "got nothing (null)");
}

static void missing_keys(void **state)
{
	expect_error("frequency: 300\nsites:\n  - name: paris\n    internal_ip: 10.0.0.1\n",
		     "t.yml:3:5: ", "missing required key 'external_ip' in site 'paris'");
	expect_error(SITE, "t.yml:1:1: ", "missing required key 'frequency'");
	expect_error("frequency: 300\n", "t.yml:1:1: ", "missing required key 'sites'");
	expect_error("frequency: 300\nsites: []\n", "t.yml:2:8: ", "'sites' is empty");
	expect_error("", "t.yml:1:1: ", "the config is empty");
	/* vpn needs internal_ip, and startct its login keys */
	expect_error("frequency: 300\n" SITE "    vpn: {client: custom, command: /bin/true}\n",
		     "t.yml:3:5: ", "missing required key 'internal_ip' in site 'paris'");
	expect_error("frequency: 300\n" SITE "    internal_ip: ::1\n"
		     "    vpn: {client: startct, command: /bin/true, gateway: g,\n"
		     "          password_env: P}\n",
		     "t.yml:6:10: ", "missing required key 'username' in vpn of site 'paris'");
	expect_error("frequency: 300\n" SITE "    internal_ip: ::1\n"
		     "    vpn: {client: openvpn, command: /bin/true}\n",
		     "t.yml:6:10: ", "missing required key 'config_file'");
	expect_error("frequency: 300\n" SITE "    internal_ip: ::1\n"
		     "    vpn: {client: openconnect, command: /bin/true, gateway: g,\n"
		     "          username: u}\n",
		     "t.yml:6:10: ", "missing required key 'password_file' or 'password_env'");
}

static void bad_ipv4(void **state)
{
	expect_error("frequency: 300\n" SITE "    internal_ip: 10.1.0.300\n",
		     "t.yml:5:18: ", "'10.1.0.300' is not a numeric IPv4 or IPv6 address");
}

static void ipv6_accepted(void **state)
{
	struct config_diag d;
	struct config *cfg = expect_ok("frequency: 300\nsites:\n  - name: v6\n"
		"    external_ip: 2001:db8::10\n    internal_ip: fe80::1\n", &d);
	assert_string_equal(cfg->sites[0].internal_ip, "fe80::1");
	config_free(cfg);
	config_diag_free(&d);
}

static void hostname_is_not_an_ip(void **state)
{
	expect_error("frequency: 300\nsites:\n  - name: x\n    external_ip: gw.example.com\n",
		     "t.yml:4:18: ", "'gw.example.com' is not a numeric IPv4 or IPv6");
	expect_error("frequency: 300\nsites:\n  - name: x\n    external_ip: 2001:db8::g\n",
		     "t.yml:4:18: ", "not a numeric IPv4 or IPv6");
}

static void duplicate_site(void **state)
{
	expect_error("frequency: 300\n" SITE
		     "  - name: lyon\n    external_ip: 192.0.2.2\n"
		     "  - name: paris\n    external_ip: 192.0.2.3\n",
		     "t.yml:7:11: ", "duplicate site name 'paris' (first defined at line 3)");
}

static void duplicate_key(void **state)
{
	expect_error("frequency: 300\n" SITE "    external_ip: 192.0.2.9\n",
		     "t.yml:5:5: ", "duplicate key 'external_ip' in site 'paris' (first at line 4)");
}

static void bad_frequency(void **state)
{
	expect_error("frequency: 0\n" SITE, "t.yml:1:12: ",
		     "frequency: 0 s is out of range (0 < frequency <= 86400 s)");
	expect_error("frequency: -1\n" SITE, "t.yml:1:12: ", "frequency: -1 s is out of range");
	expect_error("frequency: abc\n" SITE, "t.yml:1:12: ", "'frequency' must be a number, got 'abc'");
	expect_error("frequency: true\n" SITE, "t.yml:1:12: ", "got the boolean 'true'");
	expect_error("frequency: \"300\"\n" SITE, "t.yml:1:12: ", "remove the quotes");
	expect_error("frequency: .inf\n" SITE, "t.yml:1:12: ", "must be a number");
	expect_error("frequency:\n" SITE, "t.yml:1:11: ", "got nothing (null)");
}

static void bad_ping_values(void **state)
{
	expect_error("frequency: 300\nping: {count: 1e300}\n" SITE, "t.yml:2:15: ",
		     "between 1 and 1000, got 1e300");
	expect_error("frequency: 300\nping: {count: 0}\n" SITE, "t.yml:2:15: ",
		     "between 1 and 1000, got 0");
	expect_error("frequency: 300\nping: {interval: 0.001}\n" SITE, "t.yml:2:18: ",
		     "interval in ping: 0.001 s is out of range (0.01 <= interval <= 60 s)");
	expect_error("frequency: 300\nping: {timeout: 0}\n" SITE, "t.yml:2:17: ",
		     "timeout in ping: 0 s is out of range (0 < timeout <= 3600 s)");
}

static void ping_not_fitting_frequency(void **state)
{
	/* 2 pings x ((5 - 1) x 1 + 2) = 12 s > 10 s */
	expect_error("frequency: 10\nping: {interval: 1}\n" SITE "    internal_ip: ::1\n",
		     "t.yml:4:5: ", "site 'paris': ping settings cannot fit in "
		     "frequency: 2 ping(s) x 6 s (count 5, interval 1, timeout 2) "
		     "+ login_timeout 0 s = 12 s > frequency 10 s");
	/* with a vpn the login timeout counts too: 2 x 2 + 30 > 30 */
	expect_error("frequency: 30\nping: {count: 1}\n" SITE "    internal_ip: ::1\n"
		     "    vpn: {client: custom, command: /bin/true}\n",
		     "t.yml:4:5: ", "+ login_timeout 30 s = 34 s > frequency 30 s");
	/* one ping of 6 s fits in 10 s when there is no internal_ip */
	struct config_diag d;
	struct config *cfg = expect_ok("frequency: 10\nping: {interval: 1}\n" SITE, &d);
	config_free(cfg);
	config_diag_free(&d);
}

#define VPN_SITE "frequency: 300\n" SITE "    internal_ip: ::1\n" \
	"    vpn:\n      client: custom\n      command: /bin/true\n"

static void bad_regex(void **state)
{
	expect_error(VPN_SITE "      connected: \"(up\"\n", "t.yml:9:18: ",
		     "site 'paris': connected: bad regular expression '(up': ");
	expect_error(VPN_SITE "      failed: [ok, \"a{2,1}\"]\n", "t.yml:9:20: ",
		     "failed: bad regular expression 'a{2,1}'");
	expect_error(VPN_SITE "      expect:\n        - {expect: \"[z-a]\", send: x}\n",
		     "t.yml:10:20: ", "expect: bad regular expression '[z-a]'");
}

static void unknown_client(void **state)
{
	expect_error("frequency: 300\n" SITE "    internal_ip: ::1\n    vpn: {client: sonicwall}\n",
		     "t.yml:6:19: ", "site 'paris': unknown VPN client 'sonicwall' "
		     "(known: startct, openconnect, openvpn, wireguard, ipsec, custom)");
}

static void missing_client_binary(void **state)
{
	const char *vpn = "frequency: 300\n" SITE "    internal_ip: ::1\n"
		"    vpn: {client: startct, gateway: g, username: u,\n"
		"          password_env: EPMON_TEST_PW, command: /nonexistent/startct}\n";
	expect_error(vpn, "t.yml:7:49: ", "site 'paris': VPN client "
		     "'/nonexistent/startct' not found (No such file or directory; "
		     "install it or set vpn.command)");

	/* a bare name is looked up in the clean PATH the site test uses, not
	 * in epmon's own PATH (which would pass here and fail at run time) */
	char *path = strdup(getenv("PATH") ? getenv("PATH") : "");
	setenv("PATH", "/tmp", 1);
	expect_error("frequency: 300\n" SITE "    internal_ip: ::1\n"
		     "    vpn: {client: custom, command: epmon-no-such-client}\n",
		     "t.yml:6:36: ", "site 'paris': VPN client 'epmon-no-such-client' "
		     "not found (not in " EXEC_CLEAN_PATH "; install it or set "
		     "vpn.command to its full path)");
	struct config_diag d;
	struct config *cfg = expect_ok("frequency: 300\n" SITE "    internal_ip: ::1\n"
		"    vpn: {client: custom, command: sh}\n", &d);
	config_free(cfg);
	config_diag_free(&d);
	setenv("PATH", path, 1);
	free(path);
}

static void syntax_error(void **state)
{
	expect_error("frequency: 300\nsites: [a\nping: 1\n", "t.yml:3:5: ",
		     "YAML syntax error: ");
}

static void several_errors_together(void **state)
{
	struct config_diag d;
	struct config *cfg = parse("frequency: 0\n"
		"sites:\n"
		"  - name: paris\n"
		"    external_ip: 10.1.0.300\n"
		"    colour: blue\n", &d);
	assert_null(cfg);
	assert_int_equal(d.nerrors, 3);
	/* in file order */
	assert_true(has_prefix(d.errors[0], "t.yml:1:12: "));
	assert_true(has_prefix(d.errors[1], "t.yml:4:18: "));
	assert_true(has_prefix(d.errors[2], "t.yml:5:5: "));
	config_diag_free(&d);
}

static void ping_override_merges_key_by_key(void **state)
{
	struct config_diag d;
	struct config *cfg = expect_ok("frequency: 300\n"
		"ping: {count: 7, interval: 0.5, timeout: 4}\n"
		"sites:\n"
		"  - {name: a, external_ip: 192.0.2.1, ping: {count: 2}}\n"
		"  - {name: b, external_ip: 192.0.2.2, ping: {timeout: 1.5, interval: 0.1}}\n"
		"  - {name: c, external_ip: 192.0.2.3}\n", &d);
	const struct ping_settings *a = &cfg->sites[0].ping, *b = &cfg->sites[1].ping,
		*c = &cfg->sites[2].ping;
	assert_true(a->count == 2 && a->interval_s == 0.5 && a->timeout_s == 4);
	assert_true(b->count == 7 && b->interval_s == 0.1 && b->timeout_s == 1.5);
	assert_true(c->count == 7 && c->interval_s == 0.5 && c->timeout_s == 4);
	assert_true(ping_settings_budget(a) == 4.5);
	assert_int_equal(cfg->ping.count, 7);
	config_free(cfg);
	config_diag_free(&d);
}

static void password_file_unreadable(void **state)
{
	expect_error("frequency: 300\n" SITE "    internal_ip: ::1\n"
		     "    vpn:\n      client: startct\n      command: /bin/true\n"
		     "      gateway: g\n      username: u\n"
		     "      password_file: /nonexistent/pass\n",
		     "t.yml:11:22: ", "site 'paris': cannot read password file "
		     "/nonexistent/pass: No such file or directory");
}

static void password_file_readable_by_others_warns(void **state)
{
	char pw[64], *text;
	struct config_diag d;

	make_file(pw, "secret\n", 0644);
	assert_true(asprintf(&text, "frequency: 300\n" SITE "    internal_ip: ::1\n"
		"    vpn:\n      client: startct\n      command: /bin/true\n"
		"      gateway: g\n      username: u\n"
		"      password_file: %s\n", pw) > 0);
	struct config *cfg = expect_ok(text, &d);
	assert_int_equal(d.nwarnings, 1);
	assert_true(has_prefix(d.warnings[0], "t.yml:11:22: "));
	assert_non_null(strstr(d.warnings[0], "is readable by others; chmod 600 it"));
	config_free(cfg);
	config_diag_free(&d);
	free(text);
	unlink(pw);
}

/* logging: every SMTP and alert key; a site's alert: merged key by key. */
static void logging_and_alert_keys(void **state)
{
	char pw[64], *text;
	struct config_diag d;

	make_file(pw, "secret\n", 0600);
	assert_true(asprintf(&text,
		"frequency: 300\n"
		"logging:\n"
		"  smtp_server: mail.example.com\n"
		"  smtp_port: 2525\n"
		"  sender: epmon@example.com\n"
		"  recipients: noc@example.com\n"
		"  security: tls\n"
		"  username: monitor\n"
		"  password_file: %s\n"
		"  ca_file: %s\n"
		"  connect_timeout: 5\n"
		"  timeout: 1m\n"
		"  spool_max_age: 2d\n"
		"  retry_min: 30s\n"
		"  retry_max: \"1h\"\n"
		"  failure_threshold: 3\n"
		"  reminder_interval: 4h30m\n"
		"  notify_recovery: false\n"
		"sites:\n"
		"  - name: paris\n"
		"    external_ip: 192.0.2.1\n"
		"    alert: {failure_threshold: 5, notify_recovery: yes}\n"
		"  - name: lyon\n"
		"    external_ip: 192.0.2.2\n"
		"    alert: {reminder_interval: off}\n"
		"  - name: nice\n"
		"    external_ip: 192.0.2.3\n", pw, pw) > 0);
	struct config *cfg = expect_ok(text, &d);
	const struct smtp_settings *l = &cfg->logging;

	assert_int_equal(d.nwarnings, 0);
	assert_int_equal(l->smtp_port, 2525);
	assert_int_equal(l->security, SMTP_SECURITY_TLS);
	assert_string_equal(smtp_security_name(l->security), "tls");
	assert_string_equal(l->username, "monitor");
	assert_string_equal(l->password_file, pw);
	assert_null(l->password_env);
	assert_string_equal(l->ca_file, pw);
	assert_true(l->connect_timeout_s == 5 && l->timeout_s == 60);
	assert_true(l->spool_max_age_s == 2 * 86400);
	assert_true(l->retry_min_s == 30 && l->retry_max_s == 3600);
	assert_int_equal(l->alert.failure_threshold, 3);
	assert_true(l->alert.reminder_interval_s == 4 * 3600 + 30 * 60);
	assert_false(l->alert.notify_recovery);
	const struct alert_settings *a = &config_find_site(cfg, "paris")->alert;
	assert_int_equal(a->failure_threshold, 5);
	assert_true(a->reminder_interval_s == 16200);
	assert_true(a->notify_recovery);
	a = &config_find_site(cfg, "lyon")->alert;
	assert_int_equal(a->failure_threshold, 3);
	assert_true(a->reminder_interval_s == 0);
	assert_false(a->notify_recovery);
	a = &config_find_site(cfg, "nice")->alert;
	assert_int_equal(a->failure_threshold, 3);
	assert_true(a->reminder_interval_s == 16200);
	config_free(cfg);
	config_diag_free(&d);
	free(text);
	unlink(pw);
}

static void logging_defaults(void **state)
{
	static const struct { int port; enum smtp_security sec; } ports[] = {
		{ 25, SMTP_SECURITY_NONE }, { 587, SMTP_SECURITY_STARTTLS },
		{ 465, SMTP_SECURITY_TLS }, { 2525, SMTP_SECURITY_NONE } };
	struct config_diag d;
	char text[256];

	for (size_t i = 0; i < 4; i++) {
		snprintf(text, sizeof(text), "frequency: 60\nlogging: {smtp_server: m, "
			 "smtp_port: %d, sender: a@b, recipients: c@d}\n" SITE,
			 ports[i].port);
		struct config *cfg = expect_ok(text, &d);
		assert_int_equal(cfg->logging.security, ports[i].sec);
		config_free(cfg);
		config_diag_free(&d);
	}
	/* no logging: alerts are only logged, with the default thresholds */
	struct config *cfg = expect_ok("frequency: 60\n" SITE, &d);
	const struct smtp_settings *l = &cfg->logging;
	assert_null(l->smtp_server);
	assert_null(l->username);
	assert_true(l->connect_timeout_s == 10 && l->timeout_s == 30);
	assert_true(l->spool_max_age_s == 7 * 86400);
	assert_true(l->retry_min_s == 60 && l->retry_max_s == 1800);
	assert_int_equal(cfg->sites[0].alert.failure_threshold, 2);
	assert_true(cfg->sites[0].alert.reminder_interval_s == 0);
	assert_true(cfg->sites[0].alert.notify_recovery);
	config_free(cfg);
	config_diag_free(&d);
}

#define LOGGING "frequency: 60\nlogging:\n  smtp_server: m\n  sender: a@b\n" \
	"  recipients: c@d\n"

static void bad_logging_values(void **state)
{
	expect_error(LOGGING "  security: ssl\n" SITE, "t.yml:6:13: ",
		     "'security' in logging must be none, starttls or tls, got 'ssl'");
	expect_error(LOGGING "  reminder_interval: 4x\n" SITE, "t.yml:6:22: ",
		     "'reminder_interval' in logging must be seconds or a duration "
		     "like 90s, 30m, 4h, 1h30m, 7d; got '4x'");
	expect_error(LOGGING "  reminder_interval: -5\n" SITE, "t.yml:6:22: ",
		     "reminder_interval in logging: -5 s is out of range (0 <= "
		     "reminder_interval <= 31622400 s = 366d)");
	expect_error(LOGGING "  spool_max_age: 0\n" SITE, "t.yml:6:18: ",
		     "spool_max_age in logging: 0 s is out of range (0 < spool_max_age");
	expect_error(LOGGING "  timeout: h\n" SITE, "t.yml:6:12: ",
		     "'timeout' in logging must be seconds or a duration");
	expect_error(LOGGING "  notify_recovery: maybe\n" SITE, "t.yml:6:20: ",
		     "'notify_recovery' in logging must be true or false, got a "
		     "scalar 'maybe'");
	expect_error(LOGGING "  failure_threshold: 0\n" SITE, "t.yml:6:22: ",
		     "'failure_threshold' in logging must be between 1 and 1000, got 0");
	expect_error(LOGGING "  retry_min: 10m\n  retry_max: 5m\n" SITE, "t.yml:7:14: ",
		     "logging: retry_max (300 s) must not be less than retry_min (600 s)");
	expect_error(LOGGING "  username: u\n  security: tls\n" SITE, "t.yml:3:3: ",
		     "missing required key 'password_file' or 'password_env' in "
		     "logging (needed with username)");
	expect_error(LOGGING "  password_env: X\n  security: tls\n" SITE, "t.yml:6:17: ",
		     "logging: a password needs 'username' too");
	expect_error(LOGGING "  username: u\n  password_env: HOME\n  password_file: "
		     "/etc/hostname\n  security: tls\n" SITE, "t.yml:7:17: ",
		     "logging: set only one of password_file and password_env");
	expect_error(LOGGING "  ca_file: /nonexistent/ca.pem\n" SITE, "t.yml:6:12: ",
		     "logging: cannot read ca_file /nonexistent/ca.pem");
	expect_error(LOGGING SITE "    alert: {failure_threshold: 2, reminder: 1h}\n",
		     "t.yml:9:35: ", "unknown key 'reminder' in alert of site 'paris' "
		     "(known: failure_threshold, reminder_interval, notify_recovery, success_threshold)");
	expect_error(LOGGING SITE "    alert: {failure_threshold: two}\n",
		     "t.yml:9:32: ", "'failure_threshold' in alert of site 'paris' "
		     "must be a number, got 'two'");
}

static void logging_warnings(void **state)
{
	struct config_diag d;
	struct config *cfg;

	unsetenv("EPMON_TEST_SMTP_PW");
	cfg = expect_ok(LOGGING "  username: u\n  password_env: EPMON_TEST_SMTP_PW\n" SITE, &d);
	assert_int_equal(d.nwarnings, 2);
	assert_string_equal(d.warnings[0], "t.yml:6:13: logging: username with security "
			    "none: the SMTP password would cross the network in clear "
			    "text; use starttls or tls");
	assert_string_equal(d.warnings[1], "t.yml:7:17: logging: environment variable "
			    "EPMON_TEST_SMTP_PW is not set; set it in epmon's environment");
	config_free(cfg);
	config_diag_free(&d);
}

static void load_from_file(void **state)
{
	char path[64], want[160];
	struct config_diag d = { 0 };

	make_file(path, "frequency: 300\n" SITE, 0644);
	struct config *cfg = config_load(path, &d);
	assert_non_null(cfg);
	assert_string_equal(cfg->path, path);
	assert_int_equal(d.nwarnings, 1);
	snprintf(want, sizeof(want), "%s: config is readable by group/others; chmod 600 it", path);
	assert_string_equal(d.warnings[0], want);
	config_free(cfg);
	config_diag_free(&d);
	unlink(path);

	assert_null(config_load("/nonexistent/config.yml", &d));
	assert_int_equal(d.nerrors, 1);
	assert_string_equal(d.errors[0], "/nonexistent/config.yml: cannot open the "
			    "config: No such file or directory");
	config_diag_free(&d);
	assert_null(config_load("/nonexistent/config.yml", NULL));
}

/* Every prefix of a valid config: no crash, and a NULL result always comes
 * with at least one error (never a silent failure). */
static void truncated_configs_fail_cleanly(void **state)
{
	const char *text = "frequency: 300\n"
		"logging: {smtp_server: m, sender: a@b, recipients: [c@d]}\n"
		"ping: {count: 2}\n"
		"sites:\n"
		"  - name: paris\n"
		"    external_ip: 192.0.2.1\n"
		"    internal_ip: 10.0.0.1\n"
		"    vpn:\n"
		"      client: custom\n"
		"      command: /bin/true\n"
		"      args: [\"-u\", \"{username}\"]\n"
		"      expect:\n"
		"        - {expect: \"[Pp]assword:\", send: \"{password}\"}\n"
		"      failed: [denied]\n";
	size_t len = strlen(text), accepted = 0;

	for (size_t n = 0; n <= len; n++) {
		struct config_diag d = { 0 };
		struct config *cfg = config_parse("t.yml", text, n, &d);
		assert_int_equal(cfg != NULL, d.nerrors == 0);
		for (size_t i = 0; i < d.nerrors; i++)
			assert_true(has_prefix(d.errors[i], "t.yml:"));
		accepted += cfg != NULL;
		config_free(cfg);
		config_diag_free(&d);
	}
	assert_true(accepted >= 1); /* at least the whole text */
}

/* client wireguard: its keys, defaults and every check, key files included. */
#define WG_KEY "yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk="
#define WG_PUB "xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg="
#define WG_HEAD "frequency: 300\n" SITE "    internal_ip: 10.40.0.10\n" \
	"    vpn:\n      client: wireguard\n      command: /bin/true\n"

static char *wg_config(const char *key_file, const char *extra)
{
	char *text;

	assert_true(asprintf(&text, WG_HEAD "      private_key_file: %s\n"
			     "      endpoint: \"198.18.101.2:51820\"\n"
			     "      peer_public_key: \"" WG_PUB "\"\n"
			     "      address: 10.41.0.2/32\n%s", key_file, extra) > 0);
	return text;
}

static void wireguard_keys(void **state)
{
	char key[64], psk[64], *text;
	struct config_diag d;
	struct config *cfg;

	make_file(key, WG_KEY "\n", 0600);
	make_file(psk, WG_PUB "\n", 0400);
	text = wg_config(key, "");
	cfg = expect_ok(text, &d);
	const struct vpn_settings *v = &cfg->sites[0].vpn;
	assert_int_equal(v->client, VPN_WIREGUARD);
	assert_string_equal(vpn_client_name(v->client), "wireguard");
	assert_string_equal(vpn_default_command(VPN_WIREGUARD), "wireguard-go");
	assert_string_equal(v->endpoint, "198.18.101.2:51820");
	assert_string_equal(v->private_key_file, key);
	assert_string_equal(v->peer_public_key, WG_PUB);
	assert_null(v->preshared_key_file);
	assert_int_equal(v->naddresses, 1);
	assert_string_equal(v->addresses[0], "10.41.0.2/32");
	assert_int_equal(v->nallowed_ips, 0);  /* internal_ip alone, at run time */
	assert_null(v->interface);             /* the profile's epmon0 */
	assert_int_equal(v->mtu, 1420);
	assert_int_equal(d.nwarnings, 0);
	config_free(cfg);
	config_diag_free(&d);
	free(text);

	assert_true(asprintf(&text, WG_HEAD "      private_key_file: %s\n"
			     "      endpoint: \"198.18.101.2:51820\"\n"
			     "      peer_public_key: \"" WG_PUB "\"\n"
			     "      preshared_key_file: %s\n"
			     "      address: [10.41.0.2/24, \"fd00::2/64\"]\n"
			     "      allowed_ips: [10.40.0.0/24, 10.42.0.7, \"fd00:40::/48\"]\n"
			     "      interface: wgmon1\n      mtu: 1380\n      login_timeout: 5\n",
			     key, psk) > 0);
	cfg = expect_ok(text, &d);
	v = &cfg->sites[0].vpn;
	assert_string_equal(v->preshared_key_file, psk);
	assert_int_equal(v->naddresses, 2);
	assert_string_equal(v->addresses[1], "fd00::2/64");
	assert_int_equal(v->nallowed_ips, 3);
	assert_string_equal(v->allowed_ips[1], "10.42.0.7");
	assert_string_equal(v->interface, "wgmon1");
	assert_int_equal(v->mtu, 1380);
	assert_true(v->login_timeout_s > 4.9 && v->login_timeout_s < 5.1);
	config_free(cfg);
	config_diag_free(&d);
	free(text);
	unlink(key);
	unlink(psk);
}

static void wireguard_errors(void **state)
{
	char key[64], open_key[64], not_key[64], *text;
	struct config_diag d;
	struct config *cfg;

	make_file(key, WG_KEY "\n", 0600);
	make_file(open_key, WG_KEY "\n", 0644);
	make_file(not_key, "hunter2\n", 0600);

	/* every required key, one error each */
	text = strdup(WG_HEAD);
	cfg = parse(text, &d);
	assert_null(cfg);
	assert_int_equal(d.nerrors, 4);
	for (size_t i = 0; i < d.nerrors; i++)
		assert_true(has_prefix(d.errors[i], "t.yml:7:7: missing required key '"));
	assert_non_null(strstr(d.errors[0], "(client wireguard needs it)"));
	config_diag_free(&d);
	free(text);

	/* a key file others may read: an error naming the file and the fix */
	text = wg_config(open_key, "");
	char want[300];
	snprintf(want, sizeof(want), "site 'paris': private_key_file %s is readable by "
		 "others (mode 0644): a private key must be 0600 or stricter; chmod 600 %s",
		 open_key, open_key);
	expect_error(text, "t.yml:9:25: ", want);
	free(text);
	text = wg_config(not_key, "");
	expect_error(text, "t.yml:9:25: ", "does not hold a WireGuard key (one line: base64 "
		     "of 32 bytes, as `wg genkey` writes it)");
	free(text);
	text = wg_config("/nonexistent/wg.key", "");
	expect_error(text, "t.yml:9:25: ", "cannot read private_key_file /nonexistent/wg.key: "
		     "No such file or directory");
	free(text);
	char extra[200];
	snprintf(extra, sizeof(extra), "      preshared_key_file: %s\n", open_key);
	text = wg_config(key, extra);
	expect_error(text, "t.yml:13:27: ", "preshared_key_file");
	free(text);

	/* values */
	text = wg_config(key, "      mtu: 100\n");
	expect_error(text, "t.yml:13:12: ", "mtu");
	free(text);
	text = wg_config(key, "      allowed_ips: [10.40.0.0/24, 10.40.0.0/33]\n");
	expect_error(text, "t.yml:13:35: ", "allowed_ips '10.40.0.0/33' is not an address "
		     "or ADDRESS/LENGTH");
	free(text);
	text = wg_config(key, "      allowed_ips: [0.0.0.0/0]\n");
	expect_error(text, "t.yml:13:21: ", "allowed_ips '0.0.0.0/0' contains the endpoint's "
		     "address");
	free(text);
	text = wg_config(key, "      allowed_ips: 198.18.101.0/24\n");
	expect_error(text, "t.yml:13:20: ", "contains the endpoint's address");
	free(text);

	const char *bad_endpoints[] = { "198.18.101.2", "vpn.example.com:51820",
		"198.18.101.2:0", "198.18.101.2:70000", "fd00::1:51820", "[198.18.101.2]:1" };
	for (size_t i = 0; i < sizeof(bad_endpoints) / sizeof(bad_endpoints[0]); i++) {
		assert_true(asprintf(&text, WG_HEAD "      private_key_file: %s\n"
				     "      endpoint: \"%s\"\n"
				     "      peer_public_key: \"" WG_PUB "\"\n"
				     "      address: 10.41.0.2/32\n", key, bad_endpoints[i]) > 0);
		expect_error(text, "t.yml:10:17: ", "is not ADDRESS:PORT (numeric, e.g. "
			     "198.51.100.7:51820 or [2001:db8::7]:51820)");
		free(text);
	}
	const char *bad_keys[] = { "abc", WG_PUB "x", "xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dh=",
		"xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8D*=" };
	for (size_t i = 0; i < sizeof(bad_keys) / sizeof(bad_keys[0]); i++) {
		assert_true(asprintf(&text, WG_HEAD "      private_key_file: %s\n"
				     "      endpoint: \"[fd00::1]:51820\"\n"
				     "      peer_public_key: \"%s\"\n"
				     "      address: 10.41.0.2/32\n", key, bad_keys[i]) > 0);
		expect_error(text, "t.yml:11:24: ", "peer_public_key is not a WireGuard public key");
		free(text);
	}
	assert_true(asprintf(&text, WG_HEAD "      private_key_file: %s\n"
			     "      endpoint: \"198.18.101.2:51820\"\n"
			     "      peer_public_key: \"" WG_PUB "\"\n"
			     "      address: 10.41.0.2\n", key) > 0);
	expect_error(text, "t.yml:12:16: ", "address '10.41.0.2' is not ADDRESS/LENGTH");
	free(text);

	/* its keys on another client: warned about, ignored */
	cfg = expect_ok("frequency: 300\n" SITE "    internal_ip: 10.40.0.10\n"
			"    vpn: {client: custom, command: /bin/true, mtu: 1400}\n", &d);
	assert_int_equal(d.nwarnings, 1);
	assert_non_null(strstr(d.warnings[0], "mtu is only used with client wireguard; ignored"));
	config_free(cfg);
	config_diag_free(&d);
	unlink(key);
	unlink(open_key);
	unlink(not_key);
}


/* client ipsec: the inline remote-access form and swanctl_file, each check
 * with its FILE:LINE:COL. */
#define IKE_HEAD "frequency: 300\n" SITE "    internal_ip: 10.50.0.10\n" \
	"    vpn:\n      client: ipsec\n      command: /bin/true\n"

static void ipsec_keys(void **state)
{
	char pw[64], ca[64], sw[64], *text;
	struct config_diag d;
	struct config *cfg;

	make_file(pw, "secret\n", 0600);
	make_file(ca, "-----BEGIN CERTIFICATE-----\n", 0644);
	make_file(sw, "connections { }\n", 0600);
	assert_true(asprintf(&text, IKE_HEAD "      gateway: 198.18.102.2\n"
			     "      username: monitor\n      password_file: %s\n"
			     "      ca_file: %s\n", pw, ca) > 0);
	cfg = expect_ok(text, &d);
	const struct vpn_settings *v = &cfg->sites[0].vpn;
	assert_int_equal(v->client, VPN_IPSEC);
	assert_string_equal(vpn_client_name(v->client), "ipsec");
	assert_string_equal(vpn_default_command(VPN_IPSEC), "/usr/lib/ipsec/charon");
	assert_string_equal(v->gateway, "198.18.102.2");
	assert_null(v->remote_id);      /* the gateway, at run time */
	assert_null(v->swanctl_file);
	assert_int_equal(d.nwarnings, 0);
	config_free(cfg);
	config_diag_free(&d);
	free(text);

	assert_true(asprintf(&text, IKE_HEAD "      gateway: \"2001:db8::2\"\n"
			     "      username: monitor\n      password_env: EPMON_NO_SUCH_VAR\n"
			     "      ca_file: %s\n      remote_id: vpn.example.com\n", ca) > 0);
	cfg = expect_ok(text, &d);
	assert_string_equal(cfg->sites[0].vpn.remote_id, "vpn.example.com");
	config_free(cfg);
	config_diag_free(&d);
	free(text);

	assert_true(asprintf(&text, IKE_HEAD "      swanctl_file: %s\n"
			     "      connection: office\n      child: net-1\n", sw) > 0);
	cfg = expect_ok(text, &d);
	v = &cfg->sites[0].vpn;
	assert_string_equal(v->swanctl_file, sw);
	assert_string_equal(v->connection, "office");
	assert_string_equal(v->child, "net-1");
	assert_int_equal(d.nwarnings, 0);
	config_free(cfg);
	config_diag_free(&d);
	free(text);

	/* ipsec keys on another client: warned about, ignored */
	cfg = expect_ok("frequency: 300\n" SITE "    internal_ip: 10.50.0.10\n"
			"    vpn: {client: custom, command: /bin/true, connection: x}\n", &d);
	assert_int_equal(d.nwarnings, 1);
	assert_non_null(strstr(d.warnings[0], "connection is only used with client ipsec"));
	config_free(cfg);
	config_diag_free(&d);
	unlink(pw);
	unlink(ca);
	unlink(sw);
}

static void ipsec_errors(void **state)
{
	char pw[64], ca[64], sw[64], open_sw[64], *text;
	struct config_diag d;
	struct config *cfg;

	make_file(pw, "secret\n", 0600);
	make_file(ca, "-----BEGIN CERTIFICATE-----\n", 0644);
	make_file(sw, "connections { }\n", 0600);
	make_file(open_sw, "connections { }\n", 0644);

	/* inline: gateway, username, ca_file and a password, one error each */
	cfg = parse(IKE_HEAD, &d);
	assert_null(cfg);
	assert_int_equal(d.nerrors, 4);
	for (size_t i = 0; i < d.nerrors; i++)
		assert_true(has_prefix(d.errors[i], "t.yml:7:7: missing required key '"));
	assert_non_null(strstr(d.errors[0], "(client ipsec needs it, or swanctl_file "
			       "and connection)"));
	assert_non_null(strstr(d.errors[3], "'password_file' or 'password_env'"));
	config_diag_free(&d);

	assert_true(asprintf(&text, IKE_HEAD "      gateway: vpn.example.com\n"
			     "      username: monitor\n      password_file: %s\n"
			     "      ca_file: %s\n", pw, ca) > 0);
	expect_error(text, "t.yml:9:16: ", "site 'paris': gateway 'vpn.example.com' is "
		     "not a numeric IP address (client ipsec)");
	free(text);

	assert_true(asprintf(&text, IKE_HEAD "      gateway: 198.18.102.2\n"
			     "      username: \"mon itor\"\n      password_file: %s\n"
			     "      ca_file: %s\n", pw, ca) > 0);
	expect_error(text, "t.yml:10:17: ", "username 'mon itor' must be one word");
	free(text);

	assert_true(asprintf(&text, IKE_HEAD "      gateway: 198.18.102.2\n"
			     "      username: monitor\n      password_file: %s\n"
			     "      ca_file: /nonexistent/ca.pem\n", pw) > 0);
	expect_error(text, "t.yml:12:16: ", "ca_file /nonexistent/ca.pem: No such file");
	free(text);

	assert_true(asprintf(&text, IKE_HEAD "      gateway: 198.18.102.2\n"
			     "      username: monitor\n      password_file: %s\n"
			     "      ca_file: %s\n      connection: x\n", pw, ca) > 0);
	expect_error(text, "t.yml:13:19: ", "connection is only used with swanctl_file");
	free(text);

	/* swanctl_file: its connection, names, mode, no inline keys */
	assert_true(asprintf(&text, IKE_HEAD "      swanctl_file: %s\n", sw) > 0);
	expect_error(text, "t.yml:7:7: ", "missing required key 'connection'");
	free(text);

	assert_true(asprintf(&text, IKE_HEAD "      swanctl_file: %s\n"
			     "      connection: \"of fice\"\n", sw) > 0);
	expect_error(text, "t.yml:10:19: ", "connection 'of fice' is not a swanctl name");
	free(text);

	assert_true(asprintf(&text, IKE_HEAD "      swanctl_file: %s\n"
			     "      connection: office\n", open_sw) > 0);
	char want[200];
	snprintf(want, sizeof(want), "swanctl_file %s is mode 0644; it holds secrets: "
		 "chmod 600 it", open_sw);
	expect_error(text, "t.yml:9:21: ", want);
	free(text);

	assert_true(asprintf(&text, IKE_HEAD "      swanctl_file: %s\n"
			     "      connection: office\n      password_file: %s\n", sw, pw) > 0);
	expect_error(text, "t.yml:11:22: ", "password_file is not used with swanctl_file");
	free(text);

	unlink(pw);
	unlink(ca);
	unlink(sw);
	unlink(open_sw);
}

static void small_helpers(void **state)
{
	struct ping_settings p = { .count = 5, .interval_s = 0.2, .timeout_s = 2 };

	assert_true(ping_settings_budget(&p) > 2.79 && ping_settings_budget(&p) < 2.81);
	assert_string_equal(vpn_client_name(VPN_OPENCONNECT), "openconnect");
	assert_string_equal(vpn_client_name(VPN_NONE), "none");
	assert_string_equal(vpn_client_implementation(VPN_WIREGUARD), "wireguard-go");
	assert_string_equal(vpn_client_implementation(VPN_IPSEC), "charon kernel-libipsec");
	assert_string_equal(vpn_client_implementation(VPN_OPENVPN), "openvpn");
	assert_string_equal(vpn_default_command(VPN_STARTCT), "startct");
	assert_string_equal(vpn_default_command(VPN_OPENVPN), "openvpn");
	assert_null(vpn_default_command(VPN_CUSTOM));
	const char *def = config_default_path();
	assert_true(!strcmp(def, "./config.yml") || !strcmp(def, "/etc/epmon/config.yml"));
	assert_int_equal(access("./config.yml", F_OK) == 0, !strcmp(def, "./config.yml"));
}

/* http: absent = off; {} = loopback default; every key and its checks. */
static void http_keys(void **state)
{
	char pw[64], cert[64], key[64], *text;
	struct config_diag d;
	struct config *cfg;

	cfg = expect_ok("frequency: 300\n" SITE, &d);
	assert_int_equal(cfg->http.enabled, 0);
	assert_null(cfg->http.listen);
	config_free(cfg);
	config_diag_free(&d);

	cfg = expect_ok("frequency: 300\nhttp: {}\n" SITE, &d);
	assert_int_equal(cfg->http.enabled, 1);
	assert_string_equal(cfg->http.listen, "127.0.0.1:9877");
	assert_null(cfg->http.username);
	assert_null(cfg->http.password_file);
	assert_null(cfg->http.cert_file);
	config_free(cfg);
	config_diag_free(&d);

	make_file(pw, "secret\n", 0600);
	make_file(cert, "cert\n", 0644);
	make_file(key, "key\n", 0600);
	assert_true(asprintf(&text, "frequency: 300\nhttp:\n  listen: \"[::]:9100\"\n"
			     "  password_file: %s\n  cert_file: %s\n  key_file: %s\n" SITE,
			     pw, cert, key) > 0);
	cfg = expect_ok(text, &d);
	assert_int_equal(d.nwarnings, 0);
	assert_string_equal(cfg->http.listen, "[::]:9100");
	assert_string_equal(cfg->http.username, "epmon");
	assert_string_equal(cfg->http.password_file, pw);
	assert_string_equal(cfg->http.cert_file, cert);
	assert_string_equal(cfg->http.key_file, key);
	config_free(cfg);
	config_diag_free(&d);
	free(text);

	/* basic auth in clear text off loopback: a warning */
	assert_true(asprintf(&text, "frequency: 300\nhttp:\n  listen: 192.0.2.5:80\n"
			     "  username: prom\n  password_file: %s\n" SITE, pw) > 0);
	cfg = expect_ok(text, &d);
	assert_string_equal(cfg->http.username, "prom");
	assert_int_equal(d.nwarnings, 1);
	assert_string_equal(d.warnings[0], "t.yml:5:18: http: basic auth without TLS on "
			    "192.0.2.5:80: the password would cross the network in clear "
			    "text; add cert_file and key_file");
	config_free(cfg);
	config_diag_free(&d);
	free(text);

	assert_true(asprintf(&text, "frequency: 300\nhttp: {cert_file: %s}\n" SITE,
			     cert) > 0);
	expect_error(text, "t.yml:2:19: ", "http: TLS needs both cert_file and key_file");
	free(text);
	unlink(pw);
	unlink(cert);
	unlink(key);
}

static void http_bad_values(void **state)
{
	static const char *const bad[] = { "localhost:9877", "127.0.0.1", "::1:9877",
		"[::1]9877", "127.0.0.1:0", "127.0.0.1:65536", "127.0.0.1:x",
		"[127.0.0.1]:80", "1.2.3.4:+80", ":9877" };
	char text[256];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(text, sizeof(text), "frequency: 300\nhttp: {listen: \"%s\"}\n"
			 SITE, bad[i]);
		expect_error(text, "t.yml:2:16: ", "'listen' in http must be ADDRESS:PORT");
	}
	expect_error("frequency: 300\nhttp: {listn: x}\n" SITE, "t.yml:2:8: ",
		     "unknown key 'listn' in http (known: listen, username, "
		     "password_file, cert_file, key_file)");
	expect_error("frequency: 300\nhttp: {username: u}\n" SITE, "t.yml:2:18: ",
		     "http: username needs 'password_file' too");
	expect_error("frequency: 300\nhttp: {password_file: /nonexistent/pw}\n" SITE,
		     "t.yml:2:23: ", "http: cannot read password file /nonexistent/pw");
	expect_error("frequency: 300\nhttp: {cert_file: /nonexistent/c, key_file: "
		     "/dev/null}\n" SITE, "t.yml:2:19: ",
		     "http: cannot read cert_file /nonexistent/c: No such file");
	expect_error("frequency: 300\nhttp: 9877\n" SITE, "t.yml:2:7: ", "http");
}

static void http_listen_parse(void **state)
{
	char addr[64];
	int port, ipv6;

	assert_int_equal(config_listen_parse("[::1]:9877", addr, sizeof(addr),
					     &port, &ipv6), 0);
	assert_string_equal(addr, "::1");
	assert_int_equal(port, 9877);
	assert_int_equal(ipv6, 1);
	assert_int_equal(config_listen_parse("0.0.0.0:80", addr, sizeof(addr),
					     &port, &ipv6), 0);
	assert_string_equal(addr, "0.0.0.0");
	assert_int_equal(port, 80);
	assert_int_equal(ipv6, 0);
	assert_int_equal(config_listen_parse("[::1]:80", addr, 3, &port, &ipv6), -1);
	assert_true(config_listen_is_loopback("127.0.0.1:1"));
	assert_true(config_listen_is_loopback("127.1.2.3:1"));
	assert_true(config_listen_is_loopback("[::1]:1"));
	assert_false(config_listen_is_loopback("[::]:1"));
	assert_false(config_listen_is_loopback("10.0.0.1:1"));
	assert_false(config_listen_is_loopback("junk"));
}

/* Issue 13: every number and duration has a finite, documented range; the
 * error names the option, the value and the range. */
static void values_have_ranges(void **state)
{
	static const struct { const char *text, *pos, *msg; } bad[] = {
		{ "frequency: 1e300\n" SITE, "t.yml:1:12: ",
		  "frequency: 1e300 s is out of range (0 < frequency <= 86400 s)" },
		{ "frequency: 1e999\n" SITE, "t.yml:1:12: ",
		  "frequency: 1e999 s is out of range (0 < frequency <= 86400 s)" },
		{ "frequency: 86401\n" SITE, "t.yml:1:12: ",
		  "frequency: 86401 s is out of range" },
		{ LOGGING "  retry_min: 1e300\n" SITE, "t.yml:6:14: ",
		  "retry_min in logging: 1e300 s is out of range (0 < retry_min <= 86400 s)" },
		{ LOGGING "  retry_max: 1e300\n" SITE, "t.yml:6:14: ",
		  "retry_max in logging: 1e300 s is out of range (0 < retry_max <= 86400 s)" },
		{ LOGGING "  connect_timeout: 1e300\n" SITE, "t.yml:6:20: ",
		  "connect_timeout in logging: 1e300 s is out of range "
		  "(0 < connect_timeout <= 3600 s)" },
		{ LOGGING "  timeout: 2h\n" SITE, "t.yml:6:12: ",
		  "timeout in logging: 2h is out of range (0 < timeout <= 3600 s)" },
		{ LOGGING "  reminder_interval: 1e999s\n" SITE, "t.yml:6:22: ",
		  "reminder_interval in logging: 1e999s is out of range (0 <= "
		  "reminder_interval <= 31622400 s = 366d)" },
		{ LOGGING "  spool_max_age: 367d\n" SITE, "t.yml:6:18: ",
		  "spool_max_age in logging: 367d is out of range (0 < spool_max_age "
		  "<= 31622400 s = 366d)" },
		{ LOGGING "  failure_threshold: 1001\n" SITE, "t.yml:6:22: ",
		  "'failure_threshold' in logging must be between 1 and 1000, got 1001" },
		{ "frequency: 300\nping: {timeout: 3601}\n" SITE, "t.yml:2:17: ",
		  "timeout in ping: 3601 s is out of range (0 < timeout <= 3600 s)" },
		{ "frequency: 300\nping: {interval: 61}\n" SITE, "t.yml:2:18: ",
		  "interval in ping: 61 s is out of range (0.01 <= interval <= 60 s)" },
		{ "frequency: 300\nping: {count: 1001}\n" SITE, "t.yml:2:15: ",
		  "'count' in ping must be between 1 and 1000, got 1001" },
		{ "frequency: 300\nconcurrency: 1025\n" SITE, "t.yml:2:14: ",
		  "'concurrency' must be between 1 and 1024, got 1025" },
		{ VPN_SITE "      login_timeout: 1e300\n", "t.yml:9:22: ",
		  "login_timeout in vpn of site 'paris': 1e300 s is out of range "
		  "(0 < login_timeout <= 3600 s)" },
		{ VPN_SITE "      teardown_timeout: 3601\n", "t.yml:9:25: ",
		  "teardown_timeout in vpn of site 'paris': 3601 s is out of range" },
		{ VPN_SITE "      expect:\n        - {expect: x, timeout: 1e300}\n",
		  "t.yml:10:32: ", "timeout in expect step 1 of site 'paris': 1e300 s "
		  "is out of range (0 <= timeout <= 3600 s)" },
		{ "frequency: 300\nalerting: {retry_max: 2d}\n" SITE, "t.yml:2:23: ",
		  "retry_max in alerting: 2d is out of range (0 < retry_max <= 86400 s)" },
		{ "frequency: 300\nalerting: {spool_max_age: 1e300}\n" SITE, "t.yml:2:27: ",
		  "spool_max_age in alerting: 1e300 s is out of range" },
		{ "frequency: 300\nalerting: {success_threshold: 1001}\n" SITE, "t.yml:2:31: ",
		  "'success_threshold' in alerting must be between 1 and 1000" },
		{ "frequency: 300\nalerting: {alertmanager: {url: 'http://h', timeout: 1e300}}\n"
		  SITE, "t.yml:2:53: ", "timeout in alerting.alertmanager: 1e300 s is out "
		  "of range (0 < timeout <= 3600 s)" },
		{ "frequency: 300\nalerting: {webhooks: [{url: 'http://h', timeout: 61m}]}\n"
		  SITE, "t.yml:2:50: ", "timeout in alerting.webhooks[1]: 61m is out of "
		  "range (0 < timeout <= 3600 s)" },
		{ "frequency: 300\nalerting: {degraded: {window: 1h, baseline: 400d}}\n" SITE,
		  "t.yml:2:45: ", "baseline in alerting.degraded: 400d is out of range "
		  "(0 < baseline <= 31622400 s = 366d)" },
		{ "frequency: 300\nalerting: {degraded: {login_floor_ms: -1}}\n" SITE,
		  "t.yml:2:39: ", "login_floor_ms in alerting.degraded: -1 ms is out of "
		  "range (0 <= login_floor_ms <= 3600000 ms)" },
		{ "frequency: 300\nalerting: {degraded: {rtt_factor: 1e300}}\n" SITE,
		  "t.yml:2:35: ", "rtt_factor in alerting.degraded: 1e300 is out of "
		  "range (0 <= rtt_factor <= 1000)" },
		{ "frequency: 300\nalerting: {degraded: {min_samples: 1001}}\n" SITE,
		  "t.yml:2:36: ", "'min_samples' in alerting.degraded must be between "
		  "1 and 1000" },
		{ "frequency: 300\n" SITE "alerting:\n  maintenance:\n    - {sites: '*', "
		  "start: 2026-12-24T22:00, duration: 1e300}\n", "t.yml:7:55: ",
		  "duration in alerting.maintenance[1]: 1e300 s is out of range (0 < "
		  "duration <= 31622400 s = 366d)" },
	};
	struct config_diag d;
	struct config *cfg;
	double v;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		expect_error(bad[i].text, bad[i].pos, bad[i].msg);

	/* each limit itself is accepted */
	cfg = expect_ok("frequency: 86400\nconcurrency: 1024\n"
			"ping: {count: 1000, interval: 60, timeout: 3600}\n"
			"logging: {smtp_server: m, sender: a@b, recipients: c@d, "
			"connect_timeout: 1h, timeout: 3600, spool_max_age: 366d, "
			"retry_min: 1d, retry_max: 86400, failure_threshold: 1000, "
			"reminder_interval: 366d}\n"
			"alerting: {success_threshold: 1000, retry_min: 1d, retry_max: 1d, "
			"spool_max_age: 366d, degraded: {window: 365d, baseline: 366d, "
			"min_samples: 1000, login_factor: 1000, login_floor_ms: 3600000}}\n"
			SITE "    internal_ip: ::1\n"
			"    ping: {count: 1, timeout: 3600}\n"
			"    vpn: {client: custom, command: /bin/true, login_timeout: 3600, "
			"teardown_timeout: 3600}\n", &d);
	assert_true(cfg->frequency_s == 86400 && cfg->logging.retry_max_s == 86400);
	assert_true(cfg->logging.spool_max_age_s == 366 * 86400.0);
	assert_true(cfg->sites[0].vpn.login_timeout_s == 3600);
	assert_int_equal(cfg->ping.count, 1000);
	config_free(cfg);
	config_diag_free(&d);

	/* `epmon mute` reads durations with the same parser: never infinity */
	assert_int_equal(config_parse_duration("1e999s", &v), -1);
	assert_int_equal(config_parse_duration("1e999", &v), -1);
	assert_int_equal(config_parse_duration("0x10s", &v), -1);
	assert_int_equal(config_parse_duration("1h30m", &v), 0);
	assert_true(v == 5400);
}

static double seconds_since(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)(t.tv_sec - t0->tv_sec) + (double)(t.tv_nsec - t0->tv_nsec) / 1e9;
}

/* Config bombs: each one clear error, at once. The times asserted are a
 * hang's, not a benchmark's: a bomb that got through would take minutes. */
#define BOMB_S 10.0

/* 50 MB of comment lines in a file: refused from its size, unread. */
static void bomb_file_too_large(void **state)
{
	static char chunk[1 << 20];
	size_t max = 1 << 20;
	struct config_diag d = { 0 };
	struct timespec t0;
	char path[64], want[160], *text;
	int fd;

	memset(chunk, '#', sizeof(chunk));
	for (size_t i = 99; i < sizeof(chunk); i += 100)
		chunk[i] = '\n';
	strcpy(path, "/tmp/epmon-test-config-XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	for (int i = 0; i < 50; i++)
		assert_int_equal(write(fd, chunk, sizeof(chunk)), (ssize_t)sizeof(chunk));
	close(fd);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_null(config_load(path, &d));
	assert_true(seconds_since(&t0) < BOMB_S);
	unlink(path);
	assert_int_equal(d.nerrors, 1);
	snprintf(want, sizeof(want), "%s: the config is 52428800 bytes; the limit "
		 "is 1048576 bytes (1 MiB)", path);
	assert_string_equal(d.errors[0], want);
	config_diag_free(&d);

	/* a file without an end (no size to check first) is read to the limit */
	assert_null(config_load("/dev/zero", &d));
	assert_int_equal(d.nerrors, 1);
	assert_string_equal(d.errors[0], "/dev/zero: the config is larger than the "
			    "limit of 1048576 bytes (1 MiB)");
	config_diag_free(&d);

	/* 1 MiB is a config; one byte more is not */
	text = malloc(max + 2);
	assert_non_null(text);
	memcpy(text, chunk, max + 1 > sizeof(chunk) ? sizeof(chunk) : max + 1);
	text[max] = '#';
	text[max + 1] = '\0';
	memcpy(text, "frequency: 60\n" SITE, strlen("frequency: 60\n" SITE));
	struct config *cfg = config_parse("t.yml", text, max, &d);
	print_diag(&d);
	assert_non_null(cfg);
	config_free(cfg);
	config_diag_free(&d);
	assert_null(config_parse("t.yml", text, max + 1, &d));
	assert_int_equal(d.nerrors, 1);
	assert_string_equal(d.errors[0], "t.yml: the config is larger than the limit "
			    "of 1048576 bytes (1 MiB)");
	config_diag_free(&d);
	free(text);
}

/* "x: [[[[...]]]]" 100,000 deep: libyaml is quadratic in the depth. */
static void bomb_deep_nesting(void **state)
{
	const char *head = "frequency: 60\n" SITE "x: ";
	size_t depth = 100000, hlen = strlen(head);
	char *text = malloc(hlen + 2 * depth + 2);
	struct timespec t0;

	assert_non_null(text);
	memcpy(text, head, hlen);
	memset(text + hlen, '[', depth);
	memset(text + hlen + depth, ']', depth);
	strcpy(text + hlen + 2 * depth, "\n");
	clock_gettime(CLOCK_MONOTONIC, &t0);
	/* the top map is level 1: the 64th '[' would be level 65 */
	expect_error(text, "t.yml:5:67: ", "maps and lists nested more than 64 deep; "
		     "that is the limit");
	assert_true(seconds_since(&t0) < BOMB_S);

	/* 64 levels are within the limit: only the unknown key is wrong */
	memset(text + hlen, '[', 63);
	memset(text + hlen + 63, ']', 63);
	strcpy(text + hlen + 126, "\n");
	expect_error(text, "t.yml:5:1: ", "unknown key 'x' in top level");
	free(text);
}

/* "Billion laughs": 10 levels of 10 aliases each (10^10 values). */
static void bomb_aliases(void **state)
{
	struct config_diag d;
	struct config *cfg;
	struct timespec t0;
	size_t len;
	char *text;
	FILE *m = open_memstream(&text, &len);

	assert_non_null(m);
	fputs("frequency: 60\n" SITE "x:\n  a: &a [lol, lol, lol, lol, lol, lol, lol, "
	      "lol, lol, lol]\n", m);
	for (char l = 'b'; l <= 'j'; l++) {
		fprintf(m, "  %c: &%c [", l, l);
		for (int k = 0; k < 10; k++)
			fprintf(m, "%s*%c", k ? ", " : "", l - 1);
		fputs("]\n", m);
	}
	fclose(m);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	/* f's 4th *e (111,111 values each) takes the count over 500,000 */
	expect_error(text, "t.yml:11:22: ", "alias *e makes the config hold more than "
		     "500000 values, aliases expanded; that is the limit (an alias "
		     "counts as a copy of what it names)");
	assert_true(seconds_since(&t0) < BOMB_S);
	free(text);

	expect_error("frequency: 60\n" SITE "x: &r [a, *r]\n", "t.yml:5:11: ",
		     "alias *r stands for a map or list that contains it (a recursive "
		     "structure)");
	/* a 60 kB value repeated by aliases */
	m = open_memstream(&text, &len);
	assert_non_null(m);
	fputs("frequency: 60\n" SITE "x: [&b ", m);
	for (int i = 0; i < 60000; i++)
		fputc('b', m);
	for (int i = 0; i < 100; i++)
		fputs(", *b", m);
	fputs("]\n", m);
	fclose(m);
	d.nerrors = 0;
	cfg = parse(text, &d);
	assert_null(cfg);
	assert_int_equal(d.nerrors, 1);
	assert_non_null(strstr(d.errors[0], ": alias *b makes the config hold more than "
			       "4194304 bytes of values, aliases expanded"));
	assert_true(has_prefix(d.errors[0], "t.yml:5:"));
	config_diag_free(&d);
	free(text);

	/* libyaml looks each alias up among every anchor: at most 100 */
	m = open_memstream(&text, &len);
	assert_non_null(m);
	fputs("frequency: 60\n" SITE "x:\n", m);
	for (int i = 0; i < 101; i++)
		fprintf(m, "  - &a%d v\n", i);
	fclose(m);
	expect_error(text, "t.yml:106:5: ", "more than 100 anchors (&name) in the "
		     "document; that is the limit");
	free(text);

	/* aliases within the limits still work, to maps too */
	cfg = expect_ok("frequency: 60\nlogging: {smtp_server: m, sender: &s a@b, "
			"recipients: [*s]}\nping: &p {count: 2}\nsites:\n"
			"  - {name: a, external_ip: 192.0.2.1, ping: *p}\n"
			"  - {name: b, external_ip: 192.0.2.2, ping: *p}\n", &d);
	assert_string_equal(cfg->logging.recipients[0], "a@b");
	assert_int_equal(cfg->sites[1].ping.count, 2);
	config_free(cfg);
	config_diag_free(&d);
}

/* One value of 70,000 bytes; and one under the limit quoted in a message. */
static void bomb_huge_scalar(void **state)
{
	const char *head = "frequency: 60\n" SITE "probe_name: ";
	size_t hlen = strlen(head);
	char *text = malloc(hlen + 70000 + 2);
	struct config_diag d;

	assert_non_null(text);
	memcpy(text, head, hlen);
	memset(text + hlen, 'x', 70000);
	strcpy(text + hlen + 70000, "\n");
	expect_error(text, "t.yml:5:13: ", "a value of 70000 bytes; the limit is "
		     "65536 bytes (64 KiB)");

	/* 65,536 bytes is a value; the error quoting it is cut to 2 kB */
	strcpy(text + hlen + 65536, "\n");
	assert_null(parse(text, &d));
	assert_int_equal(d.nerrors, 1);
	assert_true(has_prefix(d.errors[0], "t.yml:5:13: 'probe_name' must be 1 to 63 "
			       "characters"));
	assert_true(strlen(d.errors[0]) < 2100);
	assert_string_equal(d.errors[0] + strlen(d.errors[0]) - 6, " [...]");
	config_diag_free(&d);
	free(text);
}

/* 10,000 sites load (their names sorted, not compared pairwise); 10,001 do
 * not. */
static void bomb_many_sites(void **state)
{
	struct config_diag d;
	struct timespec t0;
	size_t len;
	char *text;
	FILE *m = open_memstream(&text, &len);

	assert_non_null(m);
	fputs("frequency: 60\nsites:\n", m);
	for (int i = 0; i < 9999; i++)
		fprintf(m, "  - {name: s%d, external_ip: 192.0.2.1}\n", i);
	fputs("  - {name: s5000, external_ip: 192.0.2.1}\n", m);
	fclose(m);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	/* site #10000 (line 10002) has the name of site #5001 (line 5003) */
	expect_error(text, "t.yml:10002:12: ", "duplicate site name 's5000' (first "
		     "defined at line 5003); site names must be unique");
	assert_true(seconds_since(&t0) < BOMB_S);
	free(text);

	m = open_memstream(&text, &len);
	assert_non_null(m);
	fputs("frequency: 60\nsites:\n", m);
	for (int i = 0; i < 10000; i++)
		fprintf(m, "  - {name: s%d, external_ip: 192.0.2.1}\n", i);
	fflush(m);
	struct config *cfg = expect_ok(text, &d);
	assert_int_equal(cfg->nsites, 10000);
	assert_string_equal(cfg->sites[9999].name, "s9999");
	config_free(cfg);
	config_diag_free(&d);
	fputs("  - {name: one-more, external_ip: 192.0.2.1}\n", m);
	fclose(m);
	expect_error(text, "t.yml:3:3: ", "'sites' lists 10001 sites; the limit is 10000");
	free(text);
}

/* A NUL byte: where it is, from a string and from a file. */
static void bomb_nul_byte(void **state)
{
	static const char text[] = "frequency: 60\n" SITE "probe_name: ab\0c\n";
	size_t at = strlen(text);
	struct config_diag d = { 0 };
	char want[128], path[64], file_want[160];
	int fd;

	snprintf(want, sizeof(want), "t.yml:5:15: a NUL byte (at byte %zu): a config "
		 "is text", at);
	assert_null(config_parse("t.yml", text, sizeof(text) - 1, &d));
	assert_int_equal(d.nerrors, 1);
	assert_string_equal(d.errors[0], want);
	config_diag_free(&d);

	strcpy(path, "/tmp/epmon-test-config-XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, sizeof(text) - 1), (ssize_t)sizeof(text) - 1);
	assert_int_equal(fchmod(fd, 0600), 0);
	close(fd);
	assert_null(config_load(path, &d));
	unlink(path);
	assert_int_equal(d.nerrors, 1);
	snprintf(file_want, sizeof(file_want), "%s:5:15: a NUL byte (at byte %zu): a "
		 "config is text", path, at);
	assert_string_equal(d.errors[0], file_want);
	config_diag_free(&d);
}

/* Regexes regcomp would take gigabytes or minutes on. */
static void bomb_regex(void **state)
{
	char re[1100], *text;
	struct config_diag d;
	struct timespec t0;
	size_t len;
	FILE *m;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	memset(re, 'a', 1025);
	re[1025] = '\0';
	assert_true(asprintf(&text, VPN_SITE "      connected: \"%s\"\n", re) > 0);
	expect_error(text, "t.yml:9:18: ", "site 'paris': connected: regular expression "
		     "of 1025 bytes; the limit is 1024");
	free(text);
	expect_error(VPN_SITE "      failed: [ok, \"x{1,256}\"]\n", "t.yml:9:20: ",
		     "site 'paris': failed: repetition count 256 in 'x{1,256}' is over "
		     "the limit of 255");
	expect_error(VPN_SITE "      connected: \"((((a{1,100}){1,100}){1,100}){1,100})\"\n",
		     "t.yml:9:18: ", "site 'paris': connected: regular expression "
		     "'((((a{1,100}){1,100}){1,100}){1,100})' is too large once its "
		     "repetitions are expanded (101010101 atoms; the limit is 4096)");
	/* nested stars cost no copies: 200 of them are fine */
	for (int i = 0; i < 200; i++)
		memcpy(re + 5 * i, "(a*)*", 5);
	re[1000] = '\0';
	assert_true(asprintf(&text, VPN_SITE "      connected: \"%s\"\n", re) > 0);
	config_free(expect_ok(text, &d));
	config_diag_free(&d);
	free(text);

	/* 100 different ones of 3,660 atoms each: over 250,000 at the 69th */
	m = open_memstream(&text, &len);
	assert_non_null(m);
	fputs(VPN_SITE "      failed: [", m);
	for (int i = 0; i < 100; i++)
		fprintf(m, "%s\"(a{1,60}){1,60}%d\"", i ? ", " : "", i);
	fputs("]\n", m);
	fclose(m);
	char pos[32];
	snprintf(pos, sizeof(pos), "t.yml:9:%td: ", strstr(text, "\"(a{1,60}){1,60}68\"") -
		 strstr(text, "      failed:") + 1);
	expect_error(text, pos, "site 'paris': failed: the regular expressions of the "
		     "config add up to more than 250000 atoms, repetitions expanded; "
		     "that is the limit");
	free(text);
	/* the same one 5,000 times (sites copy their overrides) counts once */
	m = open_memstream(&text, &len);
	assert_non_null(m);
	fputs(VPN_SITE "      failed: [", m);
	for (int i = 0; i < 5000; i++)
		fprintf(m, "%s\"(a{1,60}){1,60}\"", i ? ", " : "");
	fputs("]\n", m);
	fclose(m);
	config_free(expect_ok(text, &d));
	config_diag_free(&d);
	free(text);
	assert_true(seconds_since(&t0) < BOMB_S);
}

/* "FILE:LINE:COL" of a message as one number, to check their order. */
static unsigned long long position(const char *msg)
{
	unsigned long line = 0, col = 0;

	assert_int_equal(sscanf(msg, "t.yml:%lu:%lu:", &line, &col), 2);
	return (unsigned long long)line << 32 | col;
}

/* Errors found out of file order are sorted (maintenance windows are read
 * after the sites they name); a flood of them is cut at 1,000. */
static void bomb_error_flood(void **state)
{
	struct config_diag d;
	struct timespec t0;
	size_t len;
	char *text;
	FILE *m;

	for (int flood = 0; flood < 2; flood++) {
		int n = flood ? 5000 : 300;     /* n windows, 2n sites */

		m = open_memstream(&text, &len);
		assert_non_null(m);
		fputs("frequency: 60\nalerting:\n  maintenance:\n", m);
		for (int i = 0; i < n; i++)
			fprintf(m, "    - {sites: [nosuch%d], every: 'sun 02:00', "
				"duration: 1h}\n", i);
		fputs("sites:\n", m);
		for (int i = 0; i < 2 * n; i++)
			fprintf(m, "  - {name: s%d, external_ip: 192.0.2.x}\n", i);
		fclose(m);
		clock_gettime(CLOCK_MONOTONIC, &t0);
		assert_null(parse(text, &d));
		assert_true(seconds_since(&t0) < BOMB_S);
		free(text);
		for (size_t i = 1; i < d.nerrors - (size_t)flood; i++)
			assert_true(position(d.errors[i - 1]) < position(d.errors[i]));
		if (!flood) {
			assert_int_equal(d.nerrors, 900);
			assert_string_equal(d.errors[0], "t.yml:4:15: 'sites' in "
					    "alerting.maintenance[1]: no site is named "
					    "'nosuch0'");
			assert_string_equal(d.errors[899], "t.yml:904:31: site 's599': "
					    "external_ip: '192.0.2.x' is not a numeric IPv4 "
					    "or IPv6 address (write the address, not a host "
					    "name)");
		} else {
			assert_int_equal(d.nerrors, 1001);
			assert_string_equal(d.errors[1000], "t.yml: 14000 more errors not "
					    "shown (at most 1000 are reported)");
		}
		config_diag_free(&d);
	}
}

/* The config owns struct smtp_settings: one deep copy, one free. */
static void smtp_copy_is_deep(void **state)
{
	struct smtp_settings copy, empty = { 0 };
	struct config_diag d;
	struct config *cfg = expect_ok("frequency: 60\nlogging:\n  smtp_server: m\n"
				       "  sender: a@b\n  recipients: [c@d, e@f]\n"
				       "  smtp_port: 465\n  username: u\n"
				       "  password_env: EPMON_TEST_PW\n" SITE, &d);

	assert_int_equal(config_smtp_copy(&copy, &cfg->logging), 0);
	assert_ptr_not_equal(copy.smtp_server, cfg->logging.smtp_server);
	assert_ptr_not_equal(copy.recipients, cfg->logging.recipients);
	config_free(cfg);       /* the copy lives on */
	config_diag_free(&d);
	assert_string_equal(copy.smtp_server, "m");
	assert_string_equal(copy.username, "u");
	assert_string_equal(copy.password_env, "EPMON_TEST_PW");
	assert_null(copy.password_file);
	assert_int_equal(copy.nrecipients, 2);
	assert_string_equal(copy.recipients[1], "e@f");
	assert_int_equal(copy.smtp_port, 465);
	assert_int_equal(copy.security, SMTP_SECURITY_TLS);
	assert_true(copy.retry_max_s == 1800);
	config_smtp_free(&copy);
	assert_null(copy.smtp_server);
	assert_int_equal(copy.nrecipients, 0);

	assert_int_equal(config_smtp_copy(&copy, &empty), 0);
	assert_null(copy.smtp_server);
	assert_null(copy.recipients);
	config_smtp_free(&copy);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(valid_full_config),
		cmocka_unit_test(defaults_apply),
		cmocka_unit_test(unknown_key_top),
		cmocka_unit_test(alerting_values),
		cmocka_unit_test(alerting_errors),
		cmocka_unit_test(isolation_defaults),
		cmocka_unit_test(isolation_errors),
		cmocka_unit_test(unknown_key_site),
		cmocka_unit_test(unknown_key_vpn),
		cmocka_unit_test(unknown_key_ping),
		cmocka_unit_test(wrong_types),
		cmocka_unit_test(missing_keys),
		cmocka_unit_test(bad_ipv4),
		cmocka_unit_test(ipv6_accepted),
		cmocka_unit_test(hostname_is_not_an_ip),
		cmocka_unit_test(duplicate_site),
		cmocka_unit_test(duplicate_key),
		cmocka_unit_test(bad_frequency),
		cmocka_unit_test(bad_ping_values),
		cmocka_unit_test(ping_not_fitting_frequency),
		cmocka_unit_test(bad_regex),
		cmocka_unit_test(unknown_client),
		cmocka_unit_test(wireguard_keys),
		cmocka_unit_test(wireguard_errors),
		cmocka_unit_test(ipsec_keys),
		cmocka_unit_test(ipsec_errors),
		cmocka_unit_test(missing_client_binary),
		cmocka_unit_test(syntax_error),
		cmocka_unit_test(several_errors_together),
		cmocka_unit_test(ping_override_merges_key_by_key),
		cmocka_unit_test(password_file_unreadable),
		cmocka_unit_test(password_file_readable_by_others_warns),
		cmocka_unit_test(load_from_file),
		cmocka_unit_test(truncated_configs_fail_cleanly),
		cmocka_unit_test(small_helpers),
		cmocka_unit_test(logging_and_alert_keys),
		cmocka_unit_test(logging_defaults),
		cmocka_unit_test(bad_logging_values),
		cmocka_unit_test(logging_warnings),
		cmocka_unit_test(http_keys),
		cmocka_unit_test(http_bad_values),
		cmocka_unit_test(http_listen_parse),
		cmocka_unit_test(values_have_ranges),
		cmocka_unit_test(bomb_file_too_large),
		cmocka_unit_test(bomb_deep_nesting),
		cmocka_unit_test(bomb_aliases),
		cmocka_unit_test(bomb_huge_scalar),
		cmocka_unit_test(bomb_many_sites),
		cmocka_unit_test(bomb_nul_byte),
		cmocka_unit_test(bomb_regex),
		cmocka_unit_test(bomb_error_flood),
		cmocka_unit_test(smtp_copy_is_deep),
	};

	setenv("EPMON_TEST_PW", "x", 1); /* password_env warns when unset */
	return cmocka_run_group_tests(tests, NULL, NULL);
}
