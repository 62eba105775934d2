/* SPDX-License-Identifier: MIT */
/* Fuzzes the alert-state reader: each input is a STATE_DIR/alert-state
 * file, read by alert_state_load as `epmon run` does at every start, then
 * written back by alert_state_save and read again (what the writer makes of
 * any loaded state must load), turned into the Alertmanager document and
 * synced with a config, as the notifier does next. The file outlives
 * crashes and is easy to edit by hand; a bad one must cost a warning, not
 * the daemon. Asserts that every site loaded survives the save and reload. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "scratch.h"
#include "alert/alert.h"
#include "alert/alertmanager.h"
#include "config/config.h"
#include "util/log.h"

static char in_dir[600], out_dir[600], in_file[700];
static struct config *cfg;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static const char text[] =
		"frequency: 300\nprobe_name: fuzz-probe\n"
		"alerting:\n  alertmanager: {url: http://127.0.0.1:9, labels: {team: noc}}\n"
		"sites:\n  - {name: paris, external_ip: 192.0.2.1}\n"
		"  - {name: lyon-2, external_ip: 192.0.2.2}\n";
	struct config_diag diag = { 0 };
	const char *dir;

	(void)argc;
	(void)argv;
	log_init(-1);
	dir = scratch_dir("alert");
	snprintf(in_dir, sizeof(in_dir), "%s/in", dir);
	snprintf(out_dir, sizeof(out_dir), "%s/out", dir);
	snprintf(in_file, sizeof(in_file), "%s/" ALERT_STATE_FILE, in_dir);
	cfg = config_parse("fuzz.yml", text, sizeof(text) - 1, &diag);
	if (!cfg || mkdir(in_dir, 0700) < 0) {
		for (size_t i = 0; i < diag.nerrors; i++)
			fprintf(stderr, "%s\n", diag.errors[i]);
		exit(1);
	}
	config_diag_free(&diag);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct alert_state *st, *again;
	size_t len;
	char *doc;

	if (scratch_write(in_file, data, size, 0600) < 0) {
		perror(in_file);
		abort();
	}
	st = alert_state_load(in_dir);
	if (!st || alert_state_save(st, out_dir) < 0 || !(again = alert_state_load(out_dir)))
		abort();
	for (size_t i = 0; i < alert_count(st); i++)
		if (!alert_find(again, alert_at(st, i)->name)) {
			fprintf(stderr, "fuzz_alert: site '%s' lost by alert_state_save + load\n",
				alert_at(st, i)->name);
			abort();
		}
	doc = alertmanager_compose(again, cfg, 1717228800, &len);
	free(doc);
	if (alert_state_sync(st, cfg) < 0)
		abort();
	alert_state_free(again);
	alert_state_free(st);
	return 0;
}
