/* SPDX-License-Identifier: MIT */
/* /metrics: the exposition text of a monitor fed with known results: every
 * metric of the issue, values, label escaping, histogram buckets, and the
 * format's rule that a metric's series follow its HELP/TYPE together.
 * (The e2e tests run promtool and a real Prometheus over it.) */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "vpn/phases.h"
#include "web/metrics.h"
#include "web/monitor.h"

#define CONFIG \
	"frequency: 60\n" \
	"probe_name: p1\n" \
	"sites:\n" \
	"  - {name: paris, external_ip: 192.0.2.1, internal_ip: 10.0.0.1}\n" \
	"  - name: lyon\n" \
	"    external_ip: 192.0.2.2\n" \
	"    internal_ip: 10.0.0.2\n" \
	"    vpn: {client: custom, command: /bin/true, login_timeout: 20}\n" \
	"  - {name: idle, external_ip: 192.0.2.3}\n"

#define T0 1700000000

static struct config *load(const char *text)
{
	struct config_diag d = { 0 };
	struct config *cfg = config_parse("t.yml", text, strlen(text), &d);

	assert_non_null(cfg);
	config_diag_free(&d);
	return cfg;
}

struct render {
	time_t now;
	char *text;
	size_t len;
};

static void render_fn(const struct monitor_data *d, void *arg)
{
	struct render *r = arg;
	FILE *out = open_memstream(&r->text, &r->len);

	assert_non_null(out);
	metrics_write(d, r->now, out);
	fclose(out);
}

static char *render(struct monitor *m, time_t now)
{
	struct render r = { .now = now };

	monitor_read(m, render_fn, &r);
	return r.text;
}

/* One line of text equal to `line`. */
static void has_line(const char *text, const char *line)
{
	size_t n = strlen(line);

	for (const char *p = text; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
		if (!strncmp(p, line, n) && (p[n] == '\n' || p[n] == '\0'))
			return;
	}
	print_message("missing line: %s\n", line);
	fail();
}

static void lacks(const char *text, const char *part)
{
	if (strstr(text, part)) {
		print_message("unexpected: %s\n", part);
		fail();
	}
}

static struct monitor *fed_monitor(struct config *cfg)
{
	struct monitor *m = monitor_new(cfg, "9.8.7", T0 - 100);
	struct site_result res[2];
	struct cycle_report rep = { .results = res, .nresults = 2, .duration_s = 2.25 };

	memset(res, 0, sizeof(res));
	snprintf(res[0].site, sizeof(res[0].site), "paris");
	res[0].started.tv_sec = T0;
	res[0].started.tv_nsec = 500000000;
	res[0].ok = 1;
	res[0].external_ran = 1;
	res[0].external = (struct ping_stats){ .sent = 4, .received = 3, .loss_pct = 25,
		.min_ms = 10, .avg_ms = 12, .max_ms = 16, .mdev_ms = 2.5 };
	res[0].internal_ran = 1;
	res[0].internal = (struct ping_stats){ .sent = 4, .received = 4, .min_ms = 1,
		.avg_ms = 2, .max_ms = 3, .mdev_ms = 0.5, .median_ms = 1.75 };
	snprintf(res[1].site, sizeof(res[1].site), "lyon");
	res[1].started.tv_sec = T0 + 3;
	res[1].ok = 0;
	res[1].failed_step = STEP_INTERNAL_PING;
	res[1].external_ran = 1;
	res[1].external = (struct ping_stats){ .sent = 4, .received = 4, .avg_ms = 30,
		.min_ms = 29, .max_ms = 31, .mdev_ms = 1 };
	res[1].login_ran = 1;
	res[1].login_ms = 2500;
	/* a client that shows connect, tls and auth: the four phases */
	res[1].login_phases = 0xf;
	res[1].login_phase_ms[VPN_PHASE_CONNECT] = 20;
	res[1].login_phase_ms[VPN_PHASE_TLS] = 80;
	res[1].login_phase_ms[VPN_PHASE_AUTH] = 2300;
	res[1].login_phase_ms[VPN_PHASE_TUNNEL] = 100;
	res[1].internal_first_replied = 1;
	res[1].internal_first_ms = 25;
	res[1].internal_ran = 1;
	res[1].internal = (struct ping_stats){ .sent = 4, .received = 0, .loss_pct = 100 };
	res[1].teardown_ran = 1;
	res[1].teardown_ms = 120;
	res[1].stale_killed = 2;
	res[1].resolv_repaired = 1;
	monitor_after_cycle(m, &rep, 4, NULL, 5);
	return m;
}

