/* SPDX-License-Identifier: MIT */
/* The sender thread (see sender.h). */
#include "alert/sender.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util/log.h"
#include "util/clock.h"
#include "alert/spool.h"

#define IDLE_WAKE_S 300 /* look at the spool now and then even when idle */

struct sender {
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;            /* on CLOCK_MONOTONIC */
	atomic_int stop;
	const struct sender_ops *ops;
	char ext[8];
	/* guarded by lock */
	int work;                       /* woken: new messages may be spooled */
	int changed;                    /* settings / timing / dir replaced */
	void *settings;
	struct sender_timing timing;
	char *dir;
	/* the thread's own */
	int failures;                   /* failed attempts in a row */
	double retry_at;                /* monotonic; 0: no backoff */
	char last_error[768];
};

/* Tell which message a log line is about: NAME is CREATED-SITE-KIND.EXT. */
static void describe_entry(const struct sender *s, const char *name, char *buf,
			   size_t len)
{
	const char *site = strchr(name, '-');
	const char *kind = strrchr(name, '-');

	if (site && !strncmp(site, "-all-", 5))
		snprintf(buf, len, "%s (%s)", s->ops->noun, name);
	else if (site && kind && kind > site)
		snprintf(buf, len, "%.*s %s of site %.*s (%s)",
			 (int)(strlen(kind + 1) - strlen(s->ext)), kind + 1,
			 s->ops->noun, (int)(kind - site - 1), site + 1, name);
	else
		snprintf(buf, len, "%s", name);
}

/* One message that did not go: back off from the server. */
static void failed(struct sender *s, const struct sender_timing *t,
		   const struct delivery_outcome *res, const char *what, long waiting)
{
	double wait;

	s->failures++;
	wait = spool_backoff_s(s->failures, t->retry_min_s, t->retry_max_s);
	s->retry_at = monotonic_s() + wait;
	snprintf(s->last_error, sizeof(s->last_error), "%s", res->error);
	log_error(NULL, "cannot send the %s: %s; %ld message(s) kept in the "
		  "spool, next attempt in %.0f s", what, res->error, waiting, wait);
}

/* One pass over the spool, oldest first. */
static void deliver(struct sender *s, const void *settings,
		    const struct sender_timing *t, const struct spool *sp)
{
	struct spool_entry *list;
	long n;
	char what[SPOOL_NAME_MAX + 64], why[1024];

	spool_expire(sp, time(NULL), t->max_age_s, s->last_error);
	/* While backing off from the server only the age check runs. */
	if (s->retry_at && monotonic_s() < s->retry_at)
		return;
	n = spool_list(sp, &list);
	if (n < 0) {
		log_error(NULL, "cannot read the spool %s: %s", spool_dir(sp),
			  strerror(errno));
		return;
	}
	for (long i = 0; i < n && !atomic_load(&s->stop); i++) {
		const char *name = list[i].name;
		struct delivery_outcome res;
		char *msg;
		size_t len;

		if (spool_read(sp, name, &msg, &len) < 0) {
			if (errno != ENOENT)
				log_error(NULL, "cannot read %s/%s: %s", spool_dir(sp),
					  name, strerror(errno));
			continue;
		}
		describe_entry(s, name, what, sizeof(what));
		s->ops->send(settings, msg, len, &s->stop, &res);
		free(msg);
		if (res.status == DELIVERED) {
			spool_remove(sp, name);
			if (s->ops->quiet)
				log_debug(NULL, "sent the %s: %s", what, res.reply);
			else
				log_info(NULL, "sent the %s: %s", what, res.reply);
			s->failures = 0;
			s->retry_at = 0;
			s->last_error[0] = '\0';
		} else if (res.status == DELIVERY_REFUSED) {
			snprintf(why, sizeof(why), "%s", res.error);
			if (spool_bury(sp, name, why) == 0)
				log_error(NULL, "the %s was %s; moved to %s/dead", what,
					  why, spool_dir(sp));
		} else if (res.status != DELIVERY_ABORTED) {
			/* The server, not this message, is the problem: stop here. */
			failed(s, t, &res, what, n - i);
			break;
		}
	}
	free(list);
}

