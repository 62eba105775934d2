#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# A gateway whose certificate the client cannot verify (no ca_file: the lab CA is not in
# the system store) fails at vpn_login with "certificate not trusted"; the same gateway
# with ca_file logs in (proof that only the trust differs). Nothing is left behind.
set -u
E2E_PREFIX=${E2E_PREFIX:-vpncrt$$}
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"

vpn_test_setup 1
write_config "$TMP/config.yml" <<YAML
$(lab_openconnect_site untrusted 1 ca_file=)
$(lab_openconnect_site trusted 1)
YAML
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
assert_fields_empty "$CSV" untrusted login_ms internal_rtt_ms internal_loss_pct
assert_positive "$(get teardown_ms)" "teardown_ms"
assert_match "^failed in tls after [0-9.]+ m?s: certificate not trusted \(.*(verify failed|failed verification).*\)$" "$(get detail)" "detail"

assert_eq OK "$(csv_get "$CSV" trusted result)" "trusted: result"
assert_positive "$(csv_get "$CSV" trusted login_ms)" "trusted: login_ms"
assert_eq "" "$(csv_get "$CSV" trusted detail)" "trusted: detail"

probe_assert_clean "$TMP"
e2e_log "PASS"
