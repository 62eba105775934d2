/* SPDX-License-Identifier: MIT */
#include "vpn/vpn.h"

#include <errno.h>
#include <limits.h>
#include <net/if.h>
#include <poll.h>
#include <stddef.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "util/fsutil.h"
#include "util/log.h"
#include "util/note.h"
#include "util/secret.h"
#include "util/clock.h"
#include "vpn/ipsec.h"
#include "vpn/isolation.h"
#include "vpn/journal.h"
#include "vpn/netlink.h"
#include "vpn/proc.h"
#include "vpn/profiles.h"
#include "vpn/resolv.h"
#include "vpn/session.h"
#include "vpn/wireguard.h"

__attribute__((format(printf, 2, 3)))
static void vpn_note(struct vpn_result *out, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	note_vadd(out->detail, out->detail_size, fmt, ap);
	va_end(ap);
}

struct vpn_tunnel {
	const struct site *site;
	const struct vpn_env *env;
	struct vpn_profile profile;
	struct session *session;
	struct site_netns *ns;          /* isolation: the site's own namespace */
	struct route_list routes_before;
	struct resolv_copy resolv_before;
	char interface[IF_NAMESIZE];    /* the tunnel device, once known */
	int interface_existed;          /* the profile's device was there before the client */
	int events_fd;
	/* the session reads these until session_free: they live here */
	struct session_spec spec;
	struct session_step *steps;     /* the profile's expect steps, as the session takes them */
	const char *client_env[16];
	char script[PATH_MAX + 32];
	char password[512];
	char wg_dir[PATH_MAX];          /* wireguard: WG_RUN_DIR resolved */
	char ipsec_dir[256];            /* ipsec: charon's private /run */
	char ipsec_env[300];            /* ipsec: STRONGSWAN_CONF=... */
	int ipsec_up;                   /* ipsec: initiate succeeded */
	double handshake_at;            /* wireguard: monotonic_s() it was seen done; 0 */
	int journal;                    /* mode none: a journal is on disk (journal.h) */
};

#define DEFAULT_RESOLV "/etc/resolv.conf"

static const char *resolv_path(const struct vpn_env *env)
{
	return env->resolv_conf ? env->resolv_conf : DEFAULT_RESOLV;
}

/* What may become the good copy: no client's mark, and not empty (a file a
 * client left half-written: vpnc-script truncates, then writes). */
static int good_candidate(const struct resolv_copy *c)
{
	return c->data && c->len > 0 && strspn(c->data, " \t\r\n") < c->len &&
	       !resolv_has_client_mark(c);
}

static void good_copy_path(const struct vpn_env *env, char *buf, size_t len)
{
	snprintf(buf, len, "%s/resolv.conf.good", env->state_dir ? env->state_dir : EPMON_STATE_DIR);
}

/* resolv.conf before a site: a client's mark, or a difference from the last
 * known good copy, means the previous client did not restore it. Without a
 * good copy yet, an unmarked file becomes the good copy. */
static void prepare_resolv(const struct site *site, const struct vpn_env *env,
			   struct vpn_result *out)
{
	struct resolv_copy now, good;
	char file[512], how[256];

	good_copy_path(env, file, sizeof(file));
	if (resolv_read(resolv_path(env), &now) < 0)
		return;
	if (resolv_load_good(file, &good) < 0 || !good.data) {
		if (good_candidate(&now))
			resolv_save_good(file, &now);
		else if (now.data)
			log_warn(site->name, "%s %s and there is no good copy to restore; fix it "
				 "by hand", resolv_path(env), resolv_has_client_mark(&now) ?
				 "carries a VPN client's mark" : "is empty");
		resolv_copy_free(&now);
		resolv_copy_free(&good);
		return;
	}
	if (resolv_has_client_mark(&now) || !resolv_equal(&now, &good)) {
		if (resolv_restore(resolv_path(env), &good, how, sizeof(how)) == 0) {
			out->resolv_repaired++;
			log_warn(site->name, "%s was left modified by a VPN client: %s",
				 resolv_path(env), how);
			vpn_note(out, "resolv.conf repaired before the test");
		} else {
			log_error(site->name, "%s", how);
			vpn_note(out, "resolv.conf repair failed: %s", how);
		}
	}
	resolv_copy_free(&now);
	resolv_copy_free(&good);
}

static const char *state_dir(const struct vpn_env *env)
{
	return env->state_dir ? env->state_dir : EPMON_STATE_DIR;
}

