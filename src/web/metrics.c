/* SPDX-License-Identifier: MIT */
/* The Prometheus exposition of the monitor (metrics.h). Every series of a
 * metric follows its one HELP and TYPE line, as the format requires. */
#include "web/metrics.h"

#include <math.h>
#include <string.h>

#include "vpn/phases.h"

void metrics_label_value(FILE *out, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\' || *s == '"')
			fprintf(out, "\\%c", *s);
		else if (*s == '\n')
			fputs("\\n", out);
		else
			fputc(*s, out);
	}
}

static void head(FILE *out, const char *name, const char *type, const char *help)
{
	fprintf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* NAME{probe="P",site="S"EXTRA} VALUE; EXTRA is ",k=\"v\"..." or "";
 * without a site, NAME{probe="P"}. */
static void series(FILE *out, const char *probe, const char *name, const char *site,
		   const char *extra, double v)
{
	fprintf(out, "%s{probe=\"", name);
	metrics_label_value(out, probe);
	if (site) {
		fputs("\",site=\"", out);
		metrics_label_value(out, site);
		fprintf(out, "\"%s}", extra);
	} else {
		fputs("\"}", out);
	}
	if (isnan(v))
		fputs(" NaN\n", out);
	else if (isinf(v))
		fputs(v > 0 ? " +Inf\n" : " -Inf\n", out);
	else
		fprintf(out, " %.15g\n", v);
}

static int step_ok(const struct site_result *r, enum site_step step, int ran)
{
	return ran && r->failed_step != step;
}

static void write_up(const struct monitor_data *d, FILE *out)
{
	head(out, "epmon_site_up", "gauge",
	     "1 when every step of the site's last test succeeded, else 0.");
	for (size_t i = 0; i < d->nsites; i++)
		if (d->sites[i].has_last)
			series(out, d->probe, "epmon_site_up", d->sites[i].name, "",
			       d->sites[i].last.ok);
}

static void write_steps(const struct monitor_data *d, FILE *out)
{
	head(out, "epmon_step_success", "gauge",
	     "1 when the step succeeded in the site's last test; 0 when it "
	     "failed or was not reached.");
	for (size_t i = 0; i < d->nsites; i++) {
		const struct monitor_site *s = &d->sites[i];
		const struct site_result *r = &s->last;
		if (!s->has_last)
			continue;
		series(out, d->probe, "epmon_step_success", s->name, ",step=\"external_ping\"",
		       step_ok(r, STEP_EXTERNAL_PING, r->external_ran));
		if (s->has_vpn)
			series(out, d->probe, "epmon_step_success", s->name, ",step=\"vpn_login\"",
			       step_ok(r, STEP_VPN_LOGIN, r->login_ran));
		if (s->has_internal)
			series(out, d->probe, "epmon_step_success", s->name,
			       ",step=\"internal_ping\"",
			       step_ok(r, STEP_INTERNAL_PING, r->internal_ran));
		if (s->has_vpn)
			series(out, d->probe, "epmon_step_success", s->name, ",step=\"teardown\"",
			       step_ok(r, STEP_TEARDOWN, r->teardown_ran));
	}
	head(out, "epmon_step_duration_seconds", "gauge",
	     "Duration of the step in the site's last test: average RTT for "
	     "the pings, time to log in, time to tear the tunnel down.");
	for (size_t i = 0; i < d->nsites; i++) {
		const struct monitor_site *s = &d->sites[i];
		const struct site_result *r = &s->last;
		if (!s->has_last)
			continue;
		if (r->external_ran && r->external.received > 0)
			series(out, d->probe, "epmon_step_duration_seconds", s->name,
			       ",step=\"external_ping\"", r->external.avg_ms / 1e3);
		if (r->login_ran)
			series(out, d->probe, "epmon_step_duration_seconds", s->name,
			       ",step=\"vpn_login\"", r->login_ms / 1e3);
		if (r->internal_ran && r->internal.received > 0)
			series(out, d->probe, "epmon_step_duration_seconds", s->name,
			       ",step=\"internal_ping\"", r->internal.avg_ms / 1e3);
		if (r->teardown_ran)
			series(out, d->probe, "epmon_step_duration_seconds", s->name,
			       ",step=\"teardown\"", r->teardown_ms / 1e3);
	}
}

static void ping_loss(FILE *out, const char *probe, const char *site, const char *target,
		      const struct ping_stats *p)
{
	char extra[64];

	snprintf(extra, sizeof(extra), ",target=\"%s\"", target);
	series(out, probe, "epmon_ping_loss_ratio", site, extra, p->loss_pct / 100.0);
}

static void ping_rtt(FILE *out, const char *probe, const char *site, const char *target,
		     const struct ping_stats *p, int avg_only)
{
	static const char *const stats[5] = { "min", "avg", "max", "mdev", "median" };
	const double v[5] = { p->min_ms, p->avg_ms, p->max_ms, p->mdev_ms, p->median_ms };
	char extra[64];

	for (int k = 0; k < 5; k++) {
		if (avg_only && k != 1)
			continue;
		snprintf(extra, sizeof(extra), ",target=\"%s\",stat=\"%s\"", target,
			 stats[k]);
		series(out, probe, "epmon_ping_rtt_seconds", site, extra, v[k] / 1e3);
	}
}

static void write_pings(const struct monitor_data *d, FILE *out)
{
	head(out, "epmon_ping_loss_ratio", "gauge",
	     "Share of echo requests without a reply in the site's last test.");
	for (size_t i = 0; i < d->nsites; i++) {
		const struct monitor_site *s = &d->sites[i];
		if (s->has_last && s->last.external_ran)
			ping_loss(out, d->probe, s->name, "external", &s->last.external);
		if (s->has_last && s->last.internal_ran)
			ping_loss(out, d->probe, s->name, "internal", &s->last.internal);
	}
	head(out, "epmon_ping_rtt_seconds", "gauge",
	     "Round-trip times of the site's last test (min, avg, max, mdev, median); "
	     "internal: the steady state, after the first echo through the new tunnel.");
	for (size_t i = 0; i < d->nsites; i++) {
		const struct monitor_site *s = &d->sites[i];
		const struct site_result *r = &s->last;
		if (!s->has_last)
			continue;
		/* a result read back from the CSV has only the average */
		if (r->external_ran && r->external.received > 0)
			ping_rtt(out, d->probe, s->name, "external", &r->external, s->last_from_csv);
		if (r->internal_ran && r->internal.received > 0)
			ping_rtt(out, d->probe, s->name, "internal", &r->internal, s->last_from_csv);
	}
}

/* Where the time of the last login went, and what the first packet
 * through the new tunnel met. */
static void write_login_phases(const struct monitor_data *d, FILE *out)
{
	char extra[48];

	head(out, "epmon_login_phase_seconds", "gauge",
	     "Phases of the site's last login: connect (client start to the gateway's "
	     "answer), tls (to the secure channel), auth (to the credentials accepted), "
	     "tunnel (to the interface carrying the route); only the phases the client shows.");
	for (size_t i = 0; i < d->nsites; i++) {
		const struct site_result *r = &d->sites[i].last;
		if (!d->sites[i].has_last)
			continue;
		for (int p = 0; p < VPN_PHASES; p++) {
			if (!(r->login_phases & (1u << p)))
				continue;
			snprintf(extra, sizeof(extra), ",phase=\"%s\"", vpn_phase_name(p));
			series(out, d->probe, "epmon_login_phase_seconds", d->sites[i].name, extra,
			       r->login_phase_ms[p] / 1e3);
		}
	}
	head(out, "epmon_internal_first_rtt_seconds", "gauge",
	     "RTT of the first echo through the new tunnel in the site's last test, "
	     "sent and timed alone before the steady internal ping.");
	for (size_t i = 0; i < d->nsites; i++) {
		const struct site_result *r = &d->sites[i].last;
		if (d->sites[i].has_last && r->internal_first_replied)
			series(out, d->probe, "epmon_internal_first_rtt_seconds", d->sites[i].name,
			       "", r->internal_first_ms / 1e3);
	}
}

static void write_site_state(const struct monitor_data *d, time_t now, FILE *out)
{
	head(out, "epmon_consecutive_failures", "gauge",
	     "Failed cycles in a row of the site (0 after a success).");
	for (size_t i = 0; i < d->nsites; i++)
		series(out, d->probe, "epmon_consecutive_failures", d->sites[i].name, "",
		       d->sites[i].failures);
	head(out, "epmon_alert_active", "gauge",
	     "1 while the site is alerted (DOWN sent, no success since).");
	for (size_t i = 0; i < d->nsites; i++)
		series(out, d->probe, "epmon_alert_active", d->sites[i].name, "",
		       d->sites[i].alert_active);
	head(out, "epmon_site_degraded", "gauge",
	     "1 while the site passes but is slow against its own history (DEGRADED).");
	for (size_t i = 0; i < d->nsites; i++)
		series(out, d->probe, "epmon_site_degraded", d->sites[i].name, "",
		       d->sites[i].degraded);
	head(out, "epmon_site_in_maintenance", "gauge",
	     "1 while the site is in a maintenance window (tested, raises nothing).");
	for (size_t i = 0; i < d->nsites; i++)
		series(out, d->probe, "epmon_site_in_maintenance", d->sites[i].name, "",
		       d->sites[i].quiet == 1);
	head(out, "epmon_site_muted", "gauge",
	     "1 while the site is muted with epmon mute (tested, raises nothing).");
	for (size_t i = 0; i < d->nsites; i++)
		series(out, d->probe, "epmon_site_muted", d->sites[i].name, "",
		       d->sites[i].quiet == 2);
	head(out, "epmon_last_run_timestamp_seconds", "gauge",
	     "Start of the site's last test, seconds since the Unix epoch.");
	for (size_t i = 0; i < d->nsites; i++) {
		const struct site_result *r = &d->sites[i].last;
		if (d->sites[i].has_last)
			series(out, d->probe, "epmon_last_run_timestamp_seconds", d->sites[i].name,
			       "", (double)r->started.tv_sec + r->started.tv_nsec / 1e9);
	}
	head(out, "epmon_site_availability_ratio", "gauge",
	     "Share of successful tests over the window (from the CSV history "
	     "and the live results).");
	for (size_t i = 0; i < d->nsites; i++) {
		double day = monitor_availability(&d->sites[i], now, MONITOR_DAY_S);
		double week = monitor_availability(&d->sites[i], now, MONITOR_WEEK_S);
		if (!isnan(day))
			series(out, d->probe, "epmon_site_availability_ratio", d->sites[i].name,
			       ",window=\"24h\"", day);
		if (!isnan(week))
			series(out, d->probe, "epmon_site_availability_ratio", d->sites[i].name,
			       ",window=\"7d\"", week);
	}
}

static void write_counters(const struct monitor_data *d, FILE *out)
{
	head(out, "epmon_stale_clients_killed_total", "counter",
	     "Stale VPN client processes stopped around the site's tests.");
	for (size_t i = 0; i < d->nsites; i++)
		series(out, d->probe, "epmon_stale_clients_killed_total", d->sites[i].name, "",
		       (double)d->sites[i].stale_killed);
	head(out, "epmon_resolv_conf_repairs_total", "counter",
	     "Times /etc/resolv.conf was restored around the site's tests.");
	for (size_t i = 0; i < d->nsites; i++)
		series(out, d->probe, "epmon_resolv_conf_repairs_total", d->sites[i].name, "",
		       (double)d->sites[i].resolv_repaired);
}

static void write_login_histogram(const struct monitor_data *d, FILE *out)
{
	char extra[48];

	head(out, "epmon_login_duration_seconds", "histogram",
	     "Time to bring the VPN up, successful logins since epmon started.");
	for (size_t i = 0; i < d->nsites; i++) {
		const struct monitor_site *s = &d->sites[i];
		unsigned long cum = 0;
		if (!s->has_vpn)
			continue;
		for (int b = 0; b < MONITOR_LOGIN_BUCKETS; b++) {
			cum += s->login_hist[b];
			snprintf(extra, sizeof(extra), ",le=\"%g\"", monitor_login_bounds_s[b]);
			series(out, d->probe, "epmon_login_duration_seconds_bucket", s->name, extra,
			       (double)cum);
		}
		series(out, d->probe, "epmon_login_duration_seconds_bucket", s->name,
		       ",le=\"+Inf\"", (double)s->login_count);
		series(out, d->probe, "epmon_login_duration_seconds_sum", s->name, "", s->login_sum_s);
		series(out, d->probe, "epmon_login_duration_seconds_count", s->name, "",
		       (double)s->login_count);
	}
}

static void write_daemon(const struct monitor_data *d, FILE *out)
{
	head(out, "epmon_build_info", "gauge", "Always 1; the version in a label.");
	fputs("epmon_build_info{probe=\"", out);
	metrics_label_value(out, d->probe);
	fputs("\",version=\"", out);
	metrics_label_value(out, d->version);
	fputs("\"} 1\n", out);
	head(out, "epmon_start_time_seconds", "gauge",
	     "When epmon started, seconds since the Unix epoch.");
	series(out, d->probe, "epmon_start_time_seconds", NULL, "", (double)d->started);
	head(out, "epmon_cycles_total", "counter", "Cycles run since epmon started.");
	series(out, d->probe, "epmon_cycles_total", NULL, "", (double)d->cycles);
	if (d->cycles > 0) {
		head(out, "epmon_cycle_duration_seconds", "gauge",
		     "Duration of the last cycle over all sites.");
		series(out, d->probe, "epmon_cycle_duration_seconds", NULL, "", d->last_cycle_s);
	}
	head(out, "epmon_cycle_overruns_total", "counter",
	     "Cycles that took longer than frequency.");
	series(out, d->probe, "epmon_cycle_overruns_total", NULL, "", (double)d->overruns);
	head(out, "epmon_mail_spool_messages", "gauge",
	     "Alert mails in the spool, not yet accepted by the SMTP server.");
	series(out, d->probe, "epmon_mail_spool_messages", NULL, "", (double)d->spooled);
}

void metrics_write(const struct monitor_data *d, time_t now, FILE *out)
{
	write_daemon(d, out);
	write_up(d, out);
	write_steps(d, out);
	write_pings(d, out);
	write_login_phases(d, out);
	write_site_state(d, now, out);
	write_counters(d, out);
	write_login_histogram(d, out);
}