static void *run(void *arg)
{
	struct sender *s = arg;
	struct sender_timing timing = { 0 };
	void *settings = NULL;
	struct spool *sp = NULL;

	pthread_mutex_lock(&s->lock);
	while (!atomic_load(&s->stop)) {
		struct timespec until;
		double wait = IDLE_WAKE_S;

		if (s->retry_at) {
			wait = s->retry_at - monotonic_s();
			wait = wait < 0 ? 0 : wait + 0.01;
		}
		clock_gettime(CLOCK_MONOTONIC, &until);
		until = clock_add(until, wait);
		while (!s->work && !atomic_load(&s->stop) &&
		       pthread_cond_timedwait(&s->cond, &s->lock, &until) != ETIMEDOUT)
			;
		if (atomic_load(&s->stop))
			break;
		s->work = 0;
		if (s->changed) {
			if (settings)
				s->ops->release(settings);
			spool_free(sp);
			sp = NULL;
			timing = s->timing;
			if ((settings = s->ops->copy(s->settings)))
				sp = spool_new_at(s->dir, s->ext + 1);
			s->changed = !sp; /* out of memory: try again next round */
			/* New settings (a fixed password?) deserve a try at once. */
			s->failures = 0;
			s->retry_at = 0;
		}
		pthread_mutex_unlock(&s->lock);
		if (sp)
			deliver(s, settings, &timing, sp);
		pthread_mutex_lock(&s->lock);
	}
	pthread_mutex_unlock(&s->lock);
	if (settings)
		s->ops->release(settings);
	spool_free(sp);
	return NULL;
}

static void destroy(struct sender *s)
{
	pthread_cond_destroy(&s->cond);
	pthread_mutex_destroy(&s->lock);
	if (s->settings)
		s->ops->release(s->settings);
	free(s->dir);
	free(s);
}

struct sender *sender_start(const struct sender_ops *ops, const void *settings,
			    const struct sender_timing *timing, const char *dir,
			    const char *ext)
{
	struct sender *s = calloc(1, sizeof(*s));
	pthread_condattr_t attr;
	sigset_t all, old;
	int err;

	if (!s)
		return NULL;
	pthread_mutex_init(&s->lock, NULL);
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&s->cond, &attr);
	pthread_condattr_destroy(&attr);
	atomic_init(&s->stop, 0);
	s->ops = ops;
	s->work = 1;
	s->changed = 1;
	s->timing = *timing;
	snprintf(s->ext, sizeof(s->ext), ".%s", ext);
	s->dir = strdup(dir);
	if (!s->dir || !(s->settings = ops->copy(settings))) {
		log_error(NULL, "out of memory starting the %s sender", ops->noun);
		destroy(s);
		return NULL;
	}
	/* Signals are the main thread's business. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	err = pthread_create(&s->thread, NULL, run, s);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (err) {
		log_error(NULL, "cannot start the %s sender thread: %s", ops->noun,
			  strerror(err));
		destroy(s);
		return NULL;
	}
	return s;
}

void sender_configure(struct sender *s, const void *settings,
		      const struct sender_timing *timing, const char *dir)
{
	void *copy = s->ops->copy(settings);
	char *d = strdup(dir);

	if (!d || !copy) {
		free(d);
		if (copy)
			s->ops->release(copy);
		log_error(NULL, "out of memory: the %s sender keeps its settings",
			  s->ops->noun);
		return;
	}
	pthread_mutex_lock(&s->lock);
	s->ops->release(s->settings);
	s->settings = copy;
	s->timing = *timing;
	free(s->dir);
	s->dir = d;
	s->changed = 1;
	s->work = 1;
	pthread_cond_signal(&s->cond);
	pthread_mutex_unlock(&s->lock);
}

void sender_wake(struct sender *s)
{
	pthread_mutex_lock(&s->lock);
	s->work = 1;
	pthread_cond_signal(&s->cond);
	pthread_mutex_unlock(&s->lock);
}

void sender_request_stop(struct sender *s)
{
	if (!s)
		return;
	atomic_store(&s->stop, 1);
	pthread_mutex_lock(&s->lock);
	pthread_cond_signal(&s->cond);
	pthread_mutex_unlock(&s->lock);
}

int sender_stop(struct sender *s, double wait_s)
{
	struct timespec until;
	int err;

	if (!s)
		return 0;
	atomic_store(&s->stop, 1);
	pthread_mutex_lock(&s->lock);
	pthread_cond_signal(&s->cond);
	pthread_mutex_unlock(&s->lock);
	clock_gettime(CLOCK_REALTIME, &until);
	until = clock_add(until, wait_s);
	err = pthread_timedjoin_np(s->thread, NULL, &until);
	if (err) {
		log_warn(NULL, "the %s sender did not stop within %g s (%s); "
			 "leaving it, its message stays in the spool", s->ops->noun,
			 wait_s, strerror(err));
		return -1;
	}
	destroy(s);
	return 0;
}
