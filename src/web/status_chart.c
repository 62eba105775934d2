/* SPDX-License-Identifier: MIT */
/* The 24 h chart of one site on the status page: an inline SVG with a
 * login-time panel (sites with a VPN: the login time as a line over a bar
 * of its phases per login) above an RTT panel, failed periods as red bands
 * across both, like SmokePing but without its density. */
#include "web/status_page.h"

#include <math.h>
#include <string.h>

#define CHART_W 900.0
#define MARGIN_L 58.0
#define MARGIN_R 14.0
#define MARGIN_T 38.0
#define MARGIN_B 22.0
#define PANEL_H 92.0
#define PANEL_GAP 22.0
#define PLOT_W (CHART_W - MARGIN_L - MARGIN_R)

struct panel {
	double top;         /* y of the panel's top edge */
	double max;         /* value at the top edge */
	const char *unit;   /* "s", "ms" */
};

struct chart {
	const struct monitor_site *site;
	FILE *out;
	time_t now;
	double t0;          /* left edge: now - 24 h */
	double gap_s;       /* a longer gap between tests breaks the lines */
	long first, last;   /* minute range */
};

static double x_of(const struct chart *c, double t)
{
	double x = MARGIN_L + (t - c->t0) / MONITOR_DAY_S * PLOT_W;
	return x < MARGIN_L ? MARGIN_L : x > MARGIN_L + PLOT_W ? MARGIN_L + PLOT_W : x;
}

static double y_of(const struct panel *p, double v)
{
	double y = p->top + PANEL_H - v / p->max * PANEL_H;
	return y < p->top ? p->top : y;
}

/* 1, 2, 2.5 or 5 times a power of ten, >= v: axis labels stay round. */
static double nice_ceil(double v)
{
	double e, f;

	if (!(v > 0))
		return 1;
	e = pow(10, floor(log10(v)));
	f = v / e;
	f = f <= 1 ? 1 : f <= 2 ? 2 : f <= 2.5 ? 2.5 : f <= 5 ? 5 : 10;
	return f * e;
}

enum series { LOGIN, EXTERNAL, INTERNAL };

/* Points are drawn per POINT_MIN minutes: 720 a day, about one a pixel,
 * half the bytes of one a minute for sites tested every minute. */
#define POINT_MIN 2

/* The average of one series over the minutes [m, m + POINT_MIN), NAN when
 * they have none; *t is the middle of the minutes that have one. */
static double point_value(const struct chart *c, long m, enum series k, double *t)
{
	double sum = 0, tsum = 0;
	unsigned n = 0, slots = 0;

	for (long i = m; i < m + POINT_MIN && i <= c->last; i++) {
		const struct monitor_slot *s = monitor_slot_at(c->site, i);
		unsigned sn = !s ? 0 : k == LOGIN ? s->login_n : k == EXTERNAL ?
			      s->external_n : s->internal_n;
		if (!sn)
			continue;
		sum += k == LOGIN ? s->login_ms / 1e3 : k == EXTERNAL ? s->external_ms
								      : s->internal_ms;
		n += sn;
		tsum += i * 60.0 + 30;
		slots++;
	}
	if (!n)
		return NAN;
	*t = tsum / slots;
	return sum / n;
}

static double series_max(const struct chart *c, enum series k, int *count)
{
	double max = 0;

	*count = 0;
	for (long m = c->first; m <= c->last; m += POINT_MIN) {
		double t, v = point_value(c, m, k, &t);
		if (isnan(v))
			continue;
		(*count)++;
		if (v > max)
			max = v;
	}
	return max;
}

/* The usual spacing of the site's tests in the window, in seconds: the
 * median gap between minutes with data (the history may have been
 * written with another frequency than the current one). */
