/* SPDX-License-Identifier: MIT */
/* One cycle: loopback sites pinged for real, results to the sinks, the report and its table. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config/config.h"
#include "probe/cycle.h"
#include "util/log.h"
#include "vpn/nl_config.h"

/* s1 pings longest (at least 0.2 s: its requests are 0.05 s apart), so
 * with three workers it is rarely the first to end; s4 has no route in the
 * test's namespace (its send fails at once, nothing leaves). The timeout
 * only counts for a lost reply: long, as the machine may be busy. */
static const char config_text[] =
	"frequency: 60\n"
	"concurrency: 3\n"
	"ping: {count: 2, interval: 0.05, timeout: 5}\n"
	"sites:\n"
	"  - name: s1\n"
	"    external_ip: 127.0.0.1\n"
	"    ping: {count: 5}\n"
	"  - name: s2\n"
	"    external_ip: 127.0.0.2\n"
	"  - name: s3\n"
	"    external_ip: 127.0.0.3\n"
	"  - name: s4\n"
	"    external_ip: 192.0.2.1\n"
	"  - name: s5\n"
	"    external_ip: 127.0.0.5\n";

#define NSITES 5
static const char *const names[NSITES] = { "s1", "s2", "s3", "s4", "s5" };

static struct config *cfg;
static char cfg_dir[64], cfg_path[128];

/* What the sinks and the heartbeat saw; every hook runs under the cycle's
 * lock, so plain counters do. */
struct trace {
	int heartbeats;
	int done;                   /* site_done calls of sink A */
	int heartbeat_late;         /* a site ended before its heartbeat */
	int overlap;                /* two site_done at the same time */
	int inside;
	char order[32];             /* cycle_done calls: sink names */
	const struct cycle_report *delivered;
};
static struct trace tr;

struct recorder {
	const char *name;
	int count[NSITES];
	int unknown;
	char detail[NSITES][512];
};

static int site_index(const char *site)
{
	for (int i = 0; i < NSITES; i++)
		if (strcmp(site, names[i]) == 0)
			return i;
	return -1;
}

static void site_done(void *arg, const struct site_result *r)
{
	struct recorder *rec = arg;
	int i = site_index(r->site);

	if (__atomic_fetch_add(&tr.inside, 1, __ATOMIC_SEQ_CST) != 0)
		tr.overlap = 1;
	if (i < 0) {
		rec->unknown++;
	} else {
		rec->count[i]++;
		snprintf(rec->detail[i], sizeof(rec->detail[i]), "%s", r->detail);
	}
	if (rec->name[0] == 'A' && ++tr.done > tr.heartbeats)
		tr.heartbeat_late = 1;
	__atomic_fetch_sub(&tr.inside, 1, __ATOMIC_SEQ_CST);
}

static void cycle_done(void *arg, const struct cycle_report *rep)
{
	struct recorder *rec = arg;

	strncat(tr.order, rec->name, sizeof(tr.order) - strlen(tr.order) - 1);
	tr.delivered = rep;
}

static void heartbeat(void *arg)
{
	(*(int *)arg)++;
}

/* Sinks A and B, and one with no hooks at all between them. */
static struct recorder rec_a, rec_b;
static struct cycle_sink sinks[3];

static void reset(struct site_env *env)
{
	memset(&tr, 0, sizeof(tr));
	memset(&rec_a, 0, sizeof(rec_a));
	memset(&rec_b, 0, sizeof(rec_b));
	rec_a.name = "A";
	rec_b.name = "B";
	sinks[0] = (struct cycle_sink){ site_done, cycle_done, &rec_a };
	sinks[1] = (struct cycle_sink){ NULL, NULL, NULL };
	sinks[2] = (struct cycle_sink){ site_done, cycle_done, &rec_b };
	memset(env, 0, sizeof(*env));
	env->heartbeat = heartbeat;
	env->heartbeat_arg = &tr.heartbeats;
}

