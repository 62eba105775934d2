#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# A good WireGuard login against the lab's wireguard-go peer (lab.sh up 1 --wireguard;
# isolation netns, the default): epmon starts wireguard-go, configures it over its control
# socket (in the client's private tmpfs on /var/run/wireguard, never on the host), and the
# login is the first completed handshake plus the route to internal_ip through epmon0.
# `epmon once` writes one OK row with every figure (login_ms > 0, the internal ping through
# the tunnel), the -v output says which implementation ran, the peer saw the handshake,
# and the probe is as it was.
set -u
E2E_PREFIX=${E2E_PREFIX:-wgok$$}
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"

wg_test_setup
SITE=wgok$$
write_config "$TMP/config.yml" <<YAML
$(lab_wireguard_site "$SITE")
YAML
probe_snapshot "$TMP"
before=$(wg_peer_handshake "$LAB_WG_CLIENT1_KEY")

probe_epmon once -v once -c "$TMP/config.yml"
assert_eq 0 "$EPMON_RC" "exit status of once (all OK)"
assert_match "^$SITE +OK " "$(grep "^$SITE " "$TMP/once.out")" "table row"

CSV=$(results_file "$TMP/results")
assert_eq 1 "$(csv_count "$TMP/results")" "rows written"
get() { csv_get "$CSV" "$SITE" "$1"; }
assert_eq OK "$(get result)" "result"
assert_eq "" "$(get failed_step)" "failed_step"
assert_positive "$(get external_rtt_ms)" "external_rtt_ms"
assert_positive "$(get login_ms)" "login_ms"
assert_near 5000 "$(get login_ms)" 5000 "login_ms (0..10 s)"
assert_positive "$(get internal_rtt_ms)" "internal_rtt_ms"
assert_eq 0.0 "$(get internal_loss_pct)" "internal_loss_pct"
assert_positive "$(get teardown_ms)" "teardown_ms"
assert_eq "" "$(get detail)" "detail"
e2e_log "login_ms $(get login_ms), internal_rtt_ms $(get internal_rtt_ms), teardown_ms $(get teardown_ms)"

grep -q 'WireGuard implementation: wireguard-go' "$TMP/once.err" ||
	fail "the -v output does not say which WireGuard implementation ran"
grep -q "handshake with $LAB_WG_ENDPOINT completed" "$TMP/once.err" ||
	fail "no completed handshake in the -v output"
grep -q 'tunnel up on epmon0' "$TMP/once.err" || fail "no 'tunnel up on epmon0' in the log"
after=$(wg_peer_handshake "$LAB_WG_CLIENT1_KEY")
[ "$after" -gt 0 ] && [ "$after" -ge "$before" ] ||
	fail "the peer saw no handshake from client1 (latest-handshake $before -> $after)"
e2e_log "ok: the peer saw client1's handshake ($after)"
wg_assert_no_socket epmon0
probe_assert_clean "$TMP"
e2e_log "PASS"
