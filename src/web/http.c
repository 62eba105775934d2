/* SPDX-License-Identifier: MIT */
/* The HTTP server of `epmon run` (http.h) on libmicrohttpd. */
#include "web/http.h"

#include <arpa/inet.h>
#include <dlfcn.h>
#include <errno.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "util/log.h"
#include "util/secret.h"
#include "web/metrics.h"
#include "web/status_json.h"
#include "web/status_page.h"

/* libmicrohttpd links GnuTLS, several MB resident: it is loaded when an
 * http: map asks for it, never otherwise (see smtp.c for libcurl). A
 * loaded library is process-wide; pthread_once guards its one table. */
static struct {
	void *lib;
	char error[256];
	struct MHD_Daemon *(*start_daemon)(unsigned int, uint16_t,
					   MHD_AcceptPolicyCallback, void *,
					   MHD_AccessHandlerCallback, void *, ...);
	void (*stop_daemon)(struct MHD_Daemon *);
	struct MHD_Response *(*create_response)(size_t, void *, enum MHD_ResponseMemoryMode);
	enum MHD_Result (*add_header)(struct MHD_Response *, const char *, const char *);
	enum MHD_Result (*queue_response)(struct MHD_Connection *, unsigned int,
					  struct MHD_Response *);
	void (*destroy_response)(struct MHD_Response *);
	char *(*basic_auth)(struct MHD_Connection *, char **);
	enum MHD_Result (*queue_auth_fail)(struct MHD_Connection *, const char *,
					   struct MHD_Response *);
	void (*free)(void *);
} mhd;
static pthread_once_t mhd_once = PTHREAD_ONCE_INIT;

static void mhd_load(void)
{
	static const char *const names[] = { "MHD_start_daemon", "MHD_stop_daemon",
		"MHD_create_response_from_buffer", "MHD_add_response_header",
		"MHD_queue_response", "MHD_destroy_response",
		"MHD_basic_auth_get_username_password",
		"MHD_queue_basic_auth_fail_response", "MHD_free" };
	enum { N = sizeof(names) / sizeof(names[0]) };
	void *lib = dlopen(HTTP_LIBRARY, RTLD_NOW | RTLD_LOCAL);
	void *f[N];

	if (!lib) {
		snprintf(mhd.error, sizeof(mhd.error), "cannot load %s: %s (install "
			 "libmicrohttpd12)", HTTP_LIBRARY, dlerror());
		return;
	}
	for (size_t i = 0; i < N; i++) {
		f[i] = dlsym(lib, names[i]);
		if (!f[i]) {
			snprintf(mhd.error, sizeof(mhd.error), "%s has no %s",
				 HTTP_LIBRARY, names[i]);
			dlclose(lib);
			return;
		}
	}
	/* POSIX: function pointers travel through void * from dlsym */
	memcpy(&mhd.start_daemon, &f[0], sizeof(f[0]));
	memcpy(&mhd.stop_daemon, &f[1], sizeof(f[1]));
	memcpy(&mhd.create_response, &f[2], sizeof(f[2]));
	memcpy(&mhd.add_header, &f[3], sizeof(f[3]));
	memcpy(&mhd.queue_response, &f[4], sizeof(f[4]));
	memcpy(&mhd.destroy_response, &f[5], sizeof(f[5]));
	memcpy(&mhd.basic_auth, &f[6], sizeof(f[6]));
	memcpy(&mhd.queue_auth_fail, &f[7], sizeof(f[7]));
	memcpy(&mhd.free, &f[8], sizeof(f[8]));
	mhd.lib = lib;
}

enum page { PAGE_METRICS, PAGE_STATUS, PAGE_HTML, PAGE_COUNT };

/* A rendered page, sent to every request of the same second and data: a
 * flood of requests costs one rendering a second. libmicrohttpd counts the
 * references of a response queued on several connections. */
struct cached_page {
	struct MHD_Response *resp;
	unsigned long generation;   /* of the monitor data it shows */
	time_t at;                  /* the `now` it was rendered for */
};

struct http_server {
	struct monitor *mon;
	const struct notifier *alerts; /* NULL: none */
	/* only the server's one thread touches it */
	struct cached_page cache[PAGE_COUNT];
	struct MHD_Daemon *daemon;  /* NULL: not listening (a reload failed) */
	char url[96];
	char *username;             /* basic auth; NULL: none */
	char *password;
	char start_error[256];      /* libmicrohttpd's last word while starting */
	int starting;               /* set by the main thread, read by the server's */
};

