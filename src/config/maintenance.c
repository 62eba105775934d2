/* SPDX-License-Identifier: MIT */
/* alerting.maintenance: planned windows in which sites raise no alert. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "config/internal.h"

#define ZONEINFO "/usr/share/zoneinfo"
#define WEEK_S (7 * 86400.0)

void cfg_maintenance_free(struct alerting_settings *a)
{
	for (size_t i = 0; i < a->nmaintenance; i++) {
		cfg_free_str_list(a->maintenance[i].sites, a->maintenance[i].nsites);
		free(a->maintenance[i].timezone);
	}
	free(a->maintenance);
	a->maintenance = NULL;
	a->nmaintenance = 0;
}

static const char *const day_names[] = { "sun", "mon", "tue", "wed", "thu",
	"fri", "sat" };

static int day_index(const char *s, size_t len)
{
	for (int d = 0; d < 7; d++)
		if (len == 3 && !strncasecmp(s, day_names[d], 3))
			return d;
	return -1;
}

/* "sun 02:00", "mon,wed 22:30", "mon-fri 01:00", "daily 03:00", "03:00".
 * 0, or -1 when it does not parse. */
static int parse_every(const char *s, int *weekdays, int *minute)
{
	const char *time = strrchr(s, ' ');
	const char *days_end = time ? time : s;
	int h, m, n = 0;

	time = time ? time + 1 : s;
	if (sscanf(time, "%2d:%2d%n", &h, &m, &n) != 2 || time[n] || h > 23 || m > 59 ||
	    h < 0 || m < 0 || strlen(time) != 5)
		return -1;
	*minute = h * 60 + m;
	*weekdays = 0;
	if (days_end == s || (days_end - s == 5 && !strncasecmp(s, "daily", 5))) {
		*weekdays = 0x7f;
		return 0;
	}
	for (const char *p = s; p < days_end;) {
		size_t len = strcspn(p, ",");
		const char *dash;
		int a, b;

		if (p + len > days_end)
			len = (size_t)(days_end - p);
		dash = memchr(p, '-', len);
		a = day_index(p, dash ? (size_t)(dash - p) : len);
		b = dash ? day_index(dash + 1, len - (size_t)(dash - p) - 1) : a;
		if (a < 0 || b < 0)
			return -1;
		for (int d = a;; d = (d + 1) % 7) {
			*weekdays |= 1 << d;
			if (d == b)
				break;
		}
		p += len;
		if (p < days_end && *p == ',')
			p++;
	}
	return *weekdays ? 0 : -1;
}

/* "2026-12-24T22:00" (a space for the T is fine too). */
static int parse_start(const char *s, struct maintenance_window *w)
{
	int n = 0;

	if (sscanf(s, "%4d-%2d-%2d%*[T ]%2d:%2d%n", &w->start.year, &w->start.mon,
		   &w->start.mday, &w->start.hour, &w->start.min, &n) != 5 || s[n])
		return -1;
	if (w->start.year < 1970 || w->start.mon < 1 || w->start.mon > 12 ||
	    w->start.mday < 1 || w->start.mday > 31 || w->start.hour > 23 ||
	    w->start.min > 59 || w->start.hour < 0 || w->start.min < 0)
		return -1;
	return 0;
}

