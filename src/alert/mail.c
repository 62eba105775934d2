/* SPDX-License-Identifier: MIT */
/* Composition of alert mails (headers + plain-text body). */
#include "alert/mail.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "util/utf8.h"

#ifndef EPMON_VERSION
#define EPMON_VERSION "dev"
#endif

#define SUBJECT_DETAIL_MAX 100  /* bytes of failure detail in a subject */
#define FOLD_AT 78              /* RFC 5322: header lines SHOULD stay <= 78 */

void mail_duration(double seconds, char *buf, size_t len)
{
	long s = seconds > 0 ? (long)(seconds + 0.5) : 0;

	if (s < 60)
		snprintf(buf, len, "%ld s", s);
	else if (s < 3600)
		snprintf(buf, len, "%ld min", (s + 30) / 60);
	else if (s < 86400) {
		long m = (s + 30) / 60;
		if (m % 60)
			snprintf(buf, len, "%ld h %ld min", m / 60, m % 60);
		else
			snprintf(buf, len, "%ld h", m / 60);
	} else {
		long h = (s + 1800) / 3600;
		if (h % 24)
			snprintf(buf, len, "%ld d %ld h", h / 24, h % 24);
		else
			snprintf(buf, len, "%ld d", h / 24);
	}
}

void mail_address(const char *spec, char *buf, size_t len)
{
	const char *lt = strrchr(spec, '<'), *gt = lt ? strchr(lt, '>') : NULL;
	const char *start = spec, *end = spec + strlen(spec);

	if (lt && gt) {
		start = lt + 1;
		end = gt;
	}
	while (start < end && (*start == ' ' || *start == '\t'))
		start++;
	while (end > start && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	snprintf(buf, len, "%.*s", (int)(end - start), start);
}

void mail_domain(const char *hostname, char *buf, size_t len)
{
	size_t n = 0;

	for (const char *p = hostname; p && *p && n + 1 < len; p++)
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || *p == '.' || *p == '-')
			buf[n++] = *p;
	buf[n] = '\0';
	if (n == 0)
		snprintf(buf, len, "localhost");
}

/* The last result of the streak: the one that triggered the mail. */
static const struct alert_sample *last_sample(const struct alert_site *s)
{
	return s->nhistory ? &s->history[s->nhistory - 1] : NULL;
}

void mail_subject(const struct alert_event *ev, char *buf, size_t len)
{
	const struct alert_site *s = &ev->site;
	const struct alert_sample *x = last_sample(s);
	const char *step = x && x->failed_step ? site_step_name(x->failed_step)
					       : "test";
	char detail[SUBJECT_DETAIL_MAX + 4] = "", dur[32];

	if (x && x->detail[0] &&
	    utf8_copy(detail, SUBJECT_DETAIL_MAX + 1, x->detail))
		strcat(detail, "...");
	utf8_clean_line(detail);
	if (ev->kind == ALERT_DEGRADED || ev->kind == ALERT_UNDEGRADED) {
		snprintf(buf, len, "[epmon] %s %s: %s", ev->kind == ALERT_DEGRADED ?
			 "DEGRADED" : "NOT DEGRADED", s->name, ev->figures);
		return;
	}
	if (ev->kind == ALERT_UP) {
		mail_duration(ev->outage_s, dur, sizeof(dur));
		snprintf(buf, len, "[epmon] UP %s after %s", s->name, dur);
		return;
	}
	if (ev->kind == ALERT_REMINDER) {
		mail_duration(difftime(ev->at, s->failing_since), dur, sizeof(dur));
		snprintf(buf, len, "[epmon] STILL DOWN %s after %s: %s failed %dx%s%s%s",
			 s->name, dur, step, s->failures, *detail ? " (" : "",
			 detail, *detail ? ")" : "");
		return;
	}
	snprintf(buf, len, "[epmon] DOWN %s: %s failed %dx%s%s%s", s->name, step,
		 s->failures, *detail ? " (" : "", detail, *detail ? ")" : "");
}

/* One CRLF-terminated line. */
static void line(FILE *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void line(FILE *f, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfprintf(f, fmt, ap);
	va_end(ap);
	fputs("\r\n", f);
}

static int is_ascii(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s >= 0x80)
			return 0;
	return 1;
}

/* Subject: folded at spaces when ASCII; RFC 2047 base64 encoded-words of
 * whole characters otherwise. */