void vpn_recover(const struct vpn_env *env)
{
	int n;

	if (env->isolation)
		return;     /* the site namespaces of a crash go away whole */
	n = journal_recover(state_dir(env));
	if (n > 0)
		log_warn(NULL, "%d leftover(s) of clients of an earlier epmon repaired", n);
}

void vpn_remember_resolv(const struct vpn_env *env)
{
	struct resolv_copy now;
	char file[512];

	if (resolv_read(resolv_path(env), &now) < 0)
		return;
	if (good_candidate(&now)) {
		good_copy_path(env, file, sizeof(file));
		if ((env->state_dir && mkdir_p(env->state_dir, 0755) < 0) ||
		    resolv_save_good(file, &now) < 0)
			log_warn(NULL, "cannot save the good copy of %s to %s: %s",
				 resolv_path(env), file, strerror(errno));
	}
	resolv_copy_free(&now);
}

void vpn_prepare(const struct site *site, const struct vpn_env *env,
		 struct vpn_result *out)
{
	const char *const *names;
	struct proc_mark mark;
	size_t n;
	int killed;

	/* a fresh namespace has no stale client and its own resolv.conf */
	if (env->isolation)
		return;
	profile_process_names(site, &names, &n, &mark);
	killed = n ? proc_kill_stale(names, n, &mark, site->vpn.teardown_timeout_s,
				     site->name) : 0;
	if (killed > 0) {
		out->stale_killed += killed;
		vpn_note(out, "stopped %d stale client process(es) before the test", killed);
	}
	prepare_resolv(site, env, out);
}

static int link_known(const struct if_nameindex *before, unsigned index)
{
	for (const struct if_nameindex *i = before; i && i->if_index; i++)
		if (i->if_index == index)
			return 1;
	return 0;
}

/* The tunnel is usable when the route to internal_ip leaves through the
 * profile's interface (or, when the profile names none, through an
 * interface that did not exist before login) and that interface is up. */
static int tunnel_ready(struct vpn_tunnel *t, const struct if_nameindex *before,
			char *why, size_t len)
{
	char ifname[IF_NAMESIZE] = "", err[160];
	int oif = 0;

	if (nl_route_get(t->site->internal_ip, &oif, ifname, err, sizeof(err)) < 0) {
		snprintf(why, len, "%s", err);
		return 0;
	}
	if (t->profile.interface[0]) {
		if (nl_link_state(t->profile.interface) < 0) {
			snprintf(why, len, "no tunnel interface %s", t->profile.interface);
			return 0;
		}
		if (strcmp(ifname, t->profile.interface) != 0) {
			snprintf(why, len, "route to %s goes via %s, not through the tunnel %s",
				 t->site->internal_ip, ifname, t->profile.interface);
			return 0;
		}
	} else if (link_known(before, (unsigned)oif)) {
		snprintf(why, len, "route to %s goes via %s, not through a new tunnel interface",
			 t->site->internal_ip, ifname);
		return 0;
	}
	if (nl_link_state(ifname) != 1) {
		snprintf(why, len, "tunnel interface %s is not up", ifname);
		return 0;
	}
	snprintf(t->interface, sizeof(t->interface), "%s", ifname);
	return 1;
}

static struct vpn_tunnel *tunnel_new(const struct site *site, const struct vpn_env *env)
{
	struct vpn_tunnel *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->site = site;
	t->env = env;
	t->events_fd = -1;
	/* with isolation the namespace goes away whole: nothing to compare */
	if (!env->isolation) {
		nl_route_dump(&t->routes_before);
		resolv_read(resolv_path(env), &t->resolv_before);
		t->journal = journal_begin(state_dir(env), site->name, &t->routes_before) == 0;
	}
	return t;
}

/* The client exited after connecting: when epmon's own tunnel setup
 * stopped it, its line says why. */
static void note_client_exit(struct vpn_tunnel *t, struct vpn_result *out)
{
	const char *tail = session_output_tail(t->session);
	const char *at = NULL, *p = tail;

	while ((p = strstr(p, "epmon tunnel-setup: ")))
		at = p++;
	if (at)
		vpn_note(out, "%s (%.*s)", session_detail(t->session),
				 (int)strcspn(at, "\r\n"), at);
	else
		vpn_note(out, "%s", session_detail(t->session));
}

/* After the connected pattern: wait (on netlink events, not by polling)
 * until the route proves the tunnel, while draining the client's output. */
