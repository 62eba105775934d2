/* SPDX-License-Identifier: MIT */
/* Fuzzes the expect engine's output matching: each input is a VPN client's
 * output, cut into reads at points the input chooses, as a pty delivers it.
 * The output goes through the real login loop (session_login: masking,
 * the expect buffer, prompts, failed and connected patterns, phase marks)
 * and, once logged in, session_pump, with a socketpair in place of the pty
 * master: a writer thread plays the client and hands over the next read
 * only when the loop has taken the last one and waits in poll() again, so
 * each read is matched on its own and a run is reproducible. (No function
 * matches output without that loop: the matcher is static in expect.c and
 * session_login reads its master fd itself; a real client on a pty would
 * cost a fork per input.) The session is set up as session_start does,
 * without the fork.
 * Input: byte 0 gives the password's length (1 + b % 32), the password
 * follows ('*' and NUL replaced: see below), then reads, each a size byte
 * (b < 0xC0: b + 1 bytes; else ((b & 0x3F) + 1) * 256) and its bytes.
 * Asserts that the password never shows in the output tail or the failure
 * detail, however the client's echo of it is cut. */
#include <errno.h>
#include <fcntl.h>
#include <linux/sockios.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "util/log.h"
#include "vpn/patterns.h"
#include "vpn/session_int.h"

#define READS_MAX 256           /* then the rest is one read: an input stays well under 1 s */
#define DETAIL_PREFIX "login failed: client said '"

/* expect.c, as session.c declares it */
int session_compile(struct session *s, char *err, size_t errlen);

static const struct session_step steps[] = {
	{ "[Uu]sername:", "monitor", 0 },
	{ "[Pp]assword[^:]*:", "{password}", 0 },
	{ "(OTP|[Tt]oken)[^:]*:", "123456", 0 },
};
static const char *const failed[] = {
	"[Ll]ogin failed", "AUTH_FAILED", "Certificate from VPN server .* failed verification",
	"^ERROR: .*$",
};
static const char *const marks[] = {
	"^Connected to [^ ]+:[0-9]+$", "^Connected to HTTPS on ",
	"^Got CONNECT response|^Configured as ",
};
static struct pattern_cache *patterns;  /* shared by every run, as in a cycle */

/* The client side: one read's bytes at a time. */
struct client {
	int fd;                         /* its end of the socketpair */
	atomic_int loop_tid;            /* the thread running the login loop; 0 */
	atomic_int loop_done;
	const uint8_t *p, *end;
	volatile int stop;              /* the session's stop flag */
};

/* 1 when the loop's thread waits in poll() (its matching done). */
static int loop_in_poll(const struct client *c)
{
	char path[64], buf[64];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/self/task/%d/syscall", atomic_load(&c->loop_tid));
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	return !strncmp(buf, "7 ", 2) || !strncmp(buf, "271 ", 4);   /* poll, ppoll */
}

/* Until the loop has read everything sent and waits for more (or ended). */
static void wait_taken(const struct client *c)
{
	struct timespec pause = { 0, 20000 };

	for (;;) {
		int unread = 0;
		if (atomic_load(&c->loop_done))
			return;
		if (ioctl(c->fd, SIOCOUTQ, &unread) == 0 && unread == 0 && loop_in_poll(c))
			return;
		nanosleep(&pause, NULL);
	}
}

static size_t read_size(uint8_t b)
{
	return b < 0xC0 ? (size_t)b + 1 : ((size_t)(b & 0x3F) + 1) * 256;
}

static void *play_client(void *arg)
{
	struct client *c = arg;
	char drain[4096];

	prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);    /* wait_taken's pauses: 20 us, not 70 */
	for (int reads = 0; c->p < c->end && !atomic_load(&c->loop_done); reads++) {
		size_t n = reads == READS_MAX ? (size_t)(c->end - c->p) - 1 : read_size(*c->p);
		const uint8_t *data = c->p + 1;
		if (n > (size_t)(c->end - data))
			n = (size_t)(c->end - data);
		c->p = data + n;
		for (size_t sent = 0; sent < n;) {
			/* libFuzzer's SIGALRM may interrupt it */
			ssize_t w = send(c->fd, data + sent, n - sent, MSG_NOSIGNAL);
			if (w < 0 && errno != EINTR)
				break;
			sent += w > 0 ? (size_t)w : 0;
		}
		wait_taken(c);
		/* the answers to the prompts, unread by this client */
		while (recv(c->fd, drain, sizeof(drain), MSG_DONTWAIT) > 0)
			;
	}
	/* the end of the output: the client hangs up */
	c->stop = 1;
	shutdown(c->fd, SHUT_RDWR);
	return NULL;
}

