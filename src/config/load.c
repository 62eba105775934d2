/* SPDX-License-Identifier: MIT */
/* config.yml -> struct config. The YAML is loaded as a libyaml document and
 * walked key by key; every problem found is reported, not only the first. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/fsutil.h"
#include "util/log.h"
#include "config/internal.h"


double ping_settings_budget(const struct ping_settings *p)
{
	return (p->count - 1) * p->interval_s + p->timeout_s;
}

const char *vpn_client_implementation(enum vpn_client c)
{
	switch (c) {
	case VPN_WIREGUARD: return "wireguard-go";
	case VPN_IPSEC: return "charon kernel-libipsec";
	default: return vpn_client_name(c);
	}
}

double site_worst_case_s(const struct site *s)
{
	double t = 2 * ping_settings_budget(&s->ping) + 5;

	if (s->vpn.client != VPN_NONE)
		t += s->vpn.login_timeout_s + s->vpn.teardown_timeout_s;
	/* the first echo through a new tunnel, timed on its own, may go
	 * unanswered for a whole ping timeout */
	if (s->vpn.client != VPN_NONE && s->internal_ip)
		t += s->ping.timeout_s;
	return t;
}

const char *vpn_client_name(enum vpn_client c)
{
	switch (c) {
	case VPN_STARTCT: return "startct";
	case VPN_OPENCONNECT: return "openconnect";
	case VPN_OPENVPN: return "openvpn";
	case VPN_WIREGUARD: return "wireguard";
	case VPN_IPSEC: return "ipsec";
	case VPN_CUSTOM: return "custom";
	case VPN_NONE: break;
	}
	return "none";
}

const char *vpn_default_command(enum vpn_client c)
{
	switch (c) {
	case VPN_STARTCT: return "startct";
	case VPN_OPENCONNECT: return "openconnect";
	case VPN_OPENVPN: return "openvpn";
	case VPN_WIREGUARD: return "wireguard-go";
	case VPN_IPSEC: return "/usr/lib/ipsec/charon";
	case VPN_CUSTOM: case VPN_NONE: break;
	}
	return NULL;
}

const char *config_default_path(void)
{
	return access("./config.yml", F_OK) == 0 ? "./config.yml"
						 : "/etc/epmon/config.yml";
}

const struct site *config_find_site(const struct config *cfg, const char *name)
{
	for (size_t i = 0; cfg && i < cfg->nsites; i++)
		if (!strcmp(cfg->sites[i].name, name))
			return &cfg->sites[i];
	return NULL;
}

void config_free(struct config *cfg)
{
	if (!cfg)
		return;
	for (size_t i = 0; i < cfg->nsites; i++) {
		struct site *s = &cfg->sites[i];
		free(s->name);
		free(s->external_ip);
		free(s->internal_ip);
		cfg_vpn_free(&s->vpn);
	}
	free(cfg->sites);
	free(cfg->path);
	config_smtp_free(&cfg->logging);
	cfg_http_free(&cfg->http);
	cfg_alerting_free(&cfg->alerting);
	free(cfg->probe_name);
	free(cfg->results_dir);
	free(cfg->state_dir);
	free(cfg);
}

struct config *config_load_print(const char *path, int warnings)
{
	struct config_diag diag = { 0 };
	struct config *cfg = config_load(path, &diag);

	for (size_t i = 0; warnings && i < diag.nwarnings; i++)
		log_warn(NULL, "%s", diag.warnings[i]);
	for (size_t i = 0; i < diag.nerrors; i++)
		fprintf(stderr, "%s\n", diag.errors[i]);
	if (!cfg && diag.nerrors == 0)
		fprintf(stderr, "%s: cannot load config\n", path);
	config_diag_free(&diag);
	return cfg;
}

void config_diag_free(struct config_diag *diag)
{
	if (!diag)
		return;
	cfg_free_str_list(diag->errors, diag->nerrors);
	cfg_free_str_list(diag->warnings, diag->nwarnings);
	memset(diag, 0, sizeof(*diag));
}

void cfg_parse_ping(struct cfg_ctx *c, yaml_node_t *n, const char *where,
		    struct ping_settings *p)
{
	static const char *const known[] = { "count", "interval", "timeout", NULL };
	yaml_node_t *keys[3], *vals[3];
	char what[160];
	double v;