static int wait_for_tunnel(struct vpn_tunnel *t, double t0, double deadline,
			   const struct if_nameindex *before, struct vpn_result *out)
{
	char why[256] = "";

	for (;;) {
		struct pollfd pfd = { t->events_fd, POLLIN, 0 };
		double left;

		if (tunnel_ready(t, before, why, sizeof(why))) {
			out->login_ms = (monotonic_s() - t0) * 1000.0;
			return 0;
		}
		if (session_pump(t->session, 0) == 1) {
			note_client_exit(t, out);
			return -1;
		}
		left = deadline - monotonic_s();
		if (left <= 0 || (t->env->stop && *t->env->stop))
			break;
		if (t->events_fd >= 0) {
			if (poll(&pfd, 1, left > 0.05 ? 50 : (int)(left * 1000) + 1) > 0)
				nl_events_drain(t->events_fd);
		} else {
			session_pump(t->session, 5);
		}
	}
	if (t->env->stop && *t->env->stop)
		vpn_note(out, "aborted by signal during login");
	else
		vpn_note(out, "client connected but no usable tunnel after %g s: %s",
				 t->site->vpn.login_timeout_s, why);
	return -1;
}

/* The last non-empty line the client printed (already masked), so that a
 * failure without a known pattern still says what the client said. */
static int last_line(const char *tail, char *buf, size_t len)
{
	const char *end = tail + strlen(tail), *start;

	while (end > tail && (end[-1] == '\n' || end[-1] == '\r' || end[-1] == ' '))
		end--;
	start = end;
	while (start > tail && start[-1] != '\n' && start[-1] != '\r')
		start--;
	if (end == start)
		return 0;
	snprintf(buf, len, "%.*s", (int)(end - start), start);
	return 1;
}

/* With isolation, openconnect's --script is epmon itself ("epmon
 * tunnel-setup"), and the client's environment says that it may write the
 * private resolv.conf. NULL without isolation: the client's own default. */
static const char *isolated_script(struct vpn_tunnel *t)
{
	size_t i = 0;

	if (!t->env->isolation)
		return NULL;
	for (; exec_clean_env[i] && i < 14; i++)
		t->client_env[i] = exec_clean_env[i];
	t->client_env[i++] = "EPMON_PRIVATE_RESOLV=1";
	t->client_env[i] = NULL;
	/* epmon's path as found at start: after an upgrade replaced the file,
	 * the new one at the same path (a path read from /proc/self/exe now
	 * would end in " (deleted)"). Else this very binary through /proc (the
	 * client shares epmon's pid namespace). openconnect runs it through
	 * /bin/sh -c. */
	if (t->env->self_exe)
		snprintf(t->script, sizeof(t->script), "'%s' tunnel-setup", t->env->self_exe);
	else
		snprintf(t->script, sizeof(t->script), "/proc/%d/exe tunnel-setup", (int)getpid());
	return t->script;
}

/* wireguard-go's environment: its log at level verbose gives the "UAPI
 * listener started" that says it can be configured. */
static const char *const *wireguard_env(struct vpn_tunnel *t)
{
	size_t i = 0;

	for (; exec_clean_env[i] && i < 13; i++)
		t->client_env[i] = exec_clean_env[i];
	t->client_env[i++] = "LOG_LEVEL=verbose";
	t->client_env[i++] = "WG_PROCESS_FOREGROUND=1";
	t->client_env[i] = NULL;
	return t->client_env;
}

/* WireGuard has no login: wireguard-go is configured over its control
 * socket, one datagram asks for the handshake, and the login is the first
 * completed handshake (read over the socket; wireguard-go's log lines wake
 * the wait early, the poll interval caps it at 20 ms). */
