/* SPDX-License-Identifier: MIT */
#include "probe/cycle.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util/log.h"
#include "util/clock.h"
#include "vpn/isolation.h"

/* A site test's deepest stack is a few netlink and output buffers; ASan
 * builds need several times that. */
#define WORKER_STACK (1024 * 1024)

static int selected(const struct site *site, const char *const *only, size_t nonly)
{
	if (nonly == 0)
		return 1;
	for (size_t i = 0; i < nonly; i++)
		if (strcmp(only[i], site->name) == 0)
			return 1;
	return 0;
}

/* One cycle's shared state: the workers take sites in config order and
 * record each result under `lock` (CSV row, log, counters). */
struct cycle_work {
	const struct config *cfg;
	const struct site_env *env;
	const struct cycle_sink *sinks;
	size_t nsinks;
	const struct site **sites;      /* the selected sites, config order */
	struct site_result *results;    /* same index as sites */
	int *done;                      /* 1: tested; 0: aborted or not started */
	double *since;                  /* when a running test began; 0: not running */
	size_t n, next, workers;        /* workers: threads not yet finished */
	pthread_mutex_t lock;
	pthread_cond_t finished;        /* signalled as each worker thread ends */
};

static void record(struct cycle_work *w, size_t i)
{
	struct site_result *res = &w->results[i];
	const unsigned char *quiet = w->env->quiet;

	if (quiet && quiet[w->sites[i] - w->cfg->sites])
		site_result_note(res, "%s", quiet[w->sites[i] - w->cfg->sites] == 1 ?
				 "maintenance" : "muted");
	if (!res->ok)
		log_warn(res->site, "FAIL at %s: %s", site_step_name(res->failed_step),
			 res->detail);
	else
		log_info(res->site, "OK%s%s", res->detail[0] ? ": " : "", res->detail);
	for (size_t k = 0; k < w->nsinks; k++)
		if (w->sinks[k].site_done)
			w->sinks[k].site_done(w->sinks[k].arg, res);
	w->done[i] = 1;
}

/* A worker: the next site in config order until none is left or stop. */
static void *worker(void *arg)
{
	struct cycle_work *w = arg;

	for (;;) {
		size_t i;
		int rc;

		pthread_mutex_lock(&w->lock);
		i = w->next++;
		if (i < w->n && w->env->heartbeat)
			w->env->heartbeat(w->env->heartbeat_arg);
		if (i < w->n)
			w->since[i] = monotonic_s();
		pthread_mutex_unlock(&w->lock);
		if (i >= w->n || (w->env->vpn.stop && *w->env->vpn.stop))
			break;
		rc = site_test(w->sites[i], w->env, &w->results[i]);
		pthread_mutex_lock(&w->lock);
		w->since[i] = 0;
		if (rc < 0)
			log_warn(w->sites[i]->name, "site test aborted by signal; no row written");
		else
			record(w, i);
		pthread_mutex_unlock(&w->lock);
		if (rc < 0)
			break;
	}
	return NULL;
}

