/* SPDX-License-Identifier: MIT */
#include "vpn/profiles.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/fsutil.h"
#include "vpn/proc.h"

/* Built-in dialogues. startct's prompts and messages differ between
 * versions and could not be verified here: every one is a per-site
 * override (vpn.expect, vpn.connected, vpn.failed). */
static const struct expect_step startct_steps[] = {
	{ (char *)"[Pp]assword[^:]*:", (char *)"{password}", 0 },
};
static const char *const startct_failed[] = {
	"[Ll]ogin failed", "[Aa]uthentication failed", "[Ii]nvalid (user|password|credentials)",
	"[Aa]ccess denied", "[Uu]nable to connect", "[Cc]ould not connect",
};
static const char *const startct_why[] = {
	"bad credentials", "bad credentials", "bad credentials",
	"access denied", "gateway unreachable", "gateway unreachable",
};
static const char *const startct_names[] = { "startct", "AvConnect" };

/* openconnect 9 (checked against ocserv in tests/lab) */
static const char *const openconnect_failed[] = {
	"Login failed", "Server certificate verify failed",
	"Certificate from VPN server .* failed verification",
	"Failed to connect to host", "Failed to open HTTPS connection",
	"Failed to obtain WebVPN cookie", "Cookie was rejected", "Connection refused",
	"No route to host", "Authentication failed",
};
/* what each failed pattern means, for the CSV detail */
static const char *const openconnect_why[] = {
	"bad credentials", "certificate not trusted",
	"certificate not trusted",
	"gateway unreachable", "gateway unreachable",
	"login rejected", "login rejected", "gateway unreachable",
	"gateway unreachable", "bad credentials",
};
static const char *const openconnect_names[] = { "openconnect" };

/* openvpn 2.6 (checked against an openvpn 2.6 server in tests/lab). It never
 * gives up by itself: it retries (the next `remote`, or the same one) until
 * epmon's login_timeout, so its first definite error ends the login. Over
 * TLS 1.3 the server's alert for a rejected client certificate does not reach
 * the client: an expired one shows only as its own warning at the start. */
static const char *const openvpn_failed[] = {
	"AUTH_FAILED", "Exiting due to fatal error", "Options error",
	"Your certificate has expired", "Your certificate is not yet valid",
	"VERIFY ERROR", "VERIFY (KU|EKU|X509NAME) ERROR",
	"(read|write) UDP.*(Connection refused|No route to host|Network is unreachable)",
	"TCP: connect to .* failed",
	"RESOLVE: Cannot resolve host address",
	"TLS key negotiation failed to occur", "TLS Error: TLS handshake failed",
};
static const char *const openvpn_why[] = {
	"bad credentials", "client error", "client configuration error",
	"client certificate expired", "client certificate not yet valid",
	"certificate not trusted", "server certificate rejected (name or key usage)",
	"gateway unreachable",
	"gateway unreachable",
	"gateway name not resolved",
	"TLS handshake failed (certificate rejected, or the server does not answer)",
	"TLS handshake failed (certificate rejected, or the server does not answer)",
};
static const char *const openvpn_names[] = { "openvpn" };

/* wireguard-go 0.0.20220316 with LOG_LEVEL=verbose (checked against a
 * wireguard-go peer in tests/lab). Its "connected" is only "ready to be
 * configured": vpn.c then configures it and waits for the handshake. No
 * stale names by default: wireguard-go often runs the host's own tunnels. */
static const char *const wireguard_failed[] = {
	"Failed to create TUN device", "UAPI listen error|Failed to open uapi socket",
};
static const char *const wireguard_why[] = {
	"cannot create the tunnel interface", "cannot open the control socket",
};

/* charon 5.9 (strongSwan, Debian 12) at filelog level 1. Its "connected"
 * is only "ready for swanctl": vpn.c then loads the connection, initiates
 * it and waits for the CHILD_SA. No stale names by default: a host's own
 * charon is no leftover of epmon's. */
static const char *const ipsec_failed[] = {
	"charon already running|unable to create pidfile",
	"plugin '[a-z0-9-]+' failed to load|no kernel ipsec interface|"
	"creating TUN device failed|failed to create a TUN device",
};
static const char *const ipsec_why[] = {
	"another charon holds the pid file", "charon cannot start its IPsec backend",
};

/* The output lines that end the login phases (phases.h), per client:
 * connect (the gateway answered), tls (the secure channel is up), auth (the
 * credentials accepted); NULL where the client does not show it. Matched
 * line by line, the first match of each counts. Checked against the lab's
 * servers, like the patterns above; startct's (unchecked) is its connected
 * pattern, after the password was sent. */
