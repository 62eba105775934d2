/* SPDX-License-Identifier: MIT */
/* The math of `epmon report`: rows in, per-site figures out. */
#include "report/report.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* ---- percentiles ---- */

static void swap_f(float *a, float *b)
{
	float t = *a;

	*a = *b;
	*b = t;
}

/* The k-th smallest of v[0..n) (0-based), partitioning in place around a
 * median-of-three pivot (Hoare) and going on in the side that holds k.
 * Runs of equal values split evenly, so constant data stays linear. */
static float select_kth(float *v, long n, long k)
{
	long lo = 0, hi = n - 1;

	while (lo < hi) {
		long mid = lo + (hi - lo) / 2, i = lo, j = hi;
		float pivot;

		if (v[mid] < v[lo])
			swap_f(&v[mid], &v[lo]);
		if (v[hi] < v[lo])
			swap_f(&v[hi], &v[lo]);
		if (v[hi] < v[mid])
			swap_f(&v[hi], &v[mid]);
		pivot = v[mid];
		while (i <= j) {
			while (v[i] < pivot)
				i++;
			while (v[j] > pivot)
				j--;
			if (i <= j) {
				swap_f(&v[i], &v[j]);
				i++;
				j--;
			}
		}
		/* now v[lo..j] <= pivot <= v[i..hi], and anything between equals pivot */
		if (k <= j)
			hi = j;
		else if (k >= i)
			lo = i;
		else
			return v[k];
	}
	return v[k];
}

double report_percentile(float *v, size_t n, double p)
{
	double rank;
	size_t k;

	if (n == 0)
		return NAN;
	rank = ceil(p / 100.0 * (double)n);
	k = rank < 1 ? 0 : (size_t)rank - 1;
	if (k >= n)
		k = n - 1;
	return select_kth(v, (long)n, (long)k);
}

static void values_stats(struct report_values *v, struct report_stats *out)
{
	float max;

	out->n = v->n;
	if (v->n == 0) {
		out->p50 = out->p95 = out->max = NAN;
		return;
	}
	max = v->v[0];
	for (size_t i = 1; i < v->n; i++)
		if (v->v[i] > max)
			max = v->v[i];
	out->max = max;
	/* p95 first: selecting it leaves the lower 95 % in front, a good start for p50 */
	out->p95 = report_percentile(v->v, v->n, 95);
	out->p50 = report_percentile(v->v, v->n, 50);
}

static int values_add(struct report_values *v, double x)
{
	if (isnan(x))
		return 0;
	if (v->n == v->cap) {
		size_t cap = v->cap ? v->cap * 2 : 1024;
		float *bigger = realloc(v->v, cap * sizeof(float));
		if (!bigger)
			return -1;
		v->v = bigger;
		v->cap = cap;
	}
	v->v[v->n++] = (float)x;
	return 0;
}

/* ---- sites ---- */

static uint64_t name_hash(const char *s)
{
	uint64_t h = 1469598103934665603ull; /* FNV-1a */

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h;
}

/* The slot of `name`: where its index is, or the empty slot it would take. */
static size_t find_slot(const struct report *r, const char *name)
{
	size_t mask = r->nslots - 1, i = (size_t)name_hash(name) & mask;

	while (r->slots[i] && strcmp(r->sites[r->slots[i] - 1].name, name) != 0)
		i = (i + 1) & mask;
	return i;
}

/* Rehashes into twice the slots: the table stays at most half full. */
static int grow_slots(struct report *r)
{
	size_t *old = r->slots, nold = r->nslots;

	r->nslots = nold ? nold * 2 : 64;
	r->slots = calloc(r->nslots, sizeof(size_t));
	if (!r->slots) {
		r->slots = old;
		r->nslots = nold;
		return -1;
	}
	for (size_t i = 0; i < nold; i++)
		if (old[i])
			r->slots[find_slot(r, r->sites[old[i] - 1].name)] = old[i];
	free(old);
	return 0;
}

/* The site named `name`, added when new; NULL when out of memory. */
static struct report_site *add_site(struct report *r, const char *name)
{
	struct report_site *s;
	size_t slot;

	if ((r->nsites + 1) * 2 > r->nslots && grow_slots(r) < 0)
		return NULL;
	slot = find_slot(r, name);
	if (r->slots[slot])
		return &r->sites[r->slots[slot] - 1];
	if (r->nsites == r->site_cap) {
		size_t cap = r->site_cap ? r->site_cap * 2 : 16;
		struct report_site *bigger = realloc(r->sites, cap * sizeof(*bigger));
		if (!bigger)
			return NULL;
		r->sites = bigger;
		r->site_cap = cap;
	}
	s = &r->sites[r->nsites];
	memset(s, 0, sizeof(*s));
	snprintf(s->name, sizeof(s->name), "%s", name);
	r->slots[slot] = ++r->nsites;
	return s;
}