static double usual_spacing(const struct chart *c)
{
	unsigned short count[MONITOR_SLOTS + 1];
	long prev = -1, total = 0, seen = 0;

	memset(count, 0, sizeof(count));
	for (long m = c->first; m <= c->last; m++) {
		if (!monitor_slot_at(c->site, m))
			continue;
		if (prev >= 0 && m - prev <= MONITOR_SLOTS) {
			count[m - prev]++;
			total++;
		}
		prev = m;
	}
	for (long gap = 1; gap <= MONITOR_SLOTS; gap++) {
		seen += count[gap];
		if (seen * 2 >= total && total > 0)
			return gap * 60.0;
	}
	return 60;
}

/* The average phases (seconds) of the successful logins in the minutes
 * [m, m + POINT_MIN) that have phases; 0 when none, else 1 with *t the
 * middle of those minutes. */
static int phase_point(const struct chart *c, long m, double v[VPN_PHASES], double *t)
{
	double sum[VPN_PHASES] = { 0 }, tsum = 0;
	unsigned n = 0, slots = 0;

	for (long i = m; i < m + POINT_MIN && i <= c->last; i++) {
		const struct monitor_slot *s = monitor_slot_at(c->site, i);
		if (!s || !s->phases_n)
			continue;
		for (int p = 0; p < VPN_PHASES; p++)
			sum[p] += s->phase_ms[p];
		n += s->phases_n;
		tsum += i * 60.0 + 30;
		slots++;
	}
	if (!n)
		return 0;
	for (int p = 0; p < VPN_PHASES; p++)
		v[p] = sum[p] / n / 1e3;
	*t = tsum / slots;
	return 1;
}

/* cmd, then x and y with one decimal: printf's floating point is most of
 * the page's rendering time, integers are not. */
static void put_point(FILE *out, char cmd, double x, double y)
{
	char buf[48], *p = buf + sizeof(buf);
	long v[2] = { lround(x * 10), lround(y * 10) };

	for (int k = 1; k >= 0; k--) {
		long n = v[k] < 0 ? 0 : v[k];
		*--p = (char)('0' + n % 10);
		*--p = '.';
		n /= 10;
		do {
			*--p = (char)('0' + n % 10);
			n /= 10;
		} while (n > 0);
		if (k == 1)
			*--p = ' ';
	}
	*--p = cmd;
	fwrite(p, 1, (size_t)(buf + sizeof(buf) - p), out);
}

/* One polyline as a path; a gap longer than gap_s starts a new subpath
 * ("h0" makes a lone point visible with round caps). */
static void series_path(const struct chart *c, const struct panel *p,
			enum series k, const char *cls)
{
	double last_t = -1e18;

	fprintf(c->out, "<path class=\"%s\" d=\"", cls);
	for (long m = c->first; m <= c->last; m += POINT_MIN) {
		double t, v = point_value(c, m, k, &t);
		if (isnan(v))
			continue;
		put_point(c->out, t - last_t > c->gap_s ? 'M' : 'L', x_of(c, t), y_of(p, v));
		if (t - last_t > c->gap_s)
			fputs("h0", c->out);
		last_t = t;
	}
	fputs("\"/>", c->out);
}

/* Per login point a stacked bar of its phases, bottom up (connect, tls,
 * auth, tunnel), one path per phase drawn as vertical strokes; the login
 * line above it shows the total (what no phase covers: the gap between). */
static void phase_bars(const struct chart *c, const struct panel *p)
{
	double width = PLOT_W * POINT_MIN * 60 / MONITOR_DAY_S, gap = usual_spacing(c);

	/* as wide as the spacing of the tests allows, and never wider than 6 */
	if (gap / MONITOR_DAY_S * PLOT_W > width)
		width = gap / MONITOR_DAY_S * PLOT_W;
	width = width * 0.8 > 6 ? 6 : width * 0.8;
	for (int k = 0; k < VPN_PHASES; k++) {
		fprintf(c->out, "<path class=\"phase %s\" stroke-width=\"%.1f\" d=\"",
			vpn_phase_name(k), width);
		for (long m = c->first; m <= c->last; m += POINT_MIN) {
			double v[VPN_PHASES], t, below = 0;
			if (!phase_point(c, m, v, &t) || v[k] <= 0)
				continue;
			for (int j = 0; j < k; j++)
				below += v[j];
			put_point(c->out, 'M', x_of(c, t), y_of(p, below));
			fprintf(c->out, "V%.1f", y_of(p, below + v[k]));
		}
		fputs("\"/>", c->out);
	}
}