static void *worker_thread(void *arg)
{
	struct cycle_work *w = arg;

	worker(w);
	pthread_mutex_lock(&w->lock);
	w->workers--;
	pthread_cond_signal(&w->finished);
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

/* 1 when a running site test has outlived its worst case (called locked). */
static int stuck(const struct cycle_work *w, double now)
{
	for (size_t i = 0; i < w->n; i++)
		if (w->since[i] > 0 && now - w->since[i] > site_worst_case_s(w->sites[i]))
			return 1;
	return 0;
}

/* Waits until every worker thread has ended, calling the heartbeat every
 * heartbeat_every_s while no site test is stuck. */
static void wait_workers(struct cycle_work *w)
{
	const struct site_env *env = w->env;
	double every = env->heartbeat ? env->heartbeat_every_s : 0;
	double next = monotonic_s() + every;

	pthread_mutex_lock(&w->lock);
	while (w->workers > 0) {
		struct timespec ts;
		double now;

		if (every <= 0) {
			pthread_cond_wait(&w->finished, &w->lock);
			continue;
		}
		/* monotonic_s() reads CLOCK_MONOTONIC, the condition's clock */
		ts = clock_timespec(next);
		pthread_cond_timedwait(&w->finished, &w->lock, &ts);
		now = monotonic_s();
		if (now >= next) {
			if (!stuck(w, now))
				env->heartbeat(env->heartbeat_arg);
			next = now + every;
		}
	}
	pthread_mutex_unlock(&w->lock);
}

/* Starts up to `concurrency` workers (signals blocked in them: the caller's
 * thread takes SIGTERM and sets *stop) and waits for all. With one worker
 * the sites run in the calling thread, as the seed did. */
static void run_workers(struct cycle_work *w, int concurrency)
{
	size_t nthreads = (size_t)concurrency < w->n ? (size_t)concurrency : w->n;
	pthread_t *threads;
	pthread_attr_t attr;
	sigset_t all, old;
	size_t started = 0;

	if (nthreads <= 1 || !(threads = calloc(nthreads, sizeof(*threads)))) {
		worker(w);
		return;
	}
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, WORKER_STACK);
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	for (; started < nthreads; started++) {
		int e;

		pthread_mutex_lock(&w->lock);
		w->workers++;
		pthread_mutex_unlock(&w->lock);
		e = pthread_create(&threads[started], &attr, worker_thread, w);
		if (e != 0) {
			pthread_mutex_lock(&w->lock);
			w->workers--;
			pthread_mutex_unlock(&w->lock);
			log_warn(NULL, "cannot start site worker %zu of %zu: %s; going on with %zu",
				 started + 1, nthreads, strerror(e), started);
			break;
		}
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	pthread_attr_destroy(&attr);
	if (started == 0)
		worker(w);
	wait_workers(w);
	for (size_t i = 0; i < started; i++)
		pthread_join(threads[i], NULL);
	free(threads);
}

void cycle_run(const struct config *cfg, const char *const *only, size_t nonly,
	       const struct site_env *env, const struct cycle_sink *sinks,
	       size_t nsinks, struct cycle_report *rep)
{
	double start = monotonic_s();
	struct cycle_work w = { .cfg = cfg, .env = env, .sinks = sinks, .nsinks = nsinks };
	size_t n = cfg->nsites ? cfg->nsites : 1;

	memset(rep, 0, sizeof(*rep));
	rep->quiet = env->quiet;
	rep->results = calloc(n, sizeof(*rep->results));
	w.sites = calloc(n, sizeof(*w.sites));
	w.results = calloc(n, sizeof(*w.results));
	w.done = calloc(n, sizeof(*w.done));
	w.since = calloc(n, sizeof(*w.since));
	if (!rep->results || !w.sites || !w.results || !w.done || !w.since) {
		log_error(NULL, "out of memory for %zu site results", cfg->nsites);
		rep->aborted = 1;
		goto out;
	}
	for (size_t i = 0; i < cfg->nsites; i++)
		if (selected(&cfg->sites[i], only, nonly))
			w.sites[w.n++] = &cfg->sites[i];
	pthread_mutex_init(&w.lock, NULL);
	{
		pthread_condattr_t ca;

		pthread_condattr_init(&ca);
		pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
		pthread_cond_init(&w.finished, &ca);
		pthread_condattr_destroy(&ca);
	}
	if (env->vpn.isolation)
		isolation_probe_snapshot(env->vpn.isolation);
	run_workers(&w, cfg->concurrency > 0 ? cfg->concurrency : 1);
	if (env->vpn.isolation)
		isolation_probe_check(env->vpn.isolation);
	pthread_cond_destroy(&w.finished);
	pthread_mutex_destroy(&w.lock);
	/* the report keeps config order, whatever order the sites ended in */
	for (size_t i = 0; i < w.n; i++) {
		if (!w.done[i]) {
			rep->aborted = 1;
			continue;
		}
		rep->results[rep->nresults++] = w.results[i];
		if (!w.results[i].ok)
			rep->nfailed++;
	}
out:
	free(w.sites);
	free(w.results);
	free(w.done);
	free(w.since);
	rep->duration_s = monotonic_s() - start;
}

void cycle_deliver(const struct cycle_sink *sinks, size_t nsinks,
		   const struct cycle_report *rep)
{
	for (size_t k = 0; k < nsinks; k++)
		if (sinks[k].cycle_done)
			sinks[k].cycle_done(sinks[k].arg, rep);
}

void cycle_report_free(struct cycle_report *rep)
{
	free(rep->results);
	memset(rep, 0, sizeof(*rep));
}

static void fmt_ms(char *buf, size_t len, int ran, double ms, int decimals)
{
	if (ran)
		snprintf(buf, len, "%.*f", decimals, ms);
	else
		snprintf(buf, len, "-");
}

static void fmt_ping(char *rtt, char *loss, size_t len, int ran,
		     const struct ping_stats *p)
{
	fmt_ms(rtt, len, ran && p->received > 0, p->avg_ms, 3);
	if (ran)
		snprintf(loss, len, "%.0f%%", p->loss_pct);
	else
		snprintf(loss, len, "-");
}

void cycle_print_table(const struct cycle_report *rep, FILE *out)
{
	fprintf(out, "%-16s %-6s %-14s %10s %6s %10s %10s %6s %10s  %s\n",
		"SITE", "RESULT", "FAILED_STEP", "EXT_RTT_MS", "LOSS",
		"LOGIN_MS", "INT_RTT_MS", "LOSS", "TEARDOWN", "DETAIL");
	for (size_t i = 0; i < rep->nresults; i++) {
		const struct site_result *r = &rep->results[i];
		char ext[24], extl[24], login[24], in[24], inl[24], td[24];

		fmt_ping(ext, extl, sizeof(ext), r->external_ran, &r->external);
		fmt_ms(login, sizeof(login), r->login_ran, r->login_ms, 1);
		fmt_ping(in, inl, sizeof(in), r->internal_ran, &r->internal);
		fmt_ms(td, sizeof(td), r->teardown_ran, r->teardown_ms, 1);
		fprintf(out, "%-16s %-6s %-14s %10s %6s %10s %10s %6s %10s  %s\n",
			r->site, r->ok ? "OK" : "FAIL",
			r->ok ? "-" : site_step_name(r->failed_step), ext, extl,
			login, in, inl, td, r->detail);
	}
	fprintf(out, "%zu site(s), %zu failed, cycle %.2f s\n", rep->nresults,
		rep->nfailed, rep->duration_s);
}