struct loop {
	struct session *s;
	struct client *c;
};

static void *run_loop(void *arg)
{
	struct loop *l = arg;

	atomic_store(&l->c->loop_tid, (int)syscall(SYS_gettid));
	if (session_login(l->s) == SESSION_CONNECTED)
		while (!l->s->master_eof)
			session_pump(l->s, 1);
	atomic_store(&l->c->loop_done, 1);
	return NULL;
}

/* The password may not hold '*' (the mask text is made of them, so a '*'
 * in it could show up next to a masked copy) nor NUL (a C string). */
static size_t take_secret(const uint8_t *data, size_t size, char *secret)
{
	size_t len = 1 + data[0] % 32;

	if (size < 1 + len)
		return 0;
	for (size_t i = 0; i < len; i++) {
		char ch = (char)data[1 + i];
		secret[i] = ch == '*' ? '+' : ch == '\0' ? '0' : ch;
	}
	secret[len] = '\0';
	return 1 + len;
}

static void check_hidden(const char *text, size_t len, const char *secret, const char *what)
{
	if (memmem(text, len, secret, strlen(secret))) {
		fprintf(stderr, "fuzz_expect: the password '%s' shows in the %s: %.*s\n",
			secret, what, (int)len, text);
		abort();
	}
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	log_init(-1);
	if (!(patterns = pattern_cache_new()))
		exit(1);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char secret[40], err[256];
	size_t used = size ? take_secret(data, size, secret) : 0;
	struct session_spec spec = {
		.steps = steps, .nsteps = sizeof(steps) / sizeof(steps[0]),
		.connected = "Configured as |Initialization Sequence Completed|"
			     "[Tt]unnel (is )?(up|established)",
		.failed = failed, .nfailed = sizeof(failed) / sizeof(failed[0]),
		.marks = marks, .nmarks = sizeof(marks) / sizeof(marks[0]),
		.secret = secret, .site = "fuzz", .patterns = patterns,
	};
	struct client c = { .p = data + used, .end = data + size };
	struct loop l = { .c = &c };
	pthread_t loop_thread, client_thread;
	struct session *s;
	int sv[2];

	if (!used)
		return 0;
	spec.stop = &c.stop;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0 ||
	    fcntl(sv[0], F_SETFL, O_NONBLOCK) < 0 || !(s = calloc(1, sizeof(*s))))
		abort();
	/* session_start's set-up, the spawn left out */
	s->spec = spec;
	s->master = sv[0];
	s->pidfd = -1;
	s->failed_index = -1;
	s->secret_sent_at = -1;
	s->buf_bol = 1;
	s->expecting = 1;
	s->started_ms = session_now_ms();
	if (session_compile(s, err, sizeof(err)) < 0) {
		fprintf(stderr, "fuzz_expect: session_compile: %s\n", err);
		abort();
	}
	c.fd = sv[1];
	l.s = s;
	if (pthread_create(&loop_thread, NULL, run_loop, &l) != 0)
		abort();
	while (!atomic_load(&c.loop_tid))
		sched_yield();
	if (pthread_create(&client_thread, NULL, play_client, &c) != 0)
		abort();
	pthread_join(client_thread, NULL);
	pthread_join(loop_thread, NULL);
	session_settle_all(s);

	const char *tail = session_output_tail(s), *detail = session_detail(s);
	check_hidden(tail, strlen(tail), secret, "output tail");
	if (!strncmp(detail, DETAIL_PREFIX, strlen(DETAIL_PREFIX))) {
		const char *q = detail + strlen(DETAIL_PREFIX);
		size_t n = strlen(q);
		check_hidden(q, n && q[n - 1] == '\'' ? n - 1 : n, secret, "failure detail");
	}
	for (size_t i = 0; i < spec.nmarks; i++)
		(void)session_mark_at(s, i);
	close(sv[1]);
	session_free(s);
	return 0;
}
