/* SPDX-License-Identifier: MIT */
/* The HTTP side of `epmon run` (http.h): the monitor and the renderer in
 * the root process, libmicrohttpd in the web process (server.h), which
 * this file starts, feeds and restarts. */
#include "web/http.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "util/fsutil.h"
#include "util/log.h"
#include "util/secret.h"
#include "web/metrics.h"
#include "web/server.h"
#include "web/status_json.h"
#include "web/status_page.h"

#define RESTART_MIN_S 1.0           /* backoff after the web process died */
#define RESTART_MAX_S 60.0
#define START_WAIT_MS 10000         /* for the web process to say it listens */

struct http_server {
	struct monitor *mon;
	const struct notifier *alerts; /* NULL: none */
	char url[96];
	/* the http: map in force (copies) */
	char *listen, *username, *password_file, *cert_file, *key_file;
	/* the web process and the thread answering its asks */
	pid_t pid;                  /* 0: none running */
	int sock;                   /* root's end of the socketpair; -1: none */
	int wake[2];                /* a byte here stops the thread */
	pthread_t thread;
	int thread_started;
	atomic_int stopping;
	unsigned long restarts;
};

static char *dup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

static void settings_free(struct http_server *s)
{
	free(s->listen);
	free(s->username);
	free(s->password_file);
	free(s->cert_file);
	free(s->key_file);
	s->listen = s->username = s->password_file = s->cert_file = s->key_file = NULL;
}

static int settings_copy(struct http_server *s, const struct http_settings *h)
{
	int tls = h->cert_file != NULL;

	settings_free(s);
	s->listen = dup_or_null(h->listen);
	s->username = dup_or_null(h->password_file ? (h->username ? h->username : "epmon") : NULL);
	s->password_file = dup_or_null(h->password_file);
	s->cert_file = dup_or_null(h->cert_file);
	s->key_file = dup_or_null(h->key_file);
	snprintf(s->url, sizeof(s->url), "%s://%s/", tls ? "https" : "http",
		 h->listen ? h->listen : "");
	return s->listen ? 0 : -1;
}

/* The user the web process runs as: "epmon" (the package creates it), else
 * nobody. Looked up here, in the root process, before the fork. */
static void run_as(uid_t *uid, gid_t *gid)
{
	struct passwd pw, *res = NULL;
	char buf[1024];

	*uid = 65534;
	*gid = 65534;
	if ((getpwnam_r("epmon", &pw, buf, sizeof(buf), &res) == 0 && res) ||
	    (getpwnam_r("nobody", &pw, buf, sizeof(buf), &res) == 0 && res)) {
		*uid = res->pw_uid;
		*gid = res->pw_gid;
	}
}

/* Reads cert_file and key_file (as root) and tries them as the web process
 * will. 0 with ws->cert and ws->key (the caller frees them), or -1 with
 * why naming the file. */
static int tls_load(const char *cert_file, const char *key_file,
		    struct web_settings *ws, char *why, size_t whylen)
{
	char err[PATH_MAX + 128];

	ws->cert = secret_read_file(cert_file, HTTP_FILE_MAX, &ws->cert_len, err, sizeof(err));
	if (!ws->cert) {
		snprintf(why, whylen, "cannot read cert_file %s: %s", cert_file, err);
		return -1;
	}
	ws->key = secret_read_file(key_file, HTTP_FILE_MAX, &ws->key_len, err, sizeof(err));
	if (!ws->key) {
		snprintf(why, whylen, "cannot read key_file %s: %s", key_file, err);
		return -1;
	}
	if (web_tls_check(ws->cert, ws->key, err, sizeof(err)) < 0) {
		snprintf(why, whylen, "cert_file %s or key_file %s refused: %s", cert_file,
			 key_file, err);
		return -1;
	}
	return 0;
}

/* Reads the secrets (as root), forks the web process, waits for it to say
 * it listens. 0, or -1 with the reason logged. */
