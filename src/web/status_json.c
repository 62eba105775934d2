/* SPDX-License-Identifier: MIT */
/* The /status document (status_json.h). Written by hand: the structure
 * is fixed and small, and a JSON library would be one more dependency. */
#include "web/status_json.h"

#include <math.h>
#include <string.h>

#include "util/json.h"
#include "vpn/phases.h"

/* A number, or null for NaN/inf (JSON has neither). */
static void num(FILE *out, double v)
{
	if (isfinite(v))
		fprintf(out, "%.10g", v);
	else
		fputs("null", out);
}

/* "2024-05-01T12:00:00.123+02:00", local time like the CSV; null for 0. */
static void timestamp(FILE *out, time_t t, long ms)
{
	struct tm tm;
	char date[32], zone[8];

	if (t == 0 || !localtime_r(&t, &tm)) {
		fputs("null", out);
		return;
	}
	strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%S", &tm);
	strftime(zone, sizeof(zone), "%z", &tm);
	fprintf(out, "\"%s.%03ld%.3s:%s\"", date, ms, zone, zone + 3);
}

/* A ping step; first_ms (internal only, else NULL): the first echo through
 * the new tunnel, NAN when it got no reply. */
static void ping(FILE *out, const char *key, int ran, const struct ping_stats *p,
		 int avg_only, const double *first_ms)
{
	int rtt = p->received > 0;

	fprintf(out, ",\"%s\":", key);
	if (!ran) {
		fputs("null", out);
		return;
	}
	if (avg_only) {
		fputs("{\"sent\":null,\"received\":null,\"loss_pct\":", out);
		num(out, p->loss_pct);
		fputs(",\"min_ms\":null,\"avg_ms\":", out);
		num(out, rtt ? p->avg_ms : NAN);
		fputs(",\"max_ms\":null,\"mdev_ms\":null,\"median_ms\":null", out);
		if (first_ms) {
			fputs(",\"first_ms\":", out);
			num(out, *first_ms);
		}
		fputc('}', out);
		return;
	}
	fprintf(out, "{\"sent\":%d,\"received\":%d,\"loss_pct\":", p->sent, p->received);
	num(out, p->loss_pct);
	fputs(",\"min_ms\":", out);
	num(out, rtt ? p->min_ms : NAN);
	fputs(",\"avg_ms\":", out);
	num(out, rtt ? p->avg_ms : NAN);
	fputs(",\"max_ms\":", out);
	num(out, rtt ? p->max_ms : NAN);
	fputs(",\"mdev_ms\":", out);
	num(out, rtt ? p->mdev_ms : NAN);
	fputs(",\"median_ms\":", out);
	num(out, rtt ? p->median_ms : NAN);
	if (first_ms) {
		fputs(",\"first_ms\":", out);
		num(out, *first_ms);
	}
	fputc('}', out);
}

/* The login: its time (null when it failed) and its phases (null where
 * not known); null when no login ran and no phase is known. */
static void login(FILE *out, const struct site_result *r)
{
	fputs(",\"vpn_login\":", out);
	if (!r->login_ran && !r->login_phases) {
		fputs("null", out);
		return;
	}
	fputs("{\"ms\":", out);
	num(out, r->login_ran ? r->login_ms : NAN);
	fputs(",\"phases\":{", out);
	for (int p = 0; p < VPN_PHASES; p++) {
		fprintf(out, "%s\"%s_ms\":", p ? "," : "", vpn_phase_name(p));
		num(out, r->login_phases & (1u << p) ? r->login_phase_ms[p] : NAN);
	}
	fputs("}}", out);
}

static void duration(FILE *out, const char *key, int ran, double ms)
{
	fprintf(out, ",\"%s\":", key);
	if (!ran) {
		fputs("null", out);
		return;
	}
	fputs("{\"ms\":", out);
	num(out, ms);
	fputc('}', out);
}

