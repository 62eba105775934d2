/* SPDX-License-Identifier: MIT */
/* The in-memory model behind /metrics, /status and the page (monitor.h). */
#include "web/monitor.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/csvread.h"
#include "util/log.h"

const double monitor_login_bounds_s[MONITOR_LOGIN_BUCKETS] = {
	0.5, 1, 2, 3, 5, 7.5, 10, 15, 20, 30, 45, 60,
};

struct monitor {
	pthread_mutex_t lock;
	struct monitor_data data;
};

/* The steps a site has come from its config (they change on reload). */
static void site_config(struct monitor_site *s, const struct site *cfg)
{
	s->has_vpn = cfg->vpn.client != VPN_NONE;
	s->vpn_client = s->has_vpn ? vpn_client_name(cfg->vpn.client) : NULL;
	s->vpn_implementation = s->has_vpn ? vpn_client_implementation(cfg->vpn.client) : NULL;
	s->has_internal = cfg->internal_ip != NULL;
}

static void site_init(struct monitor_site *s, const struct site *cfg)
{
	memset(s, 0, sizeof(*s));
	snprintf(s->name, sizeof(s->name), "%s", cfg->name);
	site_config(s, cfg);
}

struct monitor *monitor_new(const struct config *cfg, const char *version, time_t now)
{
	struct monitor *m = calloc(1, sizeof(*m));

	if (!m)
		return NULL;
	m->data.sites = calloc(cfg->nsites ? cfg->nsites : 1, sizeof(*m->data.sites));
	if (!m->data.sites || pthread_mutex_init(&m->lock, NULL) != 0) {
		free(m->data.sites);
		free(m);
		return NULL;
	}
	snprintf(m->data.version, sizeof(m->data.version), "%s", version);
	snprintf(m->data.probe, sizeof(m->data.probe), "%s",
		 cfg->probe_name ? cfg->probe_name : "epmon");
	m->data.started = now;
	m->data.frequency_s = cfg->frequency_s;
	for (size_t i = 0; i < cfg->nsites; i++)
		site_init(&m->data.sites[i], &cfg->sites[i]);
	m->data.nsites = cfg->nsites;
	return m;
}

void monitor_free(struct monitor *m)
{
	if (!m)
		return;
	pthread_mutex_destroy(&m->lock);
	free(m->data.sites);
	free(m);
}

static struct monitor_site *find_site(struct monitor_data *d, const char *name)
{
	for (size_t i = 0; i < d->nsites; i++)
		if (!strcmp(d->sites[i].name, name))
			return &d->sites[i];
	return NULL;
}

/* Counts saturate instead of wrapping: a slot holds one minute of tests. */
static void inc(unsigned short *v)
{
	if (*v < 65535)
		(*v)++;
}

static void add_to_slot(struct monitor_site *s, const struct site_result *r,
			time_t at)
{
	long minute = (long)(at / MONITOR_SLOT_S);
	struct monitor_slot *slot = &s->slots[minute % MONITOR_SLOTS];

	if (slot->minute != minute) {
		memset(slot, 0, sizeof(*slot));
		slot->minute = minute;
	}
	inc(&slot->tests);
	if (!r->ok)
		inc(&slot->failures);
	if (r->login_ran && r->failed_step != STEP_VPN_LOGIN) {
		inc(&slot->login_n);
		slot->login_ms += (float)r->login_ms;
		if (r->login_phases) {
			inc(&slot->phases_n);
			for (int p = 0; p < VPN_PHASES; p++)
				if (r->login_phases & (1u << p))
					slot->phase_ms[p] += (float)r->login_phase_ms[p];
		}
	}
	if (r->external_ran && r->external.received > 0) {
		inc(&slot->external_n);
		slot->external_ms += (float)r->external.avg_ms;
	}
	if (r->internal_ran && r->internal.received > 0) {
		inc(&slot->internal_n);
		slot->internal_ms += (float)r->internal.avg_ms;
	}
}

static void add_to_hour(struct monitor_site *s, const struct site_result *r,
			time_t at)
{
	long hour = (long)(at / 3600);
	struct monitor_hour *h = &s->hours[hour % MONITOR_HOURS];

	if (h->hour != hour) {
		memset(h, 0, sizeof(*h));
		h->hour = hour;
	}
	h->tests++;
	if (!r->ok)
		h->failures++;
}

static void add_login(struct monitor_site *s, double login_ms)
{
	double sec = login_ms / 1000.0;
	size_t b = 0;

	while (b < MONITOR_LOGIN_BUCKETS && sec > monitor_login_bounds_s[b])
		b++;
	s->login_hist[b]++;
	s->login_count++;
	s->login_sum_s += sec;
}

