/* SPDX-License-Identifier: MIT */
/* A site test's journal in isolation mode none: the host's routes before the
 * client started and the client's pid, on disk (state_directory) until the
 * teardown has verified the host. When epmon and its client are killed
 * mid-test, the next start finds the journal and undoes what the client
 * left: host routes it added (vpnc-script's route to the gateway), a default
 * route it replaced, vpnc-script's files of the dead client in /run/vpnc.
 * (With isolation the namespace goes away whole: no journal is needed.) */
#ifndef EPMON_VPN_JOURNAL_H
#define EPMON_VPN_JOURNAL_H

#include <sys/types.h>
#include "vpn/netlink.h"

/* Before the client starts: writes STATE_DIR/journal-SITE. 0, or -1
 * (logged; the test goes on without). */
int journal_begin(const char *state_dir, const char *site, const struct route_list *before);

/* Once the client runs: its pid goes into the journal. */
void journal_client(const char *state_dir, const char *site, pid_t pid);

/* After the teardown: the journal is removed. */
void journal_end(const char *state_dir, const char *site);

/* At start: undoes what the clients of journals left by an earlier epmon
 * left behind, logs each repair, removes the journals. Returns the number
 * of repairs. */
int journal_recover(const char *state_dir);

#endif