	if (cfg_map(c, n, where, known, keys, vals) < 0)
		return;
	if (vals[0]) {
		cfg_what(what, sizeof(what), "count", where);
		cfg_get_int(c, vals[0], what, 1, CFG_COUNT_MAX, &p->count);
	}
	if (vals[1]) {
		cfg_what(what, sizeof(what), "interval", where);
		if (cfg_get_num(c, vals[1], what, CFG_FROM(0.01, CFG_INTERVAL_MAX_S, "s"),
				&v) == 0)
			p->interval_s = v;
	}
	if (vals[2]) {
		cfg_what(what, sizeof(what), "timeout", where);
		if (cfg_get_num(c, vals[2], what, CFG_ABOVE(0, CFG_TIMEOUT_MAX_S, "s"),
				&v) == 0)
			p->timeout_s = v;
	}
}

static void parse_results(struct cfg_ctx *c, yaml_node_t *n, struct config *cfg)
{
	static const char *const known[] = { "directory", NULL };
	yaml_node_t *keys[1], *vals[1];

	if (cfg_map(c, n, "results", known, keys, vals) == 0 && vals[0])
		cfg_get_str(c, vals[0], "'directory' in results", &cfg->results_dir);
}

static void parse_root(struct cfg_ctx *c, yaml_node_t *root, struct config *cfg)
{
	static const char *const known[] = { "frequency", "logging", "results",
		"ping", "sites", "state_directory", "http", "concurrency", "isolation",
		"alerting", "probe_name", NULL };
	yaml_node_t *keys[11], *vals[11];

	if (cfg_map(c, root, "top level", known, keys, vals) < 0)
		return;
	if (!vals[0])
		cfg_error(c, root, "missing required key 'frequency' in top level "
			  "(seconds between cycle starts, e.g. frequency: 300)");
	else
		cfg_get_num(c, vals[0], "'frequency'", CFG_ABOVE(0, CFG_FREQUENCY_MAX_S, "s"),
			    &cfg->frequency_s);
	if (vals[1])
		cfg_parse_logging(c, vals[1], &cfg->logging);
	/* before the sites: they inherit its thresholds */
	if (vals[9])
		cfg_parse_alerting(c, vals[9], vals[1], cfg);
	if (vals[10])
		cfg_parse_probe_name(c, vals[10], cfg);
	if (vals[2])
		parse_results(c, vals[2], cfg);
	if (vals[3])
		cfg_parse_ping(c, vals[3], "ping", &cfg->ping);
	if (!vals[4])
		cfg_error(c, root, "missing required key 'sites' in top level "
			  "(the list of sites to monitor)");
	else
		cfg_parse_sites(c, vals[4], cfg);
	if (vals[5])
		cfg_get_str(c, vals[5], "'state_directory'", &cfg->state_dir);
	if (vals[6])
		cfg_parse_http(c, vals[6], &cfg->http);
	/* after the sites: windows name them */
	if (cfg_alerting_maintenance(c, vals[9]))
		cfg_parse_maintenance(c, cfg_alerting_maintenance(c, vals[9]), cfg);
	cfg_check_concurrency(c, vals[7], vals[8] ? cfg_parse_isolation(c, vals[8], cfg) : NULL,
			      cfg);
}

static struct config *config_new(struct cfg_ctx *c, const char *name)
{
	struct config *cfg = calloc(1, sizeof(*cfg));

	if (!cfg) {
		c->oom = 1;
		return NULL;
	}
	cfg->path = cfg_strdup(c, name);
	cfg_smtp_defaults(&cfg->logging);
	cfg->results_dir = cfg_strdup(c, EPMON_STATE_DIR);
	cfg->state_dir = cfg_strdup(c, EPMON_STATE_DIR);
	cfg->ping.count = 5;
	cfg->ping.interval_s = 0.2;
	cfg->ping.timeout_s = 2;
	cfg_isolation_defaults(cfg);
	cfg_alerting_defaults(&cfg->alerting);
	{
		char host[256] = "";
		/* a host name that is no label value leaves a neutral default */
		if (gethostname(host, sizeof(host) - 1) < 0 || !host[0] ||
		    strspn(host, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
			   "0123456789_.-") != strlen(host) || strlen(host) > 63)
			snprintf(host, sizeof(host), "epmon");
		cfg->probe_name = cfg_strdup(c, host);
	}
	return cfg;
}