static int wireguard_login(struct vpn_tunnel *t, double deadline, struct vpn_result *out)
{
	const struct site *site = t->site;
	pid_t pid = session_pid(t->session);
	const char *ifname = t->profile.interface;
	char err[256];
	int wait_ms = 1, kicked = 0;

	log_debug(site->name, "WireGuard implementation: wireguard-go (userspace), "
		  "interface %s", ifname);
	if (wg_configure(pid, t->wg_dir, site, ifname, err, sizeof(err)) < 0) {
		vpn_note(out, "%s", err);
		return -1;
	}
	for (;;) {
		int done = wg_handshake_done(pid, t->wg_dir, ifname, err, sizeof(err));
		if (done < 0) {
			vpn_note(out, "%s", err);
			return -1;
		}
		if (done) {
			t->handshake_at = monotonic_s();
			log_debug(site->name, "handshake with %s completed", site->vpn.endpoint);
			return 0;
		}
		if (!kicked && site->internal_ip) {
			if (wg_send_kick(site->internal_ip, ifname) < 0)
				log_debug(site->name, "cannot send a datagram to %s through %s: %s "
					  "(the keepalive starts the handshake)", site->internal_ip,
					  ifname, strerror(errno));
			kicked = 1;
		}
		if (session_pump(t->session, wait_ms) == 1) {
			note_client_exit(t, out);
			return -1;
		}
		if (t->env->stop && *t->env->stop) {
			vpn_note(out, "aborted by signal during login");
			return -1;
		}
		if (monotonic_s() >= deadline) {
			vpn_note(out, "no handshake from %s in %g s (wrong key, or UDP "
					 "blocked)", site->vpn.endpoint, site->vpn.login_timeout_s);
			return -1;
		}
		if (wait_ms < 20)
			wait_ms *= 2;
	}
}

/* charon's environment: its strongswan.conf, as charon sees it (its
 * private directory is its /run). */
static const char *const *ipsec_env(struct vpn_tunnel *t)
{
	size_t i = 0;

	for (; exec_clean_env[i] && i < 14; i++)
		t->client_env[i] = exec_clean_env[i];
	snprintf(t->ipsec_env, sizeof(t->ipsec_env), "STRONGSWAN_CONF=/run/strongswan.conf");
	t->client_env[i++] = t->ipsec_env;
	t->client_env[i] = NULL;
	return t->client_env;
}

/* Runs swanctl ARGS against this site's charon while charon's output is
 * drained. Its exit status, -1 with a note (client exit, stop, deadline:
 * swanctl killed). */
static int ipsec_run(struct vpn_tunnel *t, const char *const *args, double deadline,
		     const char *what, struct vpn_result *out)
{
	pid_t pid = ipsec_swanctl(t->ipsec_dir, args);
	int status, wait_ms = 1, pidfd, rc = -1;

	if (pid < 0) {
		vpn_note(out, "cannot run swanctl: %s", strerror(errno));
		return -1;
	}
	/* swanctl's exit wakes the wait at once (without a pidfd: polled) */
	pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (pidfd >= 0)
		wait_ms = 100;
	for (;;) {
		pid_t r = waitpid(pid, &status, WNOHANG);
		if (r == pid) {
			if (pidfd >= 0)
				close(pidfd);
			return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
		}
		if (r < 0 && errno != EINTR) {
			vpn_note(out, "swanctl %s: %s", what, strerror(errno));
			break;
		}
		if (session_pump_fd(t->session, wait_ms, pidfd) == 1) {
			note_client_exit(t, out);
			break;
		}
		if (t->env->stop && *t->env->stop) {
			vpn_note(out, "aborted by signal during login");
			break;
		}
		if (monotonic_s() >= deadline) {
			const char *tail = session_output_tail(t->session);
			char line[160] = "";
			if (strstr(tail, "received packet")) {
				last_line(tail, line, sizeof(line));
				vpn_note(out, "IKE with %s did not complete in %g s (last "
						 "output: '%s')", t->site->vpn.gateway ?
						 t->site->vpn.gateway : ipsec_connection(t->site),
						 t->site->vpn.login_timeout_s, line);
			} else
				vpn_note(out, "gateway unreachable: no IKE response from "
						 "%s in %g s (responder down, or UDP 500/4500 "
						 "blocked)", t->site->vpn.gateway ? t->site->vpn.gateway :
						 ipsec_connection(t->site), t->site->vpn.login_timeout_s);
			break;
		}
		if (wait_ms < 20)
			wait_ms *= 2;
	}
	if (pidfd >= 0)
		close(pidfd);
	kill(pid, SIGKILL);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	return rc;
}

/* IKEv2: the connection loaded into this site's charon (secrets from the
 * 0600 file, over VICI), then initiated; the login is the installed
 * CHILD_SA (swanctl --initiate returns 0) and then the route check. */
