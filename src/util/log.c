/* SPDX-License-Identifier: MIT */
#include "util/log.h"
#include "util/utf8.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* The one piece of process-wide state outside main.c: set once at start-up. */
static int log_threshold = LOG_LVL_INFO;
static int log_tty;

void log_init(int verbosity)
{
	if (verbosity < 0)
		log_threshold = LOG_LVL_ERROR;
	else if (verbosity == 0)
		log_threshold = LOG_LVL_INFO;
	else
		log_threshold = LOG_LVL_DEBUG;
	log_tty = isatty(STDERR_FILENO);
}

int log_enabled(enum log_level level)
{
	return (int)level <= log_threshold;
}

static void log_emit(enum log_level level, const char *site, const char *fmt,
		     va_list ap)
{
	static const char *const names[] = { "error", "warning", "info", "debug" };
	/* sd-daemon(3) priority prefixes: journald maps them to levels */
	static const char *const prio[] = { "<3>", "<4>", "<6>", "<7>" };
	char line[2048];
	size_t n = 0;

	if (!log_enabled(level))
		return;
	if (log_tty) {
		struct timespec ts;
		struct tm tm;
		clock_gettime(CLOCK_REALTIME, &ts);
		localtime_r(&ts.tv_sec, &tm);
		n += strftime(line, sizeof(line), "%H:%M:%S ", &tm);
	} else {
		n += (size_t)snprintf(line, sizeof(line), "%s", prio[level]);
	}
	n += (size_t)snprintf(line + n, sizeof(line) - n, "%s: ", names[level]);
	if (site && n < sizeof(line))
		n += (size_t)snprintf(line + n, sizeof(line) - n, "[%s] ", site);
	size_t start = n < sizeof(line) ? n : sizeof(line) - 1;
	if (n < sizeof(line))
		n += (size_t)vsnprintf(line + n, sizeof(line) - n, fmt, ap);
	if (n >= sizeof(line) - 1)
		n = sizeof(line) - 2;
	line[n] = '\0';
	if (start > n)
		start = n;
	/* messages quote clients and servers: no escape sequence or line
	 * break of theirs reaches a terminal or the journal (same length) */
	utf8_clean_line(line + start);
	line[n++] = '\n';
	/* one write per line so concurrent writers never interleave mid-line */
	ssize_t w = write(STDERR_FILENO, line, n);
	(void)w;
}

#define LOG_FN(name, level)                                       \
	void name(const char *site, const char *fmt, ...)         \
	{                                                         \
		va_list ap;                                       \
		va_start(ap, fmt);                                \
		log_emit(level, site, fmt, ap);                   \
		va_end(ap);                                       \
	}

LOG_FN(log_error, LOG_LVL_ERROR)
LOG_FN(log_warn, LOG_LVL_WARN)
LOG_FN(log_info, LOG_LVL_INFO)
LOG_FN(log_debug, LOG_LVL_DEBUG)
