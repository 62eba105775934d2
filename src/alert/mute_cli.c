/* SPDX-License-Identifier: MIT */
/* epmon mute / unmute (see mute_cli.h). */
#include "alert/mute_cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config/config.h"
#include "alert/maintenance.h"


static int usage(void)
{
	fprintf(stderr, "usage: epmon [-c FILE] mute SITE|all DURATION [--reason TEXT]\n"
		"       epmon [-c FILE] unmute SITE|all\n"
		"DURATION: 90s, 30m, 4h, 1h30m, 2d\n");
	return EXIT_USAGE;
}

int mute_cmd(const char *config_path, int unmute, const char *const *pos, size_t npos,
	     const char *reason)
{
	const char *site;
	struct config *cfg;
	double seconds = 0;
	time_t now = time(NULL);
	char until[64];
	struct tm tm;
	int rc;

	if (!reason)
		reason = "";
	if (unmute && *reason)
		return usage();
	if (npos != (unmute ? 1 : 2))
		return usage();
	site = pos[0];
	if (!unmute && (config_parse_duration(pos[1], &seconds) < 0 || seconds <= 0)) {
		fprintf(stderr, "epmon mute: DURATION must be a duration like 30m or "
			"4h, got '%s'\n", pos[1]);
		return EXIT_USAGE;
	}
	if (!(cfg = config_load_print(config_path, 0)))
		return EXIT_USAGE;
	if (strcmp(site, "all") != 0 && !config_find_site(cfg, site)) {
		fprintf(stderr, "epmon %s: %s has no site '%s'\n", unmute ? "unmute" : "mute",
			cfg->path, site);
		config_free(cfg);
		return EXIT_USAGE;
	}
	if (!strcmp(site, "all"))
		site = "*";
	if (unmute) {
		rc = mutes_clear(cfg->state_dir, site, now);
		if (rc == 0)
			printf("%s unmuted\n", strcmp(site, "*") ? site : "every site");
	} else {
		time_t end = now + (time_t)seconds;
		rc = mutes_set(cfg->state_dir, site, end, reason, now);
		localtime_r(&end, &tm);
		strftime(until, sizeof(until), "%Y-%m-%d %H:%M:%S %z", &tm);
		if (rc == 0)
			printf("%s muted until %s%s%s\n", strcmp(site, "*") ? site : "every site",
			       until, *reason ? ": " : "", reason);
	}
	config_free(cfg);
	return rc == 0 ? 0 : 1;
}
