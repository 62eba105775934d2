/* SPDX-License-Identifier: MIT */
/* The parsed configuration: a plain struct the rest of epmon reads. */
#ifndef EPMON_CONFIG_CONFIG_H
#define EPMON_CONFIG_CONFIG_H

/* exit status of a command given a bad config or bad arguments */
#define EXIT_USAGE 2

#include <stddef.h>

struct ping_settings {
	int count;          /* echo requests per target, >= 1 */
	double interval_s;  /* between requests, >= 0.01 (>= 0.2 when not root) */
	double timeout_s;   /* wait for the last reply after the last request */
};

/* "90", "90s", "30m", "4h", "1h30m", "7d" -> seconds. 0, or -1 when malformed
 * or not finite ("1e999s"). */
int config_parse_duration(const char *s, double *out);

/* Seconds a ping step takes at most: (count - 1) * interval + timeout. */
double ping_settings_budget(const struct ping_settings *p);

struct site;
/* Seconds a whole site test may take at most: two pings (and the first
 * echo through the tunnel), login and teardown at their timeouts, plus 5 s
 * for the rest (stale scan, namespace). */
double site_worst_case_s(const struct site *s);

enum vpn_client {
	VPN_NONE = 0,       /* no vpn: section: only the two pings run */
	VPN_STARTCT,        /* SonicWall / Aventail Connect Tunnel CLI */
	VPN_OPENCONNECT,
	VPN_OPENVPN,
	VPN_WIREGUARD,      /* wireguard-go, configured by epmon over its UAPI socket */
	VPN_IPSEC,          /* strongSwan's charon (IKEv2), configured by epmon over VICI */
	VPN_CUSTOM,
};

const char *vpn_client_name(enum vpn_client c);

/* What runs for a client kind, as /status reports it ("wireguard-go":
 * userspace WireGuard, as the kernel path is not built; "charon
 * kernel-libipsec": strongSwan with userspace ESP). */
const char *vpn_client_implementation(enum vpn_client c);
/* The client binary run by default: "startct", "openconnect", "openvpn",
 * "wireguard-go", "/usr/lib/ipsec/charon";
 * NULL for custom (vpn.command is required) and none. */
const char *vpn_default_command(enum vpn_client c);

/* One step of the login dialogue: wait for `expect` (POSIX ERE), then send
 * `send` (NULL: send nothing). "{password}" / "{username}" in send are
 * replaced at run time; the password never appears in logs. */
struct expect_step {
	char *expect;
	char *send;
	double timeout_s;   /* 0: only the overall login timeout applies */
};

struct vpn_settings {
	enum vpn_client client;
	char *gateway;          /* host[:port] or URL given to the client */
	char *username;
	char *realm;            /* startct -r */
	char *password_file;    /* read at each site test; first line, no newline */
	char *password_env;     /* name of an environment variable of epmon */
	char *protocol;         /* openconnect: anyconnect|gp|pulse|nc|fortinet|f5|array */
	char *ca_file;          /* openconnect --cafile */
	char *servercert;       /* openconnect --servercert pin */
	char *config_file;      /* openvpn --config */
	char *interface;        /* tunnel interface name; NULL: profile default */

	/* Per-site overrides of the client profile; NULL / 0 = profile default. */
	char *command;          /* client binary (path or name on PATH) */
	char **args;            /* full argument list after argv[0] */
	size_t nargs;
	int has_args;           /* args: given (possibly empty) */
	struct expect_step *expect;
	size_t nexpect;
	int has_expect;
	char *connected;        /* ERE: output that means the tunnel is up */
	char **failed;          /* EREs: output that means login failed */
	size_t nfailed;
	int has_failed;
	char *stop_command;     /* run (via /bin/sh -c) after stopping the client */
	char *script;           /* openconnect --script; NULL: epmon's own helper
				 * with isolation netns, vpnc-script without */
	char **process_names;   /* exact comm names of stale clients */
	size_t nprocess_names;
	int has_process_names;
	/* phases: {connect, tls, auth}: the EREs of the output lines that end
	 * those login phases, in that order; NULL: the profile's, "": the
	 * client does not show it */
	char *phase_marks[3];

	/* client wireguard (other clients: NULL / 0) */
	char *endpoint;             /* the peer: "ADDR:PORT" or "[ADDR6]:PORT", numeric */
	char *private_key_file;     /* base64 key, 0600 or stricter; read at each test */
	char *peer_public_key;      /* base64 of 32 bytes */
	char *preshared_key_file;   /* optional; like private_key_file */
	char **addresses;           /* "ADDR/LEN" put on the interface, >= 1 */
	size_t naddresses;
	char **allowed_ips;         /* routed through the tunnel; none: internal_ip alone */
	size_t nallowed_ips;
	int mtu;                    /* default 1420 */

