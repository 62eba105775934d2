/* SPDX-License-Identifier: MIT */
/* Alerting as the daemon drives it: cycle reports in, mails out through a
 * real SMTP server (python3-aiosmtpd through tests/tools/smtpd.py on
 * 127.0.0.1). One DOWN per outage and one UP, the state file, restarts,
 * quiet sites, a server that is down, a reload. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "util/clock.h"
#include "util/log.h"
#include "alert/alert.h"
#include "alert/maintenance.h"
#include "alert/notify.h"
#include "probe/cycle.h"

#define WAIT_S 20.0     /* bound of every wait for an event (a busy machine) */

/* One SMTP test server. */
struct server {
	char mail[128];         /* where it saves msg-NNNN.eml */
	char log[128];
	pid_t pid;              /* 0: not running */
	int port;
};

struct fixture {
	char dir[64];
	char state[96];         /* state_directory */
	char stderr_log[96];    /* the log while captured */
	int saved_stderr;       /* -1: not captured */
	struct server srv[2];
	struct config *cfg[2];
	struct notifier *n;
};

static void pause_10ms(void)
{
	nanosleep(&(struct timespec){ .tv_nsec = 10 * 1000 * 1000 }, NULL);
}

/* ---- the SMTP server ---- */

static int free_port(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	close(fd);
	return ntohs(a.sin_port);
}

static int port_accepts(int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int ok = fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0;

	if (fd >= 0)
		close(fd);
	return ok;
}

static void show_file(const char *path)
{
	char line[512];
	FILE *f = fopen(path, "r");

	while (f && fgets(line, sizeof(line), f))
		print_message("    | %s", line);
	if (f)
		fclose(f);
}

/* tests/tools/smtpd.py, in plain mode, with PATH as its only environment;
 * returns once the port accepts a connection. */
static void smtpd_start(struct server *s)
{
	char self[PATH_MAX], script[PATH_MAX + 32], port[16];
	char *envp[] = { "PATH=/usr/bin:/bin", "PYTHONDONTWRITEBYTECODE=1", NULL };
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	double end;
	int fd;

	assert_true(n > 0);
	self[n] = '\0';
	/* BUILD/tests/test_notify -> tests/tools/smtpd.py */
	snprintf(script, sizeof(script), "%s/../../tests/tools/smtpd.py", dirname(self));
	assert_int_equal(access(script, R_OK), 0);
	snprintf(port, sizeof(port), "%d", s->port);
	char *argv[] = { "/usr/bin/python3", script, "--port", port, "--mode", "plain",
			 "--dir", s->mail, NULL };
	fd = open(s->log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	s->pid = fork();
	assert_true(s->pid >= 0);
	if (s->pid == 0) {
		dup2(fd, 1);
		dup2(fd, 2);
		execve(argv[0], argv, envp);
		_exit(127);
	}
	close(fd);
	end = monotonic_s() + WAIT_S;
	while (!port_accepts(s->port)) {
		if (waitpid(s->pid, NULL, WNOHANG) == s->pid || monotonic_s() > end) {
			show_file(s->log);
			fail_msg("smtpd did not listen on 127.0.0.1:%d", s->port);
		}
		pause_10ms();
	}
}

/* SIGTERM to our server, by its pid; SIGKILL if it has not ended in WAIT_S. */
static void smtpd_stop(struct server *s)
{
	double end = monotonic_s() + WAIT_S;

	if (s->pid <= 0)
		return;
	kill(s->pid, SIGTERM);
	while (waitpid(s->pid, NULL, WNOHANG) == 0) {
		if (monotonic_s() > end) {
			kill(s->pid, SIGKILL);
			waitpid(s->pid, NULL, 0);
			break;
		}
		pause_10ms();
	}
	s->pid = 0;
}

/* Messages the server has saved. */
static int mails(const struct server *s)
{
	DIR *d = opendir(s->mail);
	struct dirent *e;
	int n = 0;

	if (!d)
		return 0;
	while ((e = readdir(d)))
		if (!strncmp(e->d_name, "msg-", 4) && strstr(e->d_name, ".eml"))
			n++;
	closedir(d);
	return n;
}

/* The whole of a file, malloc'd, headers unfolded ("\r\n " -> " "). */
static char *read_mail(const struct server *s, int i)
{
	char path[160], *buf, *out;
	FILE *f;
	long len;

	snprintf(path, sizeof(path), "%s/msg-%04d.eml", s->mail, i);
	f = fopen(path, "rb");
	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	len = ftell(f);
	rewind(f);
	buf = calloc(1, (size_t)len + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)len, f), (size_t)len);
	fclose(f);
	out = buf;
	for (char *p = buf; *p; p++) {
		if (p[0] == '\r' && p[1] == '\n' && (p[2] == ' ' || p[2] == '\t'))
			p += 2;
		*out++ = *p;
	}
	*out = '\0';
	return buf;
}