static int ipsec_login(struct vpn_tunnel *t, double deadline, struct vpn_result *out)
{
	const struct site *site = t->site;
	char file[300], line[200];
	const char *load[] = { "--load-all", "--noprompt", "--file", file, NULL };
	const char *init[] = { "--initiate", "--ike", ipsec_connection(site), "--child",
		ipsec_child(site), NULL };
	const char *words;
	int rc;

	snprintf(file, sizeof(file), "%s", site->vpn.swanctl_file ? site->vpn.swanctl_file :
		 "");
	if (!site->vpn.swanctl_file)
		snprintf(file, sizeof(file), "%s/swanctl.conf", t->ipsec_dir);
	log_debug(site->name, "IPsec: strongSwan charon with kernel-libipsec (userspace ESP "
		  "over %s; the kernel's XFRM is not used)", IPSEC_TUN);
	rc = ipsec_run(t, load, deadline, "--load-all", out);
	if (rc != 0) {
		if (rc > 0)
			vpn_note(out, "swanctl --load-all %s failed (exit %d): %s", file,
					 rc, "check the connection with swanctl --load-all --file");
		return -1;
	}
	rc = ipsec_run(t, init, deadline, "--initiate", out);
	if (rc == 0) {
		t->ipsec_up = 1;
		log_debug(site->name, "CHILD_SA %s installed", ipsec_child(site));
		return 0;
	}
	if (rc > 0) {
		/* the log lines that say why reach the tail a moment later */
		session_pump(t->session, 50);
		words = ipsec_failure_words(session_output_tail(t->session), line, sizeof(line));
		if (words)
			vpn_note(out, "%s (%s)", words, line);
		else if (last_line(session_output_tail(t->session), line, sizeof(line)))
			vpn_note(out, "IKE initiate of %s failed (last output: '%s')",
					 ipsec_child(site), line);
		else
			vpn_note(out, "IKE initiate of %s failed", ipsec_child(site));
	}
	return -1;
}

/* Before charon stops: the IKE_SA deleted with the gateway (a DELETE it
 * answers), so the gateway keeps no half-open SA of ours. */
static void ipsec_terminate(struct vpn_tunnel *t, struct vpn_result *out)
{
	const char *term[] = { "--terminate", "--ike", ipsec_connection(t->site),
		"--timeout", "3", NULL };
	double deadline = monotonic_s() + (t->site->vpn.teardown_timeout_s < 4 ?
					   t->site->vpn.teardown_timeout_s : 4);
	char scratch_detail[256] = "";
	struct vpn_result scratch = { .detail = scratch_detail,
				      .detail_size = sizeof(scratch_detail) };

	if (ipsec_run(t, term, deadline, "--terminate", &scratch) != 0)
		vpn_note(out, "teardown: swanctl --terminate of %s failed",
				 ipsec_connection(t->site));
	else
		log_debug(t->site->name, "IKE_SA %s terminated", ipsec_connection(t->site));
}

/* Puts `prefix` in front of the note that starts at `at` in out->detail
 * (the failure's reason); the end of a full buffer is cut. */
static void note_prefix(struct vpn_result *out, size_t at, const char *prefix)
{
	size_t len = strnlen(out->detail, out->detail_size), plen = strlen(prefix), keep;

	if (at > 0 && strncmp(out->detail + at, "; ", 2) == 0)
		at += 2;
	if (at >= len || out->detail_size == 0 || at + plen + 1 > out->detail_size)
		return;
	keep = len - at;
	if (at + plen + keep + 1 > out->detail_size)
		keep = out->detail_size - 1 - at - plen;
	memmove(out->detail + at + plen, out->detail + at, keep);
	memcpy(out->detail + at, prefix, plen);
	out->detail[at + plen + keep] = '\0';
}

/* The phases of this login, from the moments the client's output marked
 * and the password was sent (relative to t0, the client's start as
 * login_ms counts it). A failed login's reason, written from note_at,
 * then starts with the phase it failed in. */
static void login_phases(struct vpn_tunnel *t, double t0, int ok, size_t note_at,
			 struct vpn_result *out)
{
	struct phase_moments m;
	double t0_ms = t0 * 1000.0, at, elapsed_ms;
	char prefix[80];
	int failed;

