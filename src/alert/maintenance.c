/* SPDX-License-Identifier: MIT */
/* Maintenance windows and mutes (see maintenance.h). */
#include "alert/maintenance.h"

#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util/fsutil.h"
#include "util/log.h"

#define WEEK_S (7 * 86400L)
#define ZONE_CACHE 16
#define ZONE_TTL_S 60

extern char **environ;

struct zone_offset {
	char zone[64];
	time_t at;              /* when asked; 0: empty slot */
	long offset;
};

struct maint_clock {
	struct zone_offset zones[ZONE_CACHE];
	char exe[256];          /* the epmon that answers tz-offset */
};

struct maint_clock *maint_clock_new(void)
{
	struct maint_clock *mc = calloc(1, sizeof(struct maint_clock));

	if (mc)
		maint_clock_set_exe(mc, "/proc/self/exe");
	return mc;
}

void maint_clock_set_exe(struct maint_clock *mc, const char *exe)
{
	snprintf(mc->exe, sizeof(mc->exe), "%s", exe);
}

void maint_clock_free(struct maint_clock *mc)
{
	free(mc);
}

int maintenance_tz_offset_main(int argc, char **argv)
{
	struct tm tm;
	time_t t;
	char *end;

	if (argc != 4)
		return 2;
	t = (time_t)strtoll(argv[3], &end, 10);
	if (*end || setenv("TZ", argv[2], 1) < 0)
		return 2;
	tzset();
	if (!localtime_r(&t, &tm))
		return 2;
	printf("%ld\n", (long)tm.tm_gmtoff);
	return 0;
}

/* The offset of zone at t, from a child `epmon tz-offset` (see above). */
static int ask_offset(const char *exe, const char *zone, time_t t, long *offset)
{
	char epoch[32], buf[64];
	char *argv[] = { "epmon", "tz-offset", (char *)zone, epoch, NULL };
	posix_spawn_file_actions_t fa;
	int fds[2], status, rc;
	ssize_t n = 0, got;
	pid_t pid;

	snprintf(epoch, sizeof(epoch), "%lld", (long long)t);
	if (pipe2(fds, O_CLOEXEC) < 0)
		return -1;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
	rc = posix_spawn(&pid, exe, &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(fds[1]);
	if (rc != 0) {
		close(fds[0]);
		return -1;
	}
	while (n < (ssize_t)sizeof(buf) - 1 &&
	       ((got = read(fds[0], buf + n, sizeof(buf) - 1 - (size_t)n)) > 0 ||
		(got < 0 && errno == EINTR)))
		n += got > 0 ? got : 0;
	close(fds[0]);
	buf[n] = '\0';
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || n == 0)
		return -1;
	*offset = strtol(buf, NULL, 10);
	return 0;
}

/* UTC offset of zone (NULL: epmon's own) at t; cached ZONE_TTL_S. */
static long zone_offset(struct maint_clock *mc, const char *zone, time_t t)
{
	struct zone_offset *slot = &mc->zones[0];
	struct tm tm;
	long off;

	if (!zone) {
		localtime_r(&t, &tm);
		return (long)tm.tm_gmtoff;
	}
	if (!strcmp(zone, "UTC") || !strcmp(zone, "Etc/UTC"))
		return 0;
	for (size_t i = 0; i < ZONE_CACHE; i++) {
		struct zone_offset *z = &mc->zones[i];
		if (z->at && !strcmp(z->zone, zone)) {
			if (llabs((long long)(t - z->at)) < ZONE_TTL_S)
				return z->offset;
			slot = z;
			break;
		}
		if (z->at < slot->at)
			slot = z;
	}
	if (ask_offset(mc->exe, zone, t, &off) < 0) {
		log_warn(NULL, "cannot get the UTC offset of time zone %s; using UTC "
			 "for its maintenance windows", zone);
		off = 0;
	}
	snprintf(slot->zone, sizeof(slot->zone), "%s", zone);
	slot->at = t;
	slot->offset = off;
	return off;
}

static int covers(const struct maintenance_window *w, const char *site)
{
	if (!w->nsites)
		return 1;
	for (size_t i = 0; i < w->nsites; i++)
		if (!strcmp(w->sites[i], site))
			return 1;
	return 0;
}

static int inside(struct maint_clock *mc, const struct maintenance_window *w, time_t now)
{
	long off = zone_offset(mc, w->timezone, now);
	long long local = (long long)now + off;

	if (w->weekdays) {
		/* seconds into the local week, Sunday 00:00 = 0 (1970-01-01 was a Thursday) */
		long long in_week = ((local % WEEK_S) + WEEK_S + 4 * 86400L) % WEEK_S;
		for (int d = 0; d < 7; d++) {
			long long open = d * 86400LL + w->minute * 60LL;
			if ((w->weekdays & (1 << d)) &&
			    (in_week - open + WEEK_S) % WEEK_S < (long long)w->duration_s)
				return 1;
		}
		return 0;
	}
	{
		struct tm tm = { .tm_year = w->start.year - 1900, .tm_mon = w->start.mon - 1,
			.tm_mday = w->start.mday, .tm_hour = w->start.hour,
			.tm_min = w->start.min };
		time_t wall = timegm(&tm), open = wall - zone_offset(mc, w->timezone, wall);
		/* the offset at the opening itself (across a DST change) */
		open = wall - zone_offset(mc, w->timezone, open);
		return now >= open && difftime(now, open) < w->duration_s;
	}
}

