/* SPDX-License-Identifier: MIT */
/* `epmon report` output: a text table for people, CSV for spreadsheets,
 * JSON for programs. Numbers are printed with '.' whatever the locale
 * (epmon never calls setlocale), missing figures as "-", empty or null. */
#include "report/report.h"

#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "util/utf8.h"

static const char *const step_keys[] = { "other", "external_ping", "vpn_login",
					  "internal_ping", "teardown" };

static const char *step_key(enum site_step s)
{
	return (unsigned)s <= STEP_TEARDOWN ? step_keys[s] : step_keys[0];
}

/* 2026-11-25T16:38:12+01:00 (iso) or 2026-11-25 16:38:12 (text), local time. */
static void format_time(time_t t, int iso, char *buf, size_t len)
{
	struct tm tm;
	size_t n;
	int off;

	if (!localtime_r(&t, &tm)) {
		snprintf(buf, len, "%lld", (long long)t);
		return;
	}
	n = strftime(buf, len, iso ? "%Y-%m-%dT%H:%M:%S" : "%Y-%m-%d %H:%M:%S", &tm);
	if (!iso || n == 0)
		return;
	off = (int)(tm.tm_gmtoff / 60);
	snprintf(buf + n, len - n, "%c%02d:%02d", off < 0 ? '-' : '+', abs(off) / 60 % 100,
		 abs(off) % 60);
}

/* 3d 4h 5m, 2h 10m, 5m 30s, 42s */
static void format_duration(double s, char *buf, size_t len)
{
	long long t = llround(s), d = t / 86400, h = t % 86400 / 3600, m = t % 3600 / 60;

	if (d > 0)
		snprintf(buf, len, "%lldd %lldh %lldm", d, h, m);
	else if (h > 0)
		snprintf(buf, len, "%lldh %lldm", h, m);
	else if (m > 0)
		snprintf(buf, len, "%lldm %llds", m, t % 60);
	else
		snprintf(buf, len, "%llds", t);
}

/* A figure with `decimals`, or `none` when missing. */
static void put_num(FILE *out, double v, int decimals, const char *none)
{
	if (isnan(v))
		fputs(none, out);
	else
		fprintf(out, "%.*f", decimals, v);
}

static void text_num(FILE *out, int width, double v, int decimals)
{
	char buf[64];

	if (isnan(v))
		snprintf(buf, sizeof(buf), "-");
	else
		snprintf(buf, sizeof(buf), "%.*f", decimals, v);
	fprintf(out, " %*s", width, buf);
}

/* ---- text ---- */

/* Where the login time goes, and the first echo through the new tunnel:
 * a table only when some site has those figures (files of an older epmon
 * have none). */
static void print_text_phases(const struct report *r, int w, FILE *out)
{
	size_t n = 0;

	for (size_t i = 0; i < r->nsites; i++) {
		n += r->sites[i].internal_first.n;
		for (int p = 0; p < VPN_PHASES; p++)
			n += r->sites[i].phase[p].n;
	}
	if (n == 0)
		return;
	fprintf(out, "\n%-*s", w, "SITE");
	for (int p = 0; p < VPN_PHASES; p++) {
		char name[16];
		size_t k;
		for (k = 0; vpn_phase_name(p)[k] && k < sizeof(name) - 1; k++)
			name[k] = (char)toupper((unsigned char)vpn_phase_name(p)[k]);
		name[k] = '\0';
		fprintf(out, " %7s_P50 %7s_P95", name, name);
	}
	fprintf(out, " %10s %10s   (ms)\n", "FIRST_P50", "FIRST_P95");
	for (size_t i = 0; i < r->nsites; i++) {
		const struct report_site *s = &r->sites[i];
		fprintf(out, "%-*s", w, s->name);
		for (int p = 0; p < VPN_PHASES; p++) {
			text_num(out, 11, s->phase[p].p50, 1);
			text_num(out, 11, s->phase[p].p95, 1);
		}
		text_num(out, 10, s->internal_first.p50, 3);
		text_num(out, 10, s->internal_first.p95, 3);
		fputc('\n', out);
	}
}