static void every_metric(void **state)
{
	struct config *cfg = load(CONFIG);
	struct monitor *m = fed_monitor(cfg);
	char *t = render(m, T0 + 10);

	has_line(t, "epmon_build_info{probe=\"p1\",version=\"9.8.7\"} 1");
	has_line(t, "epmon_start_time_seconds{probe=\"p1\"} 1699999900");
	has_line(t, "epmon_cycles_total{probe=\"p1\"} 1");
	has_line(t, "epmon_cycle_duration_seconds{probe=\"p1\"} 2.25");
	has_line(t, "epmon_cycle_overruns_total{probe=\"p1\"} 4");
	has_line(t, "epmon_mail_spool_messages{probe=\"p1\"} 5");
	has_line(t, "epmon_site_up{probe=\"p1\",site=\"paris\"} 1");
	has_line(t, "epmon_site_up{probe=\"p1\",site=\"lyon\"} 0");
	lacks(t, "epmon_site_up{probe=\"p1\",site=\"idle\"}");       /* not tested yet */
	has_line(t, "epmon_step_success{probe=\"p1\",site=\"paris\",step=\"external_ping\"} 1");
	has_line(t, "epmon_step_success{probe=\"p1\",site=\"paris\",step=\"internal_ping\"} 1");
	lacks(t, "epmon_step_success{probe=\"p1\",site=\"paris\",step=\"vpn_login\"}");
	has_line(t, "epmon_step_success{probe=\"p1\",site=\"lyon\",step=\"vpn_login\"} 1");
	has_line(t, "epmon_step_success{probe=\"p1\",site=\"lyon\",step=\"internal_ping\"} 0");
	has_line(t, "epmon_step_success{probe=\"p1\",site=\"lyon\",step=\"teardown\"} 1");
	has_line(t, "epmon_step_duration_seconds{probe=\"p1\",site=\"paris\",step=\"external_ping\"} 0.012");
	has_line(t, "epmon_step_duration_seconds{probe=\"p1\",site=\"lyon\",step=\"vpn_login\"} 2.5");
	has_line(t, "epmon_step_duration_seconds{probe=\"p1\",site=\"lyon\",step=\"teardown\"} 0.12");
	lacks(t, "epmon_step_duration_seconds{probe=\"p1\",site=\"lyon\",step=\"internal_ping\"}");
	has_line(t, "epmon_ping_loss_ratio{probe=\"p1\",site=\"paris\",target=\"external\"} 0.25");
	has_line(t, "epmon_ping_loss_ratio{probe=\"p1\",site=\"lyon\",target=\"internal\"} 1");
	has_line(t, "epmon_ping_rtt_seconds{probe=\"p1\",site=\"paris\",target=\"external\",stat=\"min\"} 0.01");
	has_line(t, "epmon_ping_rtt_seconds{probe=\"p1\",site=\"paris\",target=\"external\",stat=\"avg\"} 0.012");
	has_line(t, "epmon_ping_rtt_seconds{probe=\"p1\",site=\"paris\",target=\"external\",stat=\"max\"} 0.016");
	has_line(t, "epmon_ping_rtt_seconds{probe=\"p1\",site=\"paris\",target=\"external\",stat=\"mdev\"} 0.0025");
	has_line(t, "epmon_ping_rtt_seconds{probe=\"p1\",site=\"paris\",target=\"internal\",stat=\"avg\"} 0.002");
	has_line(t, "epmon_ping_rtt_seconds{probe=\"p1\",site=\"paris\",target=\"internal\",stat=\"median\"} 0.00175");
	lacks(t, "epmon_ping_rtt_seconds{probe=\"p1\",site=\"lyon\",target=\"internal\"");
	/* where the login went, and the first echo through the new tunnel */
	has_line(t, "# TYPE epmon_login_phase_seconds gauge");
	has_line(t, "epmon_login_phase_seconds{probe=\"p1\",site=\"lyon\",phase=\"connect\"} 0.02");
	has_line(t, "epmon_login_phase_seconds{probe=\"p1\",site=\"lyon\",phase=\"tls\"} 0.08");
	has_line(t, "epmon_login_phase_seconds{probe=\"p1\",site=\"lyon\",phase=\"auth\"} 2.3");
	has_line(t, "epmon_login_phase_seconds{probe=\"p1\",site=\"lyon\",phase=\"tunnel\"} 0.1");
	lacks(t, "epmon_login_phase_seconds{probe=\"p1\",site=\"paris\"");
	has_line(t, "epmon_internal_first_rtt_seconds{probe=\"p1\",site=\"lyon\"} 0.025");
	lacks(t, "epmon_internal_first_rtt_seconds{probe=\"p1\",site=\"paris\"");
	has_line(t, "epmon_consecutive_failures{probe=\"p1\",site=\"paris\"} 0");
	has_line(t, "epmon_consecutive_failures{probe=\"p1\",site=\"lyon\"} 1");
	has_line(t, "epmon_consecutive_failures{probe=\"p1\",site=\"idle\"} 0");
	has_line(t, "epmon_alert_active{probe=\"p1\",site=\"lyon\"} 0");
	has_line(t, "epmon_last_run_timestamp_seconds{probe=\"p1\",site=\"paris\"} 1700000000.5");
	has_line(t, "epmon_last_run_timestamp_seconds{probe=\"p1\",site=\"lyon\"} 1700000003");
	has_line(t, "epmon_site_availability_ratio{probe=\"p1\",site=\"paris\",window=\"24h\"} 1");
	has_line(t, "epmon_site_availability_ratio{probe=\"p1\",site=\"lyon\",window=\"7d\"} 0");
	has_line(t, "epmon_stale_clients_killed_total{probe=\"p1\",site=\"lyon\"} 2");
	has_line(t, "epmon_stale_clients_killed_total{probe=\"p1\",site=\"paris\"} 0");
	has_line(t, "epmon_resolv_conf_repairs_total{probe=\"p1\",site=\"lyon\"} 1");
	/* histogram: only sites with a VPN; cumulative; +Inf = count */
	has_line(t, "# TYPE epmon_login_duration_seconds histogram");
	has_line(t, "epmon_login_duration_seconds_bucket{probe=\"p1\",site=\"lyon\",le=\"2\"} 0");
	has_line(t, "epmon_login_duration_seconds_bucket{probe=\"p1\",site=\"lyon\",le=\"3\"} 1");
	has_line(t, "epmon_login_duration_seconds_bucket{probe=\"p1\",site=\"lyon\",le=\"60\"} 1");
	has_line(t, "epmon_login_duration_seconds_bucket{probe=\"p1\",site=\"lyon\",le=\"+Inf\"} 1");
	has_line(t, "epmon_login_duration_seconds_sum{probe=\"p1\",site=\"lyon\"} 2.5");
	has_line(t, "epmon_login_duration_seconds_count{probe=\"p1\",site=\"lyon\"} 1");
	lacks(t, "epmon_login_duration_seconds_bucket{probe=\"p1\",site=\"paris\"");
	free(t);
	monitor_free(m);
	config_free(cfg);
}