/* One site test, live or (from_csv) read back from the results CSV. */
static void add_result(struct monitor_site *s, const struct site_result *r,
		       int from_csv)
{
	time_t at = r->started.tv_sec;

	add_to_slot(s, r, at);
	add_to_hour(s, r, at);
	if (!s->has_last || at >= s->last.started.tv_sec) {
		s->last = *r;
		s->has_last = 1;
		s->last_from_csv = from_csv;
	}
	if (from_csv)
		return;     /* counters and the histogram count since start */
	if (r->login_ran && r->failed_step != STEP_VPN_LOGIN)
		add_login(s, r->login_ms);
	s->stale_killed += r->stale_killed > 0 ? (unsigned long)r->stale_killed : 0;
	s->resolv_repaired += r->resolv_repaired > 0 ? (unsigned long)r->resolv_repaired : 0;
}

/* A CSV row as a site result: only what the CSV holds (avg RTT, loss, the
 * first echo, the login phases). */
static void result_from_csv(const struct csv_record *rec, struct site_result *r)
{
	memset(r, 0, sizeof(*r));
	snprintf(r->site, sizeof(r->site), "%s", rec->site);
	r->started.tv_sec = rec->ts;
	r->started.tv_nsec = (long)rec->ts_ms * 1000000L;
	r->ok = rec->ok;
	r->failed_step = rec->ok ? STEP_NONE : rec->failed_step;
	r->external_ran = !isnan(rec->external_loss_pct);
	r->external.loss_pct = r->external_ran ? rec->external_loss_pct : 0;
	if (!isnan(rec->external_rtt_ms)) {
		r->external.received = 1;
		r->external.avg_ms = rec->external_rtt_ms;
	}
	r->internal_ran = !isnan(rec->internal_loss_pct);
	r->internal.loss_pct = r->internal_ran ? rec->internal_loss_pct : 0;
	if (!isnan(rec->internal_rtt_ms)) {
		r->internal.received = 1;
		r->internal.avg_ms = rec->internal_rtt_ms;
	}
	r->login_ran = !isnan(rec->login_ms);
	r->login_ms = r->login_ran ? rec->login_ms : 0;
	for (int p = 0; p < VPN_PHASES; p++) {
		if (isnan(rec->login_phase_ms[p]))
			continue;
		r->login_phases |= 1u << p;
		r->login_phase_ms[p] = rec->login_phase_ms[p];
	}
	r->internal_first_replied = !isnan(rec->internal_first_ms);
	r->internal_first_ms = r->internal_first_replied ? rec->internal_first_ms : 0;
	r->teardown_ran = !isnan(rec->teardown_ms);
	r->teardown_ms = r->teardown_ran ? rec->teardown_ms : 0;
	snprintf(r->detail, sizeof(r->detail), "%s", rec->detail);
}

struct history_load {
	struct monitor_data *data;
	size_t rows, bad;
};

static int history_row(const struct csv_record *rec, void *arg)
{
	struct history_load *h = arg;
	struct monitor_site *s = find_site(h->data, rec->site);
	struct site_result r;

	if (s) {
		result_from_csv(rec, &r);
		add_result(s, &r, 1);
		h->rows++;
	}
	return 0;
}

static void history_bad(const char *path, unsigned long line, const char *why,
			void *arg)
{
	struct history_load *h = arg;

	if (h->bad++ < 5)
		log_warn(NULL, "history: %s:%lu: %s; line skipped", path, line, why);
}

long monitor_load_history(struct monitor *m, const char *dir, time_t now)
{
	struct history_load h = { .data = &m->data };
	int rc, err;

	pthread_mutex_lock(&m->lock);
	rc = csv_scan(dir, now - MONITOR_WEEK_S, now, history_row, history_bad, &h);
	err = errno;
	m->data.history_rows = h.rows;
	m->data.history_bad = h.bad;
	m->data.generation++;
	pthread_mutex_unlock(&m->lock);
	if (h.bad > 5)
		log_warn(NULL, "history: %zu damaged line(s) skipped in %s", h.bad, dir);
	if (rc < 0) {
		errno = err;    /* the caller says why */
		return -1;
	}
	return (long)h.rows;
}

static void update_alerts(struct monitor_data *d, const struct alert_state *alerts)
{
	for (size_t i = 0; alerts && i < d->nsites; i++) {
		struct monitor_site *s = &d->sites[i];
		const struct alert_site *a = alert_find(alerts, s->name);

		s->alert_status = a ? a->status : ALERT_OK;
		s->failures = a ? a->failures : 0;
		s->alert_active = a && a->status == ALERT_ALERTED;
		s->degraded = a && a->degraded;
	}
}