static const char *const openconnect_phases[VPN_PHASE_MARKS] = {
	"^Connected to [^ ]+:[0-9]+$",          /* TCP to the gateway */
	"^Connected to HTTPS on ",               /* TLS handshake done */
	"^Got CONNECT response|^Configured as ", /* session cookie accepted */
};
/* openvpn prints them at verb 2 and above (the usual verb 3): its TLS
 * handshake is over, client side, once the server's certificate is
 * verified; "Control Channel:" comes only after the server's password
 * check. The credentials are accepted when the PUSH_REPLY comes (a server
 * with deferred auth holds that back, not the key exchange). */
static const char *const openvpn_phases[VPN_PHASE_MARKS] = {
	"TLS: Initial packet from |TCP connection established with ",
	"VERIFY OK: depth=0",
	"PUSH: Received control message: 'PUSH_REPLY",
};
/* WireGuard's one round trip is both the answer and the acceptance of the
 * key: connect ends there, tunnel follows; no tls, no auth of their own */
static const char *const wireguard_phases[VPN_PHASE_MARKS] = {
	"Received handshake response", NULL, NULL,
};
/* IKEv2: IKE_SA_INIT answered; the gateway authenticated by its
 * certificate (the first "authentication of ... successful"); the IKE_SA
 * established after EAP */
static const char *const ipsec_phases[VPN_PHASE_MARKS] = {
	"parsed IKE_SA_INIT response",
	"authentication of '[^']*' with .* successful",
	"IKE_SA [^ ]+ established between",
};
static const char *const no_phases[VPN_PHASE_MARKS] = { NULL, NULL, NULL };

static const char *const *default_phase_marks(enum vpn_client c)
{
	switch (c) {
	case VPN_OPENCONNECT: return openconnect_phases;
	case VPN_OPENVPN: return openvpn_phases;
	case VPN_WIREGUARD: return wireguard_phases;
	case VPN_IPSEC: return ipsec_phases;
	default: return no_phases;
	}
}

#define N(a) (sizeof(a) / sizeof((a)[0]))
_Static_assert(N(startct_failed) == N(startct_why), "one meaning per startct pattern");
_Static_assert(N(openconnect_failed) == N(openconnect_why), "one meaning per openconnect pattern");
_Static_assert(N(openvpn_failed) == N(openvpn_why), "one meaning per openvpn pattern");
_Static_assert(N(wireguard_failed) == N(wireguard_why), "one meaning per wireguard pattern");
_Static_assert(N(ipsec_failed) == N(ipsec_why), "one meaning per ipsec pattern");

static const char *const wireguard_names[] = { "wireguard-go" };
static const char *const ipsec_names[] = { "charon" };

void profile_process_names(const struct site *site, const char *const **names,
			   size_t *n, struct proc_mark *mark)
{
	const struct vpn_settings *v = &site->vpn;

	memset(mark, 0, sizeof(*mark));
	if (v->has_process_names) {
		*names = (const char *const *)v->process_names;
		*n = v->nprocess_names;
		return;
	}
	switch (v->client) {
	case VPN_STARTCT: *names = startct_names; *n = N(startct_names); return;
	case VPN_OPENCONNECT: *names = openconnect_names; *n = N(openconnect_names); return;
	case VPN_OPENVPN: *names = openvpn_names; *n = N(openvpn_names); return;
	case VPN_WIREGUARD:
		*names = wireguard_names;
		*n = N(wireguard_names);
		mark->last_arg = v->interface ? v->interface : "epmon0";
		return;
	case VPN_IPSEC:
		*names = ipsec_names;
		*n = N(ipsec_names);
		mark->mount_root = "/epmon/";
		mark->mount_point = "/run";
		return;
	default: *names = NULL; *n = 0; return;
	}
}

struct argv_builder {
	struct vpn_profile *p;
	size_t n;
	int overflow;
};

static void add(struct argv_builder *b, char *owned)
{
	if (!owned || b->n >= PROFILE_MAX_ARGS) {
		free(owned);
		b->overflow = 1;
		return;
	}
	b->p->argv[b->n++] = owned;
}

/* prefix + value, e.g. "--user=" + "monitor" */
static void add_opt(struct argv_builder *b, const char *prefix, const char *value)
{
	char *s = NULL;

	if (asprintf(&s, "%s%s", prefix, value ? value : "") < 0)
		s = NULL;
	add(b, s);
}

