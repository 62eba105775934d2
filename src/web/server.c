/* SPDX-License-Identifier: MIT */
/* The web process (server.h): libmicrohttpd, unprivileged, pages from root. */
#include "web/server.h"

#include <arpa/inet.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <microhttpd.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "util/clock.h"
#include "util/fsutil.h"
#include "util/log.h"
#include "util/secret.h"
#include "config/config.h"
#include "web/metrics.h"
#include "web/sandbox.h"
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
	const union MHD_ConnectionInfo *(*connection_info)(struct MHD_Connection *,
							   enum MHD_ConnectionInfoType, ...);
} mhd;
static pthread_once_t mhd_once = PTHREAD_ONCE_INIT;

static void mhd_load(void)
{
	static const char *const names[] = { "MHD_start_daemon", "MHD_stop_daemon",
		"MHD_create_response_from_buffer", "MHD_add_response_header",
		"MHD_queue_response", "MHD_destroy_response",
		"MHD_basic_auth_get_username_password",
		"MHD_queue_basic_auth_fail_response", "MHD_free",
		"MHD_get_connection_info" };
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
	memcpy(&mhd.connection_info, &f[9], sizeof(f[9]));
	mhd.lib = lib;
}

int web_load(char *err, size_t errlen)
{
	pthread_once(&mhd_once, mhd_load);
	if (mhd.lib)
		return 0;
	snprintf(err, errlen, "%s", mhd.error);
	return -1;
}

/* A connection the server holds, for the share of its address and the
 * deadline of its request (server.h). */
struct conn {
	int used;
	int fd;                     /* valid until the CLOSED notification */
	unsigned char peer[17];     /* family, then the address (IPv6: its /64) */
	char name[INET6_ADDRSTRLEN];
	int waiting;                /* 1: a request is due, `since` + deadline */
	int cut;                    /* shut down at its deadline */
	double since;               /* monotonic: opened, or its last answer */
};

/* The web process's own state: one, as it is one process. */
struct web {
	int sock;
	const char *username;
	char *password;
	pthread_mutex_t lock;       /* one ask at a time on sock */
	struct cached {
		struct MHD_Response *resp;
		uint64_t generation;
		int64_t at;
	} cache[WEB_PAGE_COUNT];
	char start_error[256];
	int starting;
	/* written by libmicrohttpd's thread, read by the deadline thread; a
	 * slot is freed under the lock before libmicrohttpd closes its fd */
	pthread_mutex_t conns_lock;
	pthread_cond_t conns_wake;  /* a request is due and the thread sleeps */
	int deadline_asleep;        /* 1: waiting for no time in particular */
	struct conn conns[HTTP_MAX_CONNECTIONS];
};

__attribute__((format(printf, 2, 0)))
static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	struct web *w = cls;
	char msg[256];
	size_t n;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	n = strlen(msg);
	while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
		msg[--n] = '\0';
	/* refused connections and timeouts are routine for a public server */
	log_debug(NULL, "http: %s", msg);
	/* libmicrohttpd says what failed ("GnuTLS failed to setup x509
	 * certificate/key: Base64 decoding error."), then that the start
	 * failed ("Failed to initialize TLS support."): the first one says why */
	if (w->starting && !w->start_error[0]) {
		if (n > 0 && msg[n - 1] == '.')
			msg[--n] = '\0';
		snprintf(w->start_error, sizeof(w->start_error), "%s", msg);
	}
}

static const char *const page_types[WEB_PAGE_COUNT] = { METRICS_CONTENT_TYPE,
	"application/json; charset=utf-8", STATUS_PAGE_CONTENT_TYPE };

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

static enum MHD_Result reply_text(struct MHD_Connection *conn, unsigned int status,
				  const char *text, int auth_fail)
{
	char *body = strdup(text);
	struct MHD_Response *resp;
	enum MHD_Result rc;

	if (!body || !(resp = response(status, "text/plain; charset=utf-8", body,
				       strlen(text))))
		return MHD_NO;
	rc = auth_fail ? mhd.queue_auth_fail(conn, "epmon", resp)
		       : mhd.queue_response(conn, status, resp);
	mhd.destroy_response(resp);
	return rc;
}

/* The page for this second from the root process, or the cached copy when
 * root says it is current. NULL when root does not answer (it is stopping,
 * or out of memory). */
static struct MHD_Response *ask(struct web *w, enum web_page page)
{
	struct cached *c = &w->cache[page];
	struct web_ask q = { .page = page, .now = time(NULL),
			     .have_generation = c->resp ? c->generation : 0,
			     .have_at = c->at };
	struct web_answer a;
	struct MHD_Response *resp = NULL;
	char *body;