	/* client ipsec (other clients: NULL). Either swanctl_file + connection
	 * (+ child), or inline: gateway, username, password, ca_file, remote_id. */
	char *swanctl_file;         /* swanctl.conf fragment: connection and its secrets */
	char *connection;           /* its connection (IKE) name */
	char *child;                /* its child to initiate; default: connection */
	char *remote_id;            /* inline: the gateway's identity; default: gateway */

	double login_timeout_s;     /* default 30 */
	double teardown_timeout_s;  /* default 10 */
};

/* When to mail about a site: set under `logging`, overridden key by key by
 * a site's `alert:` map. */
struct alert_settings {
	int failure_threshold;      /* consecutive failed cycles before DOWN; default 2 */
	int success_threshold;      /* consecutive good cycles that end an outage; default 1 */
	double reminder_interval_s; /* repeat DOWN while down; 0 (default): never */
	int notify_recovery;        /* UP mail when an alerted site recovers; default 1 */
};

struct site {
	char *name;
	char *external_ip;      /* numeric IPv4 or IPv6 */
	char *internal_ip;      /* numeric IPv4 or IPv6; NULL: no internal ping */
	struct ping_settings ping;
	struct vpn_settings vpn;
	struct alert_settings alert; /* logging's, merged with the site's alert: */
	int line;               /* where the site starts in the config, for messages */
};

enum smtp_security {
	SMTP_SECURITY_NONE = 0, /* plain SMTP */
	SMTP_SECURITY_STARTTLS, /* plain, then STARTTLS (required) */
	SMTP_SECURITY_TLS,      /* TLS from the first byte (smtps) */
};

const char *smtp_security_name(enum smtp_security s);

/* The `logging` map: where alert mails go and how they are sent. Without
 * a `logging` map, smtp_server is NULL: alerts are logged, not mailed. */
struct smtp_settings {
	char *smtp_server;
	int smtp_port;          /* default 25 */
	char *sender;
	char **recipients;
	size_t nrecipients;
	enum smtp_security security; /* default: tls on 465, starttls on 587, else none */
	char *username;         /* AUTH; NULL: no AUTH */
	char *password_file;    /* read at each send; first line, no newline */
	char *password_env;     /* name of an environment variable of epmon */
	char *ca_file;          /* CA bundle to verify the server; NULL: system's */
	double connect_timeout_s;   /* default 10 */
	double timeout_s;           /* whole SMTP conversation, default 30 */
	double spool_max_age_s;     /* unsent longer: moved to spool/dead; default 7 d */
	double retry_min_s;         /* first retry delay, doubled up to retry_max; 60 */
	double retry_max_s;         /* default 1800 */
	struct alert_settings alert; /* defaults of every site */
};

/* The config owns struct smtp_settings: a deep copy (for the sender
 * thread), 0 or -1 out of memory (dst then empty), and its free (which
 * leaves it zeroed). */
int config_smtp_copy(struct smtp_settings *dst, const struct smtp_settings *src);
void config_smtp_free(struct smtp_settings *s);

/* The http: map: /metrics, /status and the status page of `epmon run`.
 * Without an http: map, enabled is 0 and nothing listens. */
struct http_settings {
	int enabled;
	char *listen;           /* "ADDR:PORT" or "[IPV6]:PORT"; default 127.0.0.1:9877 */
	char *username;         /* basic auth user; default "epmon" with password_file */
	char *password_file;    /* basic auth: its first line; NULL: no auth */
	char *cert_file;        /* TLS: PEM certificate (chain), with key_file */
	char *key_file;         /* TLS: PEM private key */
};

/* Splits a `listen` value: numeric address (no brackets) into addr, port
 * 1..65535, *ipv6 set when bracketed. 0, or -1 when malformed. */
int config_listen_parse(const char *listen, char *addr, size_t addrlen,
			int *port, int *ipv6);
int config_listen_is_loopback(const char *listen); /* 127.x.x.x or ::1 */

enum isolation_mode {
	ISOLATION_NETNS = 0,    /* each VPN site test in a network namespace of its own */
	ISOLATION_NONE,         /* clients in the probe's own namespace, one at a time */
};

const char *isolation_mode_name(enum isolation_mode m);

/* The isolation: map. Slot N of the subnet is its N-th /30: .1 on the
 * probe's end of the site's veth, .2 in the site's namespace. */
struct isolation_settings {
	enum isolation_mode mode;
	unsigned int subnet;    /* network address, host byte order */
	int prefix;             /* 8..30 */
	int line, col;          /* of the subnet value (or of the isolation map) */
};