/* Text format: a family's lines are contiguous, after one HELP and TYPE;
 * every sample line is NAME[{...}] VALUE. */
static void families_grouped(void **state)
{
	struct config *cfg = load(CONFIG);
	struct monitor *m = fed_monitor(cfg);
	char *t = render(m, T0 + 10), *save = NULL;
	char seen[64][64], current[64] = "";
	size_t nseen = 0, samples = 0;

	for (char *line = strtok_r(t, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char name[64];
		if (!strncmp(line, "# HELP ", 7)) {
			sscanf(line + 7, "%63s", name);
			for (size_t i = 0; i < nseen; i++)
				assert_string_not_equal(seen[i], name);
			assert_true(nseen < 64);
			snprintf(seen[nseen++], sizeof(seen[0]), "%s", name);
			snprintf(current, sizeof(current), "%s", name);
			continue;
		}
		if (!strncmp(line, "# TYPE ", 7)) {
			sscanf(line + 7, "%63s", name);
			assert_string_equal(name, current);
			continue;
		}
		assert_true(line[0] != '#');
		size_t n = strcspn(line, "{ ");
		assert_true(n < sizeof(name));
		memcpy(name, line, n);
		name[n] = '\0';
		/* histogram series carry suffixes of their family's name */
		assert_int_equal(strncmp(name, current, strlen(current)), 0);
		assert_non_null(strchr(line, ' '));
		samples++;
	}
	print_message("%zu families, %zu samples\n", nseen, samples);
	assert_int_equal(nseen, 23);
	assert_true(samples > 50);
	free(t);
	monitor_free(m);
	config_free(cfg);
}

static void label_escaping(void **state)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&buf, &len);

	metrics_label_value(out, "a\"b\\c\nd");
	fclose(out);
	assert_string_equal(buf, "a\\\"b\\\\c\\nd");
	free(buf);
}

/* Before any cycle: the daemon's metrics, no site samples but the counters. */
static void before_first_cycle(void **state)
{
	struct config *cfg = load(CONFIG);
	struct monitor *m = monitor_new(cfg, "1", T0);
	char *t = render(m, T0);

	has_line(t, "epmon_cycles_total{probe=\"p1\"} 0");
	lacks(t, "epmon_cycle_duration_seconds ");
	lacks(t, "epmon_site_up{");
	has_line(t, "epmon_consecutive_failures{probe=\"p1\",site=\"idle\"} 0");
	has_line(t, "epmon_login_duration_seconds_count{probe=\"p1\",site=\"lyon\"} 0");
	free(t);
	monitor_free(m);
	config_free(cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(every_metric),
		cmocka_unit_test(families_grouped),
		cmocka_unit_test(label_escaping),
		cmocka_unit_test(before_first_cycle),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