static void print_text(const struct report *r, FILE *out)
{
	char from[32], to[32], a[32], b[32], dur[48];
	int w = 4;
	size_t noutages = 0;

	for (size_t i = 0; i < r->nsites; i++) {
		int n = (int)strlen(r->sites[i].name);
		w = n > w ? n : w;
		noutages += r->sites[i].noutages;
	}
	format_time(r->from, 0, from, sizeof(from));
	format_time(r->to, 0, to, sizeof(to));
	fprintf(out, "epmon report %s .. %s (local time): %zu site%s, %lu row%s",
		from, to, r->nsites, r->nsites == 1 ? "" : "s", r->rows, r->rows == 1 ? "" : "s");
	if (r->damaged)
		fprintf(out, ", %lu damaged line%s skipped", r->damaged, r->damaged == 1 ? "" : "s");
	fputs("\n\n", out);

	fprintf(out, "%-*s %8s %8s %8s %6s %8s %8s %8s %8s %7s\n", w, "SITE", "CYCLES", "AVAIL%",
		"FAILED", "EXT", "LOGIN", "INT", "TEARDOWN", "OTHER", "OUTAGES");
	for (size_t i = 0; i < r->nsites; i++) {
		const struct report_site *s = &r->sites[i];
		fprintf(out, "%-*s %8lu", w, s->name, s->cycles);
		text_num(out, 8, report_availability(s), 3);
		fprintf(out, " %8lu %6lu %8lu %8lu %8lu %8lu %7zu\n", s->failed,
			s->failed_by_step[STEP_EXTERNAL_PING], s->failed_by_step[STEP_VPN_LOGIN],
			s->failed_by_step[STEP_INTERNAL_PING], s->failed_by_step[STEP_TEARDOWN],
			s->failed_by_step[STEP_NONE], s->noutages);
	}

	fprintf(out, "\n%-*s %10s %10s %10s %10s %10s %10s %10s   (ms)\n", w, "SITE", "LOGIN_P50",
		"LOGIN_P95", "LOGIN_MAX", "EXT_P50", "EXT_P95", "INT_P50", "INT_P95");
	for (size_t i = 0; i < r->nsites; i++) {
		const struct report_site *s = &r->sites[i];
		fprintf(out, "%-*s", w, s->name);
		text_num(out, 10, s->login.p50, 1);
		text_num(out, 10, s->login.p95, 1);
		text_num(out, 10, s->login.max, 1);
		text_num(out, 10, s->external_rtt.p50, 3);
		text_num(out, 10, s->external_rtt.p95, 3);
		text_num(out, 10, s->internal_rtt.p50, 3);
		text_num(out, 10, s->internal_rtt.p95, 3);
		fputc('\n', out);
	}

	print_text_phases(r, w, out);
	if (noutages == 0) {
		fputs("\nno outages\n", out);
		return;
	}
	fprintf(out, "\n%-*s %-19s %-19s %12s %6s %s\n", w, "SITE", "OUTAGE START", "END",
		"DURATION", "CYCLES", "STEP");
	for (size_t i = 0; i < r->nsites; i++) {
		const struct report_site *s = &r->sites[i];
		for (size_t k = 0; k < s->noutages; k++) {
			const struct report_outage *o = &s->outages[k];
			format_time(o->start, 0, a, sizeof(a));
			format_time(o->end, 0, b, sizeof(b));
			format_duration(report_outage_duration(o), dur, sizeof(dur));
			if (o->open) /* lasted at least this long, and goes on */
				snprintf(b, sizeof(b), "open");
			fprintf(out, "%-*s %-19s %-19s %s%*s %6lu %s\n", w, s->name, a, b,
				o->open ? ">=" : "", o->open ? 10 : 12, dur, o->cycles,
				step_key(o->step));
		}
	}
}

/* ---- csv ---- */

