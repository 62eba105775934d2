/* SPDX-License-Identifier: MIT */
/* Alerting in the daemon (see notify.h). */
#include "alert/notify.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "alert/alertmanager.h"
#include "alert/degraded.h"
#include "util/log.h"
#include "alert/mail.h"
#include "alert/maintenance.h"
#include "alert/sender.h"
#include "alert/smtp.h"
#include "alert/spool.h"
#include "alert/webhook.h"

/* A composed mail the spool could not take yet (disk full, read-only). */
struct pending {
	char site[64];
	char kind[16];
	char *text;
	size_t len;
};

struct notifier {
	const struct config *cfg;   /* in force (new, reload) */
	struct alert_state *state;
	struct spool *spool;        /* the main thread's: adds only */
	struct sender *sender;      /* NULL without logging: */
	struct spool **hook_spools; /* one per alerting.webhooks entry */
	struct sender **hooks;
	size_t nhooks;
	struct spool *am_spool;     /* alerting.alertmanager; NULL without */
	struct sender *am;
	struct maint_clock *clock;  /* time zones of maintenance windows */
	struct degraded *degraded;  /* good results of the baseline; NULL: not judged */
	int curl_ready;
	char hostname[256];
	struct pending *pending;
	size_t npending;
	int save_failed;            /* the last state save failed */
	unsigned long batch;        /* this cycle's: its mails are staged until the save */
};

/* The mail sender's arguments from cfg (a shallow copy: the sender copies). */
static void mail_channel(const struct notifier *n, const struct config *cfg,
			 struct smtp_channel *ch, struct sender_timing *t, char *dir,
			 size_t dirlen)
{
	ch->smtp = cfg->logging;
	snprintf(ch->hostname, sizeof(ch->hostname), "%s", n->hostname);
	t->retry_min_s = cfg->logging.retry_min_s;
	t->retry_max_s = cfg->logging.retry_max_s;
	t->max_age_s = cfg->logging.spool_max_age_s;
	snprintf(dir, dirlen, "%s", spool_dir(n->spool));
}

static struct sender *mail_sender_start(const struct notifier *n,
					const struct config *cfg)
{
	struct smtp_channel ch;
	struct sender_timing t;
	char dir[4096];

	mail_channel(n, cfg, &ch, &t, dir, sizeof(dir));
	return sender_start(&smtp_sender_ops, &ch, &t, dir, "eml");
}

/* alerting.degraded: the baseline from the results CSV. */
static void degraded_start(struct notifier *n, const struct config *cfg)
{
	double t0 = (double)clock();
	long rows;

	degraded_free(n->degraded);
	n->degraded = NULL;
	if (!cfg->alerting.degraded || !(n->degraded = degraded_new()))
		return;
	rows = degraded_load(n->degraded, &cfg->alerting, cfg->results_dir, time(NULL));
	if (rows < 0)
		log_warn(NULL, "degraded: cannot read the results in %s: no history yet",
			 cfg->results_dir);
	else
		log_info(NULL, "degraded: %ld good result(s) of the last %g h as the baseline "
			 "(%.0f ms of CPU)", rows, cfg->alerting.baseline_s / 3600,
			 ((double)clock() - t0) * 1000 / CLOCKS_PER_SEC);
}

/* The DEGRADED / UNDEGRADED events of this cycle's good results, appended
 * to *evs (which has room for *nev + rep->nresults). */
static void judge_degraded(struct notifier *n, const struct config *cfg,
			   const struct cycle_report *rep, const unsigned char *quiet,
			   time_t now, struct alert_event *evs, size_t *nev)
{
	for (size_t i = 0; i < rep->nresults; i++)
		if (degraded_add(n->degraded, &cfg->alerting, &rep->results[i]) < 0)
			log_error(NULL, "out of memory keeping the degraded baseline");
	for (size_t i = 0; i < rep->nresults; i++) {
		const struct site_result *r = &rep->results[i];
		const struct alert_site *a = alert_find(n->state, r->site);
		const struct site *site = config_find_site(cfg, r->site);
		char figures[200];
		int slow;

		/* a failing or down site is the other machine's business */
		if (!r->ok || !a || !site || a->status == ALERT_ALERTED)
			continue;
		slow = degraded_judge(n->degraded, &cfg->alerting, r->site, now, figures,
				      sizeof(figures));
		if (slow >= 0 &&
		    alert_judge_degraded(n->state, r->site, slow, figures,
					 quiet && quiet[site - cfg->sites], now, &evs[*nev]))
			(*nev)++;
	}
}

