/* SPDX-License-Identifier: MIT */
/* epmon: VPN gateway monitor. The command line (the run loop is daemon.c). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/log.h"
#include "config/config.h"
#include "vpn/tunsetup.h"
#include "alert/maintenance.h"
#include "alert/mute_cli.h"
#include "alert/notify.h"
#include "report/report.h"
#include "daemon.h"

#ifndef EPMON_VERSION
#define EPMON_VERSION "dev"
#endif

static void usage(FILE *out)
{
	fprintf(out,
		"usage: epmon [-v|-q] COMMAND [-c FILE] [options]\n"
		"\n"
		"commands:\n"
		"  run [-c FILE]                  run cycles every `frequency` seconds until SIGTERM\n"
		"  once [-c FILE] [--site NAME]   run one cycle, print a table; exit 0 all OK, 1 any failed\n"
		"  check-config [-c FILE]         validate the config; exit 0 valid, 2 invalid\n"
		"  test-email [-c FILE]           send a test alert mail now, print the SMTP conversation;\n"
		"                                 exit 0 accepted by the server, 1 not\n"
		"  mute [-c FILE] SITE|all DURATION [--reason TEXT]\n"
		"                                 raise no alert for SITE (tested and recorded) until then\n"
		"  unmute [-c FILE] SITE|all      end a mute\n"
		"  report [-c FILE] [--from DATE] [--to DATE] [--site NAME]... [--format text|csv|json]\n"
		"                                 availability, outages, login time and RTT per site\n"
		"                                 from the results CSV (default: the last 7 days;\n"
		"                                 DATE is YYYY-MM-DD, local time, --to inclusive)\n"
		"\n"
		"options (before or after the command):\n"
		"  -c, --config FILE   config file (default ./config.yml, then /etc/epmon/config.yml)\n"
		"  -s, --site NAME     only this site (repeatable; once, report)\n"
		"  -v, --verbose       debug logging\n"
		"  -q, --quiet         errors only\n"
		"  -h, --help          this text\n"
		"  -V, --version       print the version\n");
}

static int cmd_check_config(const char *path)
{
	struct config *cfg = config_load_print(path, 1);

	if (!cfg)
		return EXIT_USAGE;
	if (daemon_check_subnet(cfg) < 0) {
		config_free(cfg);
		return EXIT_USAGE;
	}
	printf("OK: %zu site%s\n", cfg->nsites, cfg->nsites == 1 ? "" : "s");
	config_free(cfg);
	return 0;
}

/* Sends a test mail synchronously: the first thing to run after writing
 * the logging: section. */
static int cmd_test_email(const char *path)
{
	struct config *cfg = config_load_print(path, 1);
	int rc;

	if (!cfg)
		return EXIT_USAGE;
	rc = notifier_test_email(cfg, stdout);
	config_free(cfg);
	return rc;
}

/* The command line, parsed once for every command. */
struct cli {
	const char *config;
	const char **sites;         /* --site, in order */
	size_t nsites;
	const char *from, *to, *format, *reason;
	const char **words;         /* the command and its own words */
	size_t nwords;
	int verbosity;
};

enum { OPT_FROM = 256, OPT_TO, OPT_FORMAT, OPT_REASON };

/* Options may come before and after the command (getopt permutes). 0 to
 * go on, -1 when done (help, version), or EXIT_USAGE. */
