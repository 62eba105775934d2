/* SPDX-License-Identifier: MIT */
/* The HTML status page (status_page.h): what a person opens without
 * Prometheus or Grafana. Plain HTML and inline SVG, styled inline. */
#include "web/status_page.h"

#include <math.h>
#include <string.h>
#include <unistd.h>

#include "util/utf8.h"

static const char page_style[] =
	"body{font:14px/1.4 system-ui,sans-serif;margin:1.2em;color:#222;background:#fafafa}"
	"h1{font-size:1.4em;margin:0 0 .2em}h2{font-size:1.1em;margin:1.4em 0 .3em}"
	".meta{color:#555;margin:0 0 1em}"
	"table{border-collapse:collapse;background:#fff;min-width:60%}"
	"th,td{padding:.35em .7em;border-bottom:1px solid #ddd;text-align:left;white-space:nowrap}"
	"td.num{text-align:right;font-variant-numeric:tabular-nums}"
	"td.detail{white-space:normal;max-width:32em;color:#444}"
	"a{color:inherit}"
	".badge{display:inline-block;min-width:4.5em;text-align:center;border-radius:3px;"
	"padding:.1em .4em;font-weight:600;color:#fff}"
	".up .badge,.badge.up{background:#1a8f3c}.down .badge,.badge.down{background:#c62828}"
	".unknown .badge,.badge.unknown{background:#888}h2 .badge{font-size:.75em}"
	"tr.down td{background:#fdecea}"
	".alert{color:#c62828;font-weight:600}.note{color:#8a5a00;font-weight:600}"
	"section.site{background:#fff;border:1px solid #ddd;padding:.2em 1em .6em;margin:1em 0;max-width:900px}"
	"svg.chart{width:100%;height:auto;display:block}"
	"svg .grid{stroke:#e3e3e3;stroke-width:1}"
	"svg text{font:11px system-ui,sans-serif;fill:#555}"
	"svg .ylabel{text-anchor:end}svg .xlabel{text-anchor:middle}svg .ptitle{fill:#333}"
	"svg path{fill:none;stroke-width:1.6;stroke-linejoin:round;stroke-linecap:round}"
	"svg path.login{stroke:#1f5fbf}svg path.external{stroke:#2e9e49}"
	"svg path.internal{stroke:#d97706}"
	"svg rect.fail{fill:#e53935;fill-opacity:.28}"
	"svg path.phase{stroke-linecap:butt}"
	"svg .connect{stroke:#a6cee3;fill:#a6cee3}svg .tls{stroke:#b2df8a;fill:#b2df8a}"
	"svg .auth{stroke:#fdbf6f;fill:#fdbf6f}svg .tunnel{stroke:#cab2d6;fill:#cab2d6}";

void status_page_escape(FILE *out, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = strlen(s);

	while (n > 0) {
		size_t len = utf8_seq_len(p, n);
		if (len == 0) {
			fputs("\xef\xbf\xbd", out);
			len = 1;
		} else if (*p == '&') {
			fputs("&amp;", out);
		} else if (*p == '<') {
			fputs("&lt;", out);
		} else if (*p == '>') {
			fputs("&gt;", out);
		} else if (*p == '"') {
			fputs("&quot;", out);
		} else if (*p == '\'') {
			fputs("&#39;", out);
		} else if (*p < 0x20 || *p == 0x7f ||
			   (len == 2 && p[0] == 0xc2 && p[1] < 0xa0)) {
			fputc(' ', out);    /* C0, DEL and C1 (U+0080..U+009F) controls */
		} else {
			fwrite(p, 1, len, out);
		}
		p += len;
		n -= len;
	}
}

enum time_style { DATE_TIME, DATE_TIME_ZONE, TIME_ONLY };

static void local_time(char *buf, size_t len, time_t t, enum time_style style)
{
	struct tm tm;
	size_t n = 0;

	if (t != 0 && localtime_r(&t, &tm)) {
		if (style == DATE_TIME)
			n = strftime(buf, len, "%Y-%m-%d %H:%M:%S", &tm);
		else if (style == DATE_TIME_ZONE)
			n = strftime(buf, len, "%Y-%m-%d %H:%M:%S %z", &tm);
		else
			n = strftime(buf, len, "%H:%M:%S", &tm);
	}
	if (n == 0)
		snprintf(buf, len, "-");
}

/* "up", "down" or "unknown": the class of a site's row and badge. */
static const char *site_class(const struct monitor_site *s)
{
	return !s->has_last ? "unknown" : s->last.ok ? "up" : "down";
}

static void percent(FILE *out, double ratio)
{
	if (isnan(ratio))
		fputs("<td class=\"num\">-</td>", out);
	else
		fprintf(out, "<td class=\"num\">%.2f %%</td>", 100 * ratio);
}

/* Three significant digits at most, no exponent: 0.041, 2.35, 18.2, 241. */
static void ms_cell(FILE *out, int ran, double ms, const char *unit, double div)
{
	double v = ms / div;

	if (ran)
		fprintf(out, "<td class=\"num\">%.*f %s</td>",
			v < 1 ? 3 : v < 10 ? 2 : v < 100 ? 1 : 0, v, unit);
	else
		fputs("<td class=\"num\">-</td>", out);
}