	pthread_mutex_lock(&w->lock);
	if (fd_write_all(w->sock, &q, sizeof(q)) < 0 ||
	    fd_read_all(w->sock, &a, sizeof(a)) < 0)
		goto out;
	if (a.unchanged && c->resp) {
		resp = c->resp;
		goto out;
	}
	if (a.len > HTTP_PAGE_MAX || !(body = malloc(a.len ? a.len : 1)))
		goto out;
	if (fd_read_all(w->sock, body, a.len) < 0) {
		free(body);
		goto out;
	}
	resp = response(MHD_HTTP_OK, page_types[page], body, a.len);
	if (resp) {
		if (c->resp)
			mhd.destroy_response(c->resp);
		c->resp = resp;
		c->generation = a.generation;
		c->at = q.now;
	}
out:
	pthread_mutex_unlock(&w->lock);
	return resp;
}

static int authorized(struct web *w, struct MHD_Connection *conn)
{
	char *pass = NULL, *user;
	int ok;

	if (!w->password)
		return 1;
	user = mhd.basic_auth(conn, &pass);
	ok = user && pass && secret_equal(user, w->username) &&
	     secret_equal(pass, w->password);
	if (pass) {
		explicit_bzero(pass, strlen(pass));
		mhd.free(pass);
	}
	if (user)
		mhd.free(user);
	return ok;
}

/* The key an address's share is counted by (len: what sa holds), and
 * its printable name. */
static void peer_of(const struct sockaddr *sa, socklen_t len, unsigned char key[17],
		    char *name, size_t namelen)
{
	struct sockaddr_in a4;
	struct sockaddr_in6 a6;

	memset(key, 0, 17);
	snprintf(name, namelen, "?");
	if (sa->sa_family == AF_INET && len >= sizeof(a4)) {
		memcpy(&a4, sa, sizeof(a4));
		key[0] = 4;
		memcpy(key + 1, &a4.sin_addr, sizeof(a4.sin_addr));
		inet_ntop(AF_INET, &a4.sin_addr, name, (socklen_t)namelen);
	} else if (sa->sa_family == AF_INET6 && len >= sizeof(a6)) {
		memcpy(&a6, sa, sizeof(a6));
		key[0] = 6;
		memcpy(key + 1, &a6.sin6_addr, IN6_IS_ADDR_V4MAPPED(&a6.sin6_addr) ? 16 : 8);
		inet_ntop(AF_INET6, &a6.sin6_addr, name, (socklen_t)namelen);
	}
}

/* The accept policy: HTTP_MAX_PER_ADDRESS from one address, and once
 * HTTP_CROWDED connections are open, HTTP_CROWDED_PER_ADDRESS, so that a
 * few addresses leave room for the others (Prometheus) however slowly
 * they send. Refused: libmicrohttpd closes the socket at once. */
static enum MHD_Result admit(void *cls, const struct sockaddr *addr, socklen_t addrlen)
{
	struct web *w = cls;
	unsigned char key[17];
	char name[INET6_ADDRSTRLEN];
	int open = 0, mine = 0;

	peer_of(addr, addrlen, key, name, sizeof(name));
	pthread_mutex_lock(&w->conns_lock);
	for (int i = 0; i < HTTP_MAX_CONNECTIONS; i++) {
		if (!w->conns[i].used)
			continue;
		open++;
		mine += !memcmp(w->conns[i].peer, key, sizeof(key));
	}
	pthread_mutex_unlock(&w->conns_lock);
	if (mine >= HTTP_MAX_PER_ADDRESS ||
	    (open >= HTTP_CROWDED && mine >= HTTP_CROWDED_PER_ADDRESS)) {
		log_debug(NULL, "http: refused a connection from %s: it holds %d of the %d "
			  "open", name, mine, open);
		return MHD_NO;
	}
	return MHD_YES;
}

/* libmicrohttpd's thread: a connection opened (its deadline runs) or
 * closed (its slot is freed before its fd is closed, so the deadline
 * thread never touches an fd that is no longer this connection's). */
static void connection_event(void *cls, struct MHD_Connection *mc, void **ctx,
			     enum MHD_ConnectionNotificationCode what)
{
	struct web *w = cls;
	struct conn *c = *ctx;

