/* SPDX-License-Identifier: MIT */
/* One HTTP(S) POST through libcurl, for webhooks and Alertmanager: 2xx is
 * delivered; no answer, 408, 429 and 5xx are worth a retry; any other
 * answer refuses this body for good. */
#ifndef EPMON_ALERT_HTTP_POST_H
#define EPMON_ALERT_HTTP_POST_H

#include <stdatomic.h>
#include <stddef.h>
#include "alert/sender.h"

/* headers: NULL-terminated "Name: value" lines (may be NULL). stop (may be
 * NULL) aborts within about a second. */
void http_post(const char *url, const char *const *headers, const char *body,
	       size_t len, double timeout_s, const atomic_int *stop,
	       struct delivery_outcome *out);

/* scheme://host[:port] and "/..." when a path follows: what logs show of a
 * URL (a chat webhook's path is its secret). */
void http_url_for_log(const char *url, char *buf, size_t len);

#endif
