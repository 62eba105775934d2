/* SPDX-License-Identifier: MIT */
/* Slow against its own history (see degraded.h). */
#include "alert/degraded.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/csvread.h"
#include "alert/mail.h"

struct sample {
	time_t at;
	float login_ms;         /* NAN: none */
	float rtt_ms;           /* internal RTT avg; NAN: none */
};

struct series {
	char site[64];
	struct sample *v;       /* oldest first */
	size_t n, cap;
};

struct degraded {
	struct series *s;
	size_t n, cap;
};

struct degraded *degraded_new(void)
{
	return calloc(1, sizeof(struct degraded));
}

void degraded_free(struct degraded *d)
{
	if (!d)
		return;
	for (size_t i = 0; i < d->n; i++)
		free(d->s[i].v);
	free(d->s);
	free(d);
}

static struct series *find(const struct degraded *d, const char *site)
{
	for (size_t i = 0; i < d->n; i++)
		if (!strcmp(d->s[i].site, site))
			return &d->s[i];
	return NULL;
}

static struct series *get(struct degraded *d, const char *site)
{
	struct series *s = find(d, site);

	if (s)
		return s;
	if (d->n == d->cap) {
		size_t cap = d->cap ? d->cap * 2 : 16;
		struct series *grown = realloc(d->s, cap * sizeof(*grown));
		if (!grown)
			return NULL;
		d->s = grown;
		d->cap = cap;
	}
	s = &d->s[d->n++];
	memset(s, 0, sizeof(*s));
	snprintf(s->site, sizeof(s->site), "%s", site);
	return s;
}

/* Appends (times only grow: an older sample is dropped) and forgets what is
 * older than keep_s before it. */
static int push(struct series *s, time_t at, double login, double rtt, double keep_s)
{
	size_t drop = 0;

	if (s->n && at < s->v[s->n - 1].at)
		return 0;
	while (drop < s->n && difftime(at, s->v[drop].at) > keep_s)
		drop++;
	if (drop) {
		memmove(s->v, s->v + drop, (s->n - drop) * sizeof(*s->v));
		s->n -= drop;
	}
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 64;
		struct sample *grown = realloc(s->v, cap * sizeof(*grown));
		if (!grown)
			return -1;
		s->v = grown;
		s->cap = cap;
	}
	s->v[s->n].at = at;
	s->v[s->n].login_ms = (float)login;
	s->v[s->n].rtt_ms = (float)rtt;
	s->n++;
	return 0;
}

struct load {
	struct degraded *d;
	double keep_s;
	long rows;
};

static int load_row(const struct csv_record *rec, void *arg)
{
	struct load *l = arg;
	struct series *s;

	if (!rec->ok)
		return 0;
	if (!(s = get(l->d, rec->site)) ||
	    push(s, rec->ts, rec->login_ms, rec->internal_rtt_ms, l->keep_s) < 0)
		return 1;
	l->rows++;
	return 0;
}

long degraded_load(struct degraded *d, const struct alerting_settings *a,
		   const char *dir, time_t now)
{
	struct load l = { .d = d, .keep_s = a->baseline_s };

	if (csv_scan(dir, now - (time_t)a->baseline_s, now, load_row, NULL, &l) < 0)
		return -1;
	return l.rows;
}

int degraded_add(struct degraded *d, const struct alerting_settings *a,
		 const struct site_result *r)
{
	struct series *s;

	if (!r->ok)
		return 0;
	if (!(s = get(d, r->site)))
		return -1;
	return push(s, r->started.tv_sec, r->login_ran ? r->login_ms : NAN,
		    r->internal_ran && r->internal.received ? r->internal.avg_ms : NAN,
		    a->baseline_s);
}

static int by_value(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* The q-quantile (nearest rank) of v[0..n), sorted in place. */
static double quantile(double *v, size_t n, double q)
{
	size_t k;

	qsort(v, n, sizeof(*v), by_value);
	k = (size_t)ceil(q * (double)n);
	return v[k ? k - 1 : 0];
}

/* One measure: the window's and the baseline's quantile q; -1 when too few. */
static int measure(const struct series *s, const struct alerting_settings *a, time_t now,
		   int rtt, double q, double *win, double *base)
{
	double *w = malloc((s->n + 1) * sizeof(double)), *b = malloc((s->n + 1) * sizeof(double));
	size_t nw = 0, nb = 0;
	time_t cut = now - (time_t)a->window_s;
	int rc = -1;

	if (!w || !b)
		goto out;
	for (size_t i = 0; i < s->n; i++) {
		double v = rtt ? s->v[i].rtt_ms : s->v[i].login_ms;
		if (isnan(v))
			continue;
		if (s->v[i].at >= cut)
			w[nw++] = v;
		else if (difftime(now, s->v[i].at) <= a->baseline_s)
			b[nb++] = v;
	}
	if (nw >= (size_t)a->min_samples && nb >= 10 * (size_t)a->min_samples) {
		*win = quantile(w, nw, q);
		*base = quantile(b, nb, q);
		rc = 0;
	}
out:
	free(w);
	free(b);
	return rc;
}

static void ms_text(double ms, char *buf, size_t len)
{
	if (ms >= 1000)
		snprintf(buf, len, "%.1f s", ms / 1000);
	else
		snprintf(buf, len, "%.1f ms", ms);
}

int degraded_judge(const struct degraded *d, const struct alerting_settings *a,
		   const char *site, time_t now, char *figures, size_t len)
{
	const struct series *s = find(d, site);
	double lw, lb, rw, rb;
	int has_login, has_rtt, slow_login = 0, slow_rtt = 0;
	char win[32], x[32], y[32];

	figures[0] = '\0';
	if (!s)
		return -1;
	has_login = a->login_factor > 0 && measure(s, a, now, 0, 0.95, &lw, &lb) == 0;
	has_rtt = a->rtt_factor > 0 && measure(s, a, now, 1, 0.5, &rw, &rb) == 0;
	if (!has_login && !has_rtt)
		return -1;
	slow_login = has_login && lw > a->login_factor * lb && lw - lb >= a->login_floor_ms;
	slow_rtt = has_rtt && rw > a->rtt_factor * rb && rw - rb >= a->rtt_floor_ms;
	mail_duration(a->window_s, win, sizeof(win));
	if (has_login && (slow_login || !slow_rtt)) {
		ms_text(lw, x, sizeof(x));
		ms_text(lb, y, sizeof(y));
		snprintf(figures, len, "login p95 %s over the last %s, baseline %s", x, win, y);
	}
	if (has_rtt && (slow_rtt || !has_login)) {
		size_t used = strlen(figures);
		ms_text(rw, x, sizeof(x));
		ms_text(rb, y, sizeof(y));
		snprintf(figures + used, len - used, "%sinternal RTT median %s over the last "
			 "%s, baseline %s", used ? "; " : "", x, win, y);
	}
	return slow_login || slow_rtt;
}