/* "{gateway}" style placeholders in user-given args. */
static char *expand(const char *arg, const struct site *site, const struct vpn_profile *p,
		    const char *auth_file, const char *script)
{
	const struct vpn_settings *v = &site->vpn;
	const struct { const char *key; const char *value; } vars[] = {
		{ "{gateway}", v->gateway }, { "{username}", v->username },
		{ "{realm}", v->realm }, { "{protocol}", v->protocol },
		{ "{ca_file}", v->ca_file }, { "{servercert}", v->servercert },
		{ "{config_file}", v->config_file }, { "{interface}", p->interface },
		{ "{auth_file}", auth_file }, { "{site}", site->name },
		{ "{script}", script },
	};
	char *out = strdup(arg);

	for (size_t i = 0; out && i < N(vars); i++) {
		char *at;
		while ((at = strstr(out, vars[i].key))) {
			char *next = NULL;
			const char *value = vars[i].value ? vars[i].value : "";
			if (asprintf(&next, "%.*s%s%s", (int)(at - out), out, value,
				     at + strlen(vars[i].key)) < 0)
				next = NULL;
			free(out);
			out = next;
			if (!out)
				break;
		}
	}
	return out;
}

static int write_auth_file(struct vpn_profile *p, const struct site *site,
			   const char *password, char *path, size_t len)
{
	int fd;
	FILE *f;

	if (private_dir_new(EPMON_RUN_DIR, site->name, p->runtime_dir,
			    sizeof(p->runtime_dir)) < 0) {
		p->runtime_dir[0] = 0;
		return -1;
	}
	snprintf(path, len, "%s/auth", p->runtime_dir);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return -1;
	f = fdopen(fd, "w");
	if (!f) {
		close(fd);
		return -1;
	}
	fprintf(f, "%s\n%s\n", site->vpn.username ? site->vpn.username : "",
		password ? password : "");
	return fclose(f);
}

static void default_args(struct argv_builder *b, const struct site *site,
			 const char *auth_file, const char *script)
{
	const struct vpn_settings *v = &site->vpn;

	switch (v->client) {
	case VPN_STARTCT:
		add_opt(b, "", "-m"); add_opt(b, "", v->gateway);
		add_opt(b, "", "-u"); add_opt(b, "", v->username);
		if (v->realm) { add_opt(b, "", "-r"); add_opt(b, "", v->realm); }
		break;
	case VPN_OPENCONNECT:
		add_opt(b, "--protocol=", v->protocol ? v->protocol : "anyconnect");
		add_opt(b, "--user=", v->username);
		add_opt(b, "--interface=", b->p->interface);
		if (v->ca_file) add_opt(b, "--cafile=", v->ca_file);
		if (v->servercert) add_opt(b, "--servercert=", v->servercert);
		if (v->realm) add_opt(b, "--authgroup=", v->realm);
		if (script) add_opt(b, "--script=", script);
		add_opt(b, "", "--passwd-on-stdin");
		add_opt(b, "", "--non-inter");
		add_opt(b, "", v->gateway);
		break;
	case VPN_OPENVPN:
		add_opt(b, "", "--config"); add_opt(b, "", v->config_file);
		add_opt(b, "", "--dev"); add_opt(b, "", b->p->interface);
		add_opt(b, "", "--dev-type"); add_opt(b, "", "tun");
		if (auth_file) {
			add_opt(b, "", "--auth-user-pass"); add_opt(b, "", auth_file);
			add_opt(b, "", "--auth-nocache");
		}
		break;
	case VPN_WIREGUARD:
		/* no key here: epmon sets it over the control socket */
		add_opt(b, "", "-f"); add_opt(b, "", b->p->interface);
		break;

	default:
		break;
	}
}

