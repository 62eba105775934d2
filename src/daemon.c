/* SPDX-License-Identifier: MIT */
/* The daemon's top level: the run loop (schedule, signals, reload,
 * systemd's notify and watchdog) and `epmon once`. */
#include "daemon.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "util/clock.h"
#include "util/log.h"
#include "util/sdnotify.h"
#include "config/config.h"
#include "vpn/isolation.h"
#include "vpn/patterns.h"
#include "vpn/vpn.h"
#include "probe/cycle.h"
#include "probe/schedule.h"
#include "probe/site.h"
#include "store/results.h"
#include "alert/notify.h"
#include "web/http.h"

#ifndef EPMON_VERSION
#define EPMON_VERSION "dev"
#endif

/* The daemon's top level: the only mutable process-wide state. */
static volatile sig_atomic_t stop_signal;
static volatile int stop_flag;
static volatile sig_atomic_t reload_flag;

static void on_stop(int sig)
{
	stop_signal = sig;
	stop_flag = 1;
}

static void on_hup(int sig)
{
	(void)sig;
	reload_flag = 1;
}

/* From here on epmon holds passwords: no core file, no ptrace or /proc/PID/mem
 * by anything without CAP_SYS_PTRACE. As /proc/PID/exe is closed too, the
 * path of epmon's binary is kept for openconnect's --script (self_exe, quoted
 * for its sh -c: a path with a quote falls back to /proc/PID/exe). */
static void guard_secrets(char *self_exe, size_t len, struct vpn_env *vpn)
{
	struct rlimit no_core = { 0, 0 };
	ssize_t n = readlink("/proc/self/exe", self_exe, len - 1);

	if (n > 0 && (size_t)n < len - 1) {
		self_exe[n] = '\0';
		if (!strstr(self_exe, " (deleted)") && strchr(self_exe, '\'') == NULL)
			vpn->self_exe = self_exe;
	}
	if (setrlimit(RLIMIT_CORE, &no_core) < 0)
		log_warn(NULL, "cannot disable core files: %s", strerror(errno));
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		log_warn(NULL, "cannot make epmon non-dumpable: %s", strerror(errno));
}

static void install_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = on_stop;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sa.sa_handler = on_hup;
	sigaction(SIGHUP, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
}

/* Sleeps until the monotonic time `until` or a signal, whichever first.
 * Signals are blocked outside ppoll so none is lost between check and sleep. */
static void sleep_until(double until, const sigset_t *unblocked)
{
	double left = until - monotonic_s();
	struct timespec ts;

	if (left <= 0 || stop_flag || reload_flag)
		return;
	ts = clock_timespec(left);
	ppoll(NULL, 0, &ts, unblocked);
}

/* env.heartbeat: a cycle may outlast systemd's WatchdogSec, a site test
 * should not (see check_watchdog). */
static void watchdog_ping(void *sd)
{
	sdnotify_watchdog(sd);
}

/* The end of a sleep until `until`, cut to a little under half the watchdog
 * timeout (the loop's own time must not make a ping late). */
static double watchdog_wake(const struct sdnotify *sd, double until)
{
	double half = sdnotify_watchdog_s(sd) * 0.45, now = monotonic_s();

	return half > 0 && now + half < until ? now + half : until;
}

/* No ping is sent during a site test: say so when one may last longer than
 * the watchdog allows (pings twice, logins and teardowns at their timeouts). */
static void check_watchdog(const struct config *cfg, const struct sdnotify *sd)
{
	double wd = sdnotify_watchdog_s(sd);

	for (size_t i = 0; wd > 0 && i < cfg->nsites; i++) {
		const struct site *s = &cfg->sites[i];
		double longest = site_worst_case_s(s);
		if (longest > wd)
			log_warn(s->name, "a site test may take %.0f s, longer than systemd's "
				 "watchdog (%.0f s): raise WatchdogSec= in the unit", longest, wd);
	}
}

/* Isolation applies when it is on and some site has a VPN client. */
static int wants_isolation(const struct config *cfg)
{
	if (cfg->isolation.mode != ISOLATION_NETNS)
		return 0;
	for (size_t i = 0; i < cfg->nsites; i++)
		if (cfg->sites[i].vpn.client != VPN_NONE)
			return 1;
	return 0;
}

/* The subnet against this namespace: a config error, FILE:LINE:COL. */
int daemon_check_subnet(const struct config *cfg)
{
	char err[512];

	if (!wants_isolation(cfg) || isolation_check_subnet(&cfg->isolation, err, sizeof(err)) == 0)
		return 0;
	fprintf(stderr, "%s:%d:%d: %s\n", cfg->path, cfg->isolation.line ? cfg->isolation.line : 1,
		cfg->isolation.col ? cfg->isolation.col : 1, err);
	return -1;
}

/* Start of once/run: the site namespaces' shared pieces. Returns 0 with
 * *iso set (NULL when isolation does not apply), or an exit status. */