static void sinks_stop(struct notifier *n)
{
	/* every hung conversation is aborted at once, then each is joined */
	for (size_t i = 0; i < n->nhooks; i++)
		sender_request_stop(n->hooks[i]);
	sender_request_stop(n->am);
	for (size_t i = 0; i < n->nhooks; i++) {
		sender_stop(n->hooks[i], NOTIFY_STOP_WAIT_S);
		spool_free(n->hook_spools[i]);
	}
	free(n->hooks);
	free(n->hook_spools);
	n->hooks = NULL;
	n->hook_spools = NULL;
	n->nhooks = 0;
	sender_stop(n->am, NOTIFY_STOP_WAIT_S);
	spool_free(n->am_spool);
	n->am = NULL;
	n->am_spool = NULL;
}

/* A sender thread and its spool per webhook, one for Alertmanager. */
static void sinks_start(struct notifier *n, const struct config *cfg)
{
	const struct alerting_settings *a = &cfg->alerting;
	struct sender_timing t = { a->retry_min_s, a->retry_max_s, a->spool_max_age_s };
	char dir[4096];

	if (!n->curl_ready)
		return;
	if (a->nwebhooks) {
		n->hooks = calloc(a->nwebhooks, sizeof(*n->hooks));
		n->hook_spools = calloc(a->nwebhooks, sizeof(*n->hook_spools));
		if (!n->hooks || !n->hook_spools) {
			log_error(NULL, "out of memory starting the webhook senders");
			free(n->hooks);
			free(n->hook_spools);
			n->hooks = NULL;
			n->hook_spools = NULL;
			return;
		}
		for (size_t i = 0; i < a->nwebhooks; i++) {
			webhook_spool_dir(cfg->state_dir, a->webhooks[i].url, dir, sizeof(dir));
			n->hook_spools[i] = spool_new_at(dir, "json");
			if (n->hook_spools[i])
				spool_settle(n->hook_spools[i], alert_state_batch(n->state));
			n->hooks[i] = sender_start(&webhook_sender_ops, &a->webhooks[i], &t,
						   dir, "json");
		}
		n->nhooks = a->nwebhooks;
	}
	if (a->nam_urls) {
		/* its documents replace each other: a short expiry is enough */
		t.max_age_s = ALERTMANAGER_RESOLVED_S;
		t.retry_min_s = cfg->frequency_s < t.retry_min_s ? cfg->frequency_s
			: t.retry_min_s;
		struct am_channel ch = { a->am_urls, a->nam_urls, a->am_timeout_s };

		snprintf(dir, sizeof(dir), "%s/alertmanager", cfg->state_dir);
		n->am_spool = spool_new_at(dir, "json");
		n->am = sender_start(&alertmanager_sender_ops, &ch, &t, dir, "json");
	}
}

/* The webhook bodies of one event, one per webhook. */
static void spool_hooks(struct notifier *n, const struct config *cfg,
			const struct alert_event *ev, time_t now)
{
	const struct site *site = config_find_site(cfg, ev->site.name);

	for (size_t i = 0; i < n->nhooks; i++) {
		const struct webhook_settings *w = &cfg->alerting.webhooks[i];
		size_t len = 0;
		char *body = webhook_compose(ev, site, w->format, cfg->probe_name, &len);

		if (!body || !n->hook_spools[i] ||
		    spool_stage(n->hook_spools[i], n->batch, ev->site.name,
				alert_kind_word(ev->kind), body, len, now) < 0)
			log_error(ev->site.name, "the %s webhook %zu of %zu was not queued "
				  "(%s)", alert_kind_word(ev->kind), i + 1, n->nhooks,
				  body ? "the spool is unwritable" : "out of memory");
		free(body);
	}
}

