/* SPDX-License-Identifier: MIT */
/* One SMTP conversation with libcurl (see smtp.h). */
#include "alert/smtp.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/curl_lib.h"
#include "util/secret.h"
#include "alert/mail.h"

#define PASSWORD_MAX 1024

const char *smtp_status_name(enum smtp_status s)
{
	switch (s) {
	case SMTP_SENT: return "sent";
	case SMTP_TEMPORARY: return "temporary failure";
	case SMTP_AUTH_FAILED: return "authentication failed";
	case SMTP_REJECTED: return "rejected";
	case SMTP_ABORTED: return "aborted";
	}
	return "unknown";
}

int smtp_global_init(void)
{
	return 0;   /* deferred to the first mail: see curl_lib.h */
}

void smtp_global_cleanup(void)
{
	curl_lib_cleanup();
}

/* What the debug callback learns of the conversation. */
struct conv {
	FILE *transcript;
	const atomic_int *stop;
	int in_auth;            /* credentials are being exchanged */
	char last_cmd[16];      /* verb of the last command sent */
	int body_started;       /* the message itself went out */
	int code;               /* the last reply */
	char reply[512];
	int err_code;           /* the last reply >= 400, and what it answered */
	char err_reply[512];
	char err_cmd[16];       /* a command verb, or "the message" */
	const char *msg;        /* upload */
	size_t len, off;
};

static void note_reply(struct conv *cv, const char *line, size_t n)
{
	if (n >= 3 && isdigit((unsigned char)line[0]) &&
	    isdigit((unsigned char)line[1]) && isdigit((unsigned char)line[2])) {
		cv->code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
		snprintf(cv->reply, sizeof(cv->reply), "%.*s", (int)n, line);
		if (cv->code != 334)
			cv->in_auth = 0;
		/* kept apart: the QUIT that follows an error answers 221 */
		if (cv->code >= 400) {
			cv->err_code = cv->code;
			snprintf(cv->err_reply, sizeof(cv->err_reply), "%s", cv->reply);
			snprintf(cv->err_cmd, sizeof(cv->err_cmd), "%s", cv->body_started ?
				 "the message" : cv->last_cmd[0] ? cv->last_cmd : "connect");
		}
	}
	if (cv->transcript)
		fprintf(cv->transcript, "< %.*s\n", (int)n, line);
}

/* Commands as sent, but never the AUTH payloads (base64 credentials). */
static void note_command(struct conv *cv, const char *line, size_t n)
{
	size_t verb = 0;

	while (verb < n && line[verb] != ' ' && verb < sizeof(cv->last_cmd) - 1)
		verb++;
	if (n >= 5 && !strncasecmp(line, "AUTH ", 5)) {
		size_t mech = 5;
		while (mech < n && line[mech] != ' ')
			mech++;
		cv->in_auth = 1;
		snprintf(cv->last_cmd, sizeof(cv->last_cmd), "AUTH");
		if (cv->transcript)
			fprintf(cv->transcript, "> %.*s%s\n", (int)mech, line,
				mech < n ? " <credentials hidden>" : "");
		return;
	}
	if (cv->in_auth) {
		if (cv->transcript)
			fprintf(cv->transcript, "> <credentials hidden>\n");
		return;
	}
	snprintf(cv->last_cmd, sizeof(cv->last_cmd), "%.*s", (int)verb, line);
	if (cv->transcript)
		fprintf(cv->transcript, "> %.*s\n", (int)n, line);
}

/* libcurl's notes on each TLS handshake message say nothing to a user. */
static int tls_noise(const char *line, size_t n)
{
	return (n >= 4 && (!strncmp(line, "TLSv", 4) || !strncmp(line, "SSLv", 4))) ||
	       (n >= 18 && !strncmp(line, "old SSL session ID", 18));
}

static int on_debug(CURL *h, curl_infotype type, char *data, size_t size, void *arg)
{
	struct conv *cv = arg;
	size_t start = 0;

	(void)h;
	if (type == CURLINFO_DATA_OUT) {
		if (!cv->body_started && cv->transcript)
			fprintf(cv->transcript, "> [the message, %zu bytes]\n", cv->len);
		cv->body_started = 1;
		return 0;
	}
	if (type != CURLINFO_HEADER_IN && type != CURLINFO_HEADER_OUT &&
	    type != CURLINFO_TEXT)
		return 0;
	while (start < size) {
		size_t n = 0;
		while (start + n < size && data[start + n] != '\n')
			n++;
		size_t end = n;
		if (end && data[start + end - 1] == '\r')
			end--;
		if (type == CURLINFO_HEADER_IN)
			note_reply(cv, data + start, end);
		else if (type == CURLINFO_HEADER_OUT)
			note_command(cv, data + start, end);
		else if (cv->transcript && end && !tls_noise(data + start, end))
			fprintf(cv->transcript, "* %.*s\n", (int)end, data + start);
		start += n + 1;
	}
	return 0;
}

