#!/usr/bin/env bash
# Bad credentials against the lab: a wrong password and an unknown user. Each row fails at
# vpn_login with "bad credentials" and openconnect's own words; the login and internal
# figures stay empty (those steps did not run or gave no figure), the teardown still ran
# (the client was stopped and the probe verified), and nothing is left behind.
set -u
E2E_PREFIX=${E2E_PREFIX:-vpnpw$$}
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"

require_root_netns
[ -x "${EPMON:-}" ] || fail "EPMON (the epmon binary) not set or not executable: '${EPMON:-}'"
lab_start 1
e2e_tmpdir TMP
mkdir -p "$TMP/results" "$TMP/state"
cat >"$TMP/config.yml" <<YAML
frequency: 60
results: {directory: $TMP/results}
state_directory: $TMP/state
ping: {count: 3, interval: 0.1, timeout: 1}
sites:
  - name: wrongpw
    external_ip: $LAB_GW1_IP
    internal_ip: $LAB_GW1_INTRANET_IP
    vpn: {client: openconnect, gateway: $LAB_GW1_IP, username: $LAB_USER,
          password_file: $LAB_WRONG_PASSWORD_FILE, ca_file: $LAB_CA, login_timeout: 20}
  - name: nouser
    external_ip: $LAB_GW1_IP
    internal_ip: $LAB_GW1_INTRANET_IP
    vpn: {client: openconnect, gateway: $LAB_GW1_IP, username: nosuchuser,
          password_file: $LAB_PASSWORD_FILE, ca_file: $LAB_CA, login_timeout: 20}
YAML
chmod 600 "$TMP/config.yml"
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
	assert_eq "" "$(get login_ms)" "$site: login_ms (no figure for a failed login)"
	assert_eq "" "$(get internal_rtt_ms)" "$site: internal_rtt_ms (not run)"
	assert_eq "" "$(get internal_loss_pct)" "$site: internal_loss_pct (not run)"
	assert_positive "$(get teardown_ms)" "$site: teardown_ms (the client was stopped)"
	assert_eq "bad credentials (login failed: client said 'Login failed.')" "$(get detail)" \
		"$site: detail"
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
