/* SPDX-License-Identifier: MIT */
/* Site-test journals and the recovery after a crash (journal.h). A journal
 * is text: "pid N" and one "route HEX" per route (the route_entry bytes),
 * written whole (fsutil's atomic replace). */
#include "vpn/journal.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "util/fsutil.h"
#include "util/log.h"
#include "vpn/proc.h"

#define JOURNAL_PREFIX "journal-"
#define VPNC_RUN_DIR "/run/vpnc"

static void journal_path(const char *state_dir, const char *site, char *buf, size_t len)
{
	snprintf(buf, len, "%s/" JOURNAL_PREFIX "%s", state_dir, site);
}

/* A process's start time (/proc/PID/stat field 22), to know it again: 0
 * when gone. */
static unsigned long long start_time(pid_t pid)
{
	char path[64], stat[1024];
	unsigned long long t = 0;
	const char *p;
	FILE *f;
	size_t n;
	int field;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if (pid <= 0 || !(f = fopen(path, "re")))
		return 0;
	n = fread(stat, 1, sizeof(stat) - 1, f);
	fclose(f);
	stat[n] = '\0';
	if (!(p = strrchr(stat, ')')))
		return 0;
	/* after ") " comes field 3; the start time is field 22 */
	for (field = 2; *p && field < 22; p++)
		if (*p == ' ')
			field++;
	if (sscanf(p, "%llu", &t) != 1)
		return 0;
	return t;
}

static int journal_write(const char *path, const struct route_list *before, pid_t pid)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	int rc;

	if (!f)
		return -1;
	fprintf(f, "epmon %d\npid %d\nstart %llu\n", (int)getpid(), (int)pid, start_time(pid));
	for (size_t i = 0; before && i < before->n; i++) {
		const unsigned char *b = (const unsigned char *)&before->items[i];
		fputs("route ", f);
		for (size_t k = 0; k < sizeof(before->items[i]); k++)
			fprintf(f, "%02x", b[k]);
		fputc('\n', f);
	}
	rc = fclose(f) != 0 ? -1 : file_replace(path, text, len, 0600);
	free(text);
	return rc;
}

int journal_begin(const char *state_dir, const char *site, const struct route_list *before)
{
	char path[4096];

	journal_path(state_dir, site, path, sizeof(path));
	if (mkdir_p(state_dir, 0755) < 0 || journal_write(path, before, 0) < 0) {
		log_warn(site, "cannot write %s: %s (a crash during this test could not be "
			 "repaired at the next start)", path, strerror(errno));
		return -1;
	}
	return 0;
}

/* The journal read back: its routes, the client's pid and the pid of the
 * epmon that wrote it. -1 when unreadable. */
static int journal_read(const char *path, struct route_list *routes, pid_t *pid,
			pid_t *writer, unsigned long long *started)
{
	FILE *f = fopen(path, "re");
	char line[1024];

	memset(routes, 0, sizeof(*routes));
	*pid = *writer = 0;
	*started = 0;
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		struct route_entry r;
		unsigned char *b = (unsigned char *)&r;
		int n;

		if (sscanf(line, "pid %d", &n) == 1) {
			*pid = n;
			continue;
		}
		if (sscanf(line, "epmon %d", &n) == 1) {
			*writer = n;
			continue;
		}
		if (sscanf(line, "start %llu", started) == 1)
			continue;
		if (strncmp(line, "route ", 6) != 0 || strlen(line + 6) < 2 * sizeof(r))
			continue;
		for (size_t k = 0; k < sizeof(r); k++) {
			unsigned v;
			if (sscanf(line + 6 + 2 * k, "%2x", &v) != 1)
				break;
			b[k] = (unsigned char)v;
		}
		if (route_list_add(routes, &r) < 0)
			break;
	}
	fclose(f);
	return 0;
}

void journal_client(const char *state_dir, const char *site, pid_t pid)
{
	char path[4096];
	struct route_list before;
	pid_t old, writer;
	unsigned long long started;

	journal_path(state_dir, site, path, sizeof(path));
	if (journal_read(path, &before, &old, &writer, &started) == 0)
		journal_write(path, &before, pid);
	route_list_free(&before);
}

void journal_end(const char *state_dir, const char *site)
{
	char path[4096];

	journal_path(state_dir, site, path, sizeof(path));
	if (unlink(path) < 0 && errno != ENOENT)
		log_warn(site, "cannot remove %s: %s", path, strerror(errno));
}