__attribute__((format(printf, 2, 0)))
static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	struct http_server *s = cls;
	char msg[256];
	size_t n;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	n = strlen(msg);
	while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
		msg[--n] = '\0';
	/* refused connections and timeouts are routine for a public server */
	log_debug(NULL, "http: %s", msg);
	if (__atomic_load_n(&s->starting, __ATOMIC_ACQUIRE))
		snprintf(s->start_error, sizeof(s->start_error), "%s", msg);
}

/* A response owning body (malloc'd), with the headers every answer has. */
static struct MHD_Response *response(unsigned int status, const char *type,
				     char *body, size_t len)
{
	struct MHD_Response *resp = mhd.create_response(len, body, MHD_RESPMEM_MUST_FREE);

	if (!resp) {
		free(body);
		return NULL;
	}
	mhd.add_header(resp, "Content-Type", type);
	mhd.add_header(resp, "Cache-Control", "no-store");
	mhd.add_header(resp, "X-Content-Type-Options", "nosniff");
	if (!strcmp(type, STATUS_PAGE_CONTENT_TYPE)) {
		mhd.add_header(resp, "Content-Security-Policy", STATUS_PAGE_CSP
			       "; frame-ancestors 'none'");
		mhd.add_header(resp, "Referrer-Policy", "no-referrer");
	}
	if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
		mhd.add_header(resp, "Allow", "GET, HEAD");
	return resp;
}

static enum MHD_Result reply(struct MHD_Connection *conn, unsigned int status,
			     const char *type, char *body, size_t len, int auth_fail)
{
	struct MHD_Response *resp = response(status, type, body, len);
	enum MHD_Result rc;

	if (!resp)
		return MHD_NO;
	rc = auth_fail ? mhd.queue_auth_fail(conn, "epmon", resp)
		       : mhd.queue_response(conn, status, resp);
	mhd.destroy_response(resp);
	return rc;
}

static enum MHD_Result reply_text(struct MHD_Connection *conn, unsigned int status,
				  const char *text, int auth_fail)
{
	char *body = strdup(text);

	if (!body)
		return MHD_NO;
	return reply(conn, status, "text/plain; charset=utf-8", body, strlen(body),
		     auth_fail);
}

/* Renders a snapshot of the model: the model's lock is held only for the
 * copy, never while formatting. NULL when out of memory. */
static struct MHD_Response *render(struct http_server *s, enum page page, time_t now)
{
	static const char *const types[] = { METRICS_CONTENT_TYPE,
		"application/json; charset=utf-8", STATUS_PAGE_CONTENT_TYPE };
	struct monitor_data *d = monitor_snapshot(s->mon);
	char *body = NULL;
	size_t len = 0;
	FILE *out;

	if (!d)
		return NULL;
	out = open_memstream(&body, &len);
	if (out) {
		if (page == PAGE_METRICS)
			metrics_write(d, now, out);
		else if (page == PAGE_STATUS)
			status_json_write(d, now, out);
		else
			status_page_write(d, now, out);
	}
	monitor_snapshot_free(d);
	if (!out || fclose(out) != 0) {
		free(body);
		return NULL;
	}
	return response(MHD_HTTP_OK, types[page], body, len);
}

static enum MHD_Result serve(struct http_server *s, struct MHD_Connection *conn,
			     enum page page)
{
	struct cached_page *c = &s->cache[page];
	unsigned long generation = monitor_generation(s->mon);
	time_t now = time(NULL);

	if (!c->resp || c->generation != generation || c->at != now) {
		struct MHD_Response *fresh = render(s, page, now);
		if (!fresh)
			return reply_text(conn, MHD_HTTP_INTERNAL_SERVER_ERROR,
					  "out of memory\n", 0);
		if (c->resp)
			mhd.destroy_response(c->resp);
		c->resp = fresh;
		c->generation = generation;
		c->at = now;
	}
	return mhd.queue_response(conn, MHD_HTTP_OK, c->resp);
}

static int authorized(struct http_server *s, struct MHD_Connection *conn)
{
	char *pass = NULL, *user;
	int ok;

	if (!s->password)
		return 1;
	user = mhd.basic_auth(conn, &pass);
	ok = user && pass && secret_equal(user, s->username) &&
	     secret_equal(pass, s->password);
	if (pass) {
		explicit_bzero(pass, strlen(pass));
		mhd.free(pass);
	}
	if (user)
		mhd.free(user);
	return ok;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *conn,
			      const char *url, const char *method,
			      const char *version, const char *upload_data,
			      size_t *upload_data_size, void **con_cls)
{
	struct http_server *s = cls;

	(void)version;
	(void)upload_data;
	(void)upload_data_size;
	(void)con_cls;
	if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
		return reply_text(conn, MHD_HTTP_METHOD_NOT_ALLOWED,
				  "only GET and HEAD\n", 0);
	if (!authorized(s, conn))
		return reply_text(conn, MHD_HTTP_UNAUTHORIZED,
				  "authentication required\n", 1);
	if (!strcmp(url, "/metrics"))
		return serve(s, conn, PAGE_METRICS);
	if (!strcmp(url, "/status"))
		return serve(s, conn, PAGE_STATUS);
	if (!strcmp(url, "/"))
		return serve(s, conn, PAGE_HTML);
	return reply_text(conn, MHD_HTTP_NOT_FOUND,
			  "not found: try /, /metrics or /status\n", 0);
}

