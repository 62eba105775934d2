/* SPDX-License-Identifier: MIT */
/* Private to the config module (config*.c): the walk over the YAML tree. */
#ifndef EPMON_CONFIG_INTERNAL_H
#define EPMON_CONFIG_INTERNAL_H

#include <yaml.h>
#include "config/config.h"

/* Limits of a config file (doc/config.md, "Limits"): within them, any file
 * loads in under a second and a bounded amount of memory. */
#define CFG_FILE_MAX        (1024 * 1024)   /* bytes, checked before parsing */
#define CFG_DEPTH_MAX       64              /* nested maps and lists */
#define CFG_SCALAR_MAX      (64 * 1024)     /* bytes of one value */
#define CFG_ANCHORS_MAX     100             /* &anchors in the document */
#define CFG_NODES_MAX       500000          /* values, aliases expanded */
#define CFG_TEXT_MAX        (4 * 1024 * 1024) /* bytes of values, aliases expanded */
#define CFG_SITES_MAX       10000
#define CFG_MESSAGES_MAX    1000            /* errors (and warnings) kept */
#define CFG_MESSAGE_LEN_MAX 2048            /* bytes of one message */
#define CFG_REGEX_LEN_MAX   1024            /* bytes of one regular expression */
#define CFG_REGEX_DUP_MAX   255             /* m and n of {m,n} */
#define CFG_REGEX_SIZE_MAX  4096            /* atoms of one, repetitions expanded */
#define CFG_REGEX_TOTAL_MAX 250000          /* atoms of all of a config's
						 * different ones */

/* Ranges of values (doc/config.md gives each beside its key). */
#define CFG_DAY_S           86400.0
#define CFG_FREQUENCY_MAX_S CFG_DAY_S       /* frequency */
#define CFG_TIMEOUT_MAX_S   3600.0          /* every timeout */
#define CFG_RETRY_MAX_S     CFG_DAY_S       /* retry_min, retry_max */
#define CFG_PERIOD_MAX_S    (366 * CFG_DAY_S) /* spool ages, reminders, windows */
#define CFG_INTERVAL_MAX_S  60.0            /* ping interval */
#define CFG_COUNT_MAX       1000            /* ping count, thresholds, min_samples */
#define CFG_FACTOR_MAX      1000.0          /* degraded factors */
#define CFG_FLOOR_MAX_MS    3600000.0       /* degraded floors: 1 h */

/* State of one parse: where messages go and which document is walked. */
struct cfg_ctx {
	const char *file;       /* FILE in "FILE:LINE:COL: message" */
	yaml_document_t *doc;
	struct config_diag *diag;
	int oom;                /* an allocation failed: the result is unusable */
	size_t errors_dropped;  /* beyond CFG_MESSAGES_MAX: counted, not kept */
	size_t warnings_dropped;
	double regex_total;     /* atoms of the regexes checked so far */
	char **regexes;         /* those regexes: a hash set (check.c) */
	size_t nregexes, regexes_cap;
	const struct site **by_name; /* the named sites, sorted by name (site.c) */
	size_t nby_name;
};

/* What a number or duration must be: finite, min < v (min_open) or
 * min <= v, and v <= max. unit: "s", "ms" or "" (in messages). */
struct cfg_range {
	double min, max;
	int min_open;
	const char *unit;
};
#define CFG_ABOVE(lo, hi, unit) (&(const struct cfg_range){ (lo), (hi), 1, (unit) })
#define CFG_FROM(lo, hi, unit) (&(const struct cfg_range){ (lo), (hi), 0, (unit) })

