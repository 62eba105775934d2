/* SPDX-License-Identifier: MIT */
/* libcurl through dlopen (see curl_lib.h). */
#include "util/curl_lib.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#define CURL_LIBRARY "libcurl.so.4"

/* A loaded library is process-wide by nature: one table, written once
 * under pthread_once and read-only after. */
static struct {
	struct curl_lib fn;
	void *lib;
	void (*global_cleanup)(void);
	char error[256];
} loaded;
static pthread_once_t load_once = PTHREAD_ONCE_INIT;

static void load(void)
{
	static const char *const names[] = {
		"curl_easy_init", "curl_easy_setopt", "curl_easy_perform",
		"curl_easy_getinfo", "curl_easy_cleanup", "curl_easy_strerror",
		"curl_slist_append", "curl_slist_free_all", "curl_global_init",
		"curl_global_cleanup",
	};
	enum { N = sizeof(names) / sizeof(names[0]) };
	void *lib = dlopen(CURL_LIBRARY, RTLD_NOW | RTLD_LOCAL), *f[N];
	CURLcode (*global_init)(long);

	if (!lib) {
		snprintf(loaded.error, sizeof(loaded.error), "cannot load %s: %s "
			 "(install libcurl4)", CURL_LIBRARY, dlerror());
		return;
	}
	for (size_t i = 0; i < N; i++) {
		f[i] = dlsym(lib, names[i]);
		if (!f[i]) {
			snprintf(loaded.error, sizeof(loaded.error), "%s has no %s",
				 CURL_LIBRARY, names[i]);
			dlclose(lib);
			return;
		}
	}
	/* POSIX: function pointers travel through void * from dlsym */
	memcpy(&loaded.fn.easy_init, &f[0], sizeof(f[0]));
	memcpy(&loaded.fn.easy_setopt, &f[1], sizeof(f[1]));
	memcpy(&loaded.fn.easy_perform, &f[2], sizeof(f[2]));
	memcpy(&loaded.fn.easy_getinfo, &f[3], sizeof(f[3]));
	memcpy(&loaded.fn.easy_cleanup, &f[4], sizeof(f[4]));
	memcpy(&loaded.fn.easy_strerror, &f[5], sizeof(f[5]));
	memcpy(&loaded.fn.slist_append, &f[6], sizeof(f[6]));
	memcpy(&loaded.fn.slist_free_all, &f[7], sizeof(f[7]));
	memcpy(&global_init, &f[8], sizeof(f[8]));
	memcpy(&loaded.global_cleanup, &f[9], sizeof(f[9]));
	if (global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		snprintf(loaded.error, sizeof(loaded.error), "curl_global_init failed");
		dlclose(lib);
		return;
	}
	loaded.lib = lib;
}

const struct curl_lib *curl_lib(const char **why)
{
	pthread_once(&load_once, load);
	if (!loaded.lib) {
		*why = loaded.error;
		return NULL;
	}
	return &loaded.fn;
}

void curl_lib_cleanup(void)
{
	if (loaded.lib)
		loaded.global_cleanup();
}
