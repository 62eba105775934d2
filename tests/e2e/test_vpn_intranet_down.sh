#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The intranet host behind a working VPN is down. Gateway 1's host ignores echo requests
# (intranet-down 1), gateway 2's host has its link down (intranet-down 2 link: the gateway
# may answer "host unreachable"). Both logins succeed (login_ms > 0), the rows fail at
# internal_ping with 100% loss, the tunnel is still torn down (teardown_ms present) and
# the probe is left as it was.
set -u
E2E_PREFIX=${E2E_PREFIX:-vpnin$$}
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"

vpn_test_setup 2
lab_cmd intranet-down 1
lab_cmd intranet-down 2 link
write_config "$TMP/config.yml" <<YAML
$(lab_openconnect_site silent 1)
$(lab_openconnect_site linkdown 2)
YAML
probe_snapshot "$TMP"

probe_epmon once -v once -c "$TMP/config.yml"
assert_eq 1 "$EPMON_RC" "exit status of once (sites failed)"
CSV=$(results_file "$TMP/results")
assert_eq 2 "$(csv_count "$TMP/results")" "rows written"
for site in silent linkdown; do
	get() { csv_get "$CSV" "$site" "$1"; }
	assert_eq FAIL "$(get result)" "$site: result"
	assert_eq internal_ping "$(get failed_step)" "$site: failed_step"
	assert_positive "$(get external_rtt_ms)" "$site: external_rtt_ms"
	assert_eq 0.0 "$(get external_loss_pct)" "$site: external_loss_pct"
	assert_positive "$(get login_ms)" "$site: login_ms (the login worked)"
	assert_eq "" "$(get internal_rtt_ms)" "$site: internal_rtt_ms (no reply)"
	assert_eq 100.0 "$(get internal_loss_pct)" "$site: internal_loss_pct"
	assert_positive "$(get teardown_ms)" "$site: teardown_ms (tunnel torn down)"
	assert_match "^$site +FAIL +internal_ping " "$(grep "^$site " "$TMP/once.out")" "$site: table row"
done
assert_match "no reply from $LAB_GW1_INTRANET_IP" "$(csv_get "$CSV" silent detail)" "silent: detail"
assert_match "$LAB_GW2_INTRANET_IP|unreachable" "$(csv_get "$CSV" linkdown detail)" "linkdown: detail"
[ "$(grep -c 'tunnel up on epmon0' "$TMP/once.err")" -eq 2 ] || fail "expected 2 'tunnel up on epmon0' in the log"
[ "$(grep -c 'client stopped in .* by SIGINT' "$TMP/once.err")" -eq 2 ] ||
	fail "expected both clients stopped politely by SIGINT"

probe_assert_clean "$TMP"
e2e_log "PASS"
