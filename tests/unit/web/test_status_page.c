/* SPDX-License-Identifier: MIT */
/* The status page and /status JSON from a monitor with known results:
 * one row and one SVG per site with its up/down class, nothing that loads
 * or runs anything, escaping of hostile details, the chart's lines, gaps
 * and failure bands, and the JSON's values and string escaping. (The e2e
 * tests open the page in Chromium and parse the JSON with Python.) */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "vpn/phases.h"
#include "web/monitor.h"
#include "util/json.h"
#include "web/status_json.h"
#include "web/status_page.h"

#define CONFIG \
	"frequency: 300\n" \
	"sites:\n" \
	"  - {name: paris, external_ip: 192.0.2.1, internal_ip: 10.0.0.1}\n" \
	"  - name: lyon\n" \
	"    external_ip: 192.0.2.2\n" \
	"    internal_ip: 10.0.0.2\n" \
	"    vpn: {client: custom, command: /bin/true, login_timeout: 20}\n" \
	"  - {name: idle, external_ip: 192.0.2.3}\n"

#define NOW 1700000000

static struct config *load(void)
{
	struct config_diag d = { 0 };
	struct config *cfg = config_parse("t.yml", CONFIG, strlen(CONFIG), &d);

	assert_non_null(cfg);
	config_diag_free(&d);
	return cfg;
}

static struct site_result result(const char *site, int ok, time_t at)
{
	struct site_result r;

	memset(&r, 0, sizeof(r));
	snprintf(r.site, sizeof(r.site), "%s", site);
	r.started.tv_sec = at;
	r.ok = ok;
	r.failed_step = ok ? STEP_NONE : STEP_VPN_LOGIN;
	r.external_ran = 1;
	r.external = (struct ping_stats){ .sent = 3, .received = 3, .min_ms = 10,
		.avg_ms = 11, .max_ms = 12, .mdev_ms = 1, .median_ms = 10.5 };
	r.login_ran = !strcmp(site, "lyon");
	r.login_ms = 2400;
	if (r.login_ran) {
		r.login_phases = 0xf;
		r.login_phase_ms[VPN_PHASE_CONNECT] = 100;
		r.login_phase_ms[VPN_PHASE_TLS] = 300;
		r.login_phase_ms[VPN_PHASE_AUTH] = 1800;
		r.login_phase_ms[VPN_PHASE_TUNNEL] = 200;
		r.internal_first_replied = ok;
		r.internal_first_ms = 45.5;
	}
	r.internal_ran = ok;
	r.internal = (struct ping_stats){ .sent = 3, .received = 3, .avg_ms = 21 };
	r.teardown_ran = r.login_ran;
	r.teardown_ms = 90;
	return r;
}

/* paris: ok every 5 min for 12 h; lyon: the same with a 30 min outage 3 h
 * ago, failing again now, with a hostile detail. */
static struct monitor *fed_monitor(struct config *cfg)
{
	struct monitor *m = monitor_new(cfg, "1.0", NOW - 43200);
	struct site_result res[2];
	struct cycle_report rep = { .results = res, .nresults = 2, .duration_s = 3 };

	for (time_t t = NOW - 43200; t <= NOW - 60; t += 300) {
		int down = (t >= NOW - 10800 && t < NOW - 9000) || t > NOW - 700;
		res[0] = result("paris", 1, t);
		res[1] = result("lyon", !down, t + 5);
		if (down)
			snprintf(res[1].detail, sizeof(res[1].detail),
				 "<script>alert(\"x\")</script> & bad \xff byte\x01");
		monitor_after_cycle(m, &rep, 0, NULL, 0);
	}
	return m;
}

struct render {
	int json;
	char *text;
	size_t len;
};

static void render_fn(const struct monitor_data *d, void *arg)
{
	struct render *r = arg;
	FILE *out = open_memstream(&r->text, &r->len);

	assert_non_null(out);
	if (r->json)
		status_json_write(d, NOW, out);
	else
		status_page_write(d, NOW, out);
	fclose(out);
}

static char *render(struct monitor *m, int json)
{
	struct render r = { .json = json };

	monitor_read(m, render_fn, &r);
	return r.text;
}

static size_t count(const char *text, const char *part)
{
	size_t n = 0;

	for (const char *p = strstr(text, part); p; p = strstr(p + 1, part))
		n++;
	return n;
}

static void has(const char *text, const char *part)
{
	if (!strstr(text, part)) {
		print_message("missing: %s\n", part);
		fail();
	}
}