static void every_site_once_in_config_order(void **state)
{
	struct site_env env;
	struct cycle_report rep;

	reset(&env);
	assert_int_equal(cfg->concurrency, 3);
	cycle_run(cfg, NULL, 0, &env, sinks, 3, &rep);
	assert_int_equal(rep.aborted, 0);
	assert_int_equal(rep.nresults, NSITES);
	for (int i = 0; i < NSITES; i++) {
		assert_string_equal(rep.results[i].site, names[i]);
		assert_int_equal(rec_a.count[i], 1);
		assert_int_equal(rec_b.count[i], 1);
	}
	assert_int_equal(rec_a.unknown + rec_b.unknown, 0);
	assert_int_equal(tr.overlap, 0);
	assert_int_equal(rep.nfailed, 1);
	assert_int_equal(rep.results[3].ok, 0);
	assert_int_equal(rep.results[3].failed_step, STEP_EXTERNAL_PING);
	assert_int_equal(rep.results[0].ok, 1);
	assert_int_equal(rep.results[0].external.received, 5);
	assert_int_equal(rep.results[4].external.received, 2);
	assert_null(rep.quiet);
	assert_true(rep.duration_s > 0);
	/* a heartbeat before each site test, none while they run (every_s 0) */
	assert_int_equal(tr.heartbeats, NSITES);
	assert_int_equal(tr.heartbeat_late, 0);
	/* nothing is delivered until cycle_deliver, then in list order */
	assert_string_equal(tr.order, "");
	cycle_deliver(sinks, 3, &rep);
	assert_string_equal(tr.order, "AB");
	assert_ptr_equal(tr.delivered, &rep);
	cycle_report_free(&rep);
	assert_null(rep.results);
}

/* With heartbeat_every_s, the heartbeat goes on while site tests run in
 * worker threads (none has outlived its worst case here). With a single
 * worker the sites run in the calling thread and there is none between
 * the heartbeats before each test (contrib/systemd/epmon.service). */
static void heartbeat_while_sites_run(void **state)
{
	const char *const only[] = { "s1", "s2" };
	struct site_env env;
	struct cycle_report rep;

	reset(&env);
	env.heartbeat_every_s = 0.01;
	cycle_run(cfg, only, 2, &env, sinks, 3, &rep);
	assert_int_equal(rep.nresults, 2);
	assert_int_equal(rep.nfailed, 0);
	/* one before each test, more while s1's 0.2 s of pings ran */
	assert_true(tr.heartbeats > 2);
	assert_int_equal(tr.heartbeat_late, 0);
	cycle_report_free(&rep);
}

static void only_selects_sites(void **state)
{
	const char *const only[] = { "s5", "nosuch", "s2" };
	struct site_env env;
	struct cycle_report rep;

	reset(&env);
	cycle_run(cfg, only, 3, &env, sinks, 3, &rep);
	assert_int_equal(rep.aborted, 0);
	assert_int_equal(rep.nresults, 2);
	assert_string_equal(rep.results[0].site, "s2");
	assert_string_equal(rep.results[1].site, "s5");
	assert_int_equal(rep.nfailed, 0);
	for (int i = 0; i < NSITES; i++) {
		int want = i == 1 || i == 4;
		assert_int_equal(rec_a.count[i], want);
		assert_int_equal(rec_b.count[i], want);
	}
	assert_int_equal(tr.heartbeats, 2);
	cycle_report_free(&rep);
}

/* SIGTERM came before the cycle: nothing is tested, the report says so. */
static void stop_already_set_aborts(void **state)
{
	static volatile int stop = 1;
	struct site_env env;
	struct cycle_report rep;

	reset(&env);
	env.vpn.stop = &stop;
	cycle_run(cfg, NULL, 0, &env, sinks, 3, &rep);
	assert_int_equal(rep.aborted, 1);
	assert_int_equal(rep.nresults, 0);
	assert_int_equal(rep.nfailed, 0);
	for (int i = 0; i < NSITES; i++)
		assert_int_equal(rec_a.count[i] + rec_b.count[i], 0);
	cycle_report_free(&rep);
}

/* Sites in maintenance or muted say so in their detail, which the sinks
 * get; a failure's reason stays first. */