static void last_result(FILE *out, const struct monitor_site *s)
{
	const struct site_result *r = &s->last;
	double first;

	if (!s->has_last) {
		fputs(",\"last\":null", out);
		return;
	}
	fputs(",\"last\":{\"timestamp\":", out);
	timestamp(out, r->started.tv_sec, r->started.tv_nsec / 1000000L);
	fprintf(out, ",\"result\":\"%s\",\"failed_step\":", r->ok ? "ok" : "fail");
	if (r->ok)
		fputs("null", out);
	else
		json_string(out, site_step_name(r->failed_step));
	fputs(",\"detail\":", out);
	json_string(out, r->detail);
	fprintf(out, ",\"from_history\":%s", s->last_from_csv ? "true" : "false");
	first = r->internal_first_replied ? r->internal_first_ms : NAN;
	ping(out, "external_ping", r->external_ran, &r->external, s->last_from_csv, NULL);
	login(out, r);
	ping(out, "internal_ping", r->internal_ran, &r->internal, s->last_from_csv,
	     s->has_vpn ? &first : NULL);
	duration(out, "teardown", r->teardown_ran, r->teardown_ms);
	fputc('}', out);
}

static void site(FILE *out, const struct monitor_site *s, time_t now)
{
	fputs("{\"name\":", out);
	json_string(out, s->name);
	fprintf(out, ",\"state\":\"%s\",\"up\":%s,\"consecutive_failures\":%d,"
		"\"alert_active\":%s,\"has_vpn\":%s,\"availability_24h\":",
		s->has_last ? alert_status_name(s->alert_status) : "unknown",
		!s->has_last ? "null" : s->last.ok ? "true" : "false", s->failures,
		s->alert_active ? "true" : "false", s->has_vpn ? "true" : "false");
	num(out, monitor_availability(s, now, MONITOR_DAY_S));
	fputs(",\"availability_7d\":", out);
	num(out, monitor_availability(s, now, MONITOR_WEEK_S));
	fprintf(out, ",\"logins_since_start\":%lu,\"stale_clients_killed_total\":%lu,"
		"\"resolv_conf_repairs_total\":%lu", s->login_count, s->stale_killed,
		s->resolv_repaired);
	fprintf(out, ",\"degraded\":%s,\"in_maintenance\":%s,\"muted\":%s",
		s->degraded ? "true" : "false", s->quiet == 1 ? "true" : "false",
		s->quiet == 2 ? "true" : "false");
	if (s->has_vpn) {
		fputs(",\"vpn\":{\"client\":", out);
		json_string(out, s->vpn_client);
		fputs(",\"implementation\":", out);
		json_string(out, s->vpn_implementation);
		fputc('}', out);
	} else {
		fputs(",\"vpn\":null", out);
	}
	last_result(out, s);
	fputc('}', out);
}

void status_json_write(const struct monitor_data *d, time_t now, FILE *out)
{
	fputs("{\"version\":", out);
	json_string(out, d->version);
	fputs(",\"probe\":", out);
	json_string(out, d->probe);
	fputs(",\"now\":", out);
	timestamp(out, now, 0);
	fputs(",\"started_at\":", out);
	timestamp(out, d->started, 0);
	fputs(",\"frequency_s\":", out);
	num(out, d->frequency_s);
	fprintf(out, ",\"cycle\":{\"count\":%lu,\"overruns\":%lu,\"last_start\":",
		d->cycles, d->overruns);
	timestamp(out, d->last_cycle_at, 0);
	fputs(",\"last_duration_s\":", out);
	num(out, d->cycles ? d->last_cycle_s : NAN);
	fprintf(out, "},\"mail_spool_messages\":%zu,\"history\":{\"rows\":%zu,"
		"\"damaged_lines\":%zu},\"sites\":[", d->spooled, d->history_rows,
		d->history_bad);
	for (size_t i = 0; i < d->nsites; i++) {
		if (i)
			fputc(',', out);
		site(out, &d->sites[i], now);
	}
	fputs("]}\n", out);
}