static int open_isolation(const struct config *cfg, struct isolation **iso)
{
	char err[512];

	*iso = NULL;
	if (!wants_isolation(cfg))
		return 0;
	if (daemon_check_subnet(cfg) < 0)
		return EXIT_USAGE;
	*iso = isolation_open(&cfg->isolation, err, sizeof(err));
	if (!*iso) {
		fprintf(stderr, "epmon: isolation mode netns: %s (it needs root: CAP_SYS_ADMIN "
			"and CAP_NET_ADMIN; or set isolation: {mode: none} and concurrency: 1)\n",
			err);
		return 1;
	}
	return 0;
}

int daemon_once(const char *path, const char *const *only, size_t nonly)
{
	struct config *cfg = config_load_print(path, 1);
	struct site_env env = { .vpn.stop = &stop_flag };
	char self_exe[PATH_MAX];
	struct cycle_report rep;
	struct results *csv;
	struct cycle_sink sink;
	int rc;

	if (!cfg)
		return EXIT_USAGE;
	for (size_t i = 0; i < nonly; i++) {
		if (!config_find_site(cfg, only[i])) {
			fprintf(stderr, "%s: no site named '%s' (see check-config)\n",
				path, only[i]);
			config_free(cfg);
			return EXIT_USAGE;
		}
	}
	install_signals();
	guard_secrets(self_exe, sizeof(self_exe), &env.vpn);
	if ((rc = open_isolation(cfg, &env.vpn.isolation)) != 0) {
		config_free(cfg);
		return rc;
	}
	env.vpn.state_dir = cfg->state_dir;
	env.vpn.patterns = pattern_cache_new();
	vpn_recover(&env.vpn);
	vpn_remember_resolv(&env.vpn);
	csv = results_new(cfg->results_dir);
	sink = results_sink(csv);
	cycle_run(cfg, only, nonly, &env, &sink, 1, &rep);
	cycle_print_table(&rep, stdout);
	fflush(stdout);
	rc = (rep.nfailed > 0 || rep.aborted) ? 1 : 0;
	cycle_report_free(&rep);
	results_free(csv);
	isolation_close(env.vpn.isolation);
	pattern_cache_free(env.vpn.patterns);
	config_free(cfg);
	return rc;
}

/* SIGHUP: a valid new config replaces the old one between cycles; an
 * invalid one is reported and the old one stays in force. */
static void reload(const char *path, struct config **cfg, struct results **csv,
		   struct schedule *sched, struct site_env *env,
		   struct notifier *alerts)
{
	struct config *fresh;

	reload_flag = 0;
	log_info(NULL, "SIGHUP: reloading %s", path);
	fresh = config_load_print(path, 1);
	if (!fresh) {
		log_error(NULL, "%s is invalid (errors above); keeping the previous config", path);
		return;
	}
	if (wants_isolation(fresh) != wants_isolation(*cfg) ||
	    fresh->isolation.mode != (*cfg)->isolation.mode ||
	    fresh->isolation.subnet != (*cfg)->isolation.subnet ||
	    fresh->isolation.prefix != (*cfg)->isolation.prefix) {
		struct isolation *iso = NULL;
		isolation_close(env->vpn.isolation);
		env->vpn.isolation = NULL;
		if (open_isolation(fresh, &iso) != 0) {
			log_error(NULL, "%s: isolation cannot be set up (above); keeping the "
				  "previous config", path);
			config_free(fresh);
			open_isolation(*cfg, &env->vpn.isolation);
			return;
		}
		env->vpn.isolation = iso;
	}
	if (strcmp(fresh->results_dir, (*cfg)->results_dir) != 0) {
		results_free(*csv);
		*csv = results_new(fresh->results_dir);
	}
	schedule_set_period(sched, fresh->frequency_s);
	config_free(*cfg);
	*cfg = fresh;
	env->vpn.state_dir = fresh->state_dir;
	vpn_remember_resolv(&env->vpn);
	if (alerts)
		notifier_reload(alerts, fresh);
	log_info(NULL, "config reloaded: %zu site(s), frequency %g s",
		 fresh->nsites, fresh->frequency_s);
}