static struct report_site *lookup(const struct report *r, const char *name)
{
	size_t slot;

	if (r->nslots == 0)
		return NULL;
	slot = find_slot(r, name);
	return r->slots[slot] ? &r->sites[r->slots[slot] - 1] : NULL;
}

struct report *report_new(time_t from, time_t to, const char *const *only, size_t nonly)
{
	struct report *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	r->from = from;
	r->to = to;
	r->filtered = nonly > 0;
	for (size_t i = 0; i < nonly; i++) {
		if (!add_site(r, only[i])) {
			report_free(r);
			return NULL;
		}
	}
	return r;
}

void report_free(struct report *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->nsites; i++) {
		free(r->sites[i].login_ms.v);
		free(r->sites[i].external_rtt_ms.v);
		free(r->sites[i].internal_rtt_ms.v);
		free(r->sites[i].internal_first_ms.v);
		for (int p = 0; p < VPN_PHASES; p++)
			free(r->sites[i].phase_ms[p].v);
		free(r->sites[i].outages);
	}
	free(r->sites);
	free(r->slots);
	free(r);
}

/* ---- rows ---- */

static int outage_begin(struct report_site *s, const struct csv_record *rec)
{
	struct report_outage *o;

	if (s->noutages == s->outage_cap) {
		size_t cap = s->outage_cap ? s->outage_cap * 2 : 16;
		struct report_outage *bigger = realloc(s->outages, cap * sizeof(*bigger));
		if (!bigger)
			return -1;
		s->outages = bigger;
		s->outage_cap = cap;
	}
	o = &s->outages[s->noutages++];
	o->start = o->end = rec->ts;
	o->step = rec->failed_step;
	o->cycles = 0;
	o->open = 1;
	s->in_outage = 1;
	return 0;
}

int report_add(struct report *r, const struct csv_record *rec)
{
	struct report_site *s = r->filtered ? lookup(r, rec->site) : add_site(r, rec->site);

	if (!s)
		return r->filtered ? 0 : -1;
	r->rows++;
	s->cycles++;
	if (rec->ok) {
		if (s->in_outage) {
			s->outages[s->noutages - 1].end = rec->ts;
			s->outages[s->noutages - 1].open = 0;
			s->in_outage = 0;
		}
	} else {
		struct report_outage *o;
		s->failed++;
		s->failed_by_step[(unsigned)rec->failed_step <= STEP_TEARDOWN ? rec->failed_step : 0]++;
		if (!s->in_outage && outage_begin(s, rec) < 0)
			return -1;
		o = &s->outages[s->noutages - 1];
		o->cycles++;
		o->end = rec->ts;
	}
	/* a failed login's time is its timeout, not a login time; its phases
	 * are those of a login that did not finish */
	if (rec->ok || rec->failed_step == STEP_INTERNAL_PING || rec->failed_step == STEP_TEARDOWN) {
		if (values_add(&s->login_ms, rec->login_ms) < 0)
			return -1;
		for (int p = 0; p < VPN_PHASES; p++)
			if (values_add(&s->phase_ms[p], rec->login_phase_ms[p]) < 0)
				return -1;
	}
	if (values_add(&s->external_rtt_ms, rec->external_rtt_ms) < 0 ||
	    values_add(&s->internal_rtt_ms, rec->internal_rtt_ms) < 0 ||
	    values_add(&s->internal_first_ms, rec->internal_first_ms) < 0)
		return -1;
	return 0;
}

static int by_name(const void *a, const void *b)
{
	return strcmp(((const struct report_site *)a)->name, ((const struct report_site *)b)->name);
}

void report_finish(struct report *r)
{
	for (size_t i = 0; i < r->nsites; i++) {
		struct report_site *s = &r->sites[i];
		values_stats(&s->login_ms, &s->login);
		values_stats(&s->external_rtt_ms, &s->external_rtt);
		values_stats(&s->internal_rtt_ms, &s->internal_rtt);
		values_stats(&s->internal_first_ms, &s->internal_first);
		for (int p = 0; p < VPN_PHASES; p++)
			values_stats(&s->phase_ms[p], &s->phase[p]);
	}
	/* the hash indexes the old order: no lookups after this */
	if (r->nsites > 1)
		qsort(r->sites, r->nsites, sizeof(*r->sites), by_name);
	free(r->slots);
	r->slots = NULL;
	r->nslots = 0;
}

double report_availability(const struct report_site *s)
{
	if (s->cycles == 0)
		return NAN;
	return 100.0 * (double)(s->cycles - s->failed) / (double)s->cycles;
}

double report_outage_duration(const struct report_outage *o)
{
	return difftime(o->end, o->start);
}