/* This cycle's Alertmanager document replaces any older one not yet sent. */
static void spool_alertmanager(struct notifier *n, const struct config *cfg,
			       time_t now)
{
	struct spool_entry *list = NULL;
	char name[SPOOL_NAME_MAX];
	size_t len = 0;
	char *doc;
	long count;

	if (!n->am_spool)
		return;
	doc = alertmanager_compose(n->state, cfg, now, &len);
	if (!doc) {
		if (len)
			log_error(NULL, "out of memory composing the Alertmanager alerts");
		return;
	}
	if (spool_add(n->am_spool, "all", "alerts", doc, len, now, name) == 0 &&
	    (count = spool_list(n->am_spool, &list)) > 0) {
		for (long i = 0; i < count; i++)
			if (strcmp(list[i].name, name) != 0)
				spool_remove(n->am_spool, list[i].name);
	}
	free(list);
	free(doc);
}

struct notifier *notifier_new(const struct config *cfg)
{
	struct notifier *n = calloc(1, sizeof(*n));

	if (!n)
		return NULL;
	if (gethostname(n->hostname, sizeof(n->hostname) - 1) < 0)
		snprintf(n->hostname, sizeof(n->hostname), "localhost");
	n->cfg = cfg;
	n->state = alert_state_load(cfg->state_dir);
	n->spool = spool_new(cfg->state_dir);
	n->clock = maint_clock_new();
	if (!n->state || !n->spool || !n->clock || alert_state_sync(n->state, cfg) < 0) {
		log_error(NULL, "out of memory loading the alert state");
		notifier_free(n);
		return NULL;
	}
	for (size_t i = 0; i < alert_count(n->state); i++) {
		const struct alert_site *s = alert_at(n->state, i);
		if (s->status == ALERT_ALERTED || s->status == ALERT_FAILING)
			log_info(s->name, "alert state restored: %s, %d failed cycle(s)",
				 alert_status_name(s->status), s->failures);
	}
	/* the mails of a cycle whose state was saved go out; those of one
	 * whose state was not come again from the state (spool_stage) */
	spool_settle(n->spool, alert_state_batch(n->state));
	if (smtp_global_init() < 0)
		log_error(NULL, "cannot initialise libcurl: alert mails stay in the spool");
	else
		n->curl_ready = 1;
	if (n->curl_ready && cfg->logging.smtp_server)
		n->sender = mail_sender_start(n, cfg);
	sinks_start(n, cfg);
	degraded_start(n, cfg);
	return n;
}

static void log_event(const struct alert_event *ev, const char *subject)
{
	if (ev->kind == ALERT_UP)
		log_info(ev->site.name, "alert: %s", subject);
	else
		log_warn(ev->site.name, "alert: %s", subject);
}

static void keep_pending(struct notifier *n, const char *site, const char *kind,
			 char *text, size_t len)
{
	struct pending *grown;

	if (n->npending >= NOTIFY_PENDING_MAX ||
	    !(grown = realloc(n->pending, (n->npending + 1) * sizeof(*grown)))) {
		log_error(site, "alert mail lost: the spool is unwritable and %zu "
			  "mail(s) already wait in memory", n->npending);
		free(text);
		return;
	}
	n->pending = grown;
	snprintf(grown[n->npending].site, sizeof(grown->site), "%s", site);
	snprintf(grown[n->npending].kind, sizeof(grown->kind), "%s", kind);
	grown[n->npending].text = text;
	grown[n->npending].len = len;
	n->npending++;
}