	if (what == MHD_CONNECTION_NOTIFY_CLOSED) {
		if (c) {
			pthread_mutex_lock(&w->conns_lock);
			c->used = 0;
			c->fd = -1;
			pthread_mutex_unlock(&w->conns_lock);
			*ctx = NULL;
		}
		return;
	}
	const union MHD_ConnectionInfo *fd =
		mhd.connection_info(mc, MHD_CONNECTION_INFO_CONNECTION_FD);
	const union MHD_ConnectionInfo *peer =
		mhd.connection_info(mc, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	if (!fd || !peer || !peer->client_addr)
		return;
	pthread_mutex_lock(&w->conns_lock);
	/* libmicrohttpd holds at most HTTP_MAX_CONNECTIONS: a slot is free */
	for (int i = 0; i < HTTP_MAX_CONNECTIONS && !*ctx; i++) {
		if (w->conns[i].used)
			continue;
		c = &w->conns[i];
		c->used = 1;
		c->fd = fd->connect_fd;
		/* libmicrohttpd's copy of what accept() gave: whole for its family */
		peer_of(peer->client_addr, sizeof(struct sockaddr_in6), c->peer,
			c->name, sizeof(c->name));
		c->waiting = 1;
		c->cut = 0;
		c->since = monotonic_s();
		*ctx = c;
		if (w->deadline_asleep)
			pthread_cond_signal(&w->conns_wake);
	}
	pthread_mutex_unlock(&w->conns_lock);
}

/* waiting 0: the request is whole (the handler has it); 1: it was
 * answered, and the next one on this connection is due by the deadline
 * (else one quick request would free a slow second one from it). */
static void request_state(struct web *w, struct MHD_Connection *mc, int waiting)
{
	const union MHD_ConnectionInfo *ci =
		mhd.connection_info(mc, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	struct conn *c = ci ? ci->socket_context : NULL;

	if (!c)
		return;
	pthread_mutex_lock(&w->conns_lock);
	c->waiting = waiting;
	if (waiting) {
		c->since = monotonic_s();
		if (w->deadline_asleep)
			pthread_cond_signal(&w->conns_wake);
	}
	pthread_mutex_unlock(&w->conns_lock);
}

static void request_done(void *cls, struct MHD_Connection *mc, void **req_ctx,
			 enum MHD_RequestTerminationCode why)
{
	(void)req_ctx;
	(void)why;
	request_state(cls, mc, 1);
}

/* The deadline thread: shuts down (both ways) a connection whose request
 * is not whole HTTP_REQUEST_DEADLINE_S after it became due; libmicrohttpd
 * then reads the end of it and closes it. The idle timeout alone lets a
 * client that sends a byte now and then hold a connection forever. */
static void *deadline_main(void *arg)
{
	struct web *w = arg;

	pthread_mutex_lock(&w->conns_lock);
	for (;;) {
		double now = monotonic_s(), next = -1;
		struct timespec at;

		for (int i = 0; i < HTTP_MAX_CONNECTIONS; i++) {
			struct conn *c = &w->conns[i];
			double due;

			if (!c->used || !c->waiting || c->cut)
				continue;
			due = c->since + HTTP_REQUEST_DEADLINE_S;
			if (now >= due) {
				/* under the lock: fd is still this connection's */
				shutdown(c->fd, SHUT_RDWR);
				c->cut = 1;
				log_debug(NULL, "http: cut a connection from %s: no whole "
					  "request in %d s", c->name, HTTP_REQUEST_DEADLINE_S);
			} else if (next < 0 || due < next) {
				next = due;
			}
		}
		/* a request that becomes due later is due after `next` */
		w->deadline_asleep = next < 0;
		if (next < 0) {
			pthread_cond_wait(&w->conns_wake, &w->conns_lock);
			continue;
		}
		clock_gettime(CLOCK_MONOTONIC, &at);
		at = clock_add(at, next - now);
		pthread_cond_timedwait(&w->conns_wake, &w->conns_lock, &at);
	}
	return NULL;
}

/* The connection table, before the server starts. */
static void conns_init(struct web *w)
{
	pthread_condattr_t ca;

	pthread_mutex_init(&w->conns_lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&w->conns_wake, &ca);
	pthread_condattr_destroy(&ca);
	for (int i = 0; i < HTTP_MAX_CONNECTIONS; i++)
		w->conns[i].fd = -1;
}

/* The deadline thread, for the life of the process. 0, or -1 with why set. */
static int deadline_start(struct web *w, char *why, size_t whylen)
{
	pthread_t t;
	int rc = pthread_create(&t, NULL, deadline_main, w);

	if (rc != 0) {
		snprintf(why, whylen, "cannot start the deadline thread: %s", strerror(rc));
		return -1;
	}
	pthread_detach(t);
	return 0;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *conn,
			      const char *url, const char *method,
			      const char *version, const char *upload_data,
			      size_t *upload_data_size, void **con_cls)
{
	struct web *w = cls;
	enum web_page page;
	struct MHD_Response *resp;

	(void)version;
	(void)upload_data;
	(void)upload_data_size;
	(void)con_cls;
	request_state(w, conn, 0);
	if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
		return reply_text(conn, MHD_HTTP_METHOD_NOT_ALLOWED,
				  "only GET and HEAD\n", 0);
	if (!authorized(w, conn))
		return reply_text(conn, MHD_HTTP_UNAUTHORIZED,
				  "authentication required\n", 1);
	if (!strcmp(url, "/metrics"))
		page = WEB_PAGE_METRICS;
	else if (!strcmp(url, "/status"))
		page = WEB_PAGE_STATUS;
	else if (!strcmp(url, "/"))
		page = WEB_PAGE_HTML;
	else
		return reply_text(conn, MHD_HTTP_NOT_FOUND,
				  "not found: try /, /metrics or /status\n", 0);
	resp = ask(w, page);
	if (!resp)
		return reply_text(conn, MHD_HTTP_SERVICE_UNAVAILABLE,
				  "epmon is not answering\n", 0);
	/* libmicrohttpd counts the references of a response queued on several
	 * connections: the cached one stays valid */
	return mhd.queue_response(conn, MHD_HTTP_OK, resp);
}

/* The address to listen on, from a checked `listen` value. */
static int listen_address(const char *listen, struct sockaddr_storage *ss,
			  int *ipv6, int *port)
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
	return 0;
}

static struct MHD_Daemon *start(struct web *w, const struct web_settings *ws)
{
	struct sockaddr_storage ss;
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ERROR_LOG;
	int ipv6, port, tls = ws->cert != NULL;
	struct MHD_Daemon *d;