/* The address to listen on, from a checked `listen` value. */
static int listen_address(const char *listen, struct sockaddr_storage *ss,
			  int *ipv6, int *port, char *url, size_t urllen, int tls)
{
	char addr[64];

	memset(ss, 0, sizeof(*ss));
	if (config_listen_parse(listen, addr, sizeof(addr), port, ipv6) < 0)
		return -1;
	if (*ipv6) {
		struct sockaddr_in6 *sa = (struct sockaddr_in6 *)ss;
		sa->sin6_family = AF_INET6;
		sa->sin6_port = htons((uint16_t)*port);
		inet_pton(AF_INET6, addr, &sa->sin6_addr);
	} else {
		struct sockaddr_in *sa = (struct sockaddr_in *)ss;
		sa->sin_family = AF_INET;
		sa->sin_port = htons((uint16_t)*port);
		inet_pton(AF_INET, addr, &sa->sin_addr);
	}
	snprintf(url, urllen, "%s://%s/", tls ? "https" : "http", listen);
	return 0;
}

/* Starts libmicrohttpd on h; 0, or -1 with the reason logged. */
static int start_daemon(struct http_server *s, const struct http_settings *h)
{
	struct sockaddr_storage ss;
	char *cert = NULL, *key = NULL, why[128];
	size_t cert_len = 0, key_len = 0;
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ERROR_LOG;
	int ipv6, port, tls = h->cert_file != NULL, rc = -1;

	if (listen_address(h->listen, &ss, &ipv6, &port, s->url, sizeof(s->url), tls) < 0) {
		log_error(NULL, "http: bad listen address '%s'", h->listen);
		return -1;
	}
	if (h->password_file) {
		char pw[HTTP_PASSWORD_MAX + 1], err[PATH_MAX + 128];

		if (secret_read_line(h->password_file, pw, sizeof(pw), err, sizeof(err)) < 0) {
			log_error(NULL, "http: password_file: %s", err);
			explicit_bzero(pw, sizeof(pw));
			return -1;
		}
		s->password = strdup(pw);
		explicit_bzero(pw, sizeof(pw));
		if (!s->password)
			return -1;
		if (!(s->username = strdup(h->username ? h->username : "epmon")))
			return -1;
	}
	if (tls) {
		cert = secret_read_file(h->cert_file, HTTP_FILE_MAX, &cert_len, why, sizeof(why));
		if (!cert) {
			log_error(NULL, "http: cannot read cert_file %s: %s", h->cert_file, why);
			return -1;
		}
		key = secret_read_file(h->key_file, HTTP_FILE_MAX, &key_len, why, sizeof(why));
		if (!key) {
			log_error(NULL, "http: cannot read key_file %s: %s", h->key_file, why);
			free(cert);
			return -1;
		}
		flags |= MHD_USE_TLS;
	}
	if (ipv6)
		flags |= MHD_USE_IPv6;
	struct MHD_OptionItem ops[] = {
		{ MHD_OPTION_EXTERNAL_LOGGER, (intptr_t)mhd_log, s },
		{ MHD_OPTION_SOCK_ADDR, 0, &ss },
		{ MHD_OPTION_CONNECTION_LIMIT, HTTP_MAX_CONNECTIONS, NULL },
		{ MHD_OPTION_PER_IP_CONNECTION_LIMIT, HTTP_MAX_PER_ADDRESS, NULL },
		{ MHD_OPTION_CONNECTION_TIMEOUT, HTTP_IDLE_TIMEOUT_S, NULL },
		{ MHD_OPTION_CONNECTION_MEMORY_LIMIT, HTTP_CONNECTION_MEMORY, NULL },
		{ MHD_OPTION_LISTEN_BACKLOG_SIZE, 128, NULL },
		/* without TLS the list ends here */
		{ tls ? MHD_OPTION_HTTPS_MEM_CERT : MHD_OPTION_END, 0, cert },
		{ MHD_OPTION_HTTPS_MEM_KEY, 0, key },
		{ MHD_OPTION_END, 0, NULL },
	};
	s->start_error[0] = '\0';
	__atomic_store_n(&s->starting, 1, __ATOMIC_RELEASE);
	/* the thread starts with the caller's signal mask: the main thread
	 * has its signals blocked here, so they stay with it */
	s->daemon = mhd.start_daemon(flags, (uint16_t)port, NULL, NULL, handle, s,
				     MHD_OPTION_ARRAY, ops, MHD_OPTION_END);
	__atomic_store_n(&s->starting, 0, __ATOMIC_RELEASE);
	if (s->daemon) {
		rc = 0;
		log_info(NULL, "http: serving %s (/metrics, /status, /)%s%s", s->url,
			 s->password ? ", basic auth" : "", tls ? ", TLS" : "");
	} else {
		log_error(NULL, "http: cannot listen on %s: %s", h->listen,
			  s->start_error[0] ? s->start_error : "libmicrohttpd refused to start");
	}
	/* GnuTLS copied them while starting */
	secret_free(key, key_len);
	free(cert);
	return rc;
}

