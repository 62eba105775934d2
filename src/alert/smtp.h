/* SPDX-License-Identifier: MIT */
/* Sending one message through the configured SMTP server with libcurl:
 * security none/starttls/tls, AUTH, CA file, connect and overall timeouts.
 * The password is read at each send and never printed: AUTH exchanges are
 * masked in the transcript. */
#ifndef EPMON_ALERT_SMTP_H
#define EPMON_ALERT_SMTP_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include "config/config.h"
#include "alert/sender.h"

enum smtp_status {
	SMTP_SENT = 0,      /* the server accepted the message (250) */
	SMTP_TEMPORARY,     /* no connection, TLS error, timeout, 4xx...: retry later */
	SMTP_AUTH_FAILED,   /* the server refused the credentials: retry later */
	SMTP_REJECTED,      /* 5xx to MAIL, RCPT or DATA: this message never goes */
	SMTP_ABORTED,       /* *stop became non-zero */
};

const char *smtp_status_name(enum smtp_status s);

struct smtp_outcome {
	enum smtp_status status;
	int code;               /* the server's last reply code; 0: none */
	char reply[512];        /* the server's last reply line */
	char error[768];        /* one line for the log when not SENT */
};

/* libcurl's global state: call once from the main thread before any
 * smtp_send (and before threads start), and the cleanup after they end. */
int smtp_global_init(void);
void smtp_global_cleanup(void);

/* Sends msg (len bytes of RFC 5322 text, CRLF line ends) from s->sender to
 * every s->recipients. ehlo is the name given in EHLO. stop (may be NULL)
 * aborts the conversation within about a second when it becomes non-zero.
 * transcript (may be NULL) receives the conversation, one line per command
 * or reply ("> " sent, "< " received, "* " libcurl's notes). */
enum smtp_status smtp_send(const struct smtp_settings *s, const char *ehlo,
			   const char *msg, size_t len, const atomic_int *stop,
			   FILE *transcript, struct smtp_outcome *out);

/* The SMTP channel of a sender thread (sender.h): settings are a
 * struct smtp_channel; its EHLO name is its host name. */
struct smtp_channel {
	struct smtp_settings smtp;
	char hostname[256];
};
extern const struct sender_ops smtp_sender_ops;

#endif
