/* SPDX-License-Identifier: MIT */
/* The web process's seccomp filter: once its server is listening and it
 * has dropped root, it may only do what serving a request needs. */
#ifndef EPMON_WEB_SANDBOX_H
#define EPMON_WEB_SANDBOX_H

#include <stddef.h>

/* Installs the filter in every thread of the calling process. A system
 * call outside the list ends the process with SIGSYS, after a line on
 * stderr that names the call; opening a file fails with EACCES. 0, or -1
 * with why set (the kernel or libseccomp refused). */
int web_sandbox(char *why, size_t whylen);

#endif