	for (int i = 0; i < VPN_PHASE_MARKS; i++) {
		m.shown[i] = t->profile.phase_marks[i] && *t->profile.phase_marks[i];
		at = session_mark_at(t->session, (size_t)i);
		m.mark_ms[i] = at < 0 ? -1 : at - t0_ms;
	}
	/* wireguard-go may log its handshake after epmon read it over the
	 * control socket: the earlier of the two ends connect */
	at = t->handshake_at * 1000.0 - t0_ms;
	if (t->handshake_at > 0 && m.shown[VPN_PHASE_CONNECT] &&
	    (m.mark_ms[VPN_PHASE_CONNECT] < 0 || at < m.mark_ms[VPN_PHASE_CONNECT]))
		m.mark_ms[VPN_PHASE_CONNECT] = at;
	at = session_secret_sent_at(t->session);
	m.secret_ms = at < 0 ? -1 : at - t0_ms;
	m.up_ms = ok ? out->login_ms : -1;
	out->phases = phases_compute(&m, out->phase_ms);
	if (ok || (failed = phases_failed_in(&m)) < 0)
		return;
	elapsed_ms = monotonic_s() * 1000.0 - t0_ms;
	if (elapsed_ms < 1000)
		snprintf(prefix, sizeof(prefix), "failed in %s after %.0f ms: ",
			 vpn_phase_name(failed), elapsed_ms);
	else
		snprintf(prefix, sizeof(prefix), "failed in %s after %.1f s: ",
			 vpn_phase_name(failed), elapsed_ms / 1000.0);
	note_prefix(out, note_at, prefix);
}

/* The site's namespace, made for this test; the thread works inside it
 * until vpn_down. */
static int enter_namespace(struct vpn_tunnel *t, struct vpn_result *out)
{
	char err[256];

	t->ns = site_netns_new(t->env->isolation, t->site->name, err, sizeof(err));
	if (!t->ns) {
		vpn_note(out, "cannot create the site's network namespace: %s", err);
		return -1;
	}
	if (site_netns_enter(t->ns) < 0) {
		vpn_note(out, "cannot enter the site's network namespace: %s",
				 strerror(errno));
		site_netns_free(t->ns);
		t->ns = NULL;
		return -1;
	}
	return 0;
}

int vpn_up(const struct site *site, const struct vpn_env *env,
	   struct vpn_tunnel **tun, struct vpn_result *out)
{
	struct vpn_tunnel *t;
	struct session_spec *spec;
	struct if_nameindex *before;
	char err[256];
	double t0 = 0, deadline;
	size_t note_at = 0;
	int rc = -1;

	t = tunnel_new(site, env);
	*tun = t;
	if (!t) {
		vpn_note(out, "out of memory");
		return -1;
	}
	if (secret_get(site->vpn.password_file, site->vpn.password_env, t->password,
		       sizeof(t->password), err, sizeof(err)) < 0 ||
	    profile_build(site, site->vpn.password_file || site->vpn.password_env ?
			  t->password : NULL, isolated_script(t), &t->profile, err,
			  sizeof(err)) < 0) {
		vpn_note(out, "%s", err);
		return -1;
	}
	if (env->isolation && enter_namespace(t, out) < 0)
		return -1;
	before = if_nameindex();
	/* someone else's device of that name is never deleted at teardown */
	t->interface_existed = t->profile.interface[0] &&
			       if_nametoindex(t->profile.interface) != 0;
	t->events_fd = nl_events_open();

