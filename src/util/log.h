/* SPDX-License-Identifier: MIT */
/* Logging to stderr, journald-friendly: "<level> [site] message". */
#ifndef EPMON_UTIL_LOG_H
#define EPMON_UTIL_LOG_H

enum log_level { LOG_LVL_ERROR = 0, LOG_LVL_WARN, LOG_LVL_INFO, LOG_LVL_DEBUG };

/* verbosity: -1 quiet (errors only), 0 default (info), 1+ debug */
void log_init(int verbosity);
int log_enabled(enum log_level level);

void log_error(const char *site, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void log_warn(const char *site, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void log_info(const char *site, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void log_debug(const char *site, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