/* An IANA name present in the zoneinfo database. */
static int zone_exists(const char *z)
{
	char path[512];
	struct stat st;

	if (!*z || z[0] == '/' || strstr(z, "..") ||
	    strspn(z, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/_+-")
	    != strlen(z))
		return 0;
	snprintf(path, sizeof(path), "%s/%s", ZONEINFO, z);
	return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

static void parse_sites(struct cfg_ctx *c, yaml_node_t *n, const char *where,
			struct maintenance_window *w)
{
	const char *one = cfg_scalar(n);
	char what[96];

	if (one && !strcmp(one, "*"))
		return;     /* every site */
	cfg_what(what, sizeof(what), "sites", where);
	if (cfg_get_str_list(c, n, what, &w->sites, &w->nsites) < 0)
		return;
	if (!w->nsites)
		cfg_error(c, n, "%s is empty; list site names, or \"*\" for every site", what);
	for (size_t i = 0; i < w->nsites; i++)
		if (!cfg_find_site(c, w->sites[i]))
			cfg_error(c, n, "%s: no site is named '%s'", what, w->sites[i]);
}

static void parse_window(struct cfg_ctx *c, yaml_node_t *n, const char *where,
			 struct maintenance_window *w)
{
	static const char *const known[] = { "sites", "every", "start", "duration",
		"timezone", NULL };
	enum { SITES, EVERY, START, DURATION, ZONE };
	yaml_node_t *keys[5], *vals[5];
	char what[96];
	const char *s;

	w->line = (int)n->start_mark.line + 1;
	if (cfg_map(c, n, where, known, keys, vals) < 0)
		return;
	if (!vals[SITES])
		cfg_error(c, n, "missing required key 'sites' in %s (a list of site "
			  "names, or \"*\")", where);
	else
		parse_sites(c, vals[SITES], where, w);
	if (!vals[EVERY] == !vals[START])
		cfg_error(c, n, "%s needs exactly one of 'every' (weekly, e.g. \"sun 02:00\") "
			  "and 'start' (once, e.g. 2026-12-24T22:00)", where);
	if (vals[EVERY] && (!(s = cfg_scalar(vals[EVERY])) ||
			    parse_every(s, &w->weekdays, &w->minute) < 0))
		cfg_error(c, vals[EVERY], "'every' in %s must be [DAYS ]HH:MM, DAYS "
			  "being daily, a day (sun..sat), a list (mon,wed) or a range "
			  "(mon-fri); got '%s'", where, s ? s : "a non-scalar");
	if (vals[START] && (!(s = cfg_scalar(vals[START])) || parse_start(s, w) < 0))
		cfg_error(c, vals[START], "'start' in %s must be YYYY-MM-DDTHH:MM "
			  "(wall-clock time in the window's timezone); got '%s'", where,
			  s ? s : "a non-scalar");
	cfg_what(what, sizeof(what), "duration", where);
	if (!vals[DURATION])
		cfg_error(c, n, "missing required key 'duration' in %s (e.g. 2h)", where);
	else if (cfg_get_duration(c, vals[DURATION], what, 0,
				  CFG_ABOVE(0, CFG_PERIOD_MAX_S, "s"), &w->duration_s) == 0 &&
		 vals[EVERY] && w->duration_s > WEEK_S)
		cfg_error(c, vals[DURATION], "%s must be at most 7d for a weekly "
			  "window, got %s", what, cfg_scalar(vals[DURATION]));
	cfg_what(what, sizeof(what), "timezone", where);
	if (vals[ZONE] && cfg_get_str(c, vals[ZONE], what, &w->timezone) == 0 &&
	    !zone_exists(w->timezone))
		cfg_error(c, vals[ZONE], "%s: no time zone '%s' in %s (use a name like "
			  "Europe/Paris or UTC)", what, w->timezone, ZONEINFO);
}

void cfg_parse_maintenance(struct cfg_ctx *c, yaml_node_t *n, struct config *cfg)
{
	struct alerting_settings *a = &cfg->alerting;
	size_t count;

	if (n->type != YAML_SEQUENCE_NODE) {
		cfg_error(c, n, "'maintenance' in alerting must be a list of windows "
			  "(- {sites: [...], every: \"sun 02:00\", duration: 2h})");
		return;
	}
	count = (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
	a->maintenance = calloc(count + 1, sizeof(*a->maintenance));
	if (!a->maintenance) {
		c->oom = 1;
		return;
	}
	for (size_t i = 0; i < count; i++) {
		char where[64];
		snprintf(where, sizeof(where), "alerting.maintenance[%zu]", i + 1);
		parse_window(c, cfg_node(c, n->data.sequence.items.start[i]), where,
			     &a->maintenance[i]);
		a->nmaintenance++;
	}
}
