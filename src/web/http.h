/* SPDX-License-Identifier: MIT */
/* The HTTP side of `epmon run` (the http: map): GET /metrics (Prometheus),
 * GET /status (JSON) and GET / (the status page). libmicrohttpd parses the
 * requests in a separate unprivileged process (server.h); this process
 * keeps the monitor model (monitor.h), updated after each cycle, renders
 * the pages the web process asks for, and restarts it (with backoff) if it
 * dies. libmicrohttpd (and the GnuTLS it links) is loaded with dlopen only
 * when http: is configured: without it, epmon does not map it at all.
 *
 * A slow or hostile client costs the server, never a cycle: the main
 * thread only takes the model's mutex for a moment after each cycle, and
 * the server bounds connections (in total and per address), their idle
 * time and their memory. Only GET and HEAD; everything else gets 405. */
#ifndef EPMON_WEB_HTTP_H
#define EPMON_WEB_HTTP_H

#include <stddef.h>
#include "alert/alert.h"
#include "config/config.h"
#include "alert/notify.h"
#include "probe/cycle.h"
#include "web/monitor.h"
#include "web/server.h"

#define HTTP_FILE_MAX (1024 * 1024) /* largest cert_file / key_file */
#define HTTP_PASSWORD_MAX 1024      /* longest password_file line */

struct http_server;

/* Builds the monitor of cfg (with the CSV history of the last 7 days) and
 * starts serving cfg->http. alerts (may be NULL) is asked for the alert
 * state and the spool after each cycle. NULL when it cannot listen (reason
 * logged). */
struct http_server *http_server_new(const struct config *cfg, const char *version,
				    const struct notifier *alerts);

/* A cycle's sink: the monitor takes the cycle's results, quiet states and
 * overruns, and the notifier's alert state (s may be NULL: none). */
struct cycle_sink http_server_sink(struct http_server *s);

/* After each cycle (rep may be NULL: only alert state and spool count). */
void http_server_update(struct http_server *s, const struct cycle_report *rep,
			unsigned long overruns, const struct alert_state *alerts,
			size_t spooled);

/* SIGHUP, after the new config is in force: sites follow the config; the
 * server restarts with the new http: map (password, certificate and key
 * are read again); an http: map removed stops it, one added starts it.
 * *s may be NULL before and after. */
void http_server_reload(struct http_server **s, const struct config *cfg,
			const char *version, const struct notifier *alerts);

/* Stops the web process (connections are closed) and frees everything. */
void http_server_free(struct http_server *s);

/* Where it listens, e.g. "http://127.0.0.1:9877/" (for logs and tests). */
const char *http_server_url(const struct http_server *s);

#endif
