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
		"                                 from the results CSV (default: the last 7 days)\n"
		"\n"
		"options:\n"
		"  -c, --config FILE   config file (default ./config.yml, then /etc/epmon/config.yml)\n"
		"  -s, --site NAME     only this site (repeatable; once)\n"
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

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "site", required_argument, NULL, 's' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	const char *path = NULL, *command = NULL;
	const char **only = calloc((size_t)argc, sizeof(*only));
	size_t nonly = 0;
	int verbosity = 0, c, rc;

	if (!only)
		return 1;
	/* openconnect runs "epmon tunnel-setup" as its --script: no options,
	 * no config, nothing but the tunnel's own settings */
	if (argc > 1 && strcmp(argv[1], "tunnel-setup") == 0) {
		free(only);
		return tunsetup_main(argc - 1, argv + 1);
	}
	/* the UTC offset of a maintenance window's time zone (maintenance.c) */
	if (argc > 1 && strcmp(argv[1], "tz-offset") == 0) {
		free(only);
		return maintenance_tz_offset_main(argc, argv);
	}
	/* "+" : options may come before and after the command */
	while (optind < argc) {
		c = getopt_long(argc, argv, "+c:s:vqhV", opts, NULL);
		if (c == -1) {
			if (command) {
				fprintf(stderr, "epmon: unexpected argument '%s'\n", argv[optind]);
				usage(stderr);
				free(only);
				return EXIT_USAGE;
			}
			command = argv[optind++];
			if (strcmp(command, "report") == 0) { /* has options of its own */
				log_init(verbosity);
				rc = report_cmd(path, only, nonly, argc - optind + 1, argv + optind - 1);
				free(only);
				return rc;
			}
			if (!strcmp(command, "mute") || !strcmp(command, "unmute")) {
				log_init(verbosity);
				rc = mute_cmd(path ? path : config_default_path(),
					      argc - optind + 1, argv + optind - 1);
				free(only);
				return rc;
			}
			continue;
		}
		switch (c) {
		case 'c': path = optarg; break;
		case 's': only[nonly++] = optarg; break;
		case 'v': verbosity++; break;
		case 'q': verbosity = -1; break;
		case 'h': usage(stdout); free(only); return 0;
		case 'V': printf("epmon %s\n", EPMON_VERSION); free(only); return 0;
		default: usage(stderr); free(only); return EXIT_USAGE;
		}
	}
	log_init(verbosity);
	if (!command) {
		usage(stderr);
		free(only);
		return EXIT_USAGE;
	}
	if (!path)
		path = config_default_path();

	if (strcmp(command, "run") == 0 && nonly == 0)
		rc = daemon_run(path);
	else if (strcmp(command, "once") == 0)
		rc = daemon_once(path, only, nonly);
	else if (strcmp(command, "check-config") == 0 && nonly == 0)
		rc = cmd_check_config(path);
	else if (strcmp(command, "test-email") == 0 && nonly == 0)
		rc = cmd_test_email(path);
	else {
		fprintf(stderr, "epmon: unknown command '%s'%s\n", command,
			nonly ? " (or --site given where it does not apply)" : "");
		usage(stderr);
		rc = EXIT_USAGE;
	}
	free(only);
	return rc;
}
