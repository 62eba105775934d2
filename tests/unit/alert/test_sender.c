/* SPDX-License-Identifier: MIT */
/* The sender thread: delivers a spool through a channel (a test channel
 * here: an implementation of struct sender_ops that records what it got),
 * backs off after a RETRY, buries refused and too old messages, is woken,
 * reconfigured and stopped. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "util/clock.h"
#include "util/log.h"
#include "alert/sender.h"
#include "alert/spool.h"

#define WAIT_S 20.0         /* bound of every wait for an event (a busy machine) */
#define MAX_ATTEMPTS 32

/* What the test channel saw, shared by every copy of its settings. */
struct recorder {
	pthread_mutex_t lock;
	int attempts;                   /* send() calls */
	int delivered;                  /* of them, DELIVERED */
	char msg[MAX_ATTEMPTS][64];     /* the message of each attempt */
	char tag[MAX_ATTEMPTS][16];     /* the settings it was sent with */
	double at[MAX_ATTEMPTS];        /* monotonic start of each attempt */
	int retries_left;               /* answer DELIVERY_RETRY this many times */
	int blocked;                    /* a send() is waiting (BLOCK, HANG) */
	atomic_int release_hang;        /* HANG: set by the test to let send() return */
	int released;                   /* settings copies released */
};

enum chan_mode {
	CHAN_OK = 0,        /* RETRY while retries_left, a "refuse-me" body REFUSED, else DELIVERED */
	CHAN_ALWAYS_RETRY,  /* the server is down */
	CHAN_BLOCK,         /* blocks until *stop becomes non-zero: ABORTED */
	CHAN_HANG,          /* ignores *stop until release_hang: ABORTED */
};

struct chan_settings {
	struct recorder *rec;
	char tag[16];
	enum chan_mode mode;
};

static void *chan_copy(const void *settings)
{
	struct chan_settings *c = malloc(sizeof(*c));

	if (c)
		memcpy(c, settings, sizeof(*c));
	return c;
}

static void chan_release(void *settings)
{
	struct chan_settings *c = settings;
	struct recorder *rec = c->rec;

	free(c);
	pthread_mutex_lock(&rec->lock);
	rec->released++;
	pthread_mutex_unlock(&rec->lock);
}

static void pause_10ms(void)
{
	nanosleep(&(struct timespec){ .tv_nsec = 10 * 1000 * 1000 }, NULL);
}

static void chan_send(const void *settings, const char *msg, size_t len,
		      const atomic_int *stop, struct delivery_outcome *out)
{
	const struct chan_settings *c = settings;
	struct recorder *rec = c->rec;
	int i;

	memset(out, 0, sizeof(*out));
	pthread_mutex_lock(&rec->lock);
	i = rec->attempts++;
	if (i < MAX_ATTEMPTS) {
		snprintf(rec->msg[i], sizeof(rec->msg[i]), "%.*s", (int)len, msg);
		snprintf(rec->tag[i], sizeof(rec->tag[i]), "%s", c->tag);
		rec->at[i] = monotonic_s();
	}
	if (c->mode == CHAN_BLOCK || c->mode == CHAN_HANG) {
		rec->blocked = 1;
		pthread_mutex_unlock(&rec->lock);
		while (c->mode == CHAN_BLOCK ? !atomic_load(stop)
					     : !atomic_load(&rec->release_hang))
			pause_10ms();
		out->status = DELIVERY_ABORTED;
		snprintf(out->error, sizeof(out->error), "aborted");
		return;
	}
	if (c->mode == CHAN_ALWAYS_RETRY || rec->retries_left > 0) {
		if (c->mode != CHAN_ALWAYS_RETRY)
			rec->retries_left--;
		out->status = DELIVERY_RETRY;
		snprintf(out->error, sizeof(out->error), "test server busy");
	} else if (strstr(rec->msg[i < MAX_ATTEMPTS ? i : 0], "refuse-me")) {
		out->status = DELIVERY_REFUSED;
		snprintf(out->error, sizeof(out->error), "550 no such user");
	} else {
		out->status = DELIVERED;
		snprintf(out->reply, sizeof(out->reply), "250 ok");
		rec->delivered++;
	}
	pthread_mutex_unlock(&rec->lock);
}

static const struct sender_ops chan_ops = {
	.noun = "test message",
	.copy = chan_copy,
	.release = chan_release,
	.send = chan_send,
};

static void recorder_init(struct recorder *rec)
{
	memset(rec, 0, sizeof(*rec));
	pthread_mutex_init(&rec->lock, NULL);
	atomic_init(&rec->release_hang, 0);
}