/* The value of header name in an unfolded mail, in buf ("" when none). */
static const char *header(const char *mail, const char *name, char *buf, size_t len)
{
	char want[64];
	const char *p;

	snprintf(want, sizeof(want), "\r\n%s: ", name);
	p = strstr(mail, want);
	if (!p || p > strstr(mail, "\r\n\r\n")) {
		snprintf(buf, len, "%s", "");
		return buf;
	}
	p += strlen(want);
	snprintf(buf, len, "%.*s", (int)strcspn(p, "\r"), p);
	return buf;
}

/* ---- the notifier's side ---- */

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	char dir[sizeof(f->dir)];

	if (!f)
		return -1;
	strcpy(f->dir, "/tmp/epmon-test-notify-XXXXXX");
	if (!mkdtemp(f->dir)) {
		free(f);
		return -1;
	}
	memcpy(dir, f->dir, sizeof(dir));   /* not f's own: no overlap to guess at */
	snprintf(f->state, sizeof(f->state), "%s/state", dir);
	snprintf(f->stderr_log, sizeof(f->stderr_log), "%s/stderr.log", dir);
	mkdir(f->state, 0700);
	f->saved_stderr = -1;
	for (int i = 0; i < 2; i++) {
		snprintf(f->srv[i].mail, sizeof(f->srv[i].mail), "%s/mail%d", dir, i);
		snprintf(f->srv[i].log, sizeof(f->srv[i].log), "%s/smtpd%d.log", dir, i);
		f->srv[i].port = free_port();
	}
	*state = f;
	return 0;
}

static void stderr_restore(struct fixture *f)
{
	if (f->saved_stderr < 0)
		return;
	dup2(f->saved_stderr, STDERR_FILENO);
	close(f->saved_stderr);
	f->saved_stderr = -1;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char cmd[128];

	notifier_free(f->n);    /* a failed assertion left it running */
	if (f->saved_stderr >= 0) {
		/* the test failed with the log captured: show it */
		stderr_restore(f);
		show_file(f->stderr_log);
	}
	for (int i = 0; i < 2; i++) {
		config_free(f->cfg[i]);
		smtpd_stop(&f->srv[i]);
	}
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	if (system(cmd) != 0)
		return -1;
	free(f);
	return 0;
}

#define SITES3 "  - {name: paris, external_ip: 192.0.2.1}\n" \
	"  - {name: lyon, external_ip: 192.0.2.2}\n" \
	"  - {name: nice, external_ip: 192.0.2.3}\n"

/* A config file (0600) mailing to port, loaded with config_load. */
static struct config *load_config(struct fixture *f, const char *name, int port,
				  const char *alerting, const char *sites)
{
	char path[128];
	struct config_diag d = { 0 };
	struct config *cfg;
	FILE *out;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", f->dir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	out = fdopen(fd, "w");
	assert_non_null(out);
	fprintf(out, "frequency: 60\n"
		"state_directory: %s\n"
		"results: {directory: %s/results}\n"
		"ping: {count: 1, interval: 0.1, timeout: 0.3}\n"
		"logging:\n"
		"  smtp_server: 127.0.0.1\n"
		"  smtp_port: %d\n"
		"  sender: \"epmon probe <epmon@probe.test>\"\n"
		"  recipients: [noc@example.com]\n"
		"  failure_threshold: 2\n"
		"  retry_min: 0.05\n"
		"  retry_max: 0.2\n"
		"%s"
		"sites:\n%s", f->state, f->dir, port, alerting ? alerting : "", sites);
	fclose(out);
	cfg = config_load(path, &d);
	for (size_t i = 0; i < d.nerrors; i++)
		print_message("%s\n", d.errors[i]);
	config_diag_free(&d);
	assert_non_null(cfg);
	return cfg;
}