void monitor_after_cycle(struct monitor *m, const struct cycle_report *rep,
			 unsigned long overruns, const struct alert_state *alerts,
			 size_t spooled)
{
	struct monitor_data *d = &m->data;

	pthread_mutex_lock(&m->lock);
	for (size_t i = 0; rep && i < rep->nresults; i++) {
		const struct site_result *r = &rep->results[i];
		struct monitor_site *s = find_site(d, r->site);

		if (!s)
			continue;
		add_result(s, r, 0);
		if (!alerts) {
			s->failures = r->ok ? 0 : s->failures + 1;
			s->alert_status = r->ok ? ALERT_OK : ALERT_FAILING;
		}
	}
	if (rep) {
		d->cycles++;
		d->last_cycle_s = rep->duration_s;
		if (rep->nresults > 0)
			d->last_cycle_at = rep->results[0].started.tv_sec;
	}
	d->overruns = overruns;
	d->spooled = spooled;
	d->generation++;
	update_alerts(d, alerts);
	pthread_mutex_unlock(&m->lock);
}

void monitor_set_quiet(struct monitor *m, const unsigned char *quiet, size_t n)
{
	pthread_mutex_lock(&m->lock);
	for (size_t i = 0; i < m->data.nsites; i++)
		m->data.sites[i].quiet = quiet && i < n ? quiet[i] : 0;
	pthread_mutex_unlock(&m->lock);
}

int monitor_reload(struct monitor *m, const struct config *cfg)
{
	struct monitor_site *fresh = calloc(cfg->nsites ? cfg->nsites : 1, sizeof(*fresh));

	if (!fresh)
		return -1;
	pthread_mutex_lock(&m->lock);
	for (size_t i = 0; i < cfg->nsites; i++) {
		struct monitor_site *old = find_site(&m->data, cfg->sites[i].name);
		if (old) {
			fresh[i] = *old;
			site_config(&fresh[i], &cfg->sites[i]);
		} else {
			site_init(&fresh[i], &cfg->sites[i]);
		}
	}
	free(m->data.sites);
	m->data.sites = fresh;
	m->data.nsites = cfg->nsites;
	m->data.frequency_s = cfg->frequency_s;
	snprintf(m->data.probe, sizeof(m->data.probe), "%s",
		 cfg->probe_name ? cfg->probe_name : "epmon");
	m->data.generation++;
	pthread_mutex_unlock(&m->lock);
	return 0;
}

void monitor_read(struct monitor *m,
		  void (*fn)(const struct monitor_data *d, void *arg), void *arg)
{
	pthread_mutex_lock(&m->lock);
	fn(&m->data, arg);
	pthread_mutex_unlock(&m->lock);
}

struct monitor_data *monitor_snapshot(struct monitor *m)
{
	struct monitor_data *d = malloc(sizeof(*d));
	struct monitor_site *sites;

	if (!d)
		return NULL;
	pthread_mutex_lock(&m->lock);
	sites = malloc((m->data.nsites ? m->data.nsites : 1) * sizeof(*sites));
	if (sites) {
		*d = m->data;
		memcpy(sites, m->data.sites, m->data.nsites * sizeof(*sites));
		d->sites = sites;
	}
	pthread_mutex_unlock(&m->lock);
	if (!sites) {
		free(d);
		return NULL;
	}
	return d;
}

void monitor_snapshot_free(struct monitor_data *d)
{
	if (d) {
		free(d->sites);
		free(d);
	}
}

unsigned long monitor_generation(struct monitor *m)
{
	unsigned long g;

	pthread_mutex_lock(&m->lock);
	g = m->data.generation;
	pthread_mutex_unlock(&m->lock);
	return g;
}

const struct monitor_slot *monitor_slot_at(const struct monitor_site *s, long minute)
{
	const struct monitor_slot *slot;

	if (minute < 0)
		return NULL;
	slot = &s->slots[minute % MONITOR_SLOTS];
	return slot->minute == minute && slot->tests > 0 ? slot : NULL;
}

double monitor_availability(const struct monitor_site *s, time_t now,
			    double window_s)
{
	unsigned long tests = 0, failures = 0;

	if (window_s <= MONITOR_DAY_S) {
		long last = (long)(now / MONITOR_SLOT_S);
		long first = (long)((now - (time_t)window_s) / MONITOR_SLOT_S) + 1;
		for (long mnt = first; mnt <= last; mnt++) {
			const struct monitor_slot *slot = monitor_slot_at(s, mnt);
			if (slot) {
				tests += slot->tests;
				failures += slot->failures;
			}
		}
	} else {
		long last = (long)(now / 3600);
		long first = (long)((now - (time_t)window_s) / 3600) + 1;
		for (long hr = first; hr <= last; hr++) {
			const struct monitor_hour *h = &s->hours[hr % MONITOR_HOURS];
			if (hr >= 0 && h->hour == hr) {
				tests += h->tests;
				failures += h->failures;
			}
		}
	}
	return tests ? (double)(tests - failures) / (double)tests : NAN;
}
