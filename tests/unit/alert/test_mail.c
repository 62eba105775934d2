/* SPDX-License-Identifier: MIT */
/* Mail composition: headers present and in order, subject formats and
 * their RFC 2047 encoding, CRLF lines, the body's facts and result table. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "alert/mail.h"
#include "util/utf8.h"

#define CONFIG \
	"frequency: 60\n" \
	"logging:\n" \
	"  smtp_server: mail.example.com\n" \
	"  sender: \"epmon <epmon@example.com>\"\n" \
	"  recipients: [noc@example.com, \"Ops Team <ops@example.com>\"]\n" \
	"sites:\n" \
	"  - name: paris\n" \
	"    external_ip: 192.0.2.1\n" \
	"    internal_ip: 10.1.0.10\n" \
	"    vpn: {client: custom, command: /bin/true, gateway: vpn-paris.example.com}\n"

static struct config *load(void)
{
	struct config_diag d = { 0 };
	struct config *cfg = config_parse("t.yml", CONFIG, strlen(CONFIG), &d);

	for (size_t i = 0; i < d.nerrors; i++)
		print_message("%s\n", d.errors[i]);
	assert_non_null(cfg);
	config_diag_free(&d);
	return cfg;
}

/* An event of site paris: `fails` failed samples after one good one. */
static struct alert_event event(enum alert_kind kind, int fails, const char *detail)
{
	struct alert_event ev;
	struct alert_site *s = &ev.site;

	memset(&ev, 0, sizeof(ev));
	ev.kind = kind;
	ev.at = 1700000000 + 35 * 60;
	snprintf(s->name, sizeof(s->name), "paris");
	s->status = ALERT_ALERTED;
	s->failures = fails;
	s->failing_since = 1700000000;
	s->history[0] = (struct alert_sample){ .at = 1700000000 - 60, .ok = 1,
		.external_ms = 12.34, .login_ms = 812, .internal_ms = 15.5 };
	s->nhistory = 1;
	for (int i = 0; i < fails && s->nhistory < ALERT_HISTORY; i++) {
		struct alert_sample *x = &s->history[s->nhistory++];
		x->at = 1700000000 + i * 60;
		x->failed_step = STEP_VPN_LOGIN;
		x->external_ms = 11.5;
		x->login_ms = -1;
		x->internal_ms = -1;
		snprintf(x->detail, sizeof(x->detail), "%s", detail);
	}
	if (kind == ALERT_UP) {
		struct alert_sample *x = &s->history[s->nhistory++];
		x->at = ev.at;
		x->ok = 1;
		ev.outage_s = 35 * 60;
		snprintf(s->down_id, sizeof(s->down_id), "<epmon.paris.down.x@probe>");
	}
	return ev;
}

/* The header block (up to the empty line), unfolded, one header a line. */
static char *headers_of(const char *msg)
{
	const char *end = strstr(msg, "\r\n\r\n");
	char *h, *out;

	assert_non_null(end);
	h = strndup(msg, (size_t)(end - msg) + 2);
	out = h;
	for (char *p = h; *p; p++) {
		if (p[0] == '\r' && p[1] == '\n' && (p[2] == ' ' || p[2] == '\t'))
			p += 1; /* a fold: drop CRLF */
		else
			*out++ = *p;
	}
	*out = '\0';
	return h;
}

static void assert_match(const char *text, const char *re)
{
	regex_t rx;

	assert_int_equal(regcomp(&rx, re, REG_EXTENDED | REG_NEWLINE | REG_NOSUB), 0);
	if (regexec(&rx, text, 0, NULL, 0) != 0)
		print_message("no match of /%s/ in:\n%s\n", re, text);
	assert_int_equal(regexec(&rx, text, 0, NULL, 0), 0);
	regfree(&rx);
}

/* Every line ends in CRLF, none is longer than 998, no bare CR or LF. */
static void assert_wire_format(const char *msg, size_t len)
{
	size_t col = 0;

	assert_int_equal(strlen(msg), len);
	for (size_t i = 0; i < len; i++) {
		if (msg[i] == '\r') {
			assert_true(i + 1 < len && msg[i + 1] == '\n');
			i++;
			col = 0;
			continue;
		}
		assert_true(msg[i] != '\n');
		assert_true(++col <= 998);
	}
	assert_true(len >= 2 && msg[len - 2] == '\r' && msg[len - 1] == '\n');
	assert_int_equal(utf8_copy((char[8192]){ 0 }, 8192, msg), 0);
}