static void quiet_sites_say_why(void **state)
{
	static const unsigned char quiet[NSITES] = { 0, 1, 2, 1, 0 };
	struct site_env env;
	struct cycle_report rep;

	reset(&env);
	env.quiet = quiet;
	cycle_run(cfg, NULL, 0, &env, sinks, 3, &rep);
	assert_int_equal(rep.nresults, NSITES);
	assert_ptr_equal(rep.quiet, quiet);
	assert_string_equal(rep.results[0].detail, "");
	assert_string_equal(rep.results[1].detail, "maintenance");
	assert_string_equal(rep.results[2].detail, "muted");
	assert_string_equal(rep.results[4].detail, "");
	print_message("s4: %s\n", rep.results[3].detail);
	assert_non_null(strstr(rep.results[3].detail, "192.0.2.1"));
	{
		size_t n = strlen(rep.results[3].detail);
		assert_true(n > 13);
		assert_string_equal(rep.results[3].detail + n - 13, "; maintenance");
	}
	assert_string_equal(rec_b.detail[2], "muted");
	assert_string_equal(rec_a.detail[3], rep.results[3].detail);
	cycle_report_free(&rep);
}

static void table_has_a_row_per_site(void **state)
{
	struct site_env env;
	struct cycle_report rep;
	char *text = NULL, *line, *save = NULL;
	size_t len = 0;
	int row = 0;
	FILE *out;

	reset(&env);
	cycle_run(cfg, NULL, 0, &env, sinks, 3, &rep);
	out = open_memstream(&text, &len);
	assert_non_null(out);
	cycle_print_table(&rep, out);
	fclose(out);
	print_message("%s", text);
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save), row++) {
		char site[32], result[16], step[32];
		if (row == 0) {
			assert_true(strncmp(line, "SITE ", 5) == 0);
			assert_non_null(strstr(line, "FAILED_STEP"));
			continue;
		}
		if (row > NSITES) {
			assert_true(strncmp(line, "5 site(s), 1 failed, cycle ", 27) == 0);
			continue;
		}
		assert_int_equal(sscanf(line, "%31s %15s %31s", site, result, step), 3);
		assert_string_equal(site, names[row - 1]);
		if (row == 4) {
			assert_string_equal(result, "FAIL");
			assert_string_equal(step, "external_ping");
			assert_non_null(strstr(line, " 100% "));
		} else {
			assert_string_equal(result, "OK");
			assert_string_equal(step, "-");
			assert_non_null(strstr(line, " 0% "));
		}
	}
	assert_int_equal(row, NSITES + 2);
	free(text);
	cycle_report_free(&rep);
}

/* The whole test runs in a network namespace of its own with only lo up. */
static int setup(void **state)
{
	struct config_diag diag = { 0 };
	FILE *f;

	if (unshare(CLONE_NEWNET) < 0 || nl_link_up("lo", 0) < 0)
		fail_msg("a network namespace of the test's own: %s", strerror(errno));
	log_init(getenv("TEST_DEBUG") ? 1 : -1);
	snprintf(cfg_dir, sizeof(cfg_dir), "/tmp/epmon-test-cycle-XXXXXX");
	assert_non_null(mkdtemp(cfg_dir));
	snprintf(cfg_path, sizeof(cfg_path), "%s/config.yml", cfg_dir);
	f = fopen(cfg_path, "w");
	assert_non_null(f);
	fputs(config_text, f);
	fclose(f);
	assert_int_equal(chmod(cfg_path, 0600), 0);
	cfg = config_load(cfg_path, &diag);
	for (size_t i = 0; i < diag.nerrors; i++)
		print_message("%s\n", diag.errors[i]);
	config_diag_free(&diag);
	assert_non_null(cfg);
	assert_int_equal(cfg->nsites, NSITES);
	return 0;
}

static int teardown(void **state)
{
	config_free(cfg);
	unlink(cfg_path);
	rmdir(cfg_dir);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(every_site_once_in_config_order),
		cmocka_unit_test(heartbeat_while_sites_run),
		cmocka_unit_test(only_selects_sites),
		cmocka_unit_test(stop_already_set_aborts),
		cmocka_unit_test(quiet_sites_say_why),
		cmocka_unit_test(table_has_a_row_per_site),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