	spec = &t->spec;
	spec->argv = (const char *const *)t->profile.argv;
	spec->env = env->isolation ? t->client_env : exec_clean_env;
	spec->private_resolv = t->ns ? site_netns_resolv(t->ns) : NULL;
	if (site->vpn.client == VPN_WIREGUARD) {
		/* its control socket directory is shared by every namespace */
		if (wg_run_dir(t->wg_dir, sizeof(t->wg_dir), err, sizeof(err)) < 0) {
			vpn_note(out, "%s", err);
			goto out;
		}
		spec->private_dir = t->wg_dir;
		spec->env = wireguard_env(t);
	}
	if (site->vpn.client == VPN_IPSEC) {
		if (ipsec_prepare(site, t->password, t->ipsec_dir, sizeof(t->ipsec_dir),
				  err, sizeof(err)) < 0) {
			vpn_note(out, "%s", err);
			goto out;
		}
		spec->private_run = t->ipsec_dir;
		spec->env = ipsec_env(t);
	}
	spec->patterns = env->patterns;
	if (t->profile.nsteps &&
	    !(t->steps = calloc(t->profile.nsteps, sizeof(*t->steps)))) {
		vpn_note(out, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < t->profile.nsteps; i++)
		t->steps[i] = (struct session_step){ .expect = t->profile.steps[i].expect,
						     .send = t->profile.steps[i].send,
						     .timeout_s = t->profile.steps[i].timeout_s };
	spec->steps = t->steps;
	spec->nsteps = t->profile.nsteps;
	spec->connected = t->profile.connected;
	spec->failed = t->profile.failed;
	spec->nfailed = t->profile.nfailed;
	spec->marks = t->profile.phase_marks;
	spec->nmarks = VPN_PHASE_MARKS;
	spec->secret = t->password[0] ? t->password : NULL;
	spec->stdin_secret = t->profile.password_on_stdin ? spec->secret : NULL;
	spec->login_timeout_s = site->vpn.login_timeout_s;
	spec->site = site->name;
	spec->stop = env->stop;

	t0 = monotonic_s();
	deadline = t0 + site->vpn.login_timeout_s;
	t->session = session_start(spec, err, sizeof(err));
	if (!t->session) {
		vpn_note(out, "cannot start the client: %s", err);
		goto out;
	}
	note_at = strnlen(out->detail, out->detail_size);
	log_debug(site->name, "client started, pid %d", (int)session_pid(t->session));
	if (t->journal)
		journal_client(state_dir(env), site->name, session_pid(t->session));
	if (session_login(t->session) != SESSION_CONNECTED) {
		int which = session_failed_index(t->session);
		char line[160];
		if (which >= 0 && t->profile.failed_why)
			vpn_note(out, "%s (%s)", t->profile.failed_why[which],
					 session_detail(t->session));
		else if (which < 0 && last_line(session_output_tail(t->session), line, sizeof(line)))
			vpn_note(out, "%s (last output: '%s')",
					 session_detail(t->session), line);
		else
			vpn_note(out, "%s", session_detail(t->session));
		goto out;
	}
	if (site->vpn.client == VPN_WIREGUARD && wireguard_login(t, deadline, out) < 0)
		goto out;
	if (site->vpn.client == VPN_IPSEC && ipsec_login(t, deadline, out) < 0)
		goto out;
	rc = wait_for_tunnel(t, t0, deadline, before, out);
	if (rc == 0)
		log_info(site->name, "tunnel up on %s after %.1f ms", t->interface, out->login_ms);
out:
	if (t->session)
		login_phases(t, t0, rc == 0, note_at, out);
	if (before)
		if_freenameindex(before);
	return rc;
}

const char *vpn_interface(const struct vpn_tunnel *t)
{
	return t->interface[0] ? t->interface : NULL;
}

static int wait_link_gone(const char *ifname, double timeout_s)
{
	double deadline = monotonic_s() + timeout_s;

	while (if_nametoindex(ifname) != 0) {
		if (monotonic_s() > deadline)
			return 0;
		usleep(5000);
	}
	return 1;
}

/* Verify and repair, in the order the leftovers depend on each other:
 * processes hold tun devices, devices hold routes. */
static int verify_and_repair(struct vpn_tunnel *t, struct vpn_result *out)
{
	const char *site = t->site->name;
	const char *ifname = t->interface[0] ? t->interface : t->profile.interface;
	struct route_list after;
	struct resolv_copy now;
	char how[256];
	int rc = 0, killed;

	killed = t->profile.nprocess_names ?
		proc_kill_stale(t->profile.process_names, t->profile.nprocess_names,
				&t->profile.stale_mark, 2.0, site) : 0;
	if (killed > 0) {
		out->stale_killed += killed;
		vpn_note(out, "teardown: stopped %d leftover client process(es)", killed);
	}
	if (ifname[0] && t->interface_existed) {
		vpn_note(out, "interface %s existed before the client started: "
				 "left as it was", ifname);
	} else if (ifname[0] && !wait_link_gone(ifname, 1.0)) {
		if (nl_link_delete(ifname) == 0 && wait_link_gone(ifname, 1.0)) {
			log_warn(site, "tunnel interface %s was left behind; deleted", ifname);
			vpn_note(out, "teardown: deleted leftover interface %s", ifname);
		} else {
			log_error(site, "cannot delete leftover interface %s: %s", ifname, strerror(errno));
			vpn_note(out, "teardown: interface %s left behind", ifname);
			rc = -1;
		}
	}
	if (nl_route_dump(&after) == 0) {
		for (size_t i = 0; i < after.n; i++) {
			char text[160];
			if (route_list_has(&t->routes_before, &after.items[i]))
				continue;
			route_format(&after.items[i], text, sizeof(text));
			if (nl_route_delete(&after.items[i]) == 0) {
				log_warn(site, "route %s added by the client was left behind; deleted", text);
				vpn_note(out, "teardown: deleted leftover route %s", text);
			} else {
				log_error(site, "cannot delete leftover route %s: %s", text, strerror(errno));
				vpn_note(out, "teardown: route %s left behind", text);
				rc = -1;
			}
		}
		route_list_free(&after);
	}
	if (resolv_read(resolv_path(t->env), &now) == 0) {
		if (!resolv_equal(&now, &t->resolv_before)) {
			if (resolv_restore(resolv_path(t->env), &t->resolv_before, how, sizeof(how)) == 0) {
				out->resolv_repaired++;
				log_warn(site, "client left %s modified: %s", resolv_path(t->env), how);
				vpn_note(out, "teardown: resolv.conf repaired");
			} else {
				log_error(site, "%s", how);
				vpn_note(out, "teardown: %s", how);
				rc = -1;
			}
		} else if (good_candidate(&now)) {
			char file[512];
			struct resolv_copy good;
			good_copy_path(t->env, file, sizeof(file));
			if (resolv_load_good(file, &good) == 0 && !resolv_equal(&good, &now))
				resolv_save_good(file, &now);
			resolv_copy_free(&good);
		}
		resolv_copy_free(&now);
	}
	return rc;
}

/* Isolation's teardown: out of the namespace, then every process left in
 * it killed, and it deleted with its veth, tunnel, routes and resolv.conf. */
static int leave_namespace(struct vpn_tunnel *t, struct vpn_result *out)
{
	int killed;

	if (site_netns_leave(t->ns) < 0) {
		log_error(t->site->name, "cannot return to the probe's namespace: %s",
			  strerror(errno));
		vpn_note(out, "teardown: cannot leave the site's namespace");
		return -1;
	}
	killed = site_netns_free(t->ns);
	t->ns = NULL;
	if (killed > 0) {
		out->stale_killed += killed;
		vpn_note(out, "teardown: killed %d process(es) left in the site's namespace",
				 killed);
	}
	return 0;
}

int vpn_down(struct vpn_tunnel *t, struct vpn_result *out)
{
	double t0 = monotonic_s();
	int rc;

	if (!t)
		return 0;
	if (t->session && t->ipsec_up && session_pid(t->session) > 0)
		ipsec_terminate(t, out);
	if (t->session) {
		int escalated = 0;
		session_stop(t->session, SIGINT, t->site->vpn.teardown_timeout_s, &escalated);
		if (escalated)
			vpn_note(out, "client ignored SIGINT for %g s; stopped with %s",
					 t->site->vpn.teardown_timeout_s,
					 escalated == 1 ? "SIGTERM" : "SIGKILL");
	}
	/* kernel-libipsec removes its TUN device when charon exits: one left
	 * means charon did not stop cleanly (the namespace still goes) */
	if (t->site->vpn.client == VPN_IPSEC && t->session && t->env->isolation &&
	    !wait_link_gone(IPSEC_TUN, 1.0))
		vpn_note(out, "teardown: %s left after charon stopped", IPSEC_TUN);
	if (t->profile.stop_command) {
		const char *argv[] = { "/bin/sh", "-c", t->profile.stop_command, NULL };
		char err[256];
		int status = proc_run(argv, t->site->vpn.teardown_timeout_s, err, sizeof(err));
		if (status != 0)
			vpn_note(out, "stop_command failed: %s",
					 status < 0 ? err : "non-zero exit status");
	}
	if (t->events_fd >= 0)
		close(t->events_fd);
	t->events_fd = -1;
	if (t->env->isolation)
		rc = t->ns ? leave_namespace(t, out) : 0;
	else
		rc = verify_and_repair(t, out);
	/* teardown ends when the host is verified clean, not at the client's exit */
	out->teardown_ms = (monotonic_s() - t0) * 1000.0;
	if (t->session)
		session_free(t->session);
	/* the host is verified (and repaired): nothing for a next start to undo */
	if (t->journal)
		journal_end(state_dir(t->env), t->site->name);
	profile_free(&t->profile);
	free(t->steps);
	ipsec_cleanup(t->ipsec_dir);
	explicit_bzero(t->password, sizeof(t->password));
	route_list_free(&t->routes_before);
	resolv_copy_free(&t->resolv_before);
	free(t);
	return rc;
}