static void stop_daemon(struct http_server *s)
{
	if (s->daemon)
		mhd.stop_daemon(s->daemon);
	s->daemon = NULL;
	for (int i = 0; i < PAGE_COUNT; i++) {
		if (s->cache[i].resp)
			mhd.destroy_response(s->cache[i].resp);
		s->cache[i].resp = NULL;
	}
	secret_free(s->password, s->password ? strlen(s->password) : 0);
	free(s->username);
	s->password = s->username = NULL;
}

struct http_server *http_server_new(const struct config *cfg, const char *version,
				    const struct notifier *alerts)
{
	struct http_server *s;
	long rows;

	pthread_once(&mhd_once, mhd_load);
	if (!mhd.lib) {
		log_error(NULL, "http: %s", mhd.error);
		return NULL;
	}
	s = calloc(1, sizeof(*s));
	if (!s || !(s->mon = monitor_new(cfg, version, time(NULL)))) {
		log_error(NULL, "http: out of memory");
		free(s);
		return NULL;
	}
	s->alerts = alerts;
	rows = monitor_load_history(s->mon, cfg->results_dir, time(NULL));
	if (rows < 0 && errno == ENOENT)
		log_info(NULL, "http: no history yet in %s", cfg->results_dir);
	else if (rows < 0)
		log_warn(NULL, "http: cannot read the history in %s: %s; the charts "
			 "start empty", cfg->results_dir, strerror(errno));
	else
		log_info(NULL, "http: %ld result(s) of the last 7 days loaded from %s",
			 rows, cfg->results_dir);
	if (start_daemon(s, &cfg->http) < 0) {
		http_server_free(s);
		return NULL;
	}
	return s;
}

void http_server_update(struct http_server *s, const struct cycle_report *rep,
			unsigned long overruns, const struct alert_state *alerts,
			size_t spooled)
{
	if (s)
		monitor_after_cycle(s->mon, rep, overruns, alerts, spooled);
}

void http_server_reload(struct http_server **sp, const struct config *cfg,
			const char *version, const struct notifier *alerts)
{
	struct http_server *s = *sp;

	if (!cfg->http.enabled) {
		if (s)
			log_info(NULL, "http: no http: map any more; server stopped");
		http_server_free(s);
		*sp = NULL;
		return;
	}
	if (!s) {
		*sp = http_server_new(cfg, version, alerts);
		return;
	}
	if (monitor_reload(s->mon, cfg) < 0)
		log_error(NULL, "http: out of memory; the sites shown are the old ones");
	stop_daemon(s);
	if (start_daemon(s, &cfg->http) < 0)
		log_error(NULL, "http: the server stays off until the next reload");
}

static void cycle_done(void *arg, const struct cycle_report *rep)
{
	struct http_server *s = arg;

	/* rep->quiet has an entry per site of the config in force: the monitor's */
	monitor_set_quiet(s->mon, rep->quiet, rep->quiet ? SIZE_MAX : 0);
	monitor_after_cycle(s->mon, rep, rep->overruns,
			    s->alerts ? notifier_alerts(s->alerts) : NULL,
			    s->alerts ? notifier_spooled(s->alerts) : 0);
}

struct cycle_sink http_server_sink(struct http_server *s)
{
	return (struct cycle_sink){ .cycle_done = s ? cycle_done : NULL, .arg = s };
}

void http_server_free(struct http_server *s)
{
	if (!s)
		return;
	stop_daemon(s);
	monitor_free(s->mon);
	free(s);
}

const char *http_server_url(const struct http_server *s)
{
	return s ? s->url : "";
}
