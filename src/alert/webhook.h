/* SPDX-License-Identifier: MIT */
/* Webhooks: one POST per alert event (DOWN, REMINDER, UP), the body in
 * epmon's JSON or in a form Slack or Teams shows, optionally signed with
 * HMAC-SHA256 (header X-Epmon-Signature: sha256=HEX of the body). Bodies
 * are spooled (files NAME.json in STATE_DIR/webhooks/ID) and delivered by a sender
 * thread (sender.h) like mail. */
#ifndef EPMON_ALERT_WEBHOOK_H
#define EPMON_ALERT_WEBHOOK_H

#include <stddef.h>
#include "alert/alert.h"
#include "config/config.h"
#include "alert/sender.h"

#define WEBHOOK_SIGNATURE_HEADER "X-Epmon-Signature"

/* The body for event ev of site (may be NULL) seen from probe; malloc'd,
 * its length in *len. NULL when out of memory. */
char *webhook_compose(const struct alert_event *ev, const struct site *site,
		      enum webhook_format format, const char *probe, size_t *len);

/* STATE_DIR/webhooks/ID: ID is a hash of the URL, so a webhook keeps its
 * queue when others are added or removed. */
void webhook_spool_dir(const char *state_dir, const char *url, char *buf, size_t len);

/* The channel: settings are a struct webhook_settings. */
extern const struct sender_ops webhook_sender_ops;

#endif
