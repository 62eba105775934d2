#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The lab's WireGuard peer is down (lab.sh wg-stop: wireguard-go stopped, its address still
# answers ping, its UDP port closed): a vpn_login failure "no handshake from ENDPOINT in 3 s
# (wrong key, or UDP blocked)" at login_timeout (3 s), nothing left behind. After
# lab.sh wg-start the same config logs in again (OK).
set -u
E2E_PREFIX=${E2E_PREFIX:-wgdn$$}
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"

wg_test_setup
SITE=wgdown$$
write_config "$TMP/config.yml" <<YAML
$(lab_wireguard_site "$SITE" login_timeout=3)
YAML
probe_snapshot "$TMP"

lab_cmd wg-stop
t0=$(now_ms)
probe_epmon down -v once -c "$TMP/config.yml"
wall=$(($(now_ms) - t0))
assert_eq 1 "$EPMON_RC" "peer down: exit status of once"
CSV=$(results_file "$TMP/results")
assert_eq vpn_login "$(csv_get "$CSV" "$SITE" failed_step)" "peer down: failed_step"
assert_positive "$(csv_get "$CSV" "$SITE" external_rtt_ms)" "peer down: external_rtt_ms (the host is up)"
assert_fields_empty "$CSV" "$SITE" login_ms internal_rtt_ms
assert_match "^failed in connect after [0-9.]+ m?s: no handshake from $LAB_WG_ENDPOINT in 3 s \(wrong key, or UDP blocked\)$" \
	"$(csv_get "$CSV" "$SITE" detail)" "peer down: detail"
[ "$wall" -lt 6000 ] || fail "peer down: the cycle took $wall ms (login_timeout 3 s)"
e2e_log "ok: peer down: failed with words in a cycle of $wall ms"
probe_assert_clean "$TMP"

lab_cmd wg-start
probe_epmon up -v once -c "$TMP/config.yml"
assert_eq 0 "$EPMON_RC" "peer back: exit status of once"
assert_eq OK "$(csv_get "$CSV" "$SITE" result)" "peer back: result"
assert_positive "$(csv_get "$CSV" "$SITE" login_ms)" "peer back: login_ms"
assert_eq 2 "$(csv_count "$TMP/results")" "rows written"
probe_assert_clean "$TMP"
e2e_log "PASS"
