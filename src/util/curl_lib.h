/* SPDX-License-Identifier: MIT */
/* libcurl, loaded with dlopen on first use: libcurl and the TLS stacks it
 * pulls in are ~8 MB resident, so a probe that never alerts stays small.
 * One table of entry points per process (pthread_once), shared by the SMTP
 * and HTTP senders. */
#ifndef EPMON_UTIL_CURL_LIB_H
#define EPMON_UTIL_CURL_LIB_H

/* libcurl is called through pointers: no type-checking macros */
#define CURL_DISABLE_TYPECHECK
#include <curl/curl.h>

struct curl_lib {
	CURL *(*easy_init)(void);
	CURLcode (*easy_setopt)(CURL *, CURLoption, ...);
	CURLcode (*easy_perform)(CURL *);
	CURLcode (*easy_getinfo)(CURL *, CURLINFO, ...);
	void (*easy_cleanup)(CURL *);
	const char *(*easy_strerror)(CURLcode);
	struct curl_slist *(*slist_append)(struct curl_slist *, const char *);
	void (*slist_free_all)(struct curl_slist *);
};

/* The loaded library (curl_global_init done), or NULL with *why set to a
 * sentence saying why not. Thread-safe. */
const struct curl_lib *curl_lib(const char **why);

/* curl_global_cleanup, when loaded; only after every user has ended. */
void curl_lib_cleanup(void);

#endif