	if (listen_address(ws->listen, &ss, &ipv6, &port) < 0) {
		snprintf(w->start_error, sizeof(w->start_error), "bad listen address");
		return NULL;
	}
	if (tls)
		flags |= MHD_USE_TLS;
	if (ipv6)
		flags |= MHD_USE_IPv6;
	struct MHD_OptionItem ops[] = {
		{ MHD_OPTION_EXTERNAL_LOGGER, (intptr_t)mhd_log, w },
		{ MHD_OPTION_SOCK_ADDR, 0, &ss },
		{ MHD_OPTION_CONNECTION_LIMIT, HTTP_MAX_CONNECTIONS, NULL },
		{ MHD_OPTION_NOTIFY_CONNECTION, (intptr_t)connection_event, w },
		{ MHD_OPTION_NOTIFY_COMPLETED, (intptr_t)request_done, w },
		{ MHD_OPTION_CONNECTION_TIMEOUT, HTTP_IDLE_TIMEOUT_S, NULL },
		{ MHD_OPTION_CONNECTION_MEMORY_LIMIT, HTTP_CONNECTION_MEMORY, NULL },
		{ MHD_OPTION_LISTEN_BACKLOG_SIZE, 128, NULL },
		/* without TLS the list ends here */
		{ tls ? MHD_OPTION_HTTPS_MEM_CERT : MHD_OPTION_END, 0, ws->cert },
		{ MHD_OPTION_HTTPS_MEM_KEY, 0, ws->key },
		{ MHD_OPTION_HTTPS_PRIORITIES, 0, WEB_TLS_PRIORITIES },
		{ MHD_OPTION_END, 0, NULL },
	};
	w->starting = 1;
	d = mhd.start_daemon(flags, (uint16_t)port, admit, w, handle, w,
			     MHD_OPTION_ARRAY, ops, MHD_OPTION_END);
	w->starting = 0;
	if (!d && !w->start_error[0])
		snprintf(w->start_error, sizeof(w->start_error),
			 "libmicrohttpd refused to start");
	return d;
}

/* The handler of web_tls_check()'s daemon, which never has a connection. */
static enum MHD_Result refuse(void *cls, struct MHD_Connection *conn, const char *url,
			     const char *method, const char *version,
			     const char *upload_data, size_t *upload_data_size,
			     void **con_cls)
{
	(void)cls, (void)conn, (void)url, (void)method, (void)version;
	(void)upload_data, (void)upload_data_size, (void)con_cls;
	return MHD_NO;
}

int web_tls_check(const char *cert, const char *key, char *why, size_t whylen)
{
	struct web w = { .starting = 1 };   /* only its start log is used */
	struct MHD_OptionItem ops[] = {
		{ MHD_OPTION_EXTERNAL_LOGGER, (intptr_t)mhd_log, &w },
		{ MHD_OPTION_HTTPS_MEM_CERT, 0, (void *)cert },
		{ MHD_OPTION_HTTPS_MEM_KEY, 0, (void *)key },
		{ MHD_OPTION_HTTPS_PRIORITIES, 0, WEB_TLS_PRIORITIES },
		{ MHD_OPTION_END, 0, NULL },
	};
	/* no socket, no thread: GnuTLS loads the pair, nothing else happens */
	struct MHD_Daemon *d = mhd.start_daemon(MHD_USE_NO_LISTEN_SOCKET | MHD_USE_TLS |
						MHD_USE_ERROR_LOG, 0, NULL, NULL,
						refuse, NULL, MHD_OPTION_ARRAY, ops,
						MHD_OPTION_END);

	if (d) {
		mhd.stop_daemon(d);
		return 0;
	}
	snprintf(why, whylen, "%s", w.start_error[0] ? w.start_error
		 : "libmicrohttpd refused them");
	return -1;
}

/* What a forked child of a multi-threaded root process must not keep: its
 * environment (a VPN password may be an environment variable), descriptors,
 * signal dispositions. */
static void scrub(int sock)
{
	extern char **environ;
	sigset_t all;
	struct sigaction dfl = { .sa_handler = SIG_DFL };
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);

