/* SPDX-License-Identifier: MIT */
/* One SMTP conversation against a real server (python3-aiosmtpd through
 * tests/tools/smtpd.py on 127.0.0.1): the message arrives whole, failures
 * name the server, AUTH takes the password of password_env and never shows
 * it, settings are deep-copied for the sender thread (config_smtp_copy,
 * which the SMTP channel uses). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdatomic.h>
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
#include "alert/smtp.h"

#define WAIT_S 20.0     /* bound of every wait for an event (a busy machine) */
#define PW_VAR "EPMON_TEST_SMTP_PW"
#define PASSWORD "s3cret-Pa55w0rd"

/* The SMTP test server of one test, and its temp dir. */
struct fixture {
	char dir[64];
	char mail[96];          /* where it saves msg-NNNN.eml */
	pid_t pid;              /* 0: not running */
	int port;
};

static void pause_10ms(void)
{
	nanosleep(&(struct timespec){ .tv_nsec = 10 * 1000 * 1000 }, NULL);
}

/* A port nothing listens on now (the kernel's pick). */
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

/* tests/tools/smtpd.py beside this build: BUILD/tests/test_smtp -> tools. */
static void smtpd_path(char *buf, size_t len)
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

	assert_true(n > 0);
	self[n] = '\0';
	snprintf(buf, len, "%s/../../tests/tools/smtpd.py", dirname(self));
	assert_int_equal(access(buf, R_OK), 0);
}

/* Starts the server in mode (plain, reject, hang) on f->port, with AUTH
 * when auth_mech is given (LOGIN or PLAIN; password in DIR/server.pw), and
 * waits until the port accepts a connection. Its environment is PATH only:
 * the test's password variable never reaches it. */
static void smtpd_start(struct fixture *f, const char *mode, const char *auth_mech)
{
	char script[PATH_MAX + 32], port[16], log[128], pwfile[128];
	char *argv[16];
	char *envp[] = { "PATH=/usr/bin:/bin", "PYTHONDONTWRITEBYTECODE=1", NULL };
	int argc = 0, fd;
	double end;

	smtpd_path(script, sizeof(script));
	snprintf(port, sizeof(port), "%d", f->port);
	snprintf(log, sizeof(log), "%s/smtpd.log", f->dir);
	snprintf(pwfile, sizeof(pwfile), "%s/server.pw", f->dir);
	argv[argc++] = "/usr/bin/python3";
	argv[argc++] = script;
	argv[argc++] = "--port";
	argv[argc++] = port;
	argv[argc++] = "--mode";
	argv[argc++] = (char *)mode;
	argv[argc++] = "--dir";
	argv[argc++] = f->mail;
	if (auth_mech) {
		FILE *pw = fopen(pwfile, "w");
		assert_non_null(pw);
		fprintf(pw, "%s\n", PASSWORD);
		fclose(pw);
		assert_int_equal(chmod(pwfile, 0600), 0);
		argv[argc++] = "--auth-user";
		argv[argc++] = "monitor";
		argv[argc++] = "--auth-password-file";
		argv[argc++] = pwfile;
		argv[argc++] = "--auth-mech";
		argv[argc++] = (char *)auth_mech;
	}
	argv[argc] = NULL;
	fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	f->pid = fork();
	assert_true(f->pid >= 0);
	if (f->pid == 0) {
		dup2(fd, 1);
		dup2(fd, 2);
		execve(argv[0], argv, envp);
		_exit(127);
	}
	close(fd);
	end = monotonic_s() + WAIT_S;
	while (!port_accepts(f->port)) {
		int status;
		if (waitpid(f->pid, &status, WNOHANG) == f->pid || monotonic_s() > end) {
			show_file(log);
			fail_msg("smtpd (%s) did not listen on 127.0.0.1:%d", mode, f->port);
		}
		pause_10ms();
	}
}