static int has_phases(const struct chart *c)
{
	for (long m = c->first; m <= c->last; m++) {
		const struct monitor_slot *s = monitor_slot_at(c->site, m);
		if (s && s->phases_n)
			return 1;
	}
	return 0;
}

static void panel_frame(const struct chart *c, const struct panel *p,
			const char *title)
{
	for (int i = 0; i <= 2; i++) {
		double v = p->max * i / 2, y = y_of(p, v);
		fprintf(c->out, "<line class=\"grid\" x1=\"%.0f\" y1=\"%.1f\" x2=\"%.0f\" "
			"y2=\"%.1f\"/><text class=\"ylabel\" x=\"%.0f\" y=\"%.1f\">%g %s"
			"</text>", MARGIN_L, y, MARGIN_L + PLOT_W, y, MARGIN_L - 4, y + 4,
			v, p->unit);
	}
	/* above the panel, clear of its lines */
	fprintf(c->out, "<text class=\"ptitle\" x=\"%.0f\" y=\"%.0f\">%s</text>",
		MARGIN_L, p->top - 6, title);
}

/* Vertical lines and labels every 3 local hours. */
static void time_axis(const struct chart *c, double top, double bottom)
{
	time_t t = (time_t)(ceil(c->t0 / 3600) * 3600);
	struct tm tm;

	for (; t <= c->now; t += 3600) {
		if (!localtime_r(&t, &tm) || tm.tm_hour % 3 != 0 ||
		    x_of(c, (double)t) + 16 > CHART_W)     /* the label would be cut */
			continue;
		fprintf(c->out, "<line class=\"grid\" x1=\"%.1f\" y1=\"%.0f\" x2=\"%.1f\" "
			"y2=\"%.0f\"/><text class=\"xlabel\" x=\"%.1f\" y=\"%.0f\">"
			"%02d:00</text>", x_of(c, (double)t), top, x_of(c, (double)t),
			bottom, x_of(c, (double)t), bottom + 15, tm.tm_hour);
	}
}

static void band(const struct chart *c, double from, double to, unsigned failed,
		 double top, double bottom)
{
	double x1 = x_of(c, from), x2 = x_of(c, to);
	struct tm a, b;
	time_t ta = (time_t)from, tb = (time_t)to;

	if (x2 - x1 < 2)
		x2 = x1 + 2;
	localtime_r(&ta, &a);
	localtime_r(&tb, &b);
	fprintf(c->out, "<rect class=\"fail\" x=\"%.1f\" y=\"%.0f\" width=\"%.1f\" "
		"height=\"%.0f\"><title>%02d:%02d-%02d:%02d: %u failed test%s</title>"
		"</rect>", x1, top, x2 - x1, bottom - top, a.tm_hour, a.tm_min,
		b.tm_hour, b.tm_min, failed, failed == 1 ? "" : "s");
}

/* Failed periods: from a failed test to the next good one (to now while
 * still failing), or to one minute after the last failure when the tests
 * stopped (a gap longer than gap_s). */
static void failure_bands(const struct chart *c, double top, double bottom)
{
	double from = 0, prev = 0, now = (double)c->now;
	unsigned failed = 0;    /* failed tests of the open band; 0: none open */

	for (long m = c->first; m <= c->last; m++) {
		const struct monitor_slot *s = monitor_slot_at(c->site, m);
		double t = m * 60.0;
		if (!s)
			continue;
		if (failed && t - prev > c->gap_s) {
			band(c, from, prev + 60, failed, top, bottom);
			failed = 0;
		}
		if (failed && !s->failures) {
			band(c, from, t, failed, top, bottom);
			failed = 0;
		}
		if (s->failures) {
			if (!failed)
				from = t;
			failed += s->failures;
		}
		prev = t;
	}
	if (failed)
		band(c, from, now - prev <= c->gap_s ? now : prev + 60, failed, top,
		     bottom);
}