static void down_mail(void **state)
{
	struct config *cfg = load();
	struct alert_event ev = event(ALERT_DOWN, 2, "login failed: bad credentials");
	char msgid[MAIL_ID_MAX], *msg, *h;
	size_t len;

	msg = mail_compose(&ev, config_find_site(cfg, "paris"), &cfg->logging,
			   "probe-1", 1700000000 + 120, msgid, &len);
	assert_non_null(msg);
	assert_wire_format(msg, len);
	h = headers_of(msg);
	/* the headers, in this order */
	assert_match(h, "^Date: (Mon|Tue|Wed|Thu|Fri|Sat|Sun), [0-9]{2} "
		     "(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) [0-9]{4} "
		     "[0-9]{2}:[0-9]{2}:[0-9]{2} [-+][0-9]{4}\r\n"
		     "From: epmon <epmon@example.com>\r\n"
		     "To: noc@example.com, Ops Team <ops@example.com>\r\n"
		     "Subject: \\[epmon\\] DOWN paris: vpn_login failed 2x "
		     "\\(login failed: bad credentials\\)\r\n"
		     "Message-ID: <epmon\\.paris\\.down\\.20231114T[0-9]{6}Z\\.[0-9a-f]{12}@probe-1>\r\n"
		     "MIME-Version: 1\\.0\r\n"
		     "Content-Type: text/plain; charset=UTF-8\r\n"
		     "Content-Transfer-Encoding: 8bit\r\n"
		     "Auto-Submitted: auto-generated\r\n"
		     "X-Mailer: epmon [^\r]+\r\n$");
	assert_non_null(strstr(h, msgid));
	assert_null(strstr(h, "In-Reply-To"));
	free(h);
	/* the body */
	assert_non_null(strstr(msg, "\r\n\r\nSite paris is DOWN: vpn_login failed in 2 "
			       "consecutive cycles.\r\n"));
	assert_non_null(strstr(msg, "\r\nSite:           paris\r\n"));
	assert_non_null(strstr(msg, "\r\nGateway:        vpn-paris.example.com (custom, "
			       "external address 192.0.2.1)\r\n"));
	assert_non_null(strstr(msg, "\r\nInternal host:  10.1.0.10\r\n"));
	assert_non_null(strstr(msg, "\r\nFailed step:    vpn_login\r\n"));
	assert_non_null(strstr(msg, "\r\nDetail:         login failed: bad credentials\r\n"));
	assert_match(msg, "^First failure:  2023-11-14 [0-9]{2}:[0-9]{2}:20 [-+][0-9]{4}\r$");
	assert_non_null(strstr(msg, "\r\nFailed cycles:  2\r\n"));
	assert_non_null(strstr(msg, "\r\nProbe host:     probe-1\r\n"));
	assert_null(strstr(msg, "\r\nProbe:  "));     /* no probe_name in the event */
	/* the table: a header and one row per result, oldest first */
	assert_match(msg, "^Last results, oldest first:\r\n"
		     "  TIME +RESULT STEP +EXT_MS +LOGIN_MS +INT_MS +DETAIL\r\n"
		     "  2023-11-14 [0-9:]{8} [-+][0-9]{4} +OK +- +12\\.340 +812\\.0 +15\\.500  \r\n"
		     "  2023-11-14 [0-9:]{8} [-+][0-9]{4} +FAIL +vpn_login +11\\.500 +- +- "
		     " login failed: bad credentials\r\n"
		     "  2023-11-14 [0-9:]{8} [-+][0-9]{4} +FAIL +vpn_login +11\\.500 +- +- "
		     " login failed: bad credentials\r\n\r\n-- \r\n");
	free(msg);
	config_free(cfg);
}