	for (char **e = environ; e && *e; e++)
		explicit_bzero(*e, strlen(*e));
	clearenv();
	for (int sig = 1; sig < NSIG; sig++)
		sigaction(sig, &dfl, NULL);
	sigemptyset(&all);
	pthread_sigmask(SIG_SETMASK, &all, NULL);
	if (null >= 0)
		dup2(null, STDIN_FILENO);
	/* everything but stdin, stdout, stderr and the socketpair (at 3) */
	if (sock != 3)
		dup2(sock, 3);
	if (syscall(SYS_close_range, 4, ~0U, 0) < 0)
		for (int fd = 4; fd < 65536; fd++)
			close(fd);
}

/* Root no more: an empty root directory, the run-as user, no capabilities,
 * no_new_privs, not dumpable. 0, or -1 with why set. */
static int drop(const struct web_settings *ws, char *why, size_t whylen)
{
	if (geteuid() == 0) {
		if (chroot(ws->empty_dir) < 0 || chdir("/") < 0) {
			snprintf(why, whylen, "chroot %s: %s", ws->empty_dir, strerror(errno));
			return -1;
		}
		if (setgroups(0, NULL) < 0 || setresgid(ws->gid, ws->gid, ws->gid) < 0 ||
		    setresuid(ws->uid, ws->uid, ws->uid) < 0) {
			snprintf(why, whylen, "cannot become uid %u: %s", (unsigned)ws->uid,
				 strerror(errno));
			return -1;
		}
		if (ws->uid != 0 && setuid(0) == 0) {
			snprintf(why, whylen, "root could be regained");
			return -1;
		}
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
	    prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0) {
		snprintf(why, whylen, "prctl: %s", strerror(errno));
		return -1;
	}
	return 0;
}

void web_process_main(int sock, pid_t parent, const struct web_settings *ws)
{
	static struct web w;
	struct web_started st = { 0 };
	struct rlimit no_core = { 0, 0 };
	struct MHD_Daemon *d;

	prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
	if (getppid() != parent)
		_exit(0);
	prctl(PR_SET_NAME, "epmon-web", 0, 0, 0);
	setrlimit(RLIMIT_CORE, &no_core);
	scrub(sock);
	w.sock = 3;
	w.username = ws->username;
	w.password = ws->password;
	pthread_mutex_init(&w.lock, NULL);
	conns_init(&w);
	/* no ask goes out before the message that says it started: a request
	 * accepted at once waits for the lock */
	pthread_mutex_lock(&w.lock);
	d = start(&w, ws);
	/* GnuTLS copied them while starting */
	secret_free(ws->key, ws->key_len);
	free(ws->cert);
	if (!d) {
		snprintf(st.error, sizeof(st.error), "%s", w.start_error);
	} else if (drop(ws, st.error, sizeof(st.error)) == 0 &&
		   deadline_start(&w, st.error, sizeof(st.error)) == 0) {
		/* a change of credentials cleared the parent-death signal */
		prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
		if (getppid() != parent)
			_exit(0);
		/* last: from here on only what serving needs (sandbox.c) */
		st.ok = web_sandbox(st.error, sizeof(st.error)) == 0;
	}
	if (fd_write_all(w.sock, &st, sizeof(st)) < 0 || !st.ok)
		_exit(1);
	pthread_mutex_unlock(&w.lock);
	/* the server's thread does the work; root ends this process with a
	 * signal, or its death does (PDEATHSIG) */
	for (;;)
		pause();
}