static int recorded(struct recorder *rec, const int *field)
{
	int v;

	pthread_mutex_lock(&rec->lock);
	v = *field;
	pthread_mutex_unlock(&rec->lock);
	return v;
}

/* Polls (10 ms) until *field >= want, at most WAIT_S. 1 when it got there. */
static int wait_count(struct recorder *rec, const int *field, int want)
{
	double end = monotonic_s() + WAIT_S;

	while (recorded(rec, field) < want) {
		if (monotonic_s() > end)
			return 0;
		pause_10ms();
	}
	return 1;
}

/* Polls until the spool holds `want` messages, at most WAIT_S. */
static int wait_spool(const struct spool *sp, size_t want)
{
	double end = monotonic_s() + WAIT_S;

	while (spool_count(sp) != want) {
		if (monotonic_s() > end)
			return 0;
		pause_10ms();
	}
	return 1;
}

/* Polls until DIR/dead/NAME and its .reason exist, at most WAIT_S. */
static int wait_dead(const char *dir, const char *name)
{
	char path[512];
	double end = monotonic_s() + WAIT_S;

	snprintf(path, sizeof(path), "%s/dead/%s.reason", dir, name);
	while (access(path, F_OK) != 0) {
		if (monotonic_s() > end)
			return 0;
		pause_10ms();
	}
	snprintf(path, sizeof(path), "%s/dead/%s", dir, name);
	return access(path, F_OK) == 0;
}

