/* SPDX-License-Identifier: MIT */
/* IKEv2 through strongSwan's charon with kernel-libipsec (userspace ESP over
 * a TUN device, UDP-encapsulated), configured with swanctl over VICI. */
#include "vpn/ipsec.h"

#include <errno.h>
#include <fcntl.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/fsutil.h"
#include "vpn/proc.h"

/* Plugins charon loads: no modular loading from /etc, so a host's
 * strongswan.d never changes what a site test does. kernel-libipsec before
 * kernel-netlink: it provides the IPsec part (the kernel has no usable
 * ESP/XFRM here), kernel-netlink the addresses and routes. */
#define CHARON_PLUGINS "random nonce openssl pem pkcs1 pkcs8 x509 pubkey constraints " \
	"revocation sha1 sha2 hmac kdf aes gcm kernel-libipsec kernel-netlink " \
	"socket-default vici eap-identity eap-mschapv2 eap-md5"

static const char strongswan_conf[] =
	"# written by epmon for one site test; charon sees this directory as /run\n"
	"charon {\n"
	"    load = " CHARON_PLUGINS "\n"
	/* routes go into the main table (not 220 behind a rule): the route
	 * check then sees them as any other route */
	"    routing_table = 254\n"
	"    routing_table_prio = 0\n"
	"    install_dns = no\n"
	"    plugins {\n"
	"        vici { socket = unix:///run/charon.vici }\n"
	"    }\n"
	"    filelog {\n"
	"        stderr { default = 1 }\n"
	"    }\n"
	"}\n"
	"swanctl {\n"
	"    load = pem pkcs1 pkcs8 x509 openssl\n"
	"}\n";

static int write_file(const char *dir, const char *name, mode_t mode, const char *text)
{
	char path[512];
	int fd, rc = 0;
	size_t len = strlen(text);

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
	if (fd < 0)
		return -1;
	for (size_t off = 0; off < len;) {
		ssize_t w = write(fd, text + off, len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			rc = -1;
			break;
		}
		off += (size_t)w;
	}
	if (close(fd) < 0)
		rc = -1;
	return rc;
}

static void base64(const char *in, char *out, size_t outlen)
{
	static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t n = strlen(in), o = 0;

	for (size_t i = 0; i < n && o + 5 < outlen; i += 3) {
		unsigned v = (unsigned char)in[i] << 16;
		if (i + 1 < n)
			v |= (unsigned char)in[i + 1] << 8;
		if (i + 2 < n)
			v |= (unsigned char)in[i + 2];
		out[o++] = tab[(v >> 18) & 63];
		out[o++] = tab[(v >> 12) & 63];
		out[o++] = i + 1 < n ? tab[(v >> 6) & 63] : '=';
		out[o++] = i + 2 < n ? tab[v & 63] : '=';
	}
	out[o] = 0;
}

/* The inline remote-access connection. `auth = eap`: the gateway picks the
 * EAP method (EAP-MSCHAPv2 or EAP-MD5, both loaded), after it has proven its
 * certificate. remote_ts 0.0.0.0/0: the gateway
 * narrows it to what it offers (as every road-warrior client does); the
 * route check then proves internal_ip is among it. The secret is base64
 * ("0s" prefix), so no character of the password needs quoting. */
static int write_inline(const char *dir, const struct site *site, const char *password)
{
	const struct vpn_settings *v = &site->vpn;
	char b64[1400], *text = NULL;
	int rc;

	base64(password ? password : "", b64, sizeof(b64));
	rc = asprintf(&text,
		"connections {\n"
		"    " IPSEC_NAME " {\n"
		"        version = 2\n"
		"        remote_addrs = %s\n"
		"        vips = %s\n"
		"        encap = yes\n"
		"        local {\n"
		"            auth = eap\n"
		"            eap_id = %s\n"
		"        }\n"
		"        remote {\n"
		"            auth = pubkey\n"
		"            id = %s\n"
		"            cacerts = %s\n"
		"        }\n"
		"        children {\n"
		"            " IPSEC_NAME " {\n"
		"                remote_ts = %s\n"
		"            }\n"
		"        }\n"
		"    }\n"
		"}\n"
		"secrets {\n"
		"    eap-" IPSEC_NAME " {\n"
		"        id = %s\n"
		"        secret = 0s%s\n"
		"    }\n"
		"}\n",
		v->gateway, strchr(v->gateway, ':') ? "::" : "0.0.0.0", v->username,
		v->remote_id ? v->remote_id : v->gateway, v->ca_file,
		strchr(v->gateway, ':') ? "::/0" : "0.0.0.0/0", v->username, b64);
	explicit_bzero(b64, sizeof(b64));
	if (rc < 0)
		return -1;
	rc = write_file(dir, "swanctl.conf", 0600, text);
	explicit_bzero(text, strlen(text));
	free(text);
	return rc;
}