/* One result: a failed external ping, or a good one. */
static void result(struct site_result *r, const char *site, int ok)
{
	memset(r, 0, sizeof(*r));
	snprintf(r->site, sizeof(r->site), "%s", site);
	clock_gettime(CLOCK_REALTIME, &r->started);
	r->ok = ok;
	r->external_ran = 1;
	r->external.sent = 1;
	if (ok) {
		r->external.received = 1;
		r->external.min_ms = r->external.avg_ms = r->external.max_ms = 1.5;
	} else {
		r->failed_step = STEP_EXTERNAL_PING;
		r->external.loss_pct = 100;
		snprintf(r->detail, sizeof(r->detail), "no reply in 0.3 s");
	}
}

/* A finished cycle of the named sites (ok or failed), delivered through
 * the notifier's cycle sink, as the daemon does. */
static void cycle(struct notifier *n, const unsigned char *quiet, int ok,
		  const char *const *sites, size_t nsites)
{
	struct site_result res[4];
	struct cycle_report rep = { .results = res, .nresults = nsites, .quiet = quiet };
	struct cycle_sink sink = notifier_sink(n);

	assert_true(nsites <= 4);
	for (size_t i = 0; i < nsites; i++)
		result(&res[i], sites[i], ok);
	rep.nfailed = ok ? 0 : nsites;
	cycle_deliver(&sink, 1, &rep);
}

static const char *const PARIS[] = { "paris" };

/* Polls until the server holds `want` messages and the spool is empty
 * (a message leaves the spool only after the server said 250, and the
 * server saves it before it says so): every mail due has arrived. */
static void wait_delivered(struct fixture *f, const struct server *s, int want)
{
	double end = monotonic_s() + WAIT_S;

	while (mails(s) < want || notifier_spooled(f->n) > 0) {
		if (monotonic_s() > end) {
			show_file(f->stderr_log);
			fail_msg("waited %.0f s for %d mail(s): %d arrived, %zu spooled",
				 WAIT_S, want, mails(s), notifier_spooled(f->n));
		}
		pause_10ms();
	}
	assert_int_equal(mails(s), want);
}

/* The line of site in STATE/alert-state, "" when none. */
static const char *state_line(const struct fixture *f, const char *site)
{
	static char line[1024];
	char path[160], want[80];
	FILE *in;

	snprintf(path, sizeof(path), "%s/%s", f->state, ALERT_STATE_FILE);
	snprintf(want, sizeof(want), "site %s ", site);
	in = fopen(path, "r");
	assert_non_null(in);
	while (fgets(line, sizeof(line), in))
		if (!strncmp(line, want, strlen(want))) {
			fclose(in);
			return line;
		}
	fclose(in);
	return "";
}

/* fail, fail -> one DOWN (mailed, in the state file); a restart keeps the
 * state (a third failure sends nothing); a success -> one UP; another
 * success -> nothing. */
static void one_down_one_up_across_restart(void **state)
{
	struct fixture *f = *state;
	struct server *s = &f->srv[0];
	char *mail, down_id[256], reply_to[256];

	smtpd_start(s);
	f->cfg[0] = load_config(f, "c.yml", s->port, NULL, SITES3);
	f->n = notifier_new(f->cfg[0]);
	assert_non_null(f->n);

	cycle(f->n, NULL, 0, PARIS, 1);
	assert_int_equal(notifier_spooled(f->n), 0);    /* 1 failure < threshold 2 */
	assert_int_equal(alert_find(notifier_alerts(f->n), "paris")->status, ALERT_FAILING);
	assert_non_null(strstr(state_line(f, "paris"), "site paris failing 1 "));

	cycle(f->n, NULL, 0, PARIS, 1);
	wait_delivered(f, s, 1);
	mail = read_mail(s, 1);
	assert_non_null(strstr(mail, "\r\nSubject: [epmon] DOWN paris: external_ping failed 2x"));
	assert_non_null(strstr(mail, "Site paris is DOWN"));
	assert_non_null(strstr(mail, "no reply in 0.3 s"));
	assert_non_null(strstr(header(mail, "Message-ID", down_id, sizeof(down_id)), "@"));
	free(mail);
	assert_int_equal(alert_find(notifier_alerts(f->n), "paris")->status, ALERT_ALERTED);
	assert_non_null(strstr(state_line(f, "paris"), "site paris alerted 2 "));

	/* restart: the state comes back from the file */
	notifier_free(f->n);
	f->n = notifier_new(f->cfg[0]);
	assert_non_null(f->n);
	assert_int_equal(alert_find(notifier_alerts(f->n), "paris")->status, ALERT_ALERTED);
	cycle(f->n, NULL, 0, PARIS, 1);
	wait_delivered(f, s, 1);        /* nothing spooled, still one mail */
	assert_non_null(strstr(state_line(f, "paris"), "site paris alerted 3 "));

	/* recovery: one UP, called a recovery */
	cycle(f->n, NULL, 1, PARIS, 1);
	wait_delivered(f, s, 2);
	mail = read_mail(s, 2);
	assert_non_null(strstr(mail, "\r\nSubject: [epmon] UP paris after "));
	assert_non_null(strstr(mail, "Site paris is UP again"));
	/* threaded to the DOWN mail sent before the restart */
	assert_string_equal(header(mail, "In-Reply-To", reply_to, sizeof(reply_to)), down_id);
	free(mail);
	assert_null(strstr(state_line(f, "paris"), " alerted "));
	cycle(f->n, NULL, 1, PARIS, 1);
	wait_delivered(f, s, 2);
	assert_int_equal(alert_find(notifier_alerts(f->n), "paris")->status, ALERT_OK);
	notifier_free(f->n);
	f->n = NULL;
}