static char *slurp(const char *path)
{
	static char buf[2048];
	FILE *f = fopen(path, "r");
	size_t n;

	assert_non_null(f);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

/* Each test's spool directory, removed even when the test failed. */
static int setup(void **state)
{
	char *dir = strdup("/tmp/epmon-test-sender-XXXXXX");

	if (!dir || !mkdtemp(dir)) {
		free(dir);
		return -1;
	}
	*state = dir;
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", (char *)*state);
	free(*state);
	return system(cmd) == 0 ? 0 : -1;
}

static void add(struct spool *sp, const char *site, const char *text, time_t created,
		char *name)
{
	assert_int_equal(spool_add(sp, site, "down", text, strlen(text), created, name), 0);
}

static const struct sender_timing fast = { 0.05, 0.2, 3600 };

/* Messages left in the spool go out at start, oldest first, once each, and
 * leave the spool; a later message needs sender_wake (the idle timer is
 * minutes away). */
static void delivers_spool_at_start_and_on_wake(void **state)
{
	const char *dir = *state;
	struct recorder rec;
	struct chan_settings set = { &rec, "A", CHAN_OK };
	struct spool *sp;
	struct sender *s;
	time_t now = time(NULL);

	recorder_init(&rec);
	sp = spool_new_at(dir, "msg");
	assert_non_null(sp);
	add(sp, "lyon", "second", now - 5, NULL);
	add(sp, "paris", "first", now - 10, NULL);

	s = sender_start(&chan_ops, &set, &fast, dir, "msg");
	assert_non_null(s);
	assert_true(wait_count(&rec, &rec.delivered, 2));
	assert_true(wait_spool(sp, 0));
	assert_string_equal(rec.msg[0], "first");
	assert_string_equal(rec.msg[1], "second");

	/* a new message, then the wake: it goes, and the first two not again */
	add(sp, "nice", "third", time(NULL), NULL);
	sender_wake(s);
	assert_true(wait_count(&rec, &rec.delivered, 3));
	assert_true(wait_spool(sp, 0));
	assert_int_equal(sender_stop(s, 5.0), 0);
	assert_int_equal(rec.attempts, 3);
	assert_string_equal(rec.msg[2], "third");
	/* every copy of the settings was released (start's and the thread's) */
	assert_int_equal(rec.released, 2);
	spool_free(sp);
}

/* A RETRY stops the round (the server is the problem, not the message);
 * the same message is tried again after retry_min, then 2 x retry_min. */
static void retry_backs_off_then_delivers(void **state)
{
	const char *dir = *state;
	char path[128];
	struct recorder rec;
	struct chan_settings set = { &rec, "A", CHAN_OK };
	struct spool *sp;
	struct sender *s;
	time_t now = time(NULL);

	recorder_init(&rec);
	rec.retries_left = 2;
	sp = spool_new_at(dir, "msg");
	add(sp, "paris", "first", now - 10, NULL);
	add(sp, "lyon", "second", now - 5, NULL);

	s = sender_start(&chan_ops, &set, &fast, dir, "msg");
	assert_non_null(s);
	assert_true(wait_count(&rec, &rec.delivered, 2));
	assert_true(wait_spool(sp, 0));
	assert_int_equal(sender_stop(s, 5.0), 0);

	assert_int_equal(rec.attempts, 4);
	assert_string_equal(rec.msg[0], "first");   /* RETRY: the round ends */
	assert_string_equal(rec.msg[1], "first");   /* RETRY */
	assert_string_equal(rec.msg[2], "first");   /* delivered */
	assert_string_equal(rec.msg[3], "second");
	/* lower bounds only: a busy machine makes gaps longer, never shorter */
	assert_true(rec.at[1] - rec.at[0] >= fast.retry_min_s - 0.001);
	assert_true(rec.at[2] - rec.at[1] >= 2 * fast.retry_min_s - 0.001);
	snprintf(path, sizeof(path), "%s/dead", dir);
	assert_int_not_equal(access(path, F_OK), 0);    /* nothing given up */
	spool_free(sp);
}

/* REFUSED: that message goes to dead/ with the reason; the round goes on. */
static void refused_goes_to_dead(void **state)
{
	const char *dir = *state;
	char bad[SPOOL_NAME_MAX], path[512];
	struct recorder rec;
	struct chan_settings set = { &rec, "A", CHAN_OK };
	struct spool *sp;
	struct sender *s;
	time_t now = time(NULL);

	recorder_init(&rec);
	sp = spool_new_at(dir, "msg");
	add(sp, "paris", "refuse-me", now - 10, bad);
	add(sp, "lyon", "fine", now - 5, NULL);

	s = sender_start(&chan_ops, &set, &fast, dir, "msg");
	assert_non_null(s);
	assert_true(wait_count(&rec, &rec.delivered, 1));
	assert_true(wait_dead(dir, bad));
	assert_true(wait_spool(sp, 0));
	assert_int_equal(sender_stop(s, 5.0), 0);

	assert_int_equal(rec.attempts, 2);
	assert_string_equal(rec.msg[1], "fine");
	snprintf(path, sizeof(path), "%s/dead/%s", dir, bad);
	assert_string_equal(slurp(path), "refuse-me");
	snprintf(path, sizeof(path), "%s/dead/%s.reason", dir, bad);
	assert_non_null(strstr(slurp(path), "550 no such user"));
	spool_free(sp);
}

/* Older than max_age: to dead/ without an attempt; a fresh one still goes. */
static void too_old_goes_to_dead_unsent(void **state)
{
	const char *dir = *state;
	char old[SPOOL_NAME_MAX], path[512];
	struct recorder rec;
	struct chan_settings set = { &rec, "A", CHAN_OK };
	struct sender_timing t = { 0.05, 0.2, 60 };
	struct spool *sp;
	struct sender *s;
	time_t now = time(NULL);

	recorder_init(&rec);
	sp = spool_new_at(dir, "msg");
	add(sp, "paris", "stale", now - 3600, old);
	add(sp, "lyon", "fresh", now, NULL);

	s = sender_start(&chan_ops, &set, &t, dir, "msg");
	assert_non_null(s);
	assert_true(wait_count(&rec, &rec.delivered, 1));
	assert_true(wait_dead(dir, old));
	assert_true(wait_spool(sp, 0));
	assert_int_equal(sender_stop(s, 5.0), 0);

	assert_int_equal(rec.attempts, 1);
	assert_string_equal(rec.msg[0], "fresh");
	snprintf(path, sizeof(path), "%s/dead/%s.reason", dir, old);
	assert_non_null(strstr(slurp(path), "not delivered in"));
	spool_free(sp);
}

/* sender_stop aborts a conversation in progress: send() sees *stop, the
 * thread is joined within the bound, and the message stays in the spool. */
static void stop_aborts_a_blocked_send(void **state)
{
	const char *dir = *state;
	char path[128];
	struct recorder rec;
	struct chan_settings set = { &rec, "A", CHAN_BLOCK };
	struct spool *sp;
	struct sender *s;

	recorder_init(&rec);
	sp = spool_new_at(dir, "msg");
	add(sp, "paris", "stuck", time(NULL), NULL);

	s = sender_start(&chan_ops, &set, &fast, dir, "msg");
	assert_non_null(s);
	assert_true(wait_count(&rec, &rec.blocked, 1));
	assert_int_equal(sender_stop(s, 10.0), 0);      /* 0: joined, not given up on */
	assert_int_equal(spool_count(sp), 1);
	snprintf(path, sizeof(path), "%s/dead", dir);
	assert_int_not_equal(access(path, F_OK), 0);
	spool_free(sp);
}

/* Kept after the test: a thread given up on is never freed (the process is
 * exiting in real life), and LeakSanitizer must see it as reachable. */
static struct recorder hang_rec;
static struct sender *given_up;

/* A send() that ignores *stop: sender_stop returns -1 after wait_s, not
 * later, and leaves the thread running. */
static void stop_gives_up_after_its_bound(void **state)
{
	const char *dir = *state;
	struct chan_settings set = { &hang_rec, "A", CHAN_HANG };
	struct spool *sp;
	double t0, took;

	recorder_init(&hang_rec);
	sp = spool_new_at(dir, "msg");
	add(sp, "paris", "hung", time(NULL), NULL);

	given_up = sender_start(&chan_ops, &set, &fast, dir, "msg");
	assert_non_null(given_up);
	assert_true(wait_count(&hang_rec, &hang_rec.blocked, 1));
	t0 = monotonic_s();
	assert_int_equal(sender_stop(given_up, 0.3), -1);
	took = monotonic_s() - t0;
	assert_true(took >= 0.3 - 0.01);
	assert_true(took < WAIT_S);     /* within its bound (loose: a busy machine) */

	/* let it end: it releases its settings as it leaves */
	atomic_store(&hang_rec.release_hang, 1);
	assert_true(wait_count(&hang_rec, &hang_rec.released, 1));
	assert_int_equal(spool_count(sp), 1);   /* aborted: kept */
	spool_free(sp);
}

/* New settings are used from the next message on, and end the backoff at
 * once (retry_min is a minute here, the wait only WAIT_S); a new dir too. */
static void configure_applies_to_next_message(void **state)
{
	const char *dir = *state;
	char dir2[64];
	struct recorder rec;
	struct chan_settings down = { &rec, "old", CHAN_ALWAYS_RETRY };
	struct chan_settings fixed = { &rec, "new", CHAN_OK };
	struct sender_timing slow = { 60, 600, 3600 };
	struct spool *sp, *sp2;
	struct sender *s;

	recorder_init(&rec);
	snprintf(dir2, sizeof(dir2), "%s/two", dir);
	sp = spool_new_at(dir, "msg");
	sp2 = spool_new_at(dir2, "msg");
	add(sp, "paris", "waiting", time(NULL), NULL);

	s = sender_start(&chan_ops, &down, &slow, dir, "msg");
	assert_non_null(s);
	assert_true(wait_count(&rec, &rec.attempts, 1));    /* RETRY: 60 s backoff */
	sender_configure(s, &fixed, &slow, dir);
	assert_true(wait_count(&rec, &rec.delivered, 1));
	assert_true(wait_spool(sp, 0));
	assert_string_equal(rec.tag[0], "old");
	assert_string_equal(rec.tag[rec.attempts - 1], "new");
	assert_string_equal(rec.msg[rec.attempts - 1], "waiting");

	/* another spool directory: its message goes, with the settings in force */
	add(sp2, "lyon", "elsewhere", time(NULL), NULL);
	sender_configure(s, &fixed, &fast, dir2);
	assert_true(wait_count(&rec, &rec.delivered, 2));
	assert_true(wait_spool(sp2, 0));
	assert_int_equal(sender_stop(s, 5.0), 0);
	assert_string_equal(rec.msg[rec.attempts - 1], "elsewhere");
	assert_string_equal(rec.tag[rec.attempts - 1], "new");
	/* every copy made (start, 2 configures, the thread's 3) was released */
	assert_int_equal(rec.released, 6);
	spool_free(sp);
	spool_free(sp2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(delivers_spool_at_start_and_on_wake, setup, teardown),
		cmocka_unit_test_setup_teardown(retry_backs_off_then_delivers, setup, teardown),
		cmocka_unit_test_setup_teardown(refused_goes_to_dead, setup, teardown),
		cmocka_unit_test_setup_teardown(too_old_goes_to_dead_unsent, setup, teardown),
		cmocka_unit_test_setup_teardown(stop_aborts_a_blocked_send, setup, teardown),
		cmocka_unit_test_setup_teardown(stop_gives_up_after_its_bound, setup, teardown),
		cmocka_unit_test_setup_teardown(configure_applies_to_next_message, setup, teardown),
	};
	log_init(getenv("TEST_DEBUG") ? 1 : -1);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