/* Mails that could not be spooled earlier go first, in order. */
static void flush_pending(struct notifier *n, time_t now)
{
	size_t done = 0;

	while (done < n->npending) {
		struct pending *p = &n->pending[done];
		if (spool_add(n->spool, p->site, p->kind, p->text, p->len, now, NULL) < 0)
			break;
		free(p->text);
		done++;
	}
	if (done) {
		memmove(n->pending, n->pending + done,
			(n->npending - done) * sizeof(*n->pending));
		n->npending -= done;
		log_info(NULL, "%zu alert mail(s) kept in memory are now in the spool", done);
	}
}

static void spool_event(struct notifier *n, const struct config *cfg,
			const struct alert_event *ev, time_t now)
{
	const char *kind = alert_kind_word(ev->kind);
	char msgid[MAIL_ID_MAX];
	size_t len = 0;
	char *text = mail_compose(ev, config_find_site(cfg, ev->site.name),
				  &cfg->logging, n->hostname, now, msgid, &len);

	if (!text) {
		log_error(ev->site.name, "out of memory composing the %s mail", kind);
		return;
	}
	if (ev->kind == ALERT_DOWN)
		alert_set_down_id(n->state, ev->site.name, msgid);
	if (n->npending == 0 &&
	    spool_stage(n->spool, n->batch, ev->site.name, kind, text, len, now) == 0) {
		free(text);
		return;
	}
	keep_pending(n, ev->site.name, kind, text, len);
}

void notifier_quiet(struct notifier *n, const struct config *cfg, time_t now,
		    unsigned char *quiet)
{
	struct mute *mutes;
	size_t nmutes = mutes_load(cfg->state_dir, now, &mutes);

	for (size_t i = 0; i < cfg->nsites; i++) {
		const char *name = cfg->sites[i].name;
		quiet[i] = maintenance_window_at(n->clock, cfg, name, now) ? QUIET_MAINTENANCE
			: mute_find(mutes, nmutes, name) ? QUIET_MUTED : QUIET_NO;
	}
	free(mutes);
}

void notifier_after_cycle(struct notifier *n, const struct config *cfg,
			  const struct cycle_report *rep, const unsigned char *quiet)
{
	struct alert_event *evs = NULL;
	size_t nev = 0;
	time_t now = time(NULL);
	int mail = cfg->logging.smtp_server != NULL;

	n->batch = alert_state_batch(n->state) + 1;
	alert_state_set_batch(n->state, n->batch);

	if (alert_update_quiet(n->state, cfg, rep->results, rep->nresults, now, quiet,
			       &evs, &nev) < 0)
		log_error(NULL, "out of memory updating the alert state");
	if (n->degraded && rep->nresults) {
		struct alert_event *more = realloc(evs, (nev + rep->nresults) * sizeof(*evs));
		if (more) {
			evs = more;
			judge_degraded(n, cfg, rep, quiet, now, evs, &nev);
		}
	}
	if (mail && n->npending)
		flush_pending(n, now);
	for (size_t i = 0; i < nev; i++) {
		char subject[512];

		snprintf(evs[i].probe, sizeof(evs[i].probe), "%s", cfg->probe_name);
		mail_subject(&evs[i], subject, sizeof(subject));
		log_event(&evs[i], subject);
		if (mail)
			spool_event(n, cfg, &evs[i], now);
		spool_hooks(n, cfg, &evs[i], now);
	}
	free(evs);
	spool_alertmanager(n, cfg, now);
	if (alert_state_save(n->state, cfg->state_dir) < 0) {
		n->save_failed = 1;
	} else if (n->save_failed) {
		n->save_failed = 0;
		log_info(NULL, "alert state saved again in %s", cfg->state_dir);
	}
	/* committed even when the save failed: this run goes on from the
	 * state in memory, and a mail is never lost for a disk error */
	spool_settle(n->spool, n->batch);
	for (size_t i = 0; i < n->nhooks; i++)
		if (n->hook_spools[i])
			spool_settle(n->hook_spools[i], n->batch);
	if (n->sender)
		sender_wake(n->sender);
	for (size_t i = 0; i < n->nhooks; i++)
		if (n->hooks[i])
			sender_wake(n->hooks[i]);
	if (n->am)
		sender_wake(n->am);
}