/* lyon in a maintenance window, nice muted: failing as long as paris, they
 * raise nothing; paris's DOWN shows the mail does go. */
static void quiet_sites_raise_nothing(void **state)
{
	struct fixture *f = *state;
	struct server *s = &f->srv[0];
	const char *const all[] = { "paris", "lyon", "nice" };
	unsigned char quiet[3];
	char *mail;
	time_t now = time(NULL);

	smtpd_start(s);
	f->cfg[0] = load_config(f, "c.yml", s->port,
		"alerting:\n  maintenance:\n"
		"    - {sites: [lyon], every: \"daily 00:00\", duration: 24h}\n", SITES3);
	assert_int_equal(mutes_set(f->state, "nice", now + 3600, "unit test", now), 0);
	f->n = notifier_new(f->cfg[0]);
	assert_non_null(f->n);

	notifier_quiet(f->n, f->cfg[0], now, quiet);
	assert_int_equal(quiet[0], QUIET_NO);
	assert_int_equal(quiet[1], QUIET_MAINTENANCE);
	assert_int_equal(quiet[2], QUIET_MUTED);

	for (int i = 0; i < 3; i++)
		cycle(f->n, quiet, 0, all, 3);
	wait_delivered(f, s, 1);
	mail = read_mail(s, 1);
	assert_non_null(strstr(mail, "\r\nSubject: [epmon] DOWN paris:"));
	free(mail);
	/* still counted, not alerted */
	assert_int_equal(alert_find(notifier_alerts(f->n), "lyon")->failures, 3);
	assert_int_not_equal(alert_find(notifier_alerts(f->n), "lyon")->status, ALERT_ALERTED);
	assert_int_equal(alert_find(notifier_alerts(f->n), "nice")->failures, 3);
	assert_int_not_equal(alert_find(notifier_alerts(f->n), "nice")->status, ALERT_ALERTED);

	/* unmuted and still failing: its DOWN goes at the next failure */
	assert_int_equal(mutes_clear(f->state, "nice", now), 0);
	notifier_quiet(f->n, f->cfg[0], now, quiet);
	assert_int_equal(quiet[2], QUIET_NO);
	cycle(f->n, quiet, 0, all, 3);
	wait_delivered(f, s, 2);
	mail = read_mail(s, 2);
	assert_non_null(strstr(mail, "\r\nSubject: [epmon] DOWN nice:"));
	free(mail);
	notifier_free(f->n);
	f->n = NULL;
}

/* Polls the captured log for a line with text (copied to line), at most
 * WAIT_S. */
static int wait_log(const struct fixture *f, const char *text, char *line, int len)
{
	double end = monotonic_s() + WAIT_S;

	for (;;) {
		FILE *in = fopen(f->stderr_log, "r");
		int found = 0;

		while (in && !found && fgets(line, len, in))
			found = strstr(line, text) != NULL;
		if (in)
			fclose(in);
		if (found)
			return 1;
		if (monotonic_s() > end)
			return 0;
		pause_10ms();
	}
}