static size_t on_read(char *buf, size_t size, size_t nitems, void *arg)
{
	struct conv *cv = arg;
	size_t n = size * nitems;

	if (n > cv->len - cv->off)
		n = cv->len - cv->off;
	memcpy(buf, cv->msg + cv->off, n);
	cv->off += n;
	return n;
}

static int on_progress(void *arg, curl_off_t a, curl_off_t b, curl_off_t c,
		       curl_off_t d)
{
	struct conv *cv = arg;

	(void)a, (void)b, (void)c, (void)d;
	return cv->stop && atomic_load(cv->stop) ? 1 : 0;
}

/* smtp[s]://host:port/EHLO-NAME; an IPv6 address goes in brackets. */
static void make_url(const struct smtp_settings *s, const char *ehlo,
		     char *buf, size_t len)
{
	int v6 = strchr(s->smtp_server, ':') && s->smtp_server[0] != '[';
	char dom[128];

	mail_domain(ehlo, dom, sizeof(dom));
	snprintf(buf, len, "%s://%s%s%s:%d/%s",
		 s->security == SMTP_SECURITY_TLS ? "smtps" : "smtp",
		 v6 ? "[" : "", s->smtp_server, v6 ? "]" : "", s->smtp_port, dom);
}

static enum smtp_status classify(CURLcode rc, const struct conv *cv)
{
	int message_phase = !strcmp(cv->err_cmd, "the message") ||
			    !strcasecmp(cv->err_cmd, "MAIL") ||
			    !strcasecmp(cv->err_cmd, "RCPT") ||
			    !strcasecmp(cv->err_cmd, "DATA");

	if (rc == CURLE_OK)
		return SMTP_SENT;
	if (rc == CURLE_ABORTED_BY_CALLBACK)
		return SMTP_ABORTED;
	if (rc == CURLE_LOGIN_DENIED)
		return SMTP_AUTH_FAILED;
	/* 530: "authentication required" is the config's fault, not the message's. */
	if (cv->err_code >= 500 && cv->err_code < 600 && cv->err_code != 530 &&
	    message_phase)
		return SMTP_REJECTED;
	return SMTP_TEMPORARY;
}

static struct curl_slist *recipients(const struct curl_lib *cl, const struct smtp_settings *s)
{
	struct curl_slist *list = NULL, *more;

	for (size_t i = 0; i < s->nrecipients; i++) {
		char addr[512], angle[520];
		mail_address(s->recipients[i], addr, sizeof(addr));
		snprintf(angle, sizeof(angle), "<%s>", addr);
		more = cl->slist_append(list, angle);
		if (!more) {
			cl->slist_free_all(list);
			return NULL;
		}
		list = more;
	}
	return list;
}

static void set_options(const struct curl_lib *cl, CURL *h, const struct smtp_settings *s, const char *url,
			const char *from, struct curl_slist *rcpt, struct conv *cv,
			char *errbuf)
{
	cl->easy_setopt(h, CURLOPT_URL, url);
	cl->easy_setopt(h, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
	cl->easy_setopt(h, CURLOPT_MAIL_FROM, from);
	cl->easy_setopt(h, CURLOPT_MAIL_RCPT, rcpt);
	cl->easy_setopt(h, CURLOPT_UPLOAD, 1L);
	cl->easy_setopt(h, CURLOPT_READFUNCTION, on_read);
	cl->easy_setopt(h, CURLOPT_READDATA, cv);
	cl->easy_setopt(h, CURLOPT_USE_SSL, s->security == SMTP_SECURITY_NONE ?
			 (long)CURLUSESSL_NONE : (long)CURLUSESSL_ALL);
	if (s->ca_file)
		cl->easy_setopt(h, CURLOPT_CAINFO, s->ca_file);
	cl->easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)(s->connect_timeout_s * 1000));
	cl->easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)(s->timeout_s * 1000));
	cl->easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	cl->easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
	cl->easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
	cl->easy_setopt(h, CURLOPT_XFERINFODATA, cv);
	cl->easy_setopt(h, CURLOPT_VERBOSE, 1L);
	cl->easy_setopt(h, CURLOPT_DEBUGFUNCTION, on_debug);
	cl->easy_setopt(h, CURLOPT_DEBUGDATA, cv);
	cl->easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
}

static void describe(const struct curl_lib *cl, const struct smtp_settings *s, CURLcode rc,
		     const char *errbuf, const struct conv *cv,
		     struct smtp_outcome *out)
{
	const char *why = errbuf[0] ? errbuf : cl->easy_strerror(rc);

