/* SPDX-License-Identifier: MIT */
/* Alert mails as RFC 5322 messages: headers (Date, Message-ID, From, To,
 * Subject, MIME UTF-8) and a plain-text UTF-8 body, CRLF line ends, ready
 * for SMTP. One mail per site and event: DOWN, REMINDER, UP. */
#ifndef EPMON_ALERT_MAIL_H
#define EPMON_ALERT_MAIL_H

#include <stddef.h>
#include <time.h>
#include "alert/alert.h"
#include "config/config.h"

#define MAIL_ID_MAX 192 /* Message-ID with its <>, NUL included */

/* The subject of ev, UTF-8, before header encoding:
 *   [epmon] DOWN paris: vpn_login failed 2x (login failed: bad credentials)
 *   [epmon] STILL DOWN paris after 4 h: vpn_login failed 52x (...)
 *   [epmon] UP paris after 35 min */
void mail_subject(const struct alert_event *ev, char *buf, size_t len);

/* The whole message of ev. `site` is the site's config (NULL: unknown, the
 * gateway line is left out); hostname is the probe's; now goes in Date:.
 * The Message-ID (with <>) is copied to msgid (MAIL_ID_MAX bytes). Returns
 * malloc'd NUL-terminated text (length in *len), NULL when out of memory. */
char *mail_compose(const struct alert_event *ev, const struct site *site,
		   const struct smtp_settings *smtp, const char *hostname,
		   time_t now, char *msgid, size_t *len);

/* The mail of `epmon test-email`. */
char *mail_compose_test(const struct smtp_settings *smtp, const char *hostname,
			time_t now, char *msgid, size_t *len);

/* "45 s", "35 min", "2 h 5 min", "3 d 4 h" (rounded). */
void mail_duration(double seconds, char *buf, size_t len);

/* The bare address of "Name <a@b>" or "a@b", for MAIL FROM / RCPT TO. */
void mail_address(const char *spec, char *buf, size_t len);

/* hostname reduced to [A-Za-z0-9.-] (for Message-ID and EHLO); "localhost"
 * when nothing is left. */
void mail_domain(const char *hostname, char *buf, size_t len);

#endif
