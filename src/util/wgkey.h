/* SPDX-License-Identifier: MIT */
/* WireGuard keys as users write them: base64 of 32 bytes (`wg genkey`). */
#ifndef EPMON_UTIL_WGKEY_H
#define EPMON_UTIL_WGKEY_H

#include <stddef.h>

#define WGKEY_LEN 32

/* Decodes one key: exactly 44 base64 characters ending in '=', optional
 * trailing spaces or a newline. 0, or -1 when it is not a key. */
int wgkey_decode(const char *text, unsigned char key[WGKEY_LEN]);

/* The first line of a key file, decoded. 0; -1 with errno (the file) or
 * -2 (not a key). The bytes read are wiped. */
int wgkey_read_file(const char *path, unsigned char key[WGKEY_LEN]);

/* 64 lowercase hex digits and a NUL, as the UAPI wants keys. */
void wgkey_hex(const unsigned char key[WGKEY_LEN], char hex[2 * WGKEY_LEN + 1]);

#endif