static void legend(const struct chart *c, int login, int phases)
{
	static const char *const cls[] = { "login", "external", "internal" };
	static const char *const text[] = { "login time", "external RTT", "internal RTT" };
	double x = MARGIN_L;

	for (int k = login ? 0 : 1; k < 3; k++) {
		if (k == INTERNAL && !c->site->has_internal)
			continue;
		fprintf(c->out, "<path class=\"key %s\" d=\"M%.0f 10h18\"/><text class=\"legend\" "
			"x=\"%.0f\" y=\"14\">%s</text>", cls[k], x, x + 22, text[k]);
		x += 120;
	}
	fprintf(c->out, "<rect class=\"key fail\" x=\"%.0f\" y=\"4\" width=\"12\" height=\"12\"/>"
		"<text class=\"legend\" x=\"%.0f\" y=\"14\">failed</text>", x, x + 16);
	x += 70;
	for (int k = 0; phases && k < VPN_PHASES; k++) {
		fprintf(c->out, "<rect class=\"key %s\" x=\"%.0f\" y=\"4\" width=\"12\" "
			"height=\"12\"/><text class=\"legend\" x=\"%.0f\" y=\"14\">%s</text>",
			vpn_phase_name(k), x, x + 16, vpn_phase_name(k));
		x += 72;
	}
}

void status_page_chart(const struct monitor_site *s, double frequency_s,
		       time_t now, FILE *out)
{
	struct chart c = { .site = s, .out = out, .now = now };
	struct panel login = { .top = MARGIN_T, .unit = "s" };
	struct panel rtt = { .unit = "ms" };
	int nlogin, next, nint, has_login = s->has_vpn, phases;
	double ext_max, int_max, height;

	c.t0 = (double)now - MONITOR_DAY_S;
	c.last = (long)(now / MONITOR_SLOT_S);
	c.first = c.last - MONITOR_SLOTS + 1;
	c.gap_s = 2.5 * (frequency_s > 60 ? frequency_s : 60);
	if (c.gap_s < 2.5 * usual_spacing(&c))
		c.gap_s = 2.5 * usual_spacing(&c);
	login.max = nice_ceil(series_max(&c, LOGIN, &nlogin));
	has_login = has_login || nlogin > 0;
	ext_max = series_max(&c, EXTERNAL, &next);
	int_max = series_max(&c, INTERNAL, &nint);
	rtt.max = nice_ceil(ext_max > int_max ? ext_max : int_max);
	rtt.top = has_login ? login.top + PANEL_H + PANEL_GAP : MARGIN_T;
	height = rtt.top + PANEL_H + MARGIN_B;

	fprintf(out, "<svg class=\"chart\" xmlns=\"http://www.w3.org/2000/svg\" "
		"viewBox=\"0 0 %.0f %.0f\" role=\"img\" aria-label=\"", CHART_W, height);
	status_page_escape(out, s->name);
	fputs(": last 24 h\">", out);
	phases = has_login && has_phases(&c);
	legend(&c, has_login, phases);
	failure_bands(&c, MARGIN_T, rtt.top + PANEL_H);
	time_axis(&c, MARGIN_T, rtt.top + PANEL_H);
	if (has_login) {
		panel_frame(&c, &login, nlogin ? phases ? "VPN login and its phases" : "VPN login"
			    : "VPN login: no successful login");
		if (phases)
			phase_bars(&c, &login);
		if (nlogin)
			series_path(&c, &login, LOGIN, "login");
	}
	panel_frame(&c, &rtt, next || nint ? "ping RTT" : "ping RTT: no reply");
	if (next)
		series_path(&c, &rtt, EXTERNAL, "external");
	if (nint)
		series_path(&c, &rtt, INTERNAL, "internal");
	fputs("</svg>", out);
}