static int parse_cli(int argc, char **argv, struct cli *c)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "site", required_argument, NULL, 's' },
		{ "from", required_argument, NULL, OPT_FROM },
		{ "to", required_argument, NULL, OPT_TO },
		{ "format", required_argument, NULL, OPT_FORMAT },
		{ "reason", required_argument, NULL, OPT_REASON },
		{ "verbose", no_argument, NULL, 'v' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	int ch;

	while ((ch = getopt_long(argc, argv, "c:s:vqhV", opts, NULL)) != -1) {
		switch (ch) {
		case 'c': c->config = optarg; break;
		case 's': c->sites[c->nsites++] = optarg; break;
		case OPT_FROM: c->from = optarg; break;
		case OPT_TO: c->to = optarg; break;
		case OPT_FORMAT: c->format = optarg; break;
		case OPT_REASON: c->reason = optarg; break;
		case 'v': c->verbosity++; break;
		case 'q': c->verbosity = -1; break;
		case 'h': usage(stdout); return -1;
		case 'V': printf("epmon %s\n", EPMON_VERSION); return -1;
		default: usage(stderr); return EXIT_USAGE;
		}
	}
	c->words = (const char **)argv + optind;
	c->nwords = (size_t)(argc - optind);
	return 0;
}

/* What each command accepts besides -c, -v and -q. */
static int fits(const struct cli *c, int sites, int dates, int reason, size_t words)
{
	const char *extra = !sites && c->nsites ? "--site" : !dates && c->from ? "--from"
		: !dates && c->to ? "--to" : !dates && c->format ? "--format"
		: !reason && c->reason ? "--reason" : NULL;

	if (extra) {
		fprintf(stderr, "epmon %s: %s does not apply to this command\n", c->words[0], extra);
		return 0;
	}
	if (words && c->nwords > words) {
		fprintf(stderr, "epmon: unexpected argument '%s'\n", c->words[words]);
		usage(stderr);
		return 0;
	}
	return 1;
}

static int run_command(const struct cli *c)
{
	const char *cmd = c->words[0];
	const char *path = c->config ? c->config : config_default_path();

	if (!strcmp(cmd, "run") && fits(c, 0, 0, 0, 1))
		return daemon_run(path);
	if (!strcmp(cmd, "once") && fits(c, 1, 0, 0, 1))
		return daemon_once(path, c->sites, c->nsites);
	if (!strcmp(cmd, "check-config") && fits(c, 0, 0, 0, 1))
		return cmd_check_config(path);
	if (!strcmp(cmd, "test-email") && fits(c, 0, 0, 0, 1))
		return cmd_test_email(path);
	if (!strcmp(cmd, "report") && fits(c, 1, 1, 0, 1))
		return report_cmd(path, c->sites, c->nsites, c->from, c->to, c->format);
	if ((!strcmp(cmd, "mute") || !strcmp(cmd, "unmute")) && fits(c, 0, 0, 1, 0))
		return mute_cmd(path, !strcmp(cmd, "unmute"), c->words + 1, c->nwords - 1,
				c->reason);
	if (strcmp(cmd, "run") && strcmp(cmd, "once") && strcmp(cmd, "check-config") &&
	    strcmp(cmd, "test-email") && strcmp(cmd, "report") && strcmp(cmd, "mute") &&
	    strcmp(cmd, "unmute")) {
		fprintf(stderr, "epmon: unknown command '%s'\n", cmd);
		usage(stderr);
	}
	return EXIT_USAGE;
}

int main(int argc, char **argv)
{
	struct cli c = { 0 };
	int rc;

	/* openconnect runs "epmon tunnel-setup" as its --script: no options,
	 * no config, nothing but the tunnel's own settings */
	if (argc > 1 && strcmp(argv[1], "tunnel-setup") == 0)
		return tunsetup_main(argc - 1, argv + 1);
	/* the UTC offset of a maintenance window's time zone (maintenance.c) */
	if (argc > 1 && strcmp(argv[1], "tz-offset") == 0)
		return maintenance_tz_offset_main(argc, argv);
	if (!(c.sites = calloc((size_t)argc, sizeof(*c.sites))))
		return 1;
	rc = parse_cli(argc, argv, &c);
	if (rc == 0 && c.nwords == 0) {
		usage(stderr);
		rc = EXIT_USAGE;
	} else if (rc == 0) {
		log_init(c.verbosity);
		rc = run_command(&c);
	}
	free(c.sites);
	return rc < 0 ? 0 : rc;
}