/* Site names are [A-Za-z0-9_.-] in a valid config; quoted anyway when not. */
static void csv_text(FILE *out, const char *s)
{
	if (!strpbrk(s, ",\"\r\n")) {
		fputs(s, out);
		return;
	}
	fputc('"', out);
	for (; *s; s++) {
		if (*s == '"')
			fputc('"', out);
		fputc(*s, out);
	}
	fputc('"', out);
}

static void print_csv(const struct report *r, FILE *out)
{
	char a[40], b[40];

	fputs("site,cycles,failed,availability_pct,failed_external_ping,failed_vpn_login,"
	      "failed_internal_ping,failed_teardown,failed_other,outages,login_p50_ms,"
	      "login_p95_ms,login_max_ms,external_rtt_p50_ms,external_rtt_p95_ms,"
	      "internal_rtt_p50_ms,internal_rtt_p95_ms,login_connect_p50_ms,login_connect_p95_ms,"
	      "login_tls_p50_ms,login_tls_p95_ms,login_auth_p50_ms,login_auth_p95_ms,"
	      "login_tunnel_p50_ms,login_tunnel_p95_ms,internal_first_p50_ms,"
	      "internal_first_p95_ms\n", out);
	for (size_t i = 0; i < r->nsites; i++) {
		const struct report_site *s = &r->sites[i];
		csv_text(out, s->name);
		fprintf(out, ",%lu,%lu,", s->cycles, s->failed);
		put_num(out, report_availability(s), 3, "");
		fprintf(out, ",%lu,%lu,%lu,%lu,%lu,%zu,", s->failed_by_step[STEP_EXTERNAL_PING],
			s->failed_by_step[STEP_VPN_LOGIN], s->failed_by_step[STEP_INTERNAL_PING],
			s->failed_by_step[STEP_TEARDOWN], s->failed_by_step[STEP_NONE], s->noutages);
		put_num(out, s->login.p50, 1, "");
		fputc(',', out);
		put_num(out, s->login.p95, 1, "");
		fputc(',', out);
		put_num(out, s->login.max, 1, "");
		fputc(',', out);
		put_num(out, s->external_rtt.p50, 3, "");
		fputc(',', out);
		put_num(out, s->external_rtt.p95, 3, "");
		fputc(',', out);
		put_num(out, s->internal_rtt.p50, 3, "");
		fputc(',', out);
		put_num(out, s->internal_rtt.p95, 3, "");
		for (int p = 0; p < VPN_PHASES; p++) {
			fputc(',', out);
			put_num(out, s->phase[p].p50, 1, "");
			fputc(',', out);
			put_num(out, s->phase[p].p95, 1, "");
		}
		fputc(',', out);
		put_num(out, s->internal_first.p50, 3, "");
		fputc(',', out);
		put_num(out, s->internal_first.p95, 3, "");
		fputc('\n', out);
	}
	/* a second table after an empty line: one row per outage */
	fputs("\nsite,outage_start,outage_end,duration_s,cycles,step,open\n", out);
	for (size_t i = 0; i < r->nsites; i++) {
		const struct report_site *s = &r->sites[i];
		for (size_t k = 0; k < s->noutages; k++) {
			const struct report_outage *o = &s->outages[k];
			format_time(o->start, 1, a, sizeof(a));
			format_time(o->end, 1, b, sizeof(b));
			csv_text(out, s->name);
			fprintf(out, ",%s,%s,%.0f,%lu,%s,%s\n", a, b, report_outage_duration(o),
				o->cycles, step_key(o->step), o->open ? "yes" : "no");
		}
	}
}

/* ---- json ---- */

/* A JSON string: quotes, backslashes and control characters escaped,
 * bytes that are not UTF-8 replaced by U+FFFD. */