/* SIGTERM to our server, by its pid; SIGKILL if it has not ended in WAIT_S. */
static void smtpd_stop(struct fixture *f)
{
	double end = monotonic_s() + WAIT_S;

	if (f->pid <= 0)
		return;
	kill(f->pid, SIGTERM);
	while (waitpid(f->pid, NULL, WNOHANG) == 0) {
		if (monotonic_s() > end) {
			kill(f->pid, SIGKILL);
			waitpid(f->pid, NULL, 0);
			break;
		}
		pause_10ms();
	}
	f->pid = 0;
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	strcpy(f->dir, "/tmp/epmon-test-smtp-XXXXXX");
	if (!mkdtemp(f->dir)) {
		free(f);
		return -1;
	}
	snprintf(f->mail, sizeof(f->mail), "%s/mail", f->dir);
	f->port = free_port();
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char cmd[128];

	smtpd_stop(f);
	unsetenv(PW_VAR);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	if (system(cmd) != 0)
		return -1;
	free(f);
	return 0;
}

/* The whole of a small file, malloc'd; NULL when it cannot be read. */
static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t n = 0, cap = 0, r;

	if (!f)
		return NULL;
	do {
		if (n + 4096 > cap) {
			cap = cap ? cap * 2 : 8192;
			buf = realloc(buf, cap + 1);
			assert_non_null(buf);
		}
		r = fread(buf + n, 1, cap - n, f);
		n += r;
	} while (r > 0);
	fclose(f);
	buf[n] = '\0';
	if (len)
		*len = n;
	return buf;
}

/* A text written to a FILE, as a string (the transcript). */
struct capture {
	char *text;
	size_t len;
	FILE *f;
};