static void put_subject(FILE *f, const char *subject)
{
	static const char b64[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	const unsigned char *s = (const unsigned char *)subject;
	size_t n = strlen(subject), col = 8, i = 0;

	fputs("Subject:", f);
	if (is_ascii(subject)) {
		while (i < n) {
			size_t w = strcspn(subject + i, " ");
			if (col + 1 + w > FOLD_AT && col > 8) {
				fputs("\r\n", f);
				col = 0;
			}
			fprintf(f, " %.*s", (int)w, subject + i);
			col += 1 + w;
			i += w;
			while (i < n && subject[i] == ' ')
				i++;
		}
		fputs("\r\n", f);
		return;
	}
	while (i < n) {
		/* 42 bytes -> 56 base64 characters: "Subject: =?UTF-8?B?...?="
		 * is 77 characters, each folded line 69 */
		size_t take = 0;
		while (i + take < n) {
			size_t c = utf8_seq_len(s + i + take, n - i - take);
			if (!c)
				c = 1;
			if (take + c > 42)
				break;
			take += c;
		}
		fputs(i ? "\r\n =?UTF-8?B?" : " =?UTF-8?B?", f);
		for (size_t k = 0; k < take; k += 3) {
			unsigned v = (unsigned)s[i + k] << 16;
			size_t rem = take - k;
			if (rem > 1)
				v |= (unsigned)s[i + k + 1] << 8;
			if (rem > 2)
				v |= s[i + k + 2];
			fputc(b64[v >> 18 & 63], f);
			fputc(b64[v >> 12 & 63], f);
			fputc(rem > 1 ? b64[v >> 6 & 63] : '=', f);
			fputc(rem > 2 ? b64[v & 63] : '=', f);
		}
		fputs("?=", f);
		i += take;
	}
	fputs("\r\n", f);
}

/* "Wed, 01 May 2024 10:00:00 +0200", English names whatever the locale. */
static void rfc5322_date(time_t t, char *buf, size_t len)
{
	static const char *const days[] = { "Sun", "Mon", "Tue", "Wed", "Thu",
		"Fri", "Sat" };
	static const char *const months[] = { "Jan", "Feb", "Mar", "Apr", "May",
		"Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	struct tm tm;
	long off;

	localtime_r(&t, &tm);
	off = tm.tm_gmtoff / 60;
	snprintf(buf, len, "%s, %02d %s %d %02d:%02d:%02d %c%02ld%02ld",
		 days[tm.tm_wday], tm.tm_mday, months[tm.tm_mon], tm.tm_year + 1900,
		 tm.tm_hour, tm.tm_min, tm.tm_sec, off < 0 ? '-' : '+',
		 labs(off) / 60, labs(off) % 60);
}

/* "2024-05-01 10:00:00 +0200" */
static void local_time(time_t t, char *buf, size_t len)
{
	struct tm tm;

	localtime_r(&t, &tm);
	strftime(buf, len, "%Y-%m-%d %H:%M:%S %z", &tm);
}

static void make_id(const char *what, const char *hostname, time_t now,
		    char *msgid)
{
	unsigned char rnd[6];
	char dom[128], stamp[32];
	struct tm tm;

	if (getrandom(rnd, sizeof(rnd), GRND_NONBLOCK) != (ssize_t)sizeof(rnd)) {
		unsigned long v = (unsigned long)now ^ (unsigned long)getpid() << 16;
		memcpy(rnd, &v, sizeof(rnd) < sizeof(v) ? sizeof(rnd) : sizeof(v));
	}
	mail_domain(hostname, dom, sizeof(dom));
	gmtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm);
	snprintf(msgid, MAIL_ID_MAX, "<epmon.%.63s.%.16s.%02x%02x%02x%02x%02x%02x@%.64s>",
		 what, stamp, rnd[0], rnd[1], rnd[2], rnd[3], rnd[4], rnd[5], dom);
}

/* A header value from the config: one clean line. */
static void put_header(FILE *f, const char *name, const char *value)
{
	char *v = strdup(value);

	if (!v)
		return;
	utf8_clean_line(v);
	line(f, "%s: %s", name, v);
	free(v);
}

static void put_to(FILE *f, const struct smtp_settings *smtp)
{
	size_t col = 3;

	fputs("To:", f);
	for (size_t i = 0; i < smtp->nrecipients; i++) {
		char *r = strdup(smtp->recipients[i]);
		if (!r)
			continue;
		utf8_clean_line(r);
		if (i && col + strlen(r) + 2 > FOLD_AT) {
			fputs(",\r\n", f);
			col = 0;
		} else if (i) {
			fputc(',', f);
			col++;
		}
		fprintf(f, " %s", r);
		col += strlen(r) + 1;
		free(r);
	}
	fputs("\r\n", f);
}

static void put_headers(FILE *f, const struct smtp_settings *smtp,
			const char *subject, const char *msgid,
			const char *in_reply_to, time_t now)
{
	char date[64];

	rfc5322_date(now, date, sizeof(date));
	line(f, "Date: %s", date);
	put_header(f, "From", smtp->sender ? smtp->sender : "epmon");
	put_to(f, smtp);
	put_subject(f, subject);
	line(f, "Message-ID: %s", msgid);
	if (in_reply_to && *in_reply_to) {
		line(f, "In-Reply-To: %s", in_reply_to);
		line(f, "References: %s", in_reply_to);
	}
	line(f, "MIME-Version: 1.0");
	line(f, "Content-Type: text/plain; charset=UTF-8");
	line(f, "Content-Transfer-Encoding: 8bit");
	line(f, "Auto-Submitted: auto-generated");
	line(f, "X-Mailer: epmon %s", EPMON_VERSION);
	line(f, "%s", "");
}

/* As `epmon once` prints them: RTTs to the microsecond, logins to 0.1 ms. */
static void fmt_ms(double ms, int decimals, char *buf, size_t len)
{
	if (ms < 0)
		snprintf(buf, len, "-");
	else
		snprintf(buf, len, "%.*f", decimals, ms);
}

static void put_history(FILE *f, const struct alert_site *s)
{
	line(f, "Last results, oldest first:");
	line(f, "  %-25s %-6s %-13s %9s %9s %9s  %s", "TIME", "RESULT", "STEP",
	     "EXT_MS", "LOGIN_MS", "INT_MS", "DETAIL");
	for (size_t i = 0; i < s->nhistory; i++) {
		const struct alert_sample *x = &s->history[i];
		char at[40], ext[24], login[24], in[24], detail[sizeof(x->detail)];

		local_time(x->at, at, sizeof(at));
		fmt_ms(x->external_ms, 3, ext, sizeof(ext));
		fmt_ms(x->login_ms, 1, login, sizeof(login));
		fmt_ms(x->internal_ms, 3, in, sizeof(in));
		memcpy(detail, x->detail, sizeof(detail));
		utf8_clean_line(detail);
		line(f, "  %-25s %-6s %-13s %9s %9s %9s  %s", at, x->ok ? "OK" : "FAIL",
		     x->ok ? "-" : site_step_name(x->failed_step), ext, login, in,
		     detail);
	}
}

static void put_site(FILE *f, const struct site *site)
{
	if (!site)
		return;
	if (site->vpn.client != VPN_NONE && site->vpn.gateway)
		line(f, "Gateway:        %s (%s, external address %s)",
		     site->vpn.gateway, vpn_client_name(site->vpn.client),
		     site->external_ip);
	else
		line(f, "Gateway:        %s (pinged, no VPN)", site->external_ip);
	if (site->internal_ip)
		line(f, "Internal host:  %s", site->internal_ip);
}

/* Probe lines, the last results and the signature. */
static void put_tail(FILE *f, const struct alert_event *ev, const char *hostname)
{
	if (ev->probe[0])
		line(f, "Probe:          %s", ev->probe);
	line(f, "Probe host:     %s", hostname);
	line(f, "%s", "");
	put_history(f, &ev->site);
	line(f, "%s", "");
	line(f, "-- ");
	line(f, "epmon %s on %s", EPMON_VERSION, hostname);
}

static void put_body(FILE *f, const struct alert_event *ev,
		     const struct site *site, const char *hostname)
{
	const struct alert_site *s = &ev->site;
	const struct alert_sample *x = last_sample(s);
	char since[40], dur[32], detail[sizeof(x->detail)] = "";
	const char *step = x && x->failed_step ? site_step_name(x->failed_step) : "-";

	local_time(s->failing_since, since, sizeof(since));
	if (x)
		memcpy(detail, x->detail, sizeof(detail));
	utf8_clean_line(detail);
	if (ev->kind == ALERT_DEGRADED || ev->kind == ALERT_UNDEGRADED) {
		line(f, "Site %s %s: %s.", s->name, ev->kind == ALERT_DEGRADED ?
		     "passes but is slower than usual" : "is back to its usual speed",
		     ev->figures);
		line(f, "%s", "");
		line(f, "Site:           %s", s->name);
		put_site(f, site);
		put_tail(f, ev, hostname);
		return;
	}
	if (ev->kind == ALERT_UP) {
		mail_duration(ev->outage_s, dur, sizeof(dur));
		line(f, "Site %s is UP again after %s (%d failed cycle%s).", s->name,
		     dur, s->failures, s->failures == 1 ? "" : "s");
	} else if (ev->kind == ALERT_REMINDER) {
		mail_duration(difftime(ev->at, s->failing_since), dur, sizeof(dur));
		line(f, "Site %s is still DOWN after %s: %s failed in %d consecutive "
		     "cycles.", s->name, dur, step, s->failures);
	} else {
		line(f, "Site %s is DOWN: %s failed in %d consecutive cycle%s.",
		     s->name, step, s->failures, s->failures == 1 ? "" : "s");
	}
	line(f, "%s", "");
	line(f, "Site:           %s", s->name);
	put_site(f, site);
	if (ev->kind == ALERT_UP) {
		line(f, "Down since:     %s", since);
		line(f, "Down for:       %s", dur);
	} else {
		line(f, "Failed step:    %s", step);
		line(f, "Detail:         %s", *detail ? detail : "-");
		line(f, "First failure:  %s", since);
	}
	line(f, "Failed cycles:  %d", s->failures);
	put_tail(f, ev, hostname);
}

/* Closes the memstream and hands its text out; NULL on a write error. */
static char *finish(FILE *f, char **buf, size_t *size, size_t *len)
{
	int bad = ferror(f);

	if (fclose(f) != 0 || bad) {
		free(*buf);
		return NULL;
	}
	if (len)
		*len = *size;
	return *buf;
}

char *mail_compose(const struct alert_event *ev, const struct site *site,
		   const struct smtp_settings *smtp, const char *hostname,
		   time_t now, char *msgid, size_t *len)
{
	char subject[512], what[96], *buf = NULL, *host;
	size_t size = 0;
	FILE *f = open_memstream(&buf, &size);

	if (!f)
		return NULL;
	host = strdup(hostname ? hostname : "localhost");
	if (!host) {
		fclose(f);
		free(buf);
		return NULL;
	}
	utf8_clean_line(host);
	snprintf(what, sizeof(what), "%s.%s", ev->site.name, alert_kind_word(ev->kind));
	make_id(what, host, now, msgid);
	mail_subject(ev, subject, sizeof(subject));
	put_headers(f, smtp, subject, msgid, ev->kind == ALERT_UP ||
		    ev->kind == ALERT_REMINDER ? ev->site.down_id : NULL, now);
	put_body(f, ev, site, host);
	free(host);
	return finish(f, &buf, &size, len);
}

char *mail_compose_test(const struct smtp_settings *smtp, const char *hostname,
			time_t now, char *msgid, size_t *len)
{
	char subject[256], date[40], *buf = NULL, *host;
	size_t size = 0;
	FILE *f = open_memstream(&buf, &size);

	if (!f)
		return NULL;
	host = strdup(hostname ? hostname : "localhost");
	if (!host) {
		fclose(f);
		free(buf);
		return NULL;
	}
	utf8_clean_line(host);
	make_id("test", host, now, msgid);
	snprintf(subject, sizeof(subject), "[epmon] test mail from %s", host);
	put_headers(f, smtp, subject, msgid, NULL, now);
	local_time(now, date, sizeof(date));
	line(f, "This is a test mail from epmon on %s, sent by `epmon test-email`", host);
	line(f, "at %s.", date);
	line(f, "%s", "");
	line(f, "If you read this, alert mails will reach you: they go to the same");
	line(f, "recipients through the same server (%s port %d, security %s%s%s).",
	     smtp->smtp_server, smtp->smtp_port, smtp_security_name(smtp->security),
	     smtp->username ? ", AUTH as " : "", smtp->username ? smtp->username : "");
	line(f, "%s", "");
	line(f, "-- ");
	line(f, "epmon %s on %s", EPMON_VERSION, host);
	free(host);
	return finish(f, &buf, &size, len);
}