static void json_text(FILE *out, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = strlen(s);

	fputc('"', out);
	while (n > 0) {
		size_t k;
		if (*p == '"' || *p == '\\') {
			fprintf(out, "\\%c", *p);
			k = 1;
		} else if (*p < 0x20) {
			fprintf(out, "\\u%04x", *p);
			k = 1;
		} else if ((k = utf8_seq_len(p, n)) == 0) {
			fputs("\\ufffd", out);
			k = 1;
		} else {
			fwrite(p, 1, k, out);
		}
		p += k;
		n -= k;
	}
	fputc('"', out);
}

static void json_stats(FILE *out, const char *key, const struct report_stats *st,
		       int decimals, int with_max)
{
	fprintf(out, ", \"%s\": {\"count\": %zu, \"p50\": ", key, st->n);
	put_num(out, st->p50, decimals, "null");
	fputs(", \"p95\": ", out);
	put_num(out, st->p95, decimals, "null");
	if (with_max) {
		fputs(", \"max\": ", out);
		put_num(out, st->max, decimals, "null");
	}
	fputc('}', out);
}

static void print_json(const struct report *r, FILE *out)
{
	char a[40], b[40];

	format_time(r->from, 1, a, sizeof(a));
	format_time(r->to, 1, b, sizeof(b));
	fprintf(out, "{\"from\": \"%s\", \"to\": \"%s\", \"rows\": %lu, \"damaged_lines\": %lu, "
		"\"sites\": [", a, b, r->rows, r->damaged);
	for (size_t i = 0; i < r->nsites; i++) {
		const struct report_site *s = &r->sites[i];
		fprintf(out, "%s\n  {\"site\": ", i ? "," : "");
		json_text(out, s->name);
		fprintf(out, ", \"cycles\": %lu, \"failed\": %lu, \"availability_pct\": ",
			s->cycles, s->failed);
		put_num(out, report_availability(s), 3, "null");
		fputs(", \"failed_by_step\": {", out);
		for (int k = STEP_EXTERNAL_PING; k <= STEP_TEARDOWN + 1; k++) {
			int step = k <= STEP_TEARDOWN ? k : STEP_NONE; /* "other" last */
			fprintf(out, "%s\"%s\": %lu", k > STEP_EXTERNAL_PING ? ", " : "",
				step_key((enum site_step)step), s->failed_by_step[step]);
		}
		fputc('}', out);
		json_stats(out, "login_ms", &s->login, 1, 1);
		json_stats(out, "external_rtt_ms", &s->external_rtt, 3, 0);
		json_stats(out, "internal_rtt_ms", &s->internal_rtt, 3, 0);
		json_stats(out, "internal_first_ms", &s->internal_first, 3, 0);
		fputs(", \"login_phases_ms\": {", out);
		for (int p = 0; p < VPN_PHASES; p++) {
			fprintf(out, "%s\"%s\": {\"count\": %zu, \"p50\": ", p ? ", " : "",
				vpn_phase_name(p), s->phase[p].n);
			put_num(out, s->phase[p].p50, 1, "null");
			fputs(", \"p95\": ", out);
			put_num(out, s->phase[p].p95, 1, "null");
			fputc('}', out);
		}
		fputc('}', out);
		fputs(",\n   \"outages\": [", out);
		for (size_t k = 0; k < s->noutages; k++) {
			const struct report_outage *o = &s->outages[k];
			format_time(o->start, 1, a, sizeof(a));
			format_time(o->end, 1, b, sizeof(b));
			fprintf(out, "%s{\"start\": \"%s\", \"end\": \"%s\", \"duration_s\": %.0f, "
				"\"cycles\": %lu, \"step\": \"%s\", \"open\": %s}",
				k ? ", " : "", a, b, report_outage_duration(o), o->cycles,
				step_key(o->step), o->open ? "true" : "false");
		}
		fputs("]}", out);
	}
	fputs("\n]}\n", out);
}

void report_print(const struct report *r, enum report_format format, FILE *out)
{
	switch (format) {
	case REPORT_CSV:
		print_csv(r, out);
		break;
	case REPORT_JSON:
		print_json(r, out);
		break;
	default:
		print_text(r, out);
		break;
	}
}