/* The server is down: the DOWN mail is tried, kept in the spool, and goes
 * out once the server is there again (retry_max 0.2 s). */
static void server_down_mail_waits_in_spool(void **state)
{
	struct fixture *f = *state;
	struct server *s = &f->srv[0];
	char path[160], what[96], line[1024];
	struct site_result r;
	struct cycle_report rep = { .results = &r, .nresults = 1, .nfailed = 1 };
	int fd;

	/* the log (stderr) to a file: the failed attempt is a line in it */
	fflush(stderr);
	f->saved_stderr = dup(STDERR_FILENO);
	fd = open(f->stderr_log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	assert_true(fd >= 0 && f->saved_stderr >= 0);
	dup2(fd, STDERR_FILENO);
	close(fd);

	f->cfg[0] = load_config(f, "c.yml", s->port, NULL, SITES3);
	f->n = notifier_new(f->cfg[0]);
	assert_non_null(f->n);
	cycle(f->n, NULL, 0, PARIS, 1);
	/* the second one straight to notifier_after_cycle, without the sink */
	result(&r, "paris", 0);
	notifier_after_cycle(f->n, f->cfg[0], &rep, NULL);
	assert_int_equal(notifier_spooled(f->n), 1);
	snprintf(what, sizeof(what), "127.0.0.1:%d", s->port);
	assert_true(wait_log(f, "cannot send the down mail of site paris", line,
			     sizeof(line)));
	assert_non_null(strstr(line, what));        /* the server named */
	assert_int_equal(notifier_spooled(f->n), 1);    /* kept */

	smtpd_start(s);
	wait_delivered(f, s, 1);
	snprintf(path, sizeof(path), "%s/spool/dead", f->state);
	assert_int_not_equal(access(path, F_OK), 0);    /* not given up on */
	notifier_free(f->n);
	f->n = NULL;
	stderr_restore(f);
}

/* A reload keeps the state of the sites still there, drops the others, and
 * the next mail goes to the new server. */
static void reload_keeps_state_new_server(void **state)
{
	struct fixture *f = *state;
	struct server *a = &f->srv[0], *b = &f->srv[1];
	const char *const paris_nice[] = { "paris", "nice" };
	const char *const lyon[] = { "lyon" };
	char *mail;

	smtpd_start(a);
	smtpd_start(b);
	f->cfg[0] = load_config(f, "a.yml", a->port, NULL, SITES3);
	f->n = notifier_new(f->cfg[0]);
	assert_non_null(f->n);
	cycle(f->n, NULL, 0, paris_nice, 2);
	cycle(f->n, NULL, 0, PARIS, 1);
	wait_delivered(f, a, 1);        /* paris DOWN; nice failing once */
	assert_int_equal(alert_find(notifier_alerts(f->n), "nice")->failures, 1);

	f->cfg[1] = load_config(f, "b.yml", b->port, NULL,
		"  - {name: paris, external_ip: 192.0.2.1}\n"
		"  - {name: lyon, external_ip: 192.0.2.2}\n");
	notifier_reload(f->n, f->cfg[1]);
	config_free(f->cfg[0]);
	f->cfg[0] = NULL;
	assert_int_equal(alert_find(notifier_alerts(f->n), "paris")->status, ALERT_ALERTED);
	assert_null(alert_find(notifier_alerts(f->n), "nice"));

	cycle(f->n, NULL, 0, lyon, 1);
	cycle(f->n, NULL, 0, lyon, 1);
	wait_delivered(f, b, 1);
	mail = read_mail(b, 1);
	assert_non_null(strstr(mail, "\r\nSubject: [epmon] DOWN lyon:"));
	free(mail);
	cycle(f->n, NULL, 1, PARIS, 1);
	wait_delivered(f, b, 2);
	mail = read_mail(b, 2);
	assert_non_null(strstr(mail, "\r\nSubject: [epmon] UP paris after "));
	free(mail);
	assert_int_equal(mails(a), 1);
	notifier_free(f->n);
	f->n = NULL;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(one_down_one_up_across_restart, setup, teardown),
		cmocka_unit_test_setup_teardown(quiet_sites_raise_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(server_down_mail_waits_in_spool, setup, teardown),
		cmocka_unit_test_setup_teardown(reload_keeps_state_new_server, setup, teardown),
	};

	log_init(getenv("TEST_DEBUG") ? 1 : -1);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