static int spawn(struct http_server *s)
{
	struct web_settings ws = { .listen = s->listen, .username = s->username,
				   .empty_dir = EPMON_RUN_DIR "/web" };
	struct web_started st = { 0 };
	char why[2 * PATH_MAX + 256], pw[HTTP_PASSWORD_MAX + 1];
	struct pollfd pfd;
	int sv[2], rc = -1;
	pid_t parent = getpid();

	if (s->password_file) {
		if (secret_read_line(s->password_file, pw, sizeof(pw), why, sizeof(why)) < 0) {
			log_error(NULL, "http: password_file: %s", why);
			goto wipe;
		}
		ws.password = pw;
	}
	if (s->cert_file && tls_load(s->cert_file, s->key_file, &ws, why, sizeof(why)) < 0) {
		log_error(NULL, "http: %s", why);
		goto wipe;
	}
	run_as(&ws.uid, &ws.gid);
	if (mkdir(ws.empty_dir, 0755) < 0 && errno == ENOENT &&
	    (mkdir_p(EPMON_RUN_DIR, 0700) < 0 || mkdir(ws.empty_dir, 0755) < 0) &&
	    errno != EEXIST) {
		log_error(NULL, "http: cannot create %s: %s", ws.empty_dir, strerror(errno));
		goto wipe;
	}
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
		log_error(NULL, "http: socketpair: %s", strerror(errno));
		goto wipe;
	}
	s->pid = fork();
	if (s->pid == 0) {
		close(sv[0]);
		web_process_main(sv[1], parent, &ws);
	}
	close(sv[1]);
	if (s->pid < 0) {
		log_error(NULL, "http: cannot start the web process: %s", strerror(errno));
		s->pid = 0;
		close(sv[0]);
		goto wipe;
	}
	s->sock = sv[0];
	pfd = (struct pollfd){ .fd = s->sock, .events = POLLIN };
	if (poll(&pfd, 1, START_WAIT_MS) == 1 &&
	    fd_read_all(s->sock, &st, sizeof(st)) == 0 && st.ok) {
		rc = 0;
		log_info(NULL, "http: serving %s (/metrics, /status, /)%s%s; web process %d",
			 s->url, ws.password ? ", basic auth" : "", ws.cert ? ", TLS" : "",
			 (int)s->pid);
	} else {
		st.error[sizeof(st.error) - 1] = '\0';
		log_error(NULL, "http: cannot listen on %s: %s", s->listen,
			  st.error[0] ? st.error : "the web process did not start");
		kill(s->pid, SIGKILL);
		waitpid(s->pid, NULL, 0);
		s->pid = 0;
		close(s->sock);
		s->sock = -1;
	}
wipe:
	explicit_bzero(pw, sizeof(pw));
	secret_free(ws.key, ws.key_len);
	free(ws.cert);
	return rc;
}

/* Renders page for now from a snapshot of the model: the model's lock is
 * held only for the copy. 0 with *body (malloc'd), or -1. */
static int render(struct http_server *s, enum web_page page, time_t now, char **body,
		  size_t *len)
{
	struct monitor_data *d = monitor_snapshot(s->mon);
	FILE *out;

	*body = NULL;
	*len = 0;
	if (!d)
		return -1;
	out = open_memstream(body, len);
	if (out) {
		if (page == WEB_PAGE_METRICS)
			metrics_write(d, now, out);
		else if (page == WEB_PAGE_STATUS)
			status_json_write(d, now, out);
		else
			status_page_write(d, now, out);
	}
	monitor_snapshot_free(d);
	if (!out || fclose(out) != 0 || *len > HTTP_PAGE_MAX) {
		free(*body);
		*body = NULL;
		return -1;
	}
	return 0;
}

/* One ask of the web process: the page, or "unchanged". -1: the web
 * process is gone or broke the protocol (it is then restarted). */
static int answer(struct http_server *s)
{
	struct web_ask q;
	struct web_answer a = { 0 };
	char *body = NULL;
	size_t len = 0;
	int rc;

	if (fd_read_all(s->sock, &q, sizeof(q)) < 0)
		return -1;
	if (q.page >= WEB_PAGE_COUNT) {
		log_error(NULL, "http: the web process asked for page %u: stopping it",
			  (unsigned)q.page);
		return -1;
	}
	a.generation = monitor_generation(s->mon);
	if (q.have_generation == a.generation && q.have_at == q.now) {
		a.unchanged = 1;
		return fd_write_all(s->sock, &a, sizeof(a));
	}
	if (render(s, (enum web_page)q.page, (time_t)q.now, &body, &len) < 0) {
		log_error(NULL, "http: out of memory rendering a page");
		return -1;
	}
	a.len = (uint32_t)len;
	rc = fd_write_all(s->sock, &a, sizeof(a)) < 0 ||
	     fd_write_all(s->sock, body, len) < 0 ? -1 : 0;
	free(body);
	return rc;
}

static void reap(struct http_server *s, int kill_first)
{
	int status = 0;

	if (s->pid > 0) {
		if (kill_first)
			kill(s->pid, SIGTERM);
		while (waitpid(s->pid, &status, 0) < 0 && errno == EINTR)
			;
		if (!kill_first) {
			if (WIFSIGNALED(status) && WTERMSIG(status) == SIGSYS)
				log_error(NULL, "http: the web process %d made a system call its "
					  "seccomp filter forbids (src/web/sandbox.c; the "
					  "kernel's audit log names it): please report it",
					  (int)s->pid);
			else if (WIFSIGNALED(status))
				log_error(NULL, "http: the web process %d was killed by signal %d",
					  (int)s->pid, WTERMSIG(status));
			else if (WEXITSTATUS(status) == 128 + SIGSYS)
				log_error(NULL, "http: the web process %d made a system call its "
					  "seccomp filter forbids (named on stderr above): please "
					  "report it", (int)s->pid);
			else
				log_error(NULL, "http: the web process %d exited with status %d",
					  (int)s->pid, WEXITSTATUS(status));
		}
	}
	s->pid = 0;
	if (s->sock >= 0)
		close(s->sock);
	s->sock = -1;
}

