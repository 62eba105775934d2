/* SPDX-License-Identifier: MIT */
/* Alertmanager (API v2): after each cycle the probe's whole view, one
 * alert per site that is DOWN (alertname EpmonSiteDown) plus the outages
 * resolved in the last ALERTMANAGER_RESOLVED_S with their endsAt, POSTed to
 * /api/v2/alerts. Alertmanager expects exactly that: alerts re-sent while
 * they last, endsAt a little ahead so that a silent probe's alerts expire.
 * The document is spooled (STATE_DIR/alertmanager, each one replacing the
 * last) and posted by a sender thread (sender.h), to the urls in order
 * until one accepts it. */
#ifndef EPMON_ALERT_ALERTMANAGER_H
#define EPMON_ALERT_ALERTMANAGER_H

#include <stddef.h>
#include <time.h>
#include "alert/alert.h"
#include "config/config.h"
#include "alert/sender.h"

#define ALERTMANAGER_RESOLVED_S (15 * 60)   /* resolved alerts re-sent this long */

/* The document for `now`, malloc'd (length in *len), or NULL when there is
 * nothing to say (no alert firing or recently resolved) or out of memory
 * (*len is then 1). */
char *alertmanager_compose(const struct alert_state *st, const struct config *cfg,
			   time_t now, size_t *len);

/* The channel's settings (labels are in the document). The strings are
 * the caller's: the sender copies them. */
struct am_channel {
	char **urls;
	size_t nurls;
	double timeout_s;
};
extern const struct sender_ops alertmanager_sender_ops;

#endif
