#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Bad credentials against the lab: a wrong password and an unknown user. Each row fails at
# vpn_login with "bad credentials" and openconnect's own words; the login and internal
# figures stay empty (those steps did not run or gave no figure), the teardown still ran
# (the client was stopped and the probe verified), and nothing is left behind.
set -u
E2E_PREFIX=${E2E_PREFIX:-vpnpw$$}
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"

vpn_test_setup 1
write_config "$TMP/config.yml" <<YAML
$(lab_openconnect_site wrongpw 1 password_file="$LAB_WRONG_PASSWORD_FILE")
$(lab_openconnect_site nouser 1 username=nosuchuser)
YAML
probe_snapshot "$TMP"

probe_epmon once -v once -c "$TMP/config.yml"
assert_eq 1 "$EPMON_RC" "exit status of once (a site failed)"
CSV=$(results_file "$TMP/results")
assert_eq 2 "$(csv_count "$TMP/results")" "rows written"
for site in wrongpw nouser; do
	get() { csv_get "$CSV" "$site" "$1"; }
	assert_eq FAIL "$(get result)" "$site: result"
	assert_eq vpn_login "$(get failed_step)" "$site: failed_step"
	assert_positive "$(get external_rtt_ms)" "$site: external_rtt_ms"
	assert_eq 0.0 "$(get external_loss_pct)" "$site: external_loss_pct"
	# no figure for a failed login; the internal ping did not run
	assert_fields_empty "$CSV" "$site" login_ms internal_rtt_ms internal_loss_pct
	assert_positive "$(get teardown_ms)" "$site: teardown_ms (the client was stopped)"
	assert_match "^failed in auth after [0-9.]+ m?s: bad credentials \(login failed: client said 'Login failed\.'\)$" \
		"$(get detail)" "$site: detail (the phase it failed in)"
	assert_match "^$site +FAIL +vpn_login " "$(grep "^$site " "$TMP/once.out")" "$site: table row"
done
# neither password may show up anywhere epmon writes
for f in "$TMP/once.out" "$TMP/once.err" "$CSV"; do
	grep -qF -- "$(head -1 "$LAB_WRONG_PASSWORD_FILE")" "$f" && fail "wrong password in $f"
	grep -qF -- "$(head -1 "$LAB_PASSWORD_FILE")" "$f" && fail "password in $f"
done
e2e_log "ok: no password in stdout, stderr (-v) or the CSV"

probe_assert_clean "$TMP"
e2e_log "PASS"