static void up_and_reminder_mails(void **state)
{
	struct config *cfg = load();
	struct alert_event up = event(ALERT_UP, 3, "no reply");
	struct alert_event rem = event(ALERT_REMINDER, 52, "no reply");
	char msgid[MAIL_ID_MAX], subject[512], *msg, *h;
	size_t len;

	mail_subject(&up, subject, sizeof(subject));
	assert_string_equal(subject, "[epmon] UP paris after 35 min");
	msg = mail_compose(&up, config_find_site(cfg, "paris"), &cfg->logging,
			   "probe-1", up.at, msgid, &len);
	assert_wire_format(msg, len);
	h = headers_of(msg);
	assert_non_null(strstr(h, "\r\nSubject: [epmon] UP paris after 35 min\r\n"));
	assert_non_null(strstr(h, "\r\nIn-Reply-To: <epmon.paris.down.x@probe>\r\n"
			       "References: <epmon.paris.down.x@probe>\r\n"));
	assert_match(h, "^Message-ID: <epmon\\.paris\\.up\\.");
	free(h);
	assert_non_null(strstr(msg, "\r\n\r\nSite paris is UP again after 35 min "
			       "(3 failed cycles).\r\n"));
	assert_non_null(strstr(msg, "\r\nDown for:       35 min\r\n"));
	assert_match(msg, "^Down since:     2023-11-14 ");
	assert_null(strstr(msg, "Failed step:"));
	free(msg);

	rem.at = 1700000000 + 4 * 3600 + 20;
	mail_subject(&rem, subject, sizeof(subject));
	assert_string_equal(subject, "[epmon] STILL DOWN paris after 4 h: vpn_login "
			    "failed 52x (no reply)");
	msg = mail_compose(&rem, NULL, &cfg->logging, "probe-1", rem.at, msgid, &len);
	assert_wire_format(msg, len);
	assert_non_null(strstr(msg, "\r\nSite paris is still DOWN after 4 h: vpn_login "
			       "failed in 52 consecutive cycles.\r\n"));
	assert_null(strstr(msg, "Gateway:")); /* no site config: no gateway line */
	free(msg);
	config_free(cfg);
}

