/* SPDX-License-Identifier: MIT */
/* HMAC-SHA256 through libcrypto (see hmac.h). */
#include "util/hmac.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#define CRYPTO_LIBRARY "libcrypto.so.3"

/* Process-wide like the library itself: written once under pthread_once. */
static struct {
	const void *(*sha256)(void);
	unsigned char *(*hmac)(const void *md, const void *key, int keylen,
			       const unsigned char *d, size_t n, unsigned char *md_out,
			       unsigned int *md_len);
	char error[256];
} crypto;
static pthread_once_t crypto_once = PTHREAD_ONCE_INIT;

static void load(void)
{
	void *lib = dlopen(CRYPTO_LIBRARY, RTLD_NOW | RTLD_LOCAL);
	void *md, *mac;

	if (!lib) {
		snprintf(crypto.error, sizeof(crypto.error), "cannot load %s: %s "
			 "(install libssl3)", CRYPTO_LIBRARY, dlerror());
		return;
	}
	md = dlsym(lib, "EVP_sha256");
	mac = dlsym(lib, "HMAC");
	if (!md || !mac) {
		snprintf(crypto.error, sizeof(crypto.error), "%s has no EVP_sha256 "
			 "or HMAC", CRYPTO_LIBRARY);
		dlclose(lib);
		return;
	}
	/* POSIX: function pointers travel through void * from dlsym */
	memcpy(&crypto.sha256, &md, sizeof(md));
	memcpy(&crypto.hmac, &mac, sizeof(mac));
}

int hmac_sha256_hex(const void *key, size_t keylen, const void *msg, size_t len,
		    char hex[65], const char **why)
{
	unsigned char mac[32];
	unsigned int maclen = 0;

	pthread_once(&crypto_once, load);
	if (!crypto.hmac) {
		*why = crypto.error;
		return -1;
	}
	if (!crypto.hmac(crypto.sha256(), key, (int)keylen, msg, len, mac, &maclen) ||
	    maclen != sizeof(mac)) {
		*why = "HMAC-SHA256 failed in " CRYPTO_LIBRARY;
		return -1;
	}
	for (size_t i = 0; i < sizeof(mac); i++)
		snprintf(hex + 2 * i, 3, "%02x", mac[i]);
	return 0;
}