int profile_build(const struct site *site, const char *password,
		  const char *default_script, struct vpn_profile *p,
		  char *err, size_t errlen)
{
	const struct vpn_settings *v = &site->vpn;
	struct argv_builder b = { p, 0, 0 };
	const char *command = v->command ? v->command : vpn_default_command(v->client);
	char path[512], auth_file[300] = "";

	memset(p, 0, sizeof(*p));
	if (!command || !exec_find(command, path, sizeof(path))) {
		snprintf(err, errlen, "VPN client '%s' not found", command ? command : "(none)");
		return -1;
	}
	snprintf(p->interface, sizeof(p->interface), "%s",
		 v->interface ? v->interface :
		 (v->client == VPN_OPENCONNECT || v->client == VPN_OPENVPN ||
		  v->client == VPN_WIREGUARD) ? "epmon0" :
		 "");   /* ipsec: kernel-libipsec takes the first free ipsecN */
	/* no password (NULL: the site sets neither password_file nor
	 * password_env; "": an empty one): a certificate-only login */
	if (v->client == VPN_OPENVPN && password && *password &&
	    write_auth_file(p, site, password, auth_file, sizeof(auth_file)) < 0) {
		snprintf(err, errlen, "cannot create the openvpn auth file in /run/epmon: %s",
			 strerror(errno));
		profile_free(p);
		return -1;
	}
	add(&b, strdup(path));
	if (v->has_args) {
		for (size_t i = 0; i < v->nargs; i++)
			add(&b, expand(v->args[i], site, p, auth_file[0] ? auth_file : NULL,
				       v->script ? v->script : default_script));
	} else {
		default_args(&b, site, auth_file[0] ? auth_file : NULL,
			     v->script ? v->script : default_script);
	}
	if (b.overflow) {
		snprintf(err, errlen, "too many client arguments (max %d)", PROFILE_MAX_ARGS);
		profile_free(p);
		return -1;
	}

	memcpy(p->phase_marks, default_phase_marks(v->client), sizeof(p->phase_marks));
	switch (v->client) {
	case VPN_STARTCT:
		p->steps = startct_steps; p->nsteps = N(startct_steps);
		p->connected = "[Cc]onnected to|[Tt]unnel (is )?(up|established)|[Cc]onnection established";
		p->failed = startct_failed; p->nfailed = N(startct_failed);
		p->failed_why = startct_why;
		break;
	case VPN_OPENCONNECT:
		p->password_on_stdin = !v->has_expect;
		p->connected = "Configured as |Connected as |ESP session established";
		p->failed = openconnect_failed; p->nfailed = N(openconnect_failed);
		p->failed_why = openconnect_why;
		break;
	case VPN_OPENVPN:
		p->connected = "Initialization Sequence Completed";
		p->failed = openvpn_failed; p->nfailed = N(openvpn_failed);
		p->failed_why = openvpn_why;
		break;
	case VPN_WIREGUARD:
		p->connected = "UAPI listener started";
		p->failed = wireguard_failed; p->nfailed = N(wireguard_failed);
		p->failed_why = wireguard_why;
		break;
	case VPN_IPSEC:
		p->connected = "spawning [0-9]+ worker threads";
		p->failed = ipsec_failed; p->nfailed = N(ipsec_failed);
		p->failed_why = ipsec_why;
		break;
	default:
		break;
	}
	if (v->has_expect) {
		p->steps = v->expect;
		p->nsteps = v->nexpect;
	}
	if (v->connected)
		p->connected = v->connected;
	if (v->has_failed) {
		p->failed = (const char *const *)v->failed;
		p->nfailed = v->nfailed;
		p->failed_why = NULL;
	}
	/* startct's own words could not be checked: its login ends at the
	 * connected pattern, whichever the site gives */
	if (v->client == VPN_STARTCT)
		p->phase_marks[VPN_PHASE_AUTH] = p->connected;
	for (int i = 0; i < VPN_PHASE_MARKS; i++)
		if (v->phase_marks[i])
			p->phase_marks[i] = *v->phase_marks[i] ? v->phase_marks[i] : NULL;
	if (!p->connected) {
		snprintf(err, errlen, "no 'connected' pattern: set vpn.connected");
		profile_free(p);
		return -1;
	}
	/* {username} etc. in what the dialogue sends; {password} is left for
	 * the session, which alone ever holds it */
	if (p->nsteps) {
		struct expect_step *own = calloc(p->nsteps, sizeof(*own));
		if (!own) {
			snprintf(err, errlen, "out of memory");
			profile_free(p);
			return -1;
		}
		for (size_t i = 0; i < p->nsteps; i++) {
			own[i] = p->steps[i];
			own[i].send = p->steps[i].send ? expand(p->steps[i].send, site, p, NULL, NULL) : NULL;
		}
		p->owned_steps = own;
		p->steps = own;
	}
	profile_process_names(site, &p->process_names, &p->nprocess_names, &p->stale_mark);
	p->stop_command = v->stop_command;
	return 0;
}

void profile_free(struct vpn_profile *p)
{
	for (size_t i = 0; p->owned_steps && i < p->nsteps; i++)
		free(p->owned_steps[i].send);
	free(p->owned_steps);
	for (size_t i = 0; i < PROFILE_MAX_ARGS + 2 && p->argv[i]; i++)
		free(p->argv[i]);
	if (p->runtime_dir[0]) {
		char auth[300];
		snprintf(auth, sizeof(auth), "%s/auth", p->runtime_dir);
		unlink(auth);
		rmdir(p->runtime_dir);
	}
	memset(p, 0, sizeof(*p));
}