/* Waits up to seconds for a stop; 1 when asked to stop. */
static int wait_stop(struct http_server *s, double seconds)
{
	struct pollfd pfd = { .fd = s->wake[0], .events = POLLIN };
	int ms = seconds > 3600 ? 3600000 : (int)(seconds * 1000);

	if (atomic_load(&s->stopping))
		return 1;
	poll(&pfd, 1, ms);
	return atomic_load(&s->stopping);
}

/* The thread answering the web process; restarts it when it dies, backing
 * off 1, 2, 4 ... 60 s while it keeps dying. */
static void *serve_thread(void *arg)
{
	struct http_server *s = arg;
	double backoff = RESTART_MIN_S;

	while (!atomic_load(&s->stopping)) {
		struct pollfd pfd[2];

		if (s->sock < 0) {
			log_warn(NULL, "http: restarting the web process in %.0f s", backoff);
			if (wait_stop(s, backoff))
				break;
			if (spawn(s) < 0) {
				backoff = backoff * 2 > RESTART_MAX_S ? RESTART_MAX_S : backoff * 2;
				continue;
			}
			s->restarts++;
		}
		pfd[0] = (struct pollfd){ .fd = s->sock, .events = POLLIN };
		pfd[1] = (struct pollfd){ .fd = s->wake[0], .events = POLLIN };
		if (poll(pfd, 2, -1) < 0 && errno != EINTR)
			break;
		if (pfd[1].revents)
			break;
		if (pfd[0].revents && answer(s) < 0) {
			if (atomic_load(&s->stopping))
				break;
			reap(s, 0);
		} else if (pfd[0].revents) {
			backoff = RESTART_MIN_S;    /* it works again */
		}
	}
	return NULL;
}

static int start_process(struct http_server *s)
{
	atomic_store(&s->stopping, 0);
	if (spawn(s) < 0)
		return -1;
	if (pthread_create(&s->thread, NULL, serve_thread, s) != 0) {
		log_error(NULL, "http: cannot start its thread");
		reap(s, 1);
		return -1;
	}
	s->thread_started = 1;
	return 0;
}

static void stop_process(struct http_server *s)
{
	char b = 1;

	atomic_store(&s->stopping, 1);
	if (write(s->wake[1], &b, 1) < 0)
		log_debug(NULL, "http: wake: %s", strerror(errno));
	if (s->thread_started)
		pthread_join(s->thread, NULL);
	s->thread_started = 0;
	reap(s, 1);
	/* drain the wake-up byte(s) for a later start */
	while (read(s->wake[0], &b, 1) == 1)
		;
}

struct http_server *http_server_new(const struct config *cfg, const char *version,
				    const struct notifier *alerts)
{
	struct http_server *s;
	char err[256];
	long rows;

	if (web_load(err, sizeof(err)) < 0) {
		log_error(NULL, "http: %s", err);
		return NULL;
	}
	s = calloc(1, sizeof(*s));
	if (!s || !(s->mon = monitor_new(cfg, version, time(NULL)))) {
		log_error(NULL, "http: out of memory");
		free(s);
		return NULL;
	}
	s->sock = -1;
	s->alerts = alerts;
	if (pipe2(s->wake, O_CLOEXEC | O_NONBLOCK) < 0 || settings_copy(s, &cfg->http) < 0) {
		log_error(NULL, "http: %s", strerror(errno));
		monitor_free(s->mon);
		free(s);
		return NULL;
	}
	rows = monitor_load_history(s->mon, cfg->results_dir, time(NULL));
	if (rows < 0 && errno == ENOENT)
		log_info(NULL, "http: no history yet in %s", cfg->results_dir);
	else if (rows < 0)
		log_warn(NULL, "http: cannot read the history in %s: %s; the charts "
			 "start empty", cfg->results_dir, strerror(errno));
	else
		log_info(NULL, "http: %ld result(s) of the last 7 days loaded from %s",
			 rows, cfg->results_dir);
	if (start_process(s) < 0) {
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

/* A reload to a certificate or key that cannot be loaded (a file being
 * replaced, a typo) keeps the running server, as an invalid config keeps
 * the old one: 1 when the new ones load, else 0 with the reason logged. */
static int tls_usable(const struct http_settings *h)
{
	struct web_settings ws = { 0 };
	char why[2 * PATH_MAX + 256];
	int ok;

	if (!h->cert_file)
		return 1;
	ok = tls_load(h->cert_file, h->key_file, &ws, why, sizeof(why)) == 0;
	if (!ok)
		log_error(NULL, "http: %s; still serving with the previous http: settings "
			  "and certificate until a reload with good ones", why);
	secret_free(ws.key, ws.key_len);
	free(ws.cert);
	return ok;
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
	if (s->thread_started && !tls_usable(&cfg->http))
		return;
	stop_process(s);
	if (settings_copy(s, &cfg->http) < 0 || start_process(s) < 0)
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
	stop_process(s);
	settings_free(s);
	close(s->wake[0]);
	close(s->wake[1]);
	monitor_free(s->mon);
	free(s);
}

const char *http_server_url(const struct http_server *s)
{
	return s ? s->url : "";
}