static void page_rows_and_charts(void **state)
{
	struct config *cfg = load();
	struct monitor *m = fed_monitor(cfg);
	char *t = render(m, 0);

	has(t, "<!DOCTYPE html>");
	has(t, "<meta http-equiv=\"refresh\" content=\"60\">");
	has(t, "<tr class=\"site up\" id=\"row-paris\">");
	has(t, "<tr class=\"site down\" id=\"row-lyon\">");
	has(t, "<tr class=\"site unknown\" id=\"row-idle\">");
	has(t, "<section class=\"site down\" id=\"site-lyon\">");
	assert_int_equal(count(t, "<svg"), 3);
	assert_int_equal(count(t, "</svg>"), 3);
	assert_int_equal(count(t, "<tr class=\"site "), 3);
	/* nothing that runs or loads: no script, no URL but the SVG namespace */
	assert_int_equal(count(t, "<script"), 0);
	assert_int_equal(count(t, "http://") + count(t, "https://"),
			 count(t, "http://www.w3.org/2000/svg"));
	assert_int_equal(count(t, "src="), 0);
	assert_null(strstr(t, ">maintenance</span>"));
	free(t);
	{
		/* lyon in a maintenance window, idle muted */
		unsigned char quiet[3] = { 0, 1, 2 };
		monitor_set_quiet(m, quiet, 3);
		t = render(m, 0);
		has(t, "<span class=\"note\">maintenance</span>");
		has(t, "<span class=\"note\">muted</span>");
		free(t);
		t = render(m, 1);
		has(t, "\"in_maintenance\":true,\"muted\":false");
		has(t, "\"in_maintenance\":false,\"muted\":true");
		free(t);
		monitor_set_quiet(m, NULL, 0);
		t = render(m, 0);
	}
	/* the hostile detail is text */
	has(t, "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; bad \xef\xbf\xbd byte ");
	has(t, "vpn_login: ");
	/* figures: 24 h availability of paris 100 %, lyon's login time */
	has(t, "<td class=\"num\">100.00 %</td>");
	has(t, "<td class=\"num\">11.0 ms</td>");
	has(t, "no test yet");
	free(t);
	monitor_free(m);
	config_free(cfg);
}

static void chart_lines_and_bands(void **state)
{
	struct config *cfg = load();
	struct monitor *m = fed_monitor(cfg);
	char *t = render(m, 0), *lyon, *idle;

	lyon = strstr(t, "id=\"site-lyon\"");
	idle = strstr(t, "id=\"site-idle\"");
	assert_non_null(lyon);
	assert_non_null(idle);
	/* paris (before lyon): RTT lines only, no failure band */
	assert_int_equal(count(t, "<path class=\"login\" d=\"M") -
			 count(lyon, "<path class=\"login\" d=\"M"), 0);
	assert_true(strstr(t, "<path class=\"external\" d=\"M") < lyon);
	/* lyon: login line; two failure bands: the old outage, and now */
	has(lyon, "<path class=\"login\" d=\"M");
	has(lyon, "<path class=\"internal\" d=\"M");
	assert_int_equal(count(lyon, "<rect class=\"fail\" x=") -
			 count(idle, "<rect class=\"fail\" x="), 2);
	has(lyon, "failed tests</title>");
	/* the lines: one subpath per series for paris's 12 h; lyon's internal
	 * RTT breaks at the outage (internal not measured while down) */
	char *paris_ext = strstr(t, "<path class=\"external\" d=\"M");
	assert_int_equal(count(paris_ext, "h0") - count(lyon, "h0"), 2);
	char *lyon_int = strstr(lyon, "<path class=\"internal\" d=\"M");
	char *end = strstr(lyon_int, "/>");
	size_t subpaths = 0;
	for (char *p = lyon_int; p < end; p++)
		subpaths += *p == 'M';
	assert_int_equal(subpaths, 2);
	/* lyon's logins as stacked bars of their phases, under the login line
	 * (panel 0..2.5 s from y 130 up to 38): connect 0-0.1 s, tls to 0.4,
	 * auth to 2.2, tunnel to 2.4; paris has no login, no bar, no key */
	assert_true(strstr(t, "class=\"phase ") > lyon);
	assert_true(strstr(t, "<rect class=\"key connect\"") > lyon);
	has(lyon, "VPN login and its phases");
	has(lyon, "<rect class=\"key tunnel\"");
	{
		static const char *const bars[] = { "<path class=\"phase connect\"",
			"<path class=\"phase tls\"", "<path class=\"phase auth\"",
			"<path class=\"phase tunnel\"" };
		static const char *const spans[] = { " 130.0V126.3", " 126.3V115.3",
			" 115.3V49.0", " 49.0V41.7" };
		for (int k = 0; k < 4; k++) {
			char *bar = strstr(lyon, bars[k]), *bar_end;
			assert_non_null(bar);
			assert_true(bar < idle);
			bar_end = strstr(bar, "/>");
			*bar_end = '\0';
			has(bar, spans[k]);
			/* one bar per 5-minute login outside the outages, about 140 */
			assert_true(count(bar, "M") > 100);
			*bar_end = '/';
		}
		/* the line is drawn over the bars */
		assert_true(strstr(lyon, "<path class=\"login\"") > strstr(lyon, bars[3]));
	}
	/* idle: no data */
	has(idle, "ping RTT: no reply");
	free(t);
	monitor_free(m);
	config_free(cfg);
}