/* The login time; its phases, when known, as the cell's title. */
static void login_cell(FILE *out, const struct monitor_site *s)
{
	const struct site_result *r = &s->last;
	int ran = s->has_last && r->login_ran && r->failed_step != STEP_VPN_LOGIN;
	double v;

	if (!ran || !r->login_phases) {
		ms_cell(out, ran, r->login_ms, "s", 1000);
		return;
	}
	fputs("<td class=\"num\" title=\"", out);
	for (int p = 0, first = 1; p < VPN_PHASES; p++) {
		if (!(r->login_phases & (1u << p)))
			continue;
		fprintf(out, "%s%s %.1f ms", first ? "" : ", ", vpn_phase_name(p),
			r->login_phase_ms[p]);
		first = 0;
	}
	v = r->login_ms / 1000;
	fprintf(out, "\">%.*f s</td>", v < 1 ? 3 : v < 10 ? 2 : v < 100 ? 1 : 0, v);
}

static void site_row(FILE *out, const struct monitor_site *s, time_t now)
{
	const struct site_result *r = &s->last;
	const char *cls = site_class(s);
	char when[32];

	fprintf(out, "<tr class=\"site %s\" id=\"row-", cls);
	status_page_escape(out, s->name);
	fputs("\"><td><a href=\"#site-", out);
	status_page_escape(out, s->name);
	fputs("\">", out);
	status_page_escape(out, s->name);
	fprintf(out, "</a></td><td><span class=\"badge\">%s</span>",
		!s->has_last ? "?" : r->ok ? "UP" : "DOWN");
	if (s->alert_active)
		fputs(" <span class=\"alert\">alerted</span>", out);
	if (s->degraded)
		fputs(" <span class=\"note\">degraded</span>", out);
	if (s->quiet)
		fprintf(out, " <span class=\"note\">%s</span>",
			s->quiet == 1 ? "maintenance" : "muted");
	fputs("</td>", out);
	local_time(when, sizeof(when), s->has_last ? r->started.tv_sec : 0, DATE_TIME);
	fprintf(out, "<td>%s</td>", when);
	login_cell(out, s);
	ms_cell(out, s->has_last && r->external_ran && r->external.received > 0,
		r->external.avg_ms, "ms", 1);
	ms_cell(out, s->has_last && r->internal_ran && r->internal.received > 0,
		r->internal.avg_ms, "ms", 1);
	percent(out, monitor_availability(s, now, MONITOR_DAY_S));
	percent(out, monitor_availability(s, now, MONITOR_WEEK_S));
	fprintf(out, "<td class=\"num\">%d</td><td class=\"detail\">", s->failures);
	if (s->has_last && !r->ok)
		fprintf(out, "%s: ", site_step_name(r->failed_step));
	status_page_escape(out, s->has_last ? r->detail : "no test yet");
	fputs("</td></tr>\n", out);
}

static void header(FILE *out, const struct monitor_data *d, time_t now)
{
	char host[256] = "", when[32], last[32];
	size_t down = 0, up = 0;

	for (size_t i = 0; i < d->nsites; i++) {
		if (d->sites[i].has_last && d->sites[i].last.ok)
			up++;
		else if (d->sites[i].has_last)
			down++;
	}
	if (gethostname(host, sizeof(host) - 1) < 0)
		host[0] = '\0';
	/* reload about once per cycle, but at least every minute */
	fprintf(out, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
		"<meta http-equiv=\"refresh\" content=\"%d\">"
		"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
		"<link rel=\"icon\" href=\"data:,\"><title>epmon ",
		d->frequency_s < 5 ? 5 : d->frequency_s > 60 ? 60 : (int)d->frequency_s);
	status_page_escape(out, host);
	fprintf(out, ": %zu up, %zu down</title><style>%s</style></head>\n<body>"
		"<h1>epmon ", up, down, page_style);
	status_page_escape(out, host);
	local_time(when, sizeof(when), now, DATE_TIME_ZONE);
	local_time(last, sizeof(last), d->last_cycle_at, TIME_ONLY);
	fprintf(out, "</h1><p class=\"meta\">%zu up, %zu down &middot; every %g s &middot; "
		"last cycle %s", up, down, d->frequency_s, last);
	if (d->cycles)
		fprintf(out, " (%.1f s)", d->last_cycle_s);
	fprintf(out, " &middot; %lu cycle%s, %lu overrun%s &middot; %zu mail%s in the "
		"spool &middot; epmon ", d->cycles, d->cycles == 1 ? "" : "s",
		d->overruns, d->overruns == 1 ? "" : "s", d->spooled,
		d->spooled == 1 ? "" : "s");
	status_page_escape(out, d->version);
	fprintf(out, " &middot; page of %s &middot; <a href=\"/metrics\">metrics</a> "
		"&middot; <a href=\"/status\">json</a></p>\n", when);
}

void status_page_write(const struct monitor_data *d, time_t now, FILE *out)
{
	header(out, d, now);
	fputs("<table class=\"sites\"><thead><tr><th>Site</th><th>Status</th>"
	      "<th>Last test</th><th>Login</th><th>External RTT</th>"
	      "<th>Internal RTT</th><th>24 h</th><th>7 d</th><th>Failures</th>"
	      "<th>Detail</th></tr></thead>\n<tbody>\n", out);
	for (size_t i = 0; i < d->nsites; i++)
		site_row(out, &d->sites[i], now);
	fputs("</tbody></table>\n", out);
	for (size_t i = 0; i < d->nsites; i++) {
		const struct monitor_site *s = &d->sites[i];
		fprintf(out, "<section class=\"site %s\" id=\"site-", site_class(s));
		status_page_escape(out, s->name);
		fputs("\"><h2>", out);
		status_page_escape(out, s->name);
		fprintf(out, " <span class=\"badge\">%s</span> <small>last 24 h</small></h2>",
			!s->has_last ? "?" : s->last.ok ? "UP" : "DOWN");
		status_page_chart(s, d->frequency_s, now, out);
		fputs("</section>\n", out);
	}
	fputs("</body></html>\n", out);
}
