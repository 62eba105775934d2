#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The lab's strongSwan responder is down (lab.sh ike-stop: charon stopped, its address still
# answers ping, UDP 500 closed): a vpn_login failure "gateway unreachable: no IKE response
# from GATEWAY in 3 s (...)" at login_timeout (3 s), nothing left behind. After
# lab.sh ike-start the same config logs in again (OK).
set -u
E2E_PREFIX=${E2E_PREFIX:-ikdn$$}
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"

ike_test_setup
SITE=ikdown$$
write_config "$TMP/config.yml" <<YAML
$(lab_ipsec_site "$SITE" login_timeout=3)
YAML
probe_snapshot "$TMP"

lab_cmd ike-stop
t0=$(now_ms)
probe_epmon down -v once -c "$TMP/config.yml"
wall=$(($(now_ms) - t0))
assert_eq 1 "$EPMON_RC" "responder down: exit status of once"
CSV=$(results_file "$TMP/results")
assert_eq vpn_login "$(csv_get "$CSV" "$SITE" failed_step)" "responder down: failed_step"
assert_positive "$(csv_get "$CSV" "$SITE" external_rtt_ms)" "responder down: external_rtt_ms (the host is up)"
assert_fields_empty "$CSV" "$SITE" login_ms internal_rtt_ms
assert_match "^failed in connect after [0-9.]+ m?s: gateway unreachable: no IKE response from $LAB_IKE_IP in 3 s \(responder down, or UDP 500/4500 blocked\)$" \
	"$(csv_get "$CSV" "$SITE" detail)" "responder down: detail"
[ "$wall" -lt 8000 ] || fail "responder down: the cycle took $wall ms (login_timeout 3 s)"
e2e_log "ok: responder down: failed with words in a cycle of $wall ms"
probe_assert_clean "$TMP"

lab_cmd ike-start
probe_epmon up -v once -c "$TMP/config.yml"
assert_eq 0 "$EPMON_RC" "responder back: exit status of once"
assert_eq OK "$(csv_get "$CSV" "$SITE" result)" "responder back: result"
assert_positive "$(csv_get "$CSV" "$SITE" login_ms)" "responder back: login_ms"
assert_eq 2 "$(csv_count "$TMP/results")" "rows written"
probe_assert_clean "$TMP"
e2e_log "PASS"