/* base64 of RFC 2047 encoded-words back to text, for the check. */
static void decode_words(const char *h, char *out, size_t outlen)
{
	static const char b64[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t n = 0;
	const char *p = h;

	while ((p = strstr(p, "=?UTF-8?B?"))) {
		unsigned v = 0;
		int bits = 0;
		for (p += 10; *p && *p != '?'; p++) {
			const char *c = strchr(b64, *p);
			if (*p == '=' || !c)
				continue;
			v = v << 6 | (unsigned)(c - b64);
			bits += 6;
			if (bits >= 8) {
				bits -= 8;
				assert_true(n + 1 < outlen);
				out[n++] = (char)(v >> bits & 0xff);
			}
		}
	}
	out[n] = '\0';
}

static void subjects_encoded_and_folded(void **state)
{
	struct config *cfg = load();
	struct alert_event ev = event(ALERT_DOWN, 2, "échec de connexion: mot de passe refusé ☹");
	char msgid[MAIL_ID_MAX], subject[512], decoded[512], *msg, *h, *line;
	size_t len;

	mail_subject(&ev, subject, sizeof(subject));
	assert_string_equal(subject, "[epmon] DOWN paris: vpn_login failed 2x (échec "
			    "de connexion: mot de passe refusé ☹)");
	msg = mail_compose(&ev, NULL, &cfg->logging, "probe-1", ev.at, msgid, &len);
	assert_wire_format(msg, len);
	h = headers_of(msg);
	line = strstr(h, "\r\nSubject: =?UTF-8?B?");
	assert_non_null(line);
	decode_words(line, decoded, sizeof(decoded));
	assert_string_equal(decoded, subject);
	/* folded lines of the raw header stay short */
	const char *raw = strstr(msg, "\r\nSubject:") + 2;
	for (const char *p = raw; *p != 'M'; ) { /* up to Message-ID */
		const char *eol = strstr(p, "\r\n");
		assert_true(eol - p <= 78);
		p = eol + 2;
	}
	free(h);
	/* the body carries it as plain UTF-8 */
	assert_non_null(strstr(msg, "Detail:         échec de connexion: mot de passe refusé ☹\r\n"));
	free(msg);

	/* long ASCII detail: cut in the subject, folded at spaces */
	ev = event(ALERT_DOWN, 2, "no reply from 10.1.0.10 in 2 s; stale client "
		   "startct killed before the test; resolv.conf repaired after the "
		   "test; teardown took 9.5 s");
	mail_subject(&ev, subject, sizeof(subject));
	assert_true(strlen(subject) < 180);
	assert_non_null(strstr(subject, "...)"));
	msg = mail_compose(&ev, NULL, &cfg->logging, "probe-1", ev.at, msgid, &len);
	assert_wire_format(msg, len);
	h = headers_of(msg);
	assert_non_null(strstr(h, subject));
	raw = strstr(msg, "\r\nSubject:") + 2;
	assert_true(strstr(raw, "\r\n ") < strstr(raw, "Message-ID")); /* folded */
	for (const char *p = raw; *p != 'M'; ) {
		const char *eol = strstr(p, "\r\n");
		assert_true(eol - p <= 78);
		p = eol + 2;
	}
	free(h);
	free(msg);

	/* control characters and broken UTF-8 from a client never reach the wire */
	ev = event(ALERT_DOWN, 2, "bad\r\nInjected: header\t\x01 \xff\xfe end");
	msg = mail_compose(&ev, NULL, &cfg->logging, "probe\r\n-1", ev.at, msgid, &len);
	assert_wire_format(msg, len);
	assert_null(strstr(msg, "\r\nInjected:"));
	assert_non_null(strstr(msg, "Detail:         bad  Injected: header   ?? end\r\n"));
	free(msg);
	config_free(cfg);
}

static void test_mail(void **state)
{
	struct config *cfg = load();
	char msgid[MAIL_ID_MAX], *msg;
	size_t len;

	msg = mail_compose_test(&cfg->logging, "probe-1", 1700000000, msgid, &len);
	assert_non_null(msg);
	assert_wire_format(msg, len);
	assert_non_null(strstr(msg, "\r\nSubject: [epmon] test mail from probe-1\r\n"));
	assert_match(msg, "^Message-ID: <epmon\\.test\\.20231114T221320Z\\.[0-9a-f]{12}@probe-1>\r$");
	assert_non_null(strstr(msg, "(mail.example.com port 25, security none)"));
	free(msg);
	config_free(cfg);
}

static void helpers(void **state)
{
	char buf[128];

	mail_duration(0, buf, sizeof(buf));
	assert_string_equal(buf, "0 s");
	mail_duration(44.6, buf, sizeof(buf));
	assert_string_equal(buf, "45 s");
	mail_duration(60, buf, sizeof(buf));
	assert_string_equal(buf, "1 min");
	mail_duration(35 * 60 + 10, buf, sizeof(buf));
	assert_string_equal(buf, "35 min");
	mail_duration(3600, buf, sizeof(buf));
	assert_string_equal(buf, "1 h");
	mail_duration(2 * 3600 + 5 * 60, buf, sizeof(buf));
	assert_string_equal(buf, "2 h 5 min");
	mail_duration(3 * 86400 + 4 * 3600 + 100, buf, sizeof(buf));
	assert_string_equal(buf, "3 d 4 h");
	mail_duration(2 * 86400, buf, sizeof(buf));
	assert_string_equal(buf, "2 d");

	mail_address("noc@example.com", buf, sizeof(buf));
	assert_string_equal(buf, "noc@example.com");
	mail_address("Ops Team <ops@example.com>", buf, sizeof(buf));
	assert_string_equal(buf, "ops@example.com");
	mail_address("  a@b  ", buf, sizeof(buf));
	assert_string_equal(buf, "a@b");

	mail_domain("probe-1.example.com", buf, sizeof(buf));
	assert_string_equal(buf, "probe-1.example.com");
	mail_domain("bad host_name!", buf, sizeof(buf));
	assert_string_equal(buf, "badhostname");
	mail_domain("", buf, sizeof(buf));
	assert_string_equal(buf, "localhost");

	/* utf8_copy cuts between characters */
	assert_int_equal(utf8_copy(buf, 4, "é☹"), 1);
	assert_string_equal(buf, "é");
	assert_int_equal(utf8_copy(buf, 6, "é☹"), 0);
	assert_string_equal(buf, "é☹");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(down_mail),
		cmocka_unit_test(up_and_reminder_mails),
		cmocka_unit_test(subjects_encoded_and_folded),
		cmocka_unit_test(test_mail),
		cmocka_unit_test(helpers),
	};
	/* Dates in the body are local time: fix the zone for the checks. */
	setenv("TZ", "UTC", 1);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