static char *base64(const char *in, size_t n, char *out)
{
	static const char tab[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	const unsigned char *s = (const unsigned char *)in;
	char *o = out;

	for (size_t i = 0; i < n; i += 3) {
		unsigned v = s[i] << 16 | (i + 1 < n ? s[i + 1] << 8 : 0) |
			     (i + 2 < n ? s[i + 2] : 0);
		*o++ = tab[v >> 18 & 63];
		*o++ = tab[v >> 12 & 63];
		*o++ = i + 1 < n ? tab[v >> 6 & 63] : '=';
		*o++ = i + 2 < n ? tab[v & 63] : '=';
	}
	*o = '\0';
	return out;
}

/* settings for the fixture's server; the strings are the caller's. */
static void settings_for(const struct fixture *f, struct smtp_settings *s,
			 char **rcpt, size_t nrcpt)
{
	memset(s, 0, sizeof(*s));
	s->smtp_server = "127.0.0.1";
	s->smtp_port = f->port;
	s->sender = "epmon probe <epmon@probe.test>";
	s->recipients = rcpt;
	s->nrecipients = nrcpt;
	s->security = SMTP_SECURITY_NONE;
	s->connect_timeout_s = 10;
	s->timeout_s = 30;
}

/* A message with a long body (many reads by libcurl) and lines that need
 * dot-stuffing arrives byte for byte; the envelope is the sender's and
 * recipients' bare addresses; the transcript shows the talk. */
static void message_arrives_whole(void **state)
{
	struct fixture *f = *state;
	char *rcpt[] = { "noc@example.com", "Ops <ops@example.com>" };
	struct smtp_settings s;
	struct smtp_outcome out;
	struct capture tr = { 0 };
	char path[160], *got, *meta, *msg;
	size_t len = 0, got_len = 0, off = 0, cap = 200 * 1024;
	enum smtp_status st;

	smtpd_start(f, "plain", NULL);
	settings_for(f, &s, rcpt, 2);
	msg = malloc(cap);
	assert_non_null(msg);
	off += (size_t)snprintf(msg + off, cap - off,
		"From: epmon probe <epmon@probe.test>\r\nTo: noc@example.com\r\n"
		"Subject: [epmon] DOWN unit-test: whole message\r\n\r\n"
		"first line of the body\r\n.a line that starts with a dot\r\n");
	for (int i = 0; i < 2000; i++)
		off += (size_t)snprintf(msg + off, cap - off,
					"body line %04d of the long alert text\r\n", i);
	off += (size_t)snprintf(msg + off, cap - off, ".\r\nlast line\r\n");
	len = off;

	tr.f = open_memstream(&tr.text, &tr.len);
	assert_non_null(tr.f);
	st = smtp_send(&s, "probe.example", msg, len, NULL, tr.f, &out);
	fclose(tr.f);
	if (st != SMTP_SENT)
		print_message("%s\n%s\n", out.error, tr.text);
	assert_int_equal(st, SMTP_SENT);
	assert_int_equal(out.status, SMTP_SENT);
	assert_string_equal(smtp_status_name(st), "sent");
	assert_int_equal(out.code, 250);
	assert_non_null(strstr(out.reply, "250"));

	/* the server answered 250 after saving it: the file is there */
	snprintf(path, sizeof(path), "%s/msg-0001.eml", f->mail);
	got = slurp(path, &got_len);
	assert_non_null(got);
	assert_int_equal(got_len, len);
	assert_memory_equal(got, msg, len);
	snprintf(path, sizeof(path), "%s/msg-0001.json", f->mail);
	meta = slurp(path, NULL);
	assert_non_null(meta);
	assert_non_null(strstr(meta, "\"mail_from\": \"epmon@probe.test\""));
	assert_non_null(strstr(meta, "\"rcpt_tos\": [\"noc@example.com\", \"ops@example.com\"]"));

	assert_non_null(strstr(tr.text, "> MAIL FROM:<epmon@probe.test>"));
	assert_non_null(strstr(tr.text, "> RCPT TO:<ops@example.com>"));
	assert_non_null(strstr(tr.text, "> [the message, "));
	/* the body itself is not in the transcript */
	assert_null(strstr(tr.text, "body line 0001"));
	free(tr.text);
	free(meta);
	free(got);
	free(msg);
}

/* Nothing listens: a temporary failure whose error names host:port. */
static void unreachable_server_named(void **state)
{
	struct fixture *f = *state;
	char *rcpt[] = { "noc@example.com" };
	const char msg[] = "Subject: x\r\n\r\ny\r\n";
	struct smtp_settings s;
	struct smtp_outcome out;
	char where[64];

	settings_for(f, &s, rcpt, 1);   /* f->port: free, no server started */
	assert_int_equal(smtp_send(&s, "probe", msg, sizeof(msg) - 1, NULL, NULL, &out),
			 SMTP_TEMPORARY);
	assert_int_equal(out.status, SMTP_TEMPORARY);
	assert_string_equal(smtp_status_name(out.status), "temporary failure");
	snprintf(where, sizeof(where), "127.0.0.1:%d", f->port);
	if (!strstr(out.error, where))
		print_message("error: %s\n", out.error);
	assert_non_null(strstr(out.error, where));

	/* no server, sender or recipients: said so, nothing tried */
	s.nrecipients = 0;
	assert_int_equal(smtp_send(&s, "probe", msg, sizeof(msg) - 1, NULL, NULL, &out),
			 SMTP_TEMPORARY);
	assert_non_null(strstr(out.error, "recipients"));
}

/* One AUTH mechanism: the password of password_env logs in, a wrong one
 * is refused, an unset variable is named; never the password in sight. */
static void auth_with(struct fixture *f, const char *mech)
{
	char *rcpt[] = { "noc@example.com" };
	const char msg[] = "Subject: auth test\r\n\r\nbody\r\n";
	struct smtp_settings s;
	struct smtp_outcome out;
	struct capture tr = { 0 };
	char b64pw[64], b64plain[96], plain[64], path[160], *meta;
	size_t n;
	enum smtp_status st;

	settings_for(f, &s, rcpt, 1);
	s.username = "monitor";
	s.password_env = PW_VAR;
	base64(PASSWORD, strlen(PASSWORD), b64pw);
	n = (size_t)snprintf(plain, sizeof(plain), "%cmonitor%c%s", 0, 0, PASSWORD);
	base64(plain, n, b64plain);

	assert_int_equal(setenv(PW_VAR, PASSWORD, 1), 0);
	tr.f = open_memstream(&tr.text, &tr.len);
	st = smtp_send(&s, "probe", msg, sizeof(msg) - 1, NULL, tr.f, &out);
	fclose(tr.f);
	if (st != SMTP_SENT)
		print_message("%s: %s\n%s\n", mech, out.error, tr.text);
	assert_int_equal(st, SMTP_SENT);
	snprintf(path, sizeof(path), "%s/msg-0001.json", f->mail);
	meta = slurp(path, NULL);
	assert_non_null(meta);
	assert_non_null(strstr(meta, "\"auth_user\": \"monitor\""));
	free(meta);
	assert_non_null(strstr(tr.text, "<credentials hidden>"));
	assert_null(strstr(tr.text, PASSWORD));
	assert_null(strstr(tr.text, b64pw));
	assert_null(strstr(tr.text, b64plain));
	free(tr.text);

	/* a wrong password in the variable: refused, the variable named */
	assert_int_equal(setenv(PW_VAR, "wrong-" PASSWORD, 1), 0);
	tr.f = open_memstream(&tr.text, &tr.len);
	st = smtp_send(&s, "probe", msg, sizeof(msg) - 1, NULL, tr.f, &out);
	fclose(tr.f);
	assert_int_equal(st, SMTP_AUTH_FAILED);
	assert_string_equal(smtp_status_name(st), "authentication failed");
	assert_non_null(strstr(out.error, "monitor"));
	assert_non_null(strstr(out.error, PW_VAR));
	assert_null(strstr(out.error, PASSWORD));
	assert_null(strstr(tr.text, PASSWORD));
	base64("wrong-" PASSWORD, strlen("wrong-" PASSWORD), b64pw);
	assert_null(strstr(tr.text, b64pw));
	free(tr.text);

	/* the variable unset: no conversation, the variable named */
	unsetenv(PW_VAR);
	assert_int_equal(smtp_send(&s, "probe", msg, sizeof(msg) - 1, NULL, NULL, &out),
			 SMTP_TEMPORARY);
	assert_non_null(strstr(out.error, PW_VAR));
	snprintf(path, sizeof(path), "%s/msg-0002.eml", f->mail);
	assert_int_not_equal(access(path, F_OK), 0);   /* only the first went */
}

static void password_env_plain(void **state)
{
	struct fixture *f = *state;

	smtpd_start(f, "plain", "PLAIN");
	auth_with(f, "PLAIN");
}

static void password_env_login(void **state)
{
	struct fixture *f = *state;

	smtpd_start(f, "plain", "LOGIN");
	auth_with(f, "LOGIN");
}

/* 5xx after DATA: this message never goes (REJECTED), with the reply. */
static void rejected_message(void **state)
{
	struct fixture *f = *state;
	char *rcpt[] = { "noc@example.com" };
	const char msg[] = "Subject: refused\r\n\r\nbody\r\n";
	struct smtp_settings s;
	struct smtp_outcome out;

	smtpd_start(f, "reject", NULL);
	settings_for(f, &s, rcpt, 1);
	assert_int_equal(smtp_send(&s, "probe", msg, sizeof(msg) - 1, NULL, NULL, &out),
			 SMTP_REJECTED);
	assert_string_equal(smtp_status_name(out.status), "rejected");
	assert_int_equal(out.code, 550);
	assert_non_null(strstr(out.reply, "message refused by the test server"));
	assert_non_null(strstr(out.error, "the message"));
}

/* A server that never says a word: a non-zero *stop ends the conversation
 * as ABORTED, not after the timeouts (which would be TEMPORARY). */
static void stop_aborts(void **state)
{
	struct fixture *f = *state;
	char *rcpt[] = { "noc@example.com" };
	const char msg[] = "Subject: x\r\n\r\ny\r\n";
	struct smtp_settings s;
	struct smtp_outcome out;
	atomic_int stop;

	smtpd_start(f, "hang", NULL);
	settings_for(f, &s, rcpt, 1);
	s.connect_timeout_s = 60;
	s.timeout_s = 120;
	atomic_init(&stop, 1);
	assert_int_equal(smtp_send(&s, "probe", msg, sizeof(msg) - 1, &stop, NULL, &out),
			 SMTP_ABORTED);
	assert_string_equal(smtp_status_name(SMTP_ABORTED), "aborted");
}

/* The SMTP channel's copy of its settings (config_smtp_copy, in config.h
 * since the config owns the struct) owns every string: the source may go
 * away; the free releases them all (the ASan build finds a leak) and leaves
 * an empty struct. */
static void settings_copy_is_deep(void **state)
{
	char *rcpt[2] = { strdup("noc@example.com"), strdup("Ops <ops@example.com>") };
	struct smtp_settings src = {
		.smtp_server = strdup("mail.example.com"), .smtp_port = 587,
		.sender = strdup("epmon@example.com"), .recipients = rcpt, .nrecipients = 2,
		.security = SMTP_SECURITY_STARTTLS, .username = strdup("monitor"),
		.password_file = NULL, .password_env = strdup(PW_VAR),
		.ca_file = strdup("/etc/ssl/ca.pem"), .connect_timeout_s = 7,
		.timeout_s = 17, .spool_max_age_s = 3600, .retry_min_s = 5,
		.retry_max_s = 50, .alert = { .failure_threshold = 3 },
	};
	struct smtp_settings dst;

	assert_int_equal(config_smtp_copy(&dst, &src), 0);
	/* the source is overwritten and freed: the copy does not notice */
	memset(src.smtp_server, 'x', strlen(src.smtp_server));
	memset(rcpt[1], 'x', strlen(rcpt[1]));
	free(src.smtp_server);
	free(src.sender);
	free(src.username);
	free(src.password_env);
	free(src.ca_file);
	free(rcpt[0]);
	free(rcpt[1]);

	assert_string_equal(dst.smtp_server, "mail.example.com");
	assert_int_equal(dst.smtp_port, 587);
	assert_string_equal(dst.sender, "epmon@example.com");
	assert_int_equal(dst.nrecipients, 2);
	assert_true(dst.recipients != rcpt);
	assert_string_equal(dst.recipients[0], "noc@example.com");
	assert_string_equal(dst.recipients[1], "Ops <ops@example.com>");
	assert_int_equal(dst.security, SMTP_SECURITY_STARTTLS);
	assert_string_equal(dst.username, "monitor");
	assert_null(dst.password_file);
	assert_string_equal(dst.password_env, PW_VAR);
	assert_string_equal(dst.ca_file, "/etc/ssl/ca.pem");
	assert_true(dst.connect_timeout_s == 7 && dst.timeout_s == 17);
	assert_true(dst.retry_min_s == 5 && dst.retry_max_s == 50);
	assert_int_equal(dst.alert.failure_threshold, 3);

	config_smtp_free(&dst);
	assert_null(dst.smtp_server);
	assert_null(dst.recipients);
	assert_int_equal(dst.nrecipients, 0);

	/* nothing optional set: copied as nothing */
	struct smtp_settings empty = { .smtp_port = 25 }, copy;
	assert_int_equal(config_smtp_copy(&copy, &empty), 0);
	assert_null(copy.smtp_server);
	assert_null(copy.recipients);
	assert_int_equal(copy.smtp_port, 25);
	config_smtp_free(&copy);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(message_arrives_whole, setup, teardown),
		cmocka_unit_test_setup_teardown(unreachable_server_named, setup, teardown),
		cmocka_unit_test_setup_teardown(password_env_plain, setup, teardown),
		cmocka_unit_test_setup_teardown(password_env_login, setup, teardown),
		cmocka_unit_test_setup_teardown(rejected_message, setup, teardown),
		cmocka_unit_test_setup_teardown(stop_aborts, setup, teardown),
		cmocka_unit_test(settings_copy_is_deep),
	};
	int failed;

	log_init(getenv("TEST_DEBUG") ? 1 : -1);
	failed = cmocka_run_group_tests(tests, NULL, NULL);
	smtp_global_cleanup();
	return failed;
}