static int host_route(const struct route_entry *r)
{
	return r->dst_len == (r->family == AF_INET ? 32 : 128);
}

/* No such process, or a zombie nobody has reaped yet (the parent of a
 * killed epmon's client is init, which may take its time). */
static int gone(pid_t pid)
{
	char path[64], stat[512];
	const char *paren;
	FILE *f;
	size_t n;

	if (pid <= 0)
		return 0;
	if (kill(pid, 0) < 0 && errno == ESRCH)
		return 1;
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if (!(f = fopen(path, "re")))
		return errno == ENOENT;
	n = fread(stat, 1, sizeof(stat) - 1, f);
	fclose(f);
	stat[n] = '\0';
	paren = strrchr(stat, ')');
	return paren && paren[1] == ' ' && paren[2] == 'Z';
}

/* vpnc-script's state of a client that is gone: its backup of resolv.conf
 * (epmon restores from its own good copy) and the default route it saved. */
static int remove_vpnc_files(const char *site, pid_t pid)
{
	static const char *const names[] = { "resolv.conf-backup", "defaultroute",
		"defaultroute_ipv6" };
	char path[256];
	int n = 0;

	if (!gone(pid))
		return 0;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(path, sizeof(path), VPNC_RUN_DIR "/%s.%d", names[i], (int)pid);
		if (unlink(path) == 0) {
			log_warn(site, "%s of a client of an earlier epmon (pid %d) removed",
				 path, (int)pid);
			n++;
		}
	}
	return n;
}

/* What one journal's client left: host routes that were not there (the
 * route to the gateway), default routes that were and are gone. */
static int repair_routes(const char *site, const struct route_list *before)
{
	struct route_list now;
	char text[160];
	int n = 0;

	if (nl_route_dump(&now) < 0)
		return 0;
	for (size_t i = 0; i < now.n; i++) {
		if (!host_route(&now.items[i]) || route_list_has(before, &now.items[i]))
			continue;
		route_format(&now.items[i], text, sizeof(text));
		if (nl_route_delete(&now.items[i]) == 0) {
			log_warn(site, "route %s left by a client of an earlier epmon; deleted", text);
			n++;
		} else {
			log_error(site, "cannot delete route %s left by a client of an earlier "
				  "epmon: %s", text, strerror(errno));
		}
	}
	for (size_t i = 0; i < before->n; i++) {
		if (before->items[i].dst_len != 0 || route_list_has(&now, &before->items[i]))
			continue;
		route_format(&before->items[i], text, sizeof(text));
		if (nl_route_restore(&before->items[i]) == 0) {
			log_warn(site, "default route %s, gone since a client of an earlier epmon "
				 "ran, put back", text);
			n++;
		} else {
			log_error(site, "cannot put back default route %s: %s", text, strerror(errno));
		}
	}
	route_list_free(&now);
	return n;
}

int journal_recover(const char *state_dir)
{
	DIR *d = opendir(state_dir);
	struct dirent *e;
	int repairs = 0;

	if (!d)
		return 0;
	while ((e = readdir(d))) {
		char path[4096];
		const char *site = e->d_name + strlen(JOURNAL_PREFIX);
		struct route_list before;
		pid_t pid, writer;
		unsigned long long started;

		if (strncmp(e->d_name, JOURNAL_PREFIX, strlen(JOURNAL_PREFIX)) != 0 ||
		    strstr(e->d_name, ".epmon-"))
			continue;   /* not a journal (or file_replace's temporary) */
		snprintf(path, sizeof(path), "%s/%s", state_dir, e->d_name);
		if (journal_read(path, &before, &pid, &writer, &started) < 0)
			continue;
		if (writer == getpid() || !gone(writer)) {
			route_list_free(&before);
			continue;   /* its epmon still runs (epmon once beside epmon run) */
		}
		log_warn(site, "the last test of this site did not end (epmon stopped during "
			 "it): checking what its client (pid %d) left", (int)pid);
		/* the client outlived its epmon: stopped as a teardown would
		 * (SIGINT: vpnc-script puts back what it changed), known by pid and
		 * start time, never by name */
		if (started && !gone(pid) && start_time(pid) == started) {
			log_warn(site, "its client %d still runs: stopping it", (int)pid);
			if (proc_stop_pid(pid, SIGINT, 5.0) == 0)
				repairs++;
		}
		if (before.n)
			repairs += repair_routes(site, &before);
		repairs += remove_vpnc_files(site, pid);
		route_list_free(&before);
		unlink(path);
	}
	closedir(d);
	return repairs;
}