int daemon_run(const char *path)
{
	struct config *cfg = config_load_print(path, 1);
	struct site_env env = { .vpn.stop = &stop_flag };
	char self_exe[PATH_MAX];
	struct schedule sched;
	struct results *csv;
	struct notifier *alerts;
	struct http_server *web = NULL;
	struct sdnotify *sd;
	struct cycle_sink sinks[3];
	sigset_t block, unblocked;
	unsigned long cycles = 0, overruns = 0;

	if (!cfg)
		return EXIT_USAGE;
	install_signals();
	guard_secrets(self_exe, sizeof(self_exe), &env.vpn);
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGHUP);
	sigprocmask(SIG_BLOCK, &block, &unblocked);
	/* before any thread starts: it unsets NOTIFY_SOCKET for the VPN clients */
	sd = sdnotify_new();
	env.heartbeat = watchdog_ping;
	env.heartbeat_arg = sd;
	env.heartbeat_every_s = sdnotify_watchdog_s(sd) * 0.3;
	check_watchdog(cfg, sd);

	{
		int rc = open_isolation(cfg, &env.vpn.isolation);
		if (rc != 0) {
			config_free(cfg);
			sdnotify_free(sd);
			return rc;
		}
	}
	csv = results_new(cfg->results_dir);
	env.vpn.state_dir = cfg->state_dir;
	env.vpn.patterns = pattern_cache_new();
	vpn_recover(&env.vpn);
	vpn_remember_resolv(&env.vpn);
	/* Alert state, spool and the mail sender thread (signals stay here). */
	alerts = notifier_new(cfg);
	/* /metrics, /status and the page, in their own thread (http: map). */
	if (cfg->http.enabled && !(web = http_server_new(cfg, EPMON_VERSION, alerts))) {
		isolation_close(env.vpn.isolation);
		pattern_cache_free(env.vpn.patterns);
		notifier_free(alerts);
		results_free(csv);
		config_free(cfg);
		sdnotify_free(sd);
		return 1;
	}
	http_server_update(web, NULL, 0, alerts ? notifier_alerts(alerts) : NULL,
			   alerts ? notifier_spooled(alerts) : 0);
	log_info(NULL, "epmon %s started: %zu site(s), frequency %g s, results in %s",
		 EPMON_VERSION, cfg->nsites, cfg->frequency_s, cfg->results_dir);
	sdnotify_send(sd, "READY=1");
	sdnotify_status(sd, "started: %zu site(s), frequency %g s", cfg->nsites, cfg->frequency_s);
	schedule_init(&sched, cfg->frequency_s, monotonic_s());
	while (!stop_flag) {
		struct cycle_report rep;
		unsigned char *quiet;

		sdnotify_watchdog(sd);
		sleep_until(watchdog_wake(sd, sched.next_s), &unblocked);
		if (stop_flag)
			break;
		if (reload_flag) {
			sdnotify_send(sd, "RELOADING=1");
			reload(path, &cfg, &csv, &sched, &env, alerts);
			http_server_reload(&web, cfg, EPMON_VERSION, alerts);
			check_watchdog(cfg, sd);
			sdnotify_send(sd, "READY=1");
			continue;
		}
		if (monotonic_s() < sched.next_s)
			continue;
		quiet = calloc(cfg->nsites ? cfg->nsites : 1, 1);
		if (alerts && quiet)
			notifier_quiet(alerts, cfg, time(NULL), quiet);
		env.quiet = quiet;
		/* rows as each site ends; alerts, then the monitor, after the cycle */
		sinks[0] = results_sink(csv);
		sinks[1] = notifier_sink(alerts);
		sinks[2] = http_server_sink(web);
		/* Signals stay deliverable during the cycle so SIGTERM aborts it. */
		sigprocmask(SIG_SETMASK, &unblocked, NULL);
		env.vpn.state_dir = cfg->state_dir;
		cycle_run(cfg, NULL, 0, &env, sinks, sizeof(sinks) / sizeof(sinks[0]), &rep);
		env.quiet = NULL;
		sigprocmask(SIG_BLOCK, &block, NULL);
		cycles++;
		if (rep.aborted) {
			log_info(NULL, "cycle %lu stopped by signal after %.3f s: %zu site(s) done, "
				 "%zu failed", cycles, rep.duration_s, rep.nresults, rep.nfailed);
		} else {
			log_info(NULL, "cycle %lu: %zu site(s), %zu failed, %.3f s", cycles,
				 rep.nresults, rep.nfailed, rep.duration_s);
			sdnotify_status(sd, "last cycle: %zu sites, %zu failed, %.1f s",
					rep.nresults, rep.nfailed, rep.duration_s);
		}
		if (schedule_advance(&sched, monotonic_s()) && !rep.aborted) {
			overruns++;
			log_warn(NULL, "cycle %lu took %.3f s, longer than frequency %g s; "
				 "next cycle starts now (%lu overrun(s) so far)",
				 cycles, rep.duration_s, cfg->frequency_s, overruns);
		}
		rep.overruns = overruns;
		/* Rows are written: alert mails go to the spool, sent in background. */
		cycle_deliver(sinks, sizeof(sinks) / sizeof(sinks[0]), &rep);
		cycle_report_free(&rep);
		free(quiet);
	}
	sdnotify_send(sd, "STOPPING=1");
	log_info(NULL, "stopping on signal %d after %lu cycle(s)", (int)stop_signal, cycles);
	http_server_free(web);
	notifier_free(alerts);
	results_free(csv);
	isolation_close(env.vpn.isolation);
	pattern_cache_free(env.vpn.patterns);
	config_free(cfg);
	sdnotify_free(sd);
	return 0;
}