/* Loads the one YAML document of `text` into *doc; reports syntax errors. */
static int load_document(struct cfg_ctx *c, const char *text, size_t len,
			 yaml_document_t *doc)
{
	yaml_parser_t parser;
	yaml_document_t extra;
	int ok;

	if (!yaml_parser_initialize(&parser)) {
		c->oom = 1;
		return -1;
	}
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
	ok = yaml_parser_load(&parser, doc);
	if (!ok) {
		if (parser.context)
			cfg_diag_add(c, 0, "%s:%zu:%zu: YAML syntax error: %s "
				     "(%s at line %zu); fix the YAML syntax", c->file,
				     parser.problem_mark.line + 1,
				     parser.problem_mark.column + 1,
				     parser.problem ? parser.problem : "unknown",
				     parser.context, parser.context_mark.line + 1);
		else
			cfg_diag_add(c, 0, "%s:%zu:%zu: YAML syntax error: %s; "
				     "fix the YAML syntax", c->file,
				     parser.problem_mark.line + 1,
				     parser.problem_mark.column + 1,
				     parser.problem ? parser.problem : "unknown");
	} else if (yaml_document_get_root_node(doc)) {
		/* A second document would be silently ignored: refuse it. */
		if (yaml_parser_load(&parser, &extra)) {
			yaml_node_t *r = yaml_document_get_root_node(&extra);
			if (r)
				cfg_diag_add(c, 0, "%s:%zu:%zu: a second YAML document "
					     "starts here; the config must be one "
					     "document (remove the '---')", c->file,
					     extra.start_mark.line + 1,
					     extra.start_mark.column + 1);
			yaml_document_delete(&extra);
		}
	}
	yaml_parser_delete(&parser);
	return ok ? 0 : -1;
}

struct config *config_parse(const char *name, const char *text, size_t len,
			    struct config_diag *diag)
{
	struct config_diag own = { 0 };
	struct cfg_ctx c = { .file = name, .diag = diag ? diag : &own };
	size_t errors_before = c.diag->nerrors;
	size_t warnings_before = c.diag->nwarnings;
	yaml_document_t doc;
	struct config *cfg = NULL;

	if (cfg_check_limits(&c, text, len) < 0 ||
	    load_document(&c, text, len, &doc) < 0)
		goto out;
	c.doc = &doc;
	cfg = config_new(&c, name);
	yaml_node_t *root = yaml_document_get_root_node(&doc);
	if (!root)
		cfg_diag_add(&c, 0, "%s:1:1: the config is empty; it needs at least "
			     "'frequency' and 'sites'", name);
	else if (cfg)
		parse_root(&c, root, cfg);
	yaml_document_delete(&doc);
out:
	if (c.oom)
		cfg_diag_add(&c, 0, "%s: out of memory while loading the config", name);
	free(c.by_name);
	cfg_regexes_free(&c);
	cfg_diag_finish(&c, errors_before, warnings_before);
	if (c.oom || c.errors_dropped || c.diag->nerrors > errors_before) {
		config_free(cfg);
		cfg = NULL;
	}
	config_diag_free(&own);
	return cfg;
}

/* Whole file in memory: configs are small, and libyaml wants a buffer.
 * Reading stops once more than CFG_FILE_MAX bytes are in (a device or a
 * FIFO may never end): config_parse refuses such a text. */
static char *read_file(FILE *f, size_t *len)
{
	size_t cap = 4096, n = 0, got;
	char *buf = malloc(cap);

	while (buf && n <= CFG_FILE_MAX &&
	       (got = fread(buf + n, 1, cap - n, f)) > 0) {
		n += got;
		if (n == cap) {
			char *bigger = realloc(buf, cap * 2);
			if (!bigger) {
				free(buf);
				return NULL;
			}
			buf = bigger;
			cap *= 2;
		}
	}
	if (buf && ferror(f)) {
		free(buf);
		return NULL;
	}
	*len = n;
	return buf;
}

struct config *config_load(const char *path, struct config_diag *diag)
{
	struct config_diag own = { 0 };
	struct cfg_ctx c = { .file = path, .diag = diag ? diag : &own };
	struct config *cfg = NULL;
	struct stat st;
	size_t len = 0;
	char *text;
	FILE *f = fopen(path, "r");

	if (!f) {
		cfg_diag_add(&c, 0, "%s: cannot open the config: %s", path,
			     strerror(errno));
		goto out;
	}
	if (fstat(fileno(f), &st) < 0)
		memset(&st, 0, sizeof(st));
	if (st.st_mode & 077)
		cfg_diag_add(&c, 1, "%s: config is readable by group/others; "
			     "chmod 600 it", path);
	/* a 50 MB file is refused before a byte of it is read */
	if (S_ISREG(st.st_mode) && st.st_size > CFG_FILE_MAX) {
		cfg_diag_add(&c, 0, "%s: the config is %lld bytes; the limit is %d "
			     "bytes (1 MiB)", path, (long long)st.st_size, CFG_FILE_MAX);
		fclose(f);
		goto out;
	}
	text = read_file(f, &len);
	if (!text)
		cfg_diag_add(&c, 0, "%s: cannot read the config: %s", path,
			     errno ? strerror(errno) : "out of memory");
	fclose(f);
	if (text)
		cfg = config_parse(path, text, len, c.diag);
	free(text);
out:
	config_diag_free(&own);
	return cfg;
}
