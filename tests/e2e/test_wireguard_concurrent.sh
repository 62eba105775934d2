#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Two WireGuard sites at concurrency 2 (lab.sh up 1 --wireguard; isolation netns), both on
# the default interface name epmon0 and both served by the same wireguard-go peer: client1,
# and client2 with a preshared key. Each site's wireguard-go has its control socket
# (/var/run/wireguard/epmon0.sock) in its own private tmpfs, so the two never meet; both
# tunnels are up at the same time (8 pings each), both rows OK, nothing left behind.
set -u
E2E_PREFIX=${E2E_PREFIX:-wgcc$$}
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"

wg_test_setup
ONE=wgone$$ TWO=wgtwo$$
E2E_CONFIG_EXTRA="concurrency: 2"
write_config "$TMP/config.yml" 60 "{count: 8, interval: 0.1, timeout: 1}" <<YAML
$(lab_wireguard_site "$ONE")
$(lab_wireguard_site "$TWO" private_key_file="$LAB_WG_CLIENT2_KEY" preshared_key_file="$LAB_WG_CLIENT2_PSK" address="$LAB_WG_CLIENT2_IP/32")
YAML
probe_snapshot "$TMP"

probe_epmon once -v once -c "$TMP/config.yml"
assert_eq 0 "$EPMON_RC" "exit status of once (both OK)"
CSV=$(results_file "$TMP/results")
assert_eq 2 "$(csv_count "$TMP/results")" "rows written"
for site in $ONE $TWO; do
	assert_eq OK "$(csv_get "$CSV" "$site" result)" "$site: result"
	assert_positive "$(csv_get "$CSV" "$site" login_ms)" "$site: login_ms"
	assert_positive "$(csv_get "$CSV" "$site" internal_rtt_ms)" "$site: internal_rtt_ms"
	assert_eq 0.0 "$(csv_get "$CSV" "$site" internal_loss_pct)" "$site: internal_loss_pct"
	grep -q "\[$site\] tunnel up on epmon0" "$TMP/once.err" || fail "$site: no 'tunnel up on epmon0'"
done
# at the same time: both tunnels were up before either client was stopped
first_stop=$(grep -n 'client stopped in' "$TMP/once.err" | head -1 | cut -d: -f1)
for site in $ONE $TWO; do
	up=$(grep -n "\[$site\] tunnel up on epmon0" "$TMP/once.err" | cut -d: -f1)
	[ -n "$first_stop" ] && [ "$up" -lt "$first_stop" ] ||
		fail "$site: its tunnel came up after the other site's client stopped (not concurrent)"
done
e2e_log "ok: both tunnels on epmon0 were up at the same time"
[ "$(wg_peer_handshake "$LAB_WG_CLIENT1_KEY")" -gt 0 ] || fail "the peer saw no handshake of client1"
[ "$(wg_peer_handshake "$LAB_WG_CLIENT2_KEY")" -gt 0 ] || fail "the peer saw no handshake of client2"
wg_assert_no_socket epmon0
probe_assert_clean "$TMP"
e2e_log "PASS"
