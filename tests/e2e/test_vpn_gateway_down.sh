#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Unreachable gateways. Gateway 1's ocserv is stopped (gw-stop: its address still answers
# ping): the row fails at vpn_login with "gateway unreachable". Gateway 2's external link
# is down (gw-link-down): the row fails at external_ping with 100% loss and no VPN step
# runs (login, internal and teardown fields empty). Nothing is left behind.
set -u
E2E_PREFIX=${E2E_PREFIX:-vpngw$$}
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"

vpn_test_setup 2
lab_cmd gw-stop 1
lab_cmd gw-link-down 2
write_config "$TMP/config.yml" <<YAML
$(lab_openconnect_site stopped 1)
$(lab_openconnect_site linkdown 2)
YAML
probe_snapshot "$TMP"

probe_epmon once -v once -c "$TMP/config.yml"
assert_eq 1 "$EPMON_RC" "exit status of once (sites failed)"
CSV=$(results_file "$TMP/results")
assert_eq 2 "$(csv_count "$TMP/results")" "rows written"

get() { csv_get "$CSV" stopped "$1"; }
assert_eq FAIL "$(get result)" "stopped: result"
assert_eq vpn_login "$(get failed_step)" "stopped: failed_step"
assert_positive "$(get external_rtt_ms)" "stopped: external_rtt_ms (the address answers)"
assert_eq 0.0 "$(get external_loss_pct)" "stopped: external_loss_pct"
assert_fields_empty "$CSV" stopped login_ms internal_rtt_ms internal_loss_pct
assert_positive "$(get teardown_ms)" "stopped: teardown_ms"
assert_match "^failed in connect after [0-9.]+ m?s: gateway unreachable \(.*(Connection refused|Failed to connect).*\)$" "$(get detail)" \
	"stopped: detail"

get() { csv_get "$CSV" linkdown "$1"; }
assert_eq FAIL "$(get result)" "linkdown: result"
assert_eq external_ping "$(get failed_step)" "linkdown: failed_step"
assert_eq "" "$(get external_rtt_ms)" "linkdown: external_rtt_ms (no reply)"
assert_eq 100.0 "$(get external_loss_pct)" "linkdown: external_loss_pct"
assert_fields_empty "$CSV" linkdown login_ms internal_rtt_ms internal_loss_pct teardown_ms # not run
assert_match "$LAB_GW2_IP" "$(get detail)" "linkdown: detail names the address"
grep -q "\[linkdown\] started" "$TMP/once.err" && fail "linkdown: a client was started"

probe_assert_clean "$TMP"
e2e_log "PASS"
