/* SPDX-License-Identifier: MIT */
/* Fuzzes the config loader: each input is a config.yml, loaded with
 * config_load from a memfd path (/proc/self/fd/N, no disk I/O) as
 * check-config and a SIGHUP reload do, then, when valid, each site's
 * client profile is built from it (argv, steps and patterns expanded) as a
 * site test would. The YAML is written by hand but the config is root's
 * and read on every reload: any crash, overflow or hang here stops the
 * daemon, and the limits (nesting, aliases, sizes, regexes) must hold
 * within 1 s per input. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config/config.h"
#include "util/log.h"
#include "vpn/profiles.h"

static int memfd = -1;
static char path[64];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	log_init(-1);
	memfd = memfd_create("config.yml", MFD_CLOEXEC);
	if (memfd < 0 || fchmod(memfd, 0600) < 0) {
		perror("memfd_create");
		exit(1);
	}
	snprintf(path, sizeof(path), "/proc/self/fd/%d", memfd);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config_diag diag = { 0 };
	struct config *cfg;

	if (ftruncate(memfd, 0) < 0 ||
	    (size && pwrite(memfd, data, size, 0) != (ssize_t)size)) {
		perror(path);
		abort();
	}
	cfg = config_load(path, &diag);
	if (cfg) {
		for (size_t i = 0; i < cfg->nsites; i++) {
			struct vpn_profile p;
			char err[512];

			(void)site_worst_case_s(&cfg->sites[i]);
			/* no password: nothing is written (openvpn's auth file) */
			if (cfg->sites[i].vpn.client != VPN_NONE &&
			    profile_build(&cfg->sites[i], NULL, NULL, &p, err, sizeof(err)) == 0)
				profile_free(&p);
		}
	}
	config_free(cfg);
	config_diag_free(&diag);
	return 0;
}