int maintenance_window_at(struct maint_clock *mc, const struct config *cfg,
			  const char *site, time_t now)
{
	for (size_t i = 0; i < cfg->alerting.nmaintenance; i++) {
		const struct maintenance_window *w = &cfg->alerting.maintenance[i];
		if (covers(w, site) && inside(mc, w, now))
			return (int)i + 1;
	}
	return 0;
}

/* ---- mutes: STATE_DIR/mutes, "SITE UNTIL REASON" a line, reason %-escaped ---- */

static void escape(const char *s, char *out, size_t len)
{
	size_t n = 0;

	for (; *s && n + 4 < len; s++) {
		unsigned char ch = (unsigned char)*s;
		if (ch <= ' ' || ch == '%' || ch == 0x7f)
			n += (size_t)snprintf(out + n, len - n, "%%%02X", ch);
		else
			out[n++] = (char)ch;
	}
	out[n] = '\0';
}

static void unescape(char *s)
{
	char *o = s;

	for (char *p = s; *p; p++) {
		unsigned hex;
		if (*p == '%' && p[1] && p[2] && sscanf(p + 1, "%2x", &hex) == 1) {
			*o++ = (char)hex;
			p += 2;
		} else {
			*o++ = *p;
		}
	}
	*o = '\0';
}

size_t mutes_load(const char *state_dir, time_t now, struct mute **out)
{
	char path[4096], line[512];
	struct mute *list = NULL;
	size_t n = 0;
	FILE *f;

	*out = NULL;
	snprintf(path, sizeof(path), "%s/%s", state_dir, MUTES_FILE);
	if (!(f = fopen(path, "re")))
		return 0;
	while (fgets(line, sizeof(line), f)) {
		struct mute m = { 0 };
		long long until;
		char reason[400] = "";
		struct mute *grown;

		if (sscanf(line, "%63s %lld %399s", m.site, &until, reason) < 2)
			continue;
		m.until = (time_t)until;
		if (m.until <= now)
			continue;
		if (!strcmp(reason, "-"))
			reason[0] = '\0';
		unescape(reason);
		snprintf(m.reason, sizeof(m.reason), "%.199s", reason);
		if (!(grown = realloc(list, (n + 1) * sizeof(*list))))
			break;
		list = grown;
		list[n++] = m;
	}
	fclose(f);
	*out = list;
	return n;
}

const struct mute *mute_find(const struct mute *list, size_t n, const char *site)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(list[i].site, site) || !strcmp(list[i].site, "*"))
			return &list[i];
	return NULL;
}

/* Writes list (skipping the entries of site `drop`, every one when all)
 * plus `add`. */
static int save(const char *state_dir, const struct mute *list, size_t n,
		const char *drop, int all, const struct mute *add)
{
	char path[4096], reason[600];
	char *text = NULL;
	size_t len = 0;
	FILE *f;
	int rc;

	snprintf(path, sizeof(path), "%s/%s", state_dir, MUTES_FILE);
	if (mkdir_p(state_dir, 0755) < 0 || !(f = open_memstream(&text, &len))) {
		log_error(NULL, "cannot write %s: %s", path, strerror(errno));
		return -1;
	}
	for (size_t i = 0; i <= n; i++) {
		const struct mute *m = i < n ? &list[i] : add;
		if (!m || (i < n && (all || !strcmp(m->site, drop))))
			continue;
		escape(m->reason, reason, sizeof(reason));
		fprintf(f, "%s %lld %s\n", m->site, (long long)m->until,
			reason[0] ? reason : "-");
	}
	rc = fclose(f) != 0 ? -1 : file_replace(path, text, len, 0600);
	if (rc < 0)
		log_error(NULL, "cannot write %s: %s", path, strerror(errno));
	free(text);
	return rc;
}

int mutes_set(const char *state_dir, const char *site, time_t until,
	      const char *reason, time_t now)
{
	struct mute *list, add = { .until = until };
	size_t n = mutes_load(state_dir, now, &list);
	int rc;

	snprintf(add.site, sizeof(add.site), "%s", site);
	snprintf(add.reason, sizeof(add.reason), "%s", reason ? reason : "");
	rc = save(state_dir, list, n, site, 0, &add);
	free(list);
	return rc;
}

int mutes_clear(const char *state_dir, const char *site, time_t now)
{
	struct mute *list;
	size_t n = mutes_load(state_dir, now, &list);
	int rc = save(state_dir, list, n, site, !strcmp(site, "*"), NULL);

	free(list);
	return rc;
}