void notifier_reload(struct notifier *n, const struct config *cfg)
{
	struct spool *sp = spool_new(cfg->state_dir);

	n->cfg = cfg;
	if (alert_state_sync(n->state, cfg) < 0)
		log_error(NULL, "out of memory updating the alert state");
	if (sp) {
		spool_free(n->spool);
		n->spool = sp;
	}
	if (n->sender && cfg->logging.smtp_server) {
		struct smtp_channel ch;
		struct sender_timing t;
		char dir[4096];

		mail_channel(n, cfg, &ch, &t, dir, sizeof(dir));
		sender_configure(n->sender, &ch, &t, dir);
	} else if (n->curl_ready && cfg->logging.smtp_server) {
		n->sender = mail_sender_start(n, cfg);
	} else if (n->sender) {
		/* logging: is gone; the spool stays for when it comes back */
		if (sender_stop(n->sender, NOTIFY_STOP_WAIT_S) == 0)
			n->sender = NULL;
	}
	/* webhooks and Alertmanager start again with the new list */
	sinks_stop(n);
	sinks_start(n, cfg);
	degraded_start(n, cfg);
}

void notifier_free(struct notifier *n)
{
	if (!n)
		return;
	/* A sender still in a conversation keeps libcurl: no global cleanup. */
	sinks_stop(n);
	if (sender_stop(n->sender, NOTIFY_STOP_WAIT_S) == 0 && n->curl_ready)
		smtp_global_cleanup();
	for (size_t i = 0; i < n->npending; i++) {
		log_error(n->pending[i].site, "%s alert mail lost at exit: the spool "
			  "was unwritable", n->pending[i].kind);
		free(n->pending[i].text);
	}
	free(n->pending);
	spool_free(n->spool);
	alert_state_free(n->state);
	maint_clock_free(n->clock);
	degraded_free(n->degraded);
	free(n);
}

const struct alert_state *notifier_alerts(const struct notifier *n)
{
	return n->state;
}

size_t notifier_spooled(const struct notifier *n)
{
	return spool_count(n->spool) + n->npending;
}

int notifier_test_email(const struct config *cfg, FILE *out)
{
	const struct smtp_settings *smtp = &cfg->logging;
	struct smtp_outcome res;
	char host[256], msgid[MAIL_ID_MAX];
	size_t len = 0;
	char *text;

	if (!smtp->smtp_server) {
		fprintf(out, "FAILED: %s has no logging: section (smtp_server, "
			"sender, recipients); nothing to test\n", cfg->path);
		return 1;
	}
	if (gethostname(host, sizeof(host) - 1) < 0)
		snprintf(host, sizeof(host), "localhost");
	host[sizeof(host) - 1] = '\0';
	text = mail_compose_test(smtp, host, time(NULL), msgid, &len);
	if (!text || smtp_global_init() < 0) {
		free(text);
		fprintf(out, "FAILED: out of memory\n");
		return 1;
	}
	fprintf(out, "sending a test mail %s from %s to %zu recipient(s) via %s "
		"port %d, security %s%s%s\n", msgid, smtp->sender, smtp->nrecipients,
		smtp->smtp_server, smtp->smtp_port, smtp_security_name(smtp->security),
		smtp->username ? ", AUTH as " : "", smtp->username ? smtp->username : "");
	fflush(out);
	smtp_send(smtp, host, text, len, NULL, out, &res);
	free(text);
	smtp_global_cleanup();
	if (res.status == SMTP_SENT) {
		fprintf(out, "OK: the server accepted the test mail: %s\n", res.reply);
		return 0;
	}
	fprintf(out, "FAILED (%s): %s\n", smtp_status_name(res.status), res.error);
	return 1;
}

static void cycle_done(void *arg, const struct cycle_report *rep)
{
	struct notifier *n = arg;

	notifier_after_cycle(n, n->cfg, rep, rep->quiet);
}

struct cycle_sink notifier_sink(struct notifier *n)
{
	return (struct cycle_sink){ .cycle_done = n ? cycle_done : NULL, .arg = n };
}