	if (out->status == SMTP_AUTH_FAILED)
		snprintf(out->error, sizeof(out->error), "SMTP authentication as "
			 "'%s' failed at %s:%d: %s%s%.300s; check username and the "
			 "password (%s %s)", s->username ? s->username : "",
			 s->smtp_server, s->smtp_port, why, cv->err_code ? ": " : "",
			 cv->err_code ? cv->err_reply : "", s->password_file ? "password_file"
			 : "password_env", s->password_file ? s->password_file
			 : s->password_env ? s->password_env : "-");
	else if (cv->err_code)
		snprintf(out->error, sizeof(out->error), "%s:%d (%s) after %s: %s: %.300s",
			 s->smtp_server, s->smtp_port,
			 smtp_security_name(s->security), cv->err_cmd, why,
			 cv->err_reply);
	else
		snprintf(out->error, sizeof(out->error), "%s:%d (%s): %s",
			 s->smtp_server, s->smtp_port,
			 smtp_security_name(s->security), why);
}

enum smtp_status smtp_send(const struct smtp_settings *s, const char *ehlo,
			   const char *msg, size_t len, const atomic_int *stop,
			   FILE *transcript, struct smtp_outcome *out)
{
	struct conv cv = { .transcript = transcript, .stop = stop, .msg = msg,
			   .len = len };
	char url[1024], addr[512], from[520], errbuf[CURL_ERROR_SIZE] = "";
	char password[PASSWORD_MAX] = "";
	struct curl_slist *rcpt = NULL;
	CURL *h = NULL;
	CURLcode rc;

	const struct curl_lib *cl;
	const char *why = NULL;

	memset(out, 0, sizeof(*out));
	out->status = SMTP_TEMPORARY;
	if (!(cl = curl_lib(&why))) {
		snprintf(out->error, sizeof(out->error), "%s", why);
		return out->status;
	}
	if (!s->smtp_server || !s->sender || !s->nrecipients) {
		snprintf(out->error, sizeof(out->error), "no SMTP server, sender or "
			 "recipients configured (logging:)");
		return out->status;
	}
	if (s->username && secret_get(s->password_file, s->password_env, password,
				       sizeof(password), out->error, sizeof(out->error)) < 0)
		return out->status;
	make_url(s, ehlo, url, sizeof(url));
	mail_address(s->sender, addr, sizeof(addr));
	snprintf(from, sizeof(from), "<%s>", addr);
	rcpt = recipients(cl, s);
	h = cl->easy_init();
	if (!rcpt || !h) {
		snprintf(out->error, sizeof(out->error), "out of memory");
		goto done;
	}
	set_options(cl, h, s, url, from, rcpt, &cv, errbuf);
	if (s->username) {
		cl->easy_setopt(h, CURLOPT_USERNAME, s->username);
		cl->easy_setopt(h, CURLOPT_PASSWORD, password);
	}
	rc = cl->easy_perform(h);
	out->status = classify(rc, &cv);
	out->code = cv.err_code && out->status != SMTP_SENT ? cv.err_code : cv.code;
	snprintf(out->reply, sizeof(out->reply), "%s",
		 cv.err_code && out->status != SMTP_SENT ? cv.err_reply : cv.reply);
	if (out->status != SMTP_SENT)
		describe(cl, s, rc, errbuf, &cv, out);
done:
	if (h)
		cl->easy_cleanup(h);
	cl->slist_free_all(rcpt);
	explicit_bzero(password, sizeof(password));
	return out->status;
}

static void *channel_copy(const void *settings)
{
	const struct smtp_channel *from = settings;
	struct smtp_channel *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	if (config_smtp_copy(&c->smtp, &from->smtp) < 0) {
		free(c);
		return NULL;
	}
	memcpy(c->hostname, from->hostname, sizeof(c->hostname));
	return c;
}

static void channel_release(void *settings)
{
	struct smtp_channel *c = settings;

	config_smtp_free(&c->smtp);
	free(c);
}

static void channel_send(const void *settings, const char *msg, size_t len,
			 const atomic_int *stop, struct delivery_outcome *out)
{
	const struct smtp_channel *c = settings;
	struct smtp_outcome res;

	smtp_send(&c->smtp, c->hostname, msg, len, stop, NULL, &res);
	out->status = res.status == SMTP_SENT ? DELIVERED
		: res.status == SMTP_REJECTED ? DELIVERY_REFUSED
		: res.status == SMTP_ABORTED ? DELIVERY_ABORTED : DELIVERY_RETRY;
	snprintf(out->reply, sizeof(out->reply), "%s", res.reply);
	if (res.status == SMTP_REJECTED)
		snprintf(out->error, sizeof(out->error), "refused by the server: %.700s",
			 res.error);
	else
		snprintf(out->error, sizeof(out->error), "%s", res.error);
}

const struct sender_ops smtp_sender_ops = {
	.noun = "mail",
	.copy = channel_copy,
	.release = channel_release,
	.send = channel_send,
};
