/* SPDX-License-Identifier: MIT */
/* Webhook bodies and delivery (see webhook.h). */
#include "alert/webhook.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/hmac.h"
#include "alert/http_post.h"
#include "util/json.h"
#include "alert/mail.h"
#include "util/secret.h"

#define SECRET_MAX 1024

static const struct alert_sample *last_sample(const struct alert_site *s)
{
	return s->nhistory ? &s->history[s->nhistory - 1] : NULL;
}

static void num_or_null(FILE *f, double v)
{
	if (v >= 0)
		fprintf(f, "%.3f", v);
	else
		fputs("null", f);
}

static void time_or_null(FILE *f, time_t t)
{
	if (t)
		json_time_utc(f, t);
	else
		fputs("null", f);
}

/* epmon's own body: documented in doc/config.md (Webhooks). */
static void body_json(FILE *f, const struct alert_event *ev, const struct site *site,
		      const char *probe, const char *subject)
{
	const struct alert_site *s = &ev->site;
	const struct alert_sample *x = last_sample(s);

	fprintf(f, "{\"version\":1,\"event\":\"%s\",\"site\":", alert_kind_word(ev->kind));
	json_string(f, s->name);
	fputs(",\"probe\":", f);
	json_string(f, probe);
	fputs(",\"at\":", f);
	json_time_utc(f, ev->at);
	fputs(",\"summary\":", f);
	json_string(f, subject);
	fputs(",\"failed_step\":", f);
	if (x && !x->ok && x->failed_step)
		json_string(f, site_step_name(x->failed_step));
	else
		fputs("null", f);
	fputs(",\"detail\":", f);
	json_string(f, x ? x->detail : "");
	fputs(",\"gateway\":", f);
	if (site && site->vpn.client != VPN_NONE && site->vpn.gateway)
		json_string(f, site->vpn.gateway);
	else
		fputs("null", f);
	fprintf(f, ",\"failures\":%d,\"failing_since\":", s->failures);
	time_or_null(f, s->failing_since);
	fputs(",\"figures\":", f);
	if (ev->figures[0])
		json_string(f, ev->figures);
	else
		fputs("null", f);
	fputs(",\"outage_s\":", f);
	if (ev->kind == ALERT_UP)
		fprintf(f, "%.0f", ev->outage_s);
	else
		fputs("null", f);
	fputs(",\"last\":", f);
	if (!x) {
		fputs("null}", f);
		return;
	}
	fputs("{\"at\":", f);
	json_time_utc(f, x->at);
	fprintf(f, ",\"ok\":%s,\"external_rtt_ms\":", x->ok ? "true" : "false");
	num_or_null(f, x->external_ms);
	fputs(",\"login_ms\":", f);
	num_or_null(f, x->login_ms);
	fputs(",\"internal_rtt_ms\":", f);
	num_or_null(f, x->internal_ms);
	fputs("}}", f);
}

/* One readable message for chat tools: the subject, then probe and detail. */
static void chat_text(FILE *f, const struct alert_event *ev, const char *probe,
		      const char *subject, int markdown)
{
	const struct alert_sample *x = last_sample(&ev->site);
	char *text = NULL;
	size_t len = 0;
	FILE *t = open_memstream(&text, &len);

	if (!t) {
		json_string(f, subject);
		return;
	}
	fprintf(t, "%s%s%s\nprobe %s", markdown ? "*" : "", subject,
		markdown ? "*" : "", probe);
	if (x && x->detail[0] && (ev->kind == ALERT_DOWN || ev->kind == ALERT_REMINDER))
		fprintf(t, "\n%s", x->detail);
	fclose(t);
	json_string(f, text);
	free(text);
}

char *webhook_compose(const struct alert_event *ev, const struct site *site,
		      enum webhook_format format, const char *probe, size_t *len)
{
	char subject[512], *text = NULL;
	FILE *f = open_memstream(&text, len);

	if (!f)
		return NULL;
	mail_subject(ev, subject, sizeof(subject));
	switch (format) {
	case WEBHOOK_SLACK:
		fputs("{\"text\":", f);
		chat_text(f, ev, probe, subject, 1);
		fputs("}", f);
		break;
	case WEBHOOK_TEAMS:
		fprintf(f, "{\"@type\":\"MessageCard\",\"@context\":"
			"\"https://schema.org/extensions\",\"themeColor\":\"%s\","
			"\"summary\":", ev->kind == ALERT_UP || ev->kind == ALERT_UNDEGRADED ? "2EB886"
			: ev->kind == ALERT_DEGRADED ? "E8A33D" : "D63333");
		json_string(f, subject);
		fputs(",\"title\":", f);
		json_string(f, subject);
		fputs(",\"text\":", f);
		chat_text(f, ev, probe, subject, 0);
		fputs("}", f);
		break;
	case WEBHOOK_JSON:
		body_json(f, ev, site, probe, subject);
		break;
	}
	fputc('\n', f);
	if (fclose(f) != 0) {
		free(text);
		return NULL;
	}
	return text;
}

void webhook_spool_dir(const char *state_dir, const char *url, char *buf, size_t len)
{
	uint64_t h = 0xcbf29ce484222325ULL;     /* FNV-1a */

	for (const unsigned char *p = (const unsigned char *)url; *p; p++)
		h = (h ^ *p) * 0x100000001b3ULL;
	snprintf(buf, len, "%s/webhooks/%016llx", state_dir, (unsigned long long)h);
}

static void *hook_copy(const void *settings)
{
	const struct webhook_settings *from = settings;
	struct webhook_settings *w = calloc(1, sizeof(*w));

	if (!w)
		return NULL;
	*w = *from;
	w->url = strdup(from->url);
	w->secret_file = from->secret_file ? strdup(from->secret_file) : NULL;
	if (!w->url || (from->secret_file && !w->secret_file)) {
		free(w->url);
		free(w->secret_file);
		free(w);
		return NULL;
	}
	return w;
}

static void hook_release(void *settings)
{
	struct webhook_settings *w = settings;

	free(w->url);
	free(w->secret_file);
	free(w);
}

static void hook_send(const void *settings, const char *msg, size_t len,
		      const atomic_int *stop, struct delivery_outcome *out)
{
	const struct webhook_settings *w = settings;
	char secret[SECRET_MAX], hex[65], sig[128], err[512];
	const char *headers[4] = { "Content-Type: application/json",
		"User-Agent: epmon/" EPMON_VERSION, NULL, NULL };
	const char *why = NULL;

	if (w->secret_file) {
		int rc = secret_read_line(w->secret_file, secret, sizeof(secret), err,
					  sizeof(err));
		if (rc == 0)
			rc = hmac_sha256_hex(secret, strlen(secret), msg, len, hex, &why);
		explicit_bzero(secret, sizeof(secret));
		if (rc < 0) {
			memset(out, 0, sizeof(*out));
			out->status = DELIVERY_RETRY;
			snprintf(out->error, sizeof(out->error), "cannot sign the body "
				 "(secret_file): %s", why ? why : err);
			return;
		}
		snprintf(sig, sizeof(sig), WEBHOOK_SIGNATURE_HEADER ": sha256=%s", hex);
		headers[2] = sig;
	}
	http_post(w->url, headers, msg, len, w->timeout_s, stop, out);
}

const struct sender_ops webhook_sender_ops = {
	.noun = "webhook",
	.copy = hook_copy,
	.release = hook_release,
	.send = hook_send,
};
