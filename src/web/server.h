/* SPDX-License-Identifier: MIT */
/* The web process: libmicrohttpd parses untrusted requests in a process of
 * its own, forked by http.c, without root, without capabilities, chrooted
 * in an empty directory, with no_new_privs, holding no VPN or SMTP
 * password. It renders nothing: for each page it asks the root process,
 * which renders from the monitor, over a socketpair (the protocol below),
 * and caches the answer for the second it was rendered for. */
#ifndef EPMON_WEB_SERVER_H
#define EPMON_WEB_SERVER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Connections: a few client addresses must not be able to take them all
 * (a slowloris, a header line every few seconds, is never idle), so an
 * address gets a share, and a request has a deadline. An "address" is an
 * IPv4 address or an IPv6 /64 (one host commonly has a /64 to pick from). */
#define HTTP_MAX_CONNECTIONS 64     /* in total; more wait in the listen backlog */
#define HTTP_MAX_PER_ADDRESS 16     /* from one address; more are closed at accept */
#define HTTP_CROWDED 48             /* from this many open connections on, */
#define HTTP_CROWDED_PER_ADDRESS 4  /* an address holding this many gets no more */
#define HTTP_IDLE_TIMEOUT_S 10      /* a connection silent this long is closed */
#define HTTP_REQUEST_DEADLINE_S 10  /* a request not whole this long after its
				     * connection opened, or after the answer
				     * before it, is cut (shutdown) */
#define HTTP_CONNECTION_MEMORY (32 * 1024) /* request line + headers + buffers */
#define HTTP_PAGE_MAX (64u << 20)   /* largest rendered page */
#define HTTP_LIBRARY "libmicrohttpd.so.12"
/* GnuTLS's defaults without SSL 3.0, TLS 1.0 and 1.1 (RFC 8996) */
#define WEB_TLS_PRIORITIES "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2"

enum web_page { WEB_PAGE_METRICS, WEB_PAGE_STATUS, WEB_PAGE_HTML, WEB_PAGE_COUNT };

/* web process -> root: "page, rendered for now; I have generation G" */
struct web_ask {
	uint32_t page;              /* enum web_page; anything else is refused */
	uint32_t pad;
	int64_t now;                /* the wall-clock second to render for */
	uint64_t have_generation;   /* of the copy the web process has; 0: none */
	int64_t have_at;            /* the second that copy was rendered for */
};

/* root -> web process: a header, then len bytes of body unless unchanged */
struct web_answer {
	uint64_t generation;
	uint32_t unchanged;         /* 1: the web process's copy is current */
	uint32_t len;
};

/* root -> web process, once, at start: did it listen? */
struct web_started {
	int32_t ok;
	char error[256];
};

/* What the web process is started with (in memory: the root process read
 * the files; the web process wipes them when the server has them). */
struct web_settings {
	const char *listen;         /* checked "address:port" */
	char *cert, *key;           /* PEM, NULL without TLS */
	size_t cert_len, key_len;
	const char *username;       /* basic auth; NULL: none */
	char *password;
	uid_t uid;                  /* the user to run as when started as root */
	gid_t gid;
	const char *empty_dir;      /* its root: an empty directory */
};

/* libmicrohttpd is loaded (dlopen) by the root process before the first
 * fork, once. 0, or -1 with err set. */
int web_load(char *err, size_t errlen);

/* Loads cert and key (PEM, NUL-terminated) as the server would, without
 * listening: in the root process, before it replaces a running server
 * with one that could not start. 0, or -1 with GnuTLS's reason in why. */
int web_tls_check(const char *cert, const char *key, char *why, size_t whylen);

/* In the forked child: drops everything, serves, never returns. sock is
 * its end of the socketpair; parent the root process's pid. */
void web_process_main(int sock, pid_t parent, const struct web_settings *ws)
	__attribute__((noreturn));


#endif
