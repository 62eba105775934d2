/* SPDX-License-Identifier: MIT */
/* Alertmanager documents and delivery (see alertmanager.h). */
#include "alert/alertmanager.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alert/http_post.h"
#include "util/json.h"

/* endsAt of a firing alert: a few cycles ahead, as Prometheus does. */
static double ends_ahead_s(const struct config *cfg)
{
	double s = 4 * cfg->frequency_s;

	return s < 180 ? 180 : s;
}

static void label(FILE *f, const char *name, const char *value)
{
	fputc(',', f);
	json_string(f, name);
	fputc(':', f);
	json_string(f, value);
}

static const struct alert_sample *last_sample(const struct alert_site *s)
{
	return s->nhistory ? &s->history[s->nhistory - 1] : NULL;
}

/* What one alert says besides its site and times. */
struct am_alert {
	const char *name;       /* alertname */
	const char *severity;
	const char *step;       /* failed_step label; NULL: none */
	const char *summary;
	const char *detail;     /* may be empty */
};

/* One alert of site s, firing from starts until ends. */
static void one(FILE *f, const struct config *cfg, const struct alert_site *s,
		const struct am_alert *al, time_t starts, time_t ends, int first)
{
	const struct site *site = config_find_site(cfg, s->name);

	fputs(first ? "{\"labels\":{\"alertname\":" : ",{\"labels\":{\"alertname\":", f);
	json_string(f, al->name);
	label(f, "site", s->name);
	label(f, "probe", cfg->probe_name);
	if (al->step)
		label(f, "failed_step", al->step);
	label(f, "severity", al->severity);
	for (size_t i = 0; i < cfg->alerting.nam_labels; i++)
		label(f, cfg->alerting.am_labels[i].name, cfg->alerting.am_labels[i].value);
	fputs("},\"annotations\":{\"summary\":", f);
	json_string(f, al->summary);
	if (al->detail[0]) {
		fputs(",\"detail\":", f);
		json_string(f, al->detail);
	}
	if (site && site->vpn.client != VPN_NONE && site->vpn.gateway) {
		fputs(",\"gateway\":", f);
		json_string(f, site->vpn.gateway);
	}
	fputs("},\"startsAt\":", f);
	json_time_utc(f, starts);
	fputs(",\"endsAt\":", f);
	json_time_utc(f, ends);
	fputc('}', f);
}

/* The site's alerts (down, degraded), firing or recently resolved; the
 * number written. */
static size_t site_alerts(FILE *f, const struct config *cfg, const struct alert_site *s,
			  time_t now, size_t n)
{
	const struct alert_sample *x = last_sample(s);
	const char *step = s->down_step ? site_step_name(s->down_step) : "test";
	char down[256], slow[320];
	struct am_alert d = { "EpmonSiteDown", "critical", step, down, x ? x->detail : "" };
	struct am_alert g = { "EpmonSiteDegraded", "warning", NULL, slow, "" };
	time_t ahead = now + (time_t)ends_ahead_s(cfg);
	size_t before = n;

	snprintf(down, sizeof(down), "%s is down from probe %s: %s failed", s->name,
		 cfg->probe_name, step);
	snprintf(slow, sizeof(slow), "%s is slow from probe %s: %s", s->name,
		 cfg->probe_name, s->degraded_figures);
	if (s->status == ALERT_ALERTED)
		one(f, cfg, s, &d, s->alerted_at, ahead, n++ == 0);
	else if (s->resolved_at && difftime(now, s->resolved_at) < ALERTMANAGER_RESOLVED_S)
		one(f, cfg, s, &d, s->resolved_started_at, s->resolved_at, n++ == 0);
	if (s->degraded)
		one(f, cfg, s, &g, s->degraded_at, ahead, n++ == 0);
	else if (s->undegraded_at && difftime(now, s->undegraded_at) < ALERTMANAGER_RESOLVED_S)
		one(f, cfg, s, &g, s->undegraded_started_at, s->undegraded_at, n++ == 0);
	return n - before;
}

char *alertmanager_compose(const struct alert_state *st, const struct config *cfg,
			   time_t now, size_t *len)
{
	char *text = NULL;
	size_t n = 0;
	FILE *f;

	*len = 0;
	if (!(f = open_memstream(&text, len))) {
		*len = 1;
		return NULL;
	}
	fputc('[', f);
	for (size_t i = 0; i < alert_count(st); i++) {
		const struct alert_site *s = alert_at(st, i);

		if (config_find_site(cfg, s->name))
			n += site_alerts(f, cfg, s, now, n);
	}
	fputs("]\n", f);
	if (fclose(f) != 0) {
		free(text);
		*len = 1;
		return NULL;
	}
	if (n == 0) {
		free(text);
		*len = 0;
		return NULL;
	}
	return text;
}

static void am_release(void *settings)
{
	struct am_channel *c = settings;

	for (size_t i = 0; i < c->nurls; i++)
		free(c->urls[i]);
	free(c->urls);
	free(c);
}

/* A struct am_channel into a new one (the sender copies its copy again). */
static void *am_copy(const void *settings)
{
	const struct am_channel *a = settings;
	struct am_channel *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->timeout_s = a->timeout_s;
	if (!(c->urls = calloc(a->nurls + 1, sizeof(char *)))) {
		free(c);
		return NULL;
	}
	for (; c->nurls < a->nurls; c->nurls++) {
		if (!(c->urls[c->nurls] = strdup(a->urls[c->nurls]))) {
			am_release(c);
			return NULL;
		}
	}
	return c;
}

/* POST to each url in turn until one takes it. */
static void am_send(const void *settings, const char *msg, size_t len,
		    const atomic_int *stop, struct delivery_outcome *out)
{
	const struct am_channel *c = settings;
	const char *headers[] = { "Content-Type: application/json",
		"User-Agent: epmon/" EPMON_VERSION, NULL };
	char errors[sizeof(out->error)] = "";

	memset(out, 0, sizeof(*out));
	out->status = DELIVERY_RETRY;
	for (size_t i = 0; i < c->nurls; i++) {
		char url[2048];
		size_t n = strlen(c->urls[i]);

		snprintf(url, sizeof(url), "%s%s", c->urls[i],
			 n && c->urls[i][n - 1] == '/' ? "api/v2/alerts" : "/api/v2/alerts");
		http_post(url, headers, msg, len, c->timeout_s, stop, out);
		if (out->status == DELIVERED || out->status == DELIVERY_ABORTED)
			return;
		size_t used = strlen(errors);
		if (used + 3 < sizeof(errors))
			snprintf(errors + used, sizeof(errors) - used, "%s%.*s",
				 used ? "; " : "", (int)(sizeof(errors) - used - 3), out->error);
	}
	snprintf(out->error, sizeof(out->error), "%s", errors);
}

const struct sender_ops alertmanager_sender_ops = {
	.noun = "Alertmanager document",
	.quiet = 1,
	.copy = am_copy,
	.release = am_release,
	.send = am_send,
};