static void json_values(void **state)
{
	struct config *cfg = load();
	struct monitor *m = fed_monitor(cfg);
	char *t = render(m, 1);

	has(t, "{\"version\":\"1.0\",\"probe\":\"");
	has(t, "\"frequency_s\":300,\"cycle\":{\"count\":144,\"overruns\":0,");
	has(t, "{\"name\":\"paris\",\"state\":\"ok\",\"up\":true,\"consecutive_failures\":0,"
	       "\"alert_active\":false,\"has_vpn\":false,\"availability_24h\":1,");
	has(t, "\"resolv_conf_repairs_total\":0,\"degraded\":false,\"in_maintenance\":false,\"muted\":false,\"vpn\":null,\"last\":{");
	has(t, "{\"name\":\"lyon\",\"state\":\"failing\",\"up\":false,\"consecutive_failures\":2,");
	has(t, "\"vpn\":{\"client\":\"custom\",\"implementation\":\"custom\"},\"last\":{");
	has(t, "\"result\":\"fail\",\"failed_step\":\"vpn_login\",\"detail\":"
	       "\"<script>alert(\\\"x\\\")</script> & bad \\ufffd byte\\u0001\"");
	has(t, "\"external_ping\":{\"sent\":3,\"received\":3,\"loss_pct\":0,\"min_ms\":10,"
	       "\"avg_ms\":11,\"max_ms\":12,\"mdev_ms\":1,\"median_ms\":10.5}");
	/* paris has no vpn: its internal ping has no first echo */
	has(t, "\"internal_ping\":{\"sent\":3,\"received\":3,\"loss_pct\":0,\"min_ms\":0,"
	       "\"avg_ms\":21,\"max_ms\":0,\"mdev_ms\":0,\"median_ms\":0}");
	has(t, "\"vpn_login\":{\"ms\":2400,\"phases\":{\"connect_ms\":100,\"tls_ms\":300,"
	       "\"auth_ms\":1800,\"tunnel_ms\":200}}");
	has(t, "\"vpn_login\":null");
	has(t, "\"internal_ping\":null");
	has(t, "\"teardown\":{\"ms\":90}");
	has(t, "{\"name\":\"idle\",\"state\":\"unknown\",\"up\":null,");
	has(t, "\"availability_24h\":null,\"availability_7d\":null");
	has(t, "\"last\":null}");
	assert_int_equal(t[strlen(t) - 2], '}');
	free(t);
	{
		/* lyon up again: its steady internal ping and the first echo apart */
		struct site_result r = result("lyon", 1, NOW - 1);
		struct cycle_report rep = { .results = &r, .nresults = 1, .duration_s = 1 };
		r.internal = (struct ping_stats){ .sent = 5, .received = 5, .min_ms = 0.4,
			.avg_ms = 0.5, .max_ms = 0.75, .mdev_ms = 0.125, .median_ms = 0.5 };
		monitor_after_cycle(m, &rep, 0, NULL, 0);
		t = render(m, 1);
		has(t, "\"internal_ping\":{\"sent\":5,\"received\":5,\"loss_pct\":0,"
		       "\"min_ms\":0.4,\"avg_ms\":0.5,\"max_ms\":0.75,\"mdev_ms\":0.125,"
		       "\"median_ms\":0.5,\"first_ms\":45.5}");
		free(t);
	}
	monitor_free(m);
	config_free(cfg);
}

static void escapes(void **state)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&buf, &len);

	json_string(out, "a\"\\\n\t\x7f\xc3\xa9\xe2\x82");
	fputc('|', out);
	status_page_escape(out, "'<&>\"\xc3\xa9\n");
	fclose(out);
	assert_string_equal(buf, "\"a\\\"\\\\\\u000a\\u0009\\u007f\xc3\xa9\\ufffd\\ufffd\"|"
			    "&#39;&lt;&amp;&gt;&quot;\xc3\xa9 ");
	free(buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(page_rows_and_charts),
		cmocka_unit_test(chart_lines_and_bands),
		cmocka_unit_test(json_values),
		cmocka_unit_test(escapes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