void cfg_diag_add(struct cfg_ctx *c, int warning, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* After a parse: the messages added since errors_before/warnings_before
 * sorted by position (stable, O(n log n)), then a line for those dropped. */
void cfg_diag_finish(struct cfg_ctx *c, size_t errors_before, size_t warnings_before);
/* Error / warning at the position of node `at`. */
void cfg_error(struct cfg_ctx *c, const yaml_node_t *at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void cfg_warn(struct cfg_ctx *c, const yaml_node_t *at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

char *cfg_strdup(struct cfg_ctx *c, const char *s);
yaml_node_t *cfg_node(struct cfg_ctx *c, int index);
const char *cfg_scalar(const yaml_node_t *n); /* NULL unless a scalar */

/* Checks the keys of mapping `map` (described as `where` in messages): each
 * a scalar, known (in the NULL-terminated `known`), given once. keys[i] and
 * vals[i] get the nodes of known[i], NULL when absent. Returns -1 when `map`
 * is not a mapping (reported), else 0, even if some keys were rejected. */
int cfg_map(struct cfg_ctx *c, yaml_node_t *map, const char *where,
	    const char *const *known, yaml_node_t **keys, yaml_node_t **vals);

/* "'key' in where", or "'key'" at the top level, for messages. */
void cfg_what(char *buf, size_t size, const char *key, const char *where);

/* Typed values. Each returns 0, or -1 after reporting why at node n (*out
 * is then left alone). A value outside range r is reported as
 * "KEY in WHERE: VALUE is out of range (MIN < KEY <= MAX UNIT)"; r NULL:
 * no range (cfg_get_int checks its own). */
int cfg_get_str(struct cfg_ctx *c, yaml_node_t *n, const char *what, char **out);
int cfg_get_num(struct cfg_ctx *c, yaml_node_t *n, const char *what,
		const struct cfg_range *r, double *out);
int cfg_get_int(struct cfg_ctx *c, yaml_node_t *n, const char *what,
		long min, long max, int *out);
/* 1/0 from true/false, yes/no, on/off (unquoted). */
int cfg_get_bool(struct cfg_ctx *c, yaml_node_t *n, const char *what, int *out);
/* Seconds: a plain number, or a string of number+unit parts with units s,
 * m, h, d ("90s", "30m", "4h", "1h30m", "7d"), within r. With off_ok, the
 * words off/false/no mean 0 (whatever r says). */
int cfg_get_duration(struct cfg_ctx *c, yaml_node_t *n, const char *what,
		     int off_ok, const struct cfg_range *r, double *out);
/* A list of strings; a single string counts as a list of one. */
int cfg_get_str_list(struct cfg_ctx *c, yaml_node_t *n, const char *what,
		     char ***out, size_t *count);

void cfg_free_str_list(char **list, size_t count);

/* ping: map merged key by key over *p (which holds the defaults). */
void cfg_parse_ping(struct cfg_ctx *c, yaml_node_t *n, const char *where,
		    struct ping_settings *p);

/* config_alerting.c: the alerting: map (thresholds into cfg->logging.alert,
 * whose map `logging` may have set some of them too: an error). */
void cfg_alerting_defaults(struct alerting_settings *a);
void cfg_parse_alerting(struct cfg_ctx *c, yaml_node_t *n, yaml_node_t *logging,
			struct config *cfg);
void cfg_alerting_free(struct alerting_settings *a);
/* config_maintenance.c: alerting.maintenance (after the sites: it names them). */
void cfg_parse_maintenance(struct cfg_ctx *c, yaml_node_t *n, struct config *cfg);
/* The maintenance node of an alerting map, or NULL. */
yaml_node_t *cfg_alerting_maintenance(struct cfg_ctx *c, yaml_node_t *alerting);
void cfg_maintenance_free(struct alerting_settings *a);
/* probe_name: a label value, [A-Za-z0-9_.-], 1..63 characters. */
void cfg_parse_probe_name(struct cfg_ctx *c, yaml_node_t *n, struct config *cfg);

/* config_alert.c: the logging: map, and a site's alert: map merged over *a. */
void cfg_parse_logging(struct cfg_ctx *c, yaml_node_t *n, struct smtp_settings *l);
void cfg_parse_alert(struct cfg_ctx *c, yaml_node_t *n, const char *where,
		     struct alert_settings *a);
void cfg_smtp_defaults(struct smtp_settings *l);

/* config_http.c: the http: map. */
void cfg_parse_http(struct cfg_ctx *c, yaml_node_t *n, struct http_settings *h);
void cfg_http_free(struct http_settings *h);

/* config_isolation.c: concurrency and the isolation: map. */
void cfg_isolation_defaults(struct config *cfg);
/* Returns the node a subnet-size error points at (subnet value or map). */
yaml_node_t *cfg_parse_isolation(struct cfg_ctx *c, yaml_node_t *n, struct config *cfg);
/* `at`: the concurrency value node, NULL when absent (the default follows
 * the mode); subnet_at: see cfg_parse_isolation, NULL when absent. */
void cfg_check_concurrency(struct cfg_ctx *c, yaml_node_t *at, yaml_node_t *subnet_at,
			   struct config *cfg);

/* config_site.c */
void cfg_parse_sites(struct cfg_ctx *c, yaml_node_t *n, struct config *cfg);
/* The first site named `name` (by c->by_name, O(log n)), or NULL. */
const struct site *cfg_find_site(struct cfg_ctx *c, const char *name);

/* limits.c: the limits above that hold for the text itself (size, NUL
 * bytes, nesting, scalar size, anchors, aliases expanded), checked on
 * libyaml's events before the document is loaded. 0, or -1 after
 * reporting the first limit crossed. */
int cfg_check_limits(struct cfg_ctx *c, const char *text, size_t len);
/* The atoms of POSIX ERE `re` once its repetitions are expanded (what
 * regcomp builds); -1 when a {m,n} count is over CFG_REGEX_DUP_MAX (*dup
 * gets it). */
double cfg_regex_size(const char *re, long *dup);

/* config_vpn.c: the vpn: map of site `label` ("site 'paris'"). */
void cfg_parse_vpn(struct cfg_ctx *c, yaml_node_t *n, const char *label,
		   struct vpn_settings *v);
void cfg_vpn_free(struct vpn_settings *v);
/* config_wireguard.c: the keys of client wireguard, vals[] in the order
 * endpoint, private_key_file, peer_public_key, preshared_key_file, address,
 * allowed_ips, mtu (NULL when absent); warnings for them on other clients. */
/* config_ipsec.c: the keys of client ipsec, vals[] in the order swanctl_file,
 * connection, child, remote_id; gateway, username, ca_file and the password
 * sources (vals of those, NULL when absent) for the inline form. */
void cfg_check_ipsec(struct cfg_ctx *c, yaml_node_t *map, yaml_node_t **vals,
		     yaml_node_t *const *shared, const char *where, const char *label,
		     struct vpn_settings *v);
void cfg_check_wireguard(struct cfg_ctx *c, yaml_node_t *map, yaml_node_t **vals,
			 const char *where, const char *label, struct vpn_settings *v);

/* config_check.c: checks of values, reported at node `at`. */
int cfg_check_ip(struct cfg_ctx *c, yaml_node_t *at, const char *label,
		 const char *key, const char *ip);
/* Within the regex limits above and accepted by regcomp; a regex seen
 * before (an alias, a copy) is not checked nor counted again. */
int cfg_check_regex(struct cfg_ctx *c, yaml_node_t *at, const char *label,
		    const char *key, const char *re);
void cfg_regexes_free(struct cfg_ctx *c);
void cfg_check_client_binary(struct cfg_ctx *c, yaml_node_t *at,
			     const char *label, const struct vpn_settings *v);
void cfg_check_password_file(struct cfg_ctx *c, yaml_node_t *at,
			     const char *label, const char *path);

#endif
