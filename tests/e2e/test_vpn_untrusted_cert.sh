#!/usr/bin/env bash
# A gateway whose certificate the client cannot verify (no ca_file: the lab CA is not in
# the system store) fails at vpn_login with "certificate not trusted"; the same gateway
# with ca_file logs in (proof that only the trust differs). Nothing is left behind.
set -u
E2E_PREFIX=${E2E_PREFIX:-vpncrt$$}
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
  - name: untrusted
    external_ip: $LAB_GW1_IP
    internal_ip: $LAB_GW1_INTRANET_IP
    vpn: {client: openconnect, gateway: $LAB_GW1_IP, username: $LAB_USER,
          password_file: $LAB_PASSWORD_FILE, login_timeout: 20}
  - name: trusted
    external_ip: $LAB_GW1_IP
    internal_ip: $LAB_GW1_INTRANET_IP
    vpn: {client: openconnect, gateway: $LAB_GW1_IP, username: $LAB_USER,
          password_file: $LAB_PASSWORD_FILE, ca_file: $LAB_CA, login_timeout: 20}
YAML
chmod 600 "$TMP/config.yml"
probe_snapshot "$TMP"

probe_epmon once -v once -c "$TMP/config.yml"
assert_eq 1 "$EPMON_RC" "exit status of once (a site failed)"
CSV=$(results_file "$TMP/results")
assert_eq 2 "$(csv_count "$TMP/results")" "rows written"
get() { csv_get "$CSV" untrusted "$1"; }
assert_eq FAIL "$(get result)" "result"
assert_eq vpn_login "$(get failed_step)" "failed_step"
assert_positive "$(get external_rtt_ms)" "external_rtt_ms"
assert_eq 0.0 "$(get external_loss_pct)" "external_loss_pct"
assert_eq "" "$(get login_ms)" "login_ms"
assert_eq "" "$(get internal_rtt_ms)" "internal_rtt_ms"
assert_eq "" "$(get internal_loss_pct)" "internal_loss_pct"
assert_positive "$(get teardown_ms)" "teardown_ms"
assert_match "^certificate not trusted \(.*(verify failed|failed verification).*\)$" "$(get detail)" "detail"

assert_eq OK "$(csv_get "$CSV" trusted result)" "trusted: result"
assert_positive "$(csv_get "$CSV" trusted login_ms)" "trusted: login_ms"
assert_eq "" "$(csv_get "$CSV" trusted detail)" "trusted: detail"

probe_assert_clean "$TMP"
e2e_log "PASS"