int ipsec_prepare(const struct site *site, const char *password, char *dir, size_t len,
		  char *err, size_t errlen)
{
	if (private_dir_new(EPMON_RUN_DIR, site->name, dir, len) < 0) {
		snprintf(err, errlen, "cannot create charon's directory in %s: %s",
			 EPMON_RUN_DIR, strerror(errno));
		dir[0] = 0;
		return -1;
	}
	if (write_file(dir, "strongswan.conf", 0644, strongswan_conf) < 0 ||
	    (!site->vpn.swanctl_file && write_inline(dir, site, password) < 0)) {
		snprintf(err, errlen, "cannot write charon's configuration in %s: %s", dir,
			 strerror(errno));
		return -1;
	}
	return 0;
}

void ipsec_cleanup(const char *dir)
{
	static const char *const names[] = { "swanctl.conf", "strongswan.conf",
		"charon.pid", "charon.vici" };
	char path[512];

	if (!dir[0])
		return;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		if (i == 0) {
			/* the secret: overwritten before it goes */
			struct stat st;
			int fd = open(path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
			if (fd >= 0 && fstat(fd, &st) == 0) {
				char zero[256] = { 0 };
				for (off_t o = 0; o < st.st_size; o += (off_t)sizeof(zero))
					if (write(fd, zero, sizeof(zero)) < 0)
						break;
			}
			if (fd >= 0)
				close(fd);
		}
		unlink(path);
	}
	rmdir(dir);
}

pid_t ipsec_swanctl(const char *dir, const char *const *args)
{
	char uri[600], conf[560], swanctl[512];
	const char *argv[24], *envp[16];
	size_t n = 0, e = 0;
	pid_t pid;

	if (!exec_find("swanctl", swanctl, sizeof(swanctl))) {
		errno = ENOENT;
		return -1;
	}
	snprintf(uri, sizeof(uri), "unix://%s/charon.vici", dir);
	snprintf(conf, sizeof(conf), "STRONGSWAN_CONF=%s/strongswan.conf", dir);
	argv[n++] = swanctl;
	for (; *args && n < 20; args++)
		argv[n++] = *args;
	argv[n++] = "--uri";
	argv[n++] = uri;
	argv[n] = NULL;
	for (; exec_clean_env[e] && e < 14; e++)
		envp[e] = exec_clean_env[e];
	envp[e++] = conf;
	envp[e] = NULL;
	pid = fork();
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR);
		if (null >= 0) {
			dup2(null, 0);
			dup2(null, 1);
			dup2(null, 2);
		}
		execve(swanctl, (char *const *)argv, (char *const *)envp);
		_exit(127);
	}
	return pid;
}

const char *ipsec_connection(const struct site *site)
{
	return site->vpn.swanctl_file ? site->vpn.connection : IPSEC_NAME;
}

const char *ipsec_child(const struct site *site)
{
	if (!site->vpn.swanctl_file)
		return IPSEC_NAME;
	return site->vpn.child ? site->vpn.child : site->vpn.connection;
}

/* charon 5.9 log lines (filelog, level 1) and what they mean. */
static const struct { const char *re, *words; } failures[] = {
	{ "EAP-MS-CHAPv2 failed with error [A-Z_]+|EAP method EAP_[A-Z0-9]+ failed|"
	  "received EAP_FAILURE|received AUTHENTICATION_FAILED notify",
	  "bad credentials" },
	{ "no trusted .* public key found|certificate .* not trusted|"
	  "constraint check failed|no issuer certificate found|"
	  "signature validation failed", "certificate not trusted" },
	{ "NO_PROPOSAL_CHOSEN|no acceptable proposal|TS_UNACCEPTABLE",
	  "proposal mismatch" },
	{ "giving up after [0-9]+ retransmits|unable to resolve|"
	  "error writing to socket", "gateway unreachable" },
};

const char *ipsec_failure_words(const char *tail, char *line, size_t len)
{
	for (size_t i = 0; i < sizeof(failures) / sizeof(failures[0]); i++) {
		regex_t re;
		regmatch_t m;
		if (regcomp(&re, failures[i].re, REG_EXTENDED | REG_NEWLINE) != 0)
			continue;
		int hit = regexec(&re, tail, 1, &m, 0) == 0;
		regfree(&re);
		if (!hit)
			continue;
		const char *s = tail + m.rm_so, *end = tail + m.rm_eo;
		while (s > tail && s[-1] != '\n' && s[-1] != '\r')
			s--;
		end += strcspn(end, "\r\n");
		/* charon's "14[IKE] " (thread and subsystem) says nothing to a reader */
		const char *b = s + strspn(s, "0123456789");
		if (b > s && *b == '[' && (b = strstr(b, "] ")) && b < end)
			s = b + 2;
		snprintf(line, len, "%.*s", (int)(end - s), s);
		return failures[i].words;
	}
	return NULL;
}
