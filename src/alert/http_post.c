/* SPDX-License-Identifier: MIT */
/* HTTP POST with libcurl (see http_post.h). */
#include "alert/http_post.h"

#include <stdio.h>
#include <string.h>

#include "util/curl_lib.h"
#include "util/utf8.h"

#define ANSWER_MAX 200  /* of the server's body, kept for the log */

struct answer {
	char text[ANSWER_MAX + 1];
	size_t len;
	const atomic_int *stop;
};

static size_t on_write(char *data, size_t size, size_t n, void *arg)
{
	struct answer *a = arg;
	size_t len = size * n, room = ANSWER_MAX - a->len;

	memcpy(a->text + a->len, data, len < room ? len : room);
	a->len += len < room ? len : room;
	a->text[a->len] = '\0';
	return len;
}

static int on_progress(void *arg, curl_off_t a, curl_off_t b, curl_off_t c,
		       curl_off_t d)
{
	const struct answer *ans = arg;

	(void)a; (void)b; (void)c; (void)d;
	return ans->stop && atomic_load(ans->stop) ? 1 : 0;
}

void http_url_for_log(const char *url, char *buf, size_t len)
{
	const char *host = strstr(url, "://");
	size_t n;

	host = host ? host + 3 : url;
	n = strcspn(host, "/?#");
	/* the path of a chat webhook is its secret: never logged */
	snprintf(buf, len, "%.*s%.*s%s", (int)(host - url), url, (int)n, host,
		 host[n] ? "/..." : "");
}

static enum delivery classify(long code)
{
	if (code >= 200 && code < 300)
		return DELIVERED;
	if (code == 408 || code == 429 || code >= 500 || code < 200)
		return DELIVERY_RETRY;
	return DELIVERY_REFUSED;
}

void http_post(const char *url, const char *const *headers, const char *body,
	       size_t len, double timeout_s, const atomic_int *stop,
	       struct delivery_outcome *out)
{
	struct answer ans = { .stop = stop };
	char shown[256];
	char errbuf[CURL_ERROR_SIZE] = "";
	struct curl_slist *list = NULL, *more;
	const struct curl_lib *cl;
	const char *why = NULL;
	long code = 0;
	CURL *h;
	CURLcode rc;

	memset(out, 0, sizeof(*out));
	out->status = DELIVERY_RETRY;
	http_url_for_log(url, shown, sizeof(shown));
	if (!(cl = curl_lib(&why))) {
		snprintf(out->error, sizeof(out->error), "%s", why);
		return;
	}
	for (size_t i = 0; headers && headers[i]; i++) {
		if (!(more = cl->slist_append(list, headers[i]))) {
			cl->slist_free_all(list);
			snprintf(out->error, sizeof(out->error), "out of memory");
			return;
		}
		list = more;
	}
	if (!(h = cl->easy_init())) {
		cl->slist_free_all(list);
		snprintf(out->error, sizeof(out->error), "out of memory");
		return;
	}
	cl->easy_setopt(h, CURLOPT_URL, url);
	cl->easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	cl->easy_setopt(h, CURLOPT_POST, 1L);
	cl->easy_setopt(h, CURLOPT_POSTFIELDS, body);
	cl->easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
	cl->easy_setopt(h, CURLOPT_HTTPHEADER, list);
	cl->easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)(timeout_s * 1000));
	cl->easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)(timeout_s * 1000));
	cl->easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	cl->easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
	cl->easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
	cl->easy_setopt(h, CURLOPT_XFERINFODATA, &ans);
	cl->easy_setopt(h, CURLOPT_WRITEFUNCTION, on_write);
	cl->easy_setopt(h, CURLOPT_WRITEDATA, &ans);
	cl->easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
	rc = cl->easy_perform(h);
	if (rc == CURLE_OK)
		cl->easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
	cl->easy_cleanup(h);
	cl->slist_free_all(list);
	utf8_clean_line(ans.text);
	for (size_t n = strlen(ans.text); n && ans.text[n - 1] == ' '; n--)
		ans.text[n - 1] = '\0';    /* the answer's own newline, made a space */
	if (rc == CURLE_ABORTED_BY_CALLBACK) {
		out->status = DELIVERY_ABORTED;
		snprintf(out->error, sizeof(out->error), "%s: aborted", shown);
	} else if (rc != CURLE_OK) {
		snprintf(out->error, sizeof(out->error), "%s: %s", shown,
			 errbuf[0] ? errbuf : cl->easy_strerror(rc));
	} else {
		out->status = classify(code);
		snprintf(out->reply, sizeof(out->reply), "HTTP %ld%s%s", code,
			 ans.text[0] ? " " : "", ans.text);
		if (out->status != DELIVERED)
			snprintf(out->error, sizeof(out->error), "%s answered HTTP %ld%s%s%s",
				 shown, code, ans.text[0] ? " (" : "", ans.text,
				 ans.text[0] ? ")" : "");
	}
}