/* Number of /30 links the subnet holds. */
unsigned int isolation_slots(const struct isolation_settings *iso);

enum webhook_format {
	WEBHOOK_JSON = 0,       /* epmon's own documented body */
	WEBHOOK_SLACK,          /* {"text": ...} for a Slack incoming webhook */
	WEBHOOK_TEAMS,          /* a MessageCard for a Teams incoming webhook */
};

const char *webhook_format_name(enum webhook_format f);

struct webhook_settings {
	char *url;              /* http:// or https:// */
	enum webhook_format format;
	char *secret_file;      /* HMAC-SHA256 key (first line); NULL: no signature */
	double timeout_s;       /* whole request; default 10 */
};

struct alert_label {
	char *name, *value;
};

/* The alerting: map: sinks beside mail. The thresholds of the state machine
 * go to logging.alert (every site's defaults). */
struct alerting_settings {
	char **am_urls;         /* Alertmanager API v2 base URLs, tried in order */
	size_t nam_urls;        /* 0: no Alertmanager */
	struct alert_label *am_labels;  /* added to every alert */
	size_t nam_labels;
	double am_timeout_s;    /* each POST; default 10 */
	struct webhook_settings *webhooks;
	size_t nwebhooks;
	double retry_min_s;     /* webhooks: first retry delay, doubled up to retry_max; 30 */
	double retry_max_s;     /* default 1800 */
	double spool_max_age_s; /* undelivered longer: moved to dead/; default 7 d */
	struct maintenance_window *maintenance;
	size_t nmaintenance;
	/* alerting.degraded: a passing site slow against its own history */
	int degraded;           /* the map is present: judged after each cycle */
	double login_factor;    /* login p95 of window > factor x baseline p95; 0: off; 2 */
	double rtt_factor;      /* internal RTT median, same; 0: off; 3 */
	double login_floor_ms;  /* and at least this much above it; 250 */
	double rtt_floor_ms;    /* 5 */
	double window_s;        /* the recent period judged; 1 h */
	double baseline_s;      /* the history it is judged against (from the CSV); 7 d */
	int min_samples;        /* in the window (and 10 x in the baseline); 3 */
};

/* A maintenance window (alerting.maintenance): sites in it are tested and
 * recorded but raise nothing. Either weekly (`every`) or once (`start`),
 * both in wall-clock time of `timezone`. */
struct maintenance_window {
	char **sites;           /* the sites it covers; nsites 0: every site ("*") */
	size_t nsites;
	int weekdays;           /* every: bit d set for day d (0 = Sunday); 0: a start window */
	int minute;             /* every: minute of the day it opens */
	struct {                /* start: the wall-clock time it opens */
		int year, mon, mday, hour, min;     /* mon 1..12 */
	} start;
	double duration_s;      /* > 0; at most 7 days for weekly ones */
	char *timezone;         /* IANA name (Europe/Paris); NULL: epmon's local time */
	int line;               /* of the window in the config, for messages */
};

struct config {
	char *path;
	char *probe_name;       /* default: the host name; a label on every alert */
	double frequency_s;     /* > 0 */
	int concurrency;        /* site tests at the same time, 1..1024 */
	struct isolation_settings isolation;
	struct smtp_settings logging;
	char *results_dir;      /* default /var/lib/epmon */
	char *state_dir;        /* state_directory, default /var/lib/epmon */
	struct ping_settings ping;  /* defaults: count 5, interval 0.2, timeout 2 */
	struct http_settings http;
	struct alerting_settings alerting;
	struct site *sites;
	size_t nsites;
};

/* Messages found while loading: errors make the config unusable, warnings
 * do not. Each text is complete: "FILE:LINE:COL: message". */
struct config_diag {
	char **errors;
	size_t nerrors;
	char **warnings;
	size_t nwarnings;
};

/* config_load for a command: errors go to stderr, one "FILE:LINE:COL:
 * message" a line, and with warnings set, warnings to the log (log_warn).
 * NULL when unusable. */
struct config *config_load_print(const char *path, int warnings);

/* Parses and validates `path`. Returns the config, or NULL when there was
 * any error; every error found (not only the first) is in diag. */
struct config *config_load(const char *path, struct config_diag *diag);
/* Same, from a string (tests); `name` is used as FILE in messages. */
struct config *config_parse(const char *name, const char *text, size_t len,
			    struct config_diag *diag);
void config_free(struct config *cfg);
void config_diag_free(struct config_diag *diag);

const struct site *config_find_site(const struct config *cfg, const char *name);

/* Default config path: ./config.yml if it exists, else /etc/epmon/config.yml. */
const char *config_default_path(void);

#endif
