#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# A wrong password against the lab's strongSwan responder (lab.sh up 1 --ipsec): the
# responder rejects EAP-MSCHAPv2, and the row is a vpn_login failure in words ("bad
# credentials", with charon's line), well before login_timeout; nothing left behind (no
# process, no ipsec0, charon's directory gone, the probe as it was).
set -u
E2E_PREFIX=${E2E_PREFIX:-ikpw$$}
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"

ike_test_setup
SITE=ikpw$$
write_config "$TMP/config.yml" <<YAML
$(lab_ipsec_site "$SITE" password_file="$LAB_WRONG_PASSWORD_FILE")
YAML
probe_snapshot "$TMP"

t0=$(now_ms)
probe_epmon once -v once -c "$TMP/config.yml"
wall=$(($(now_ms) - t0))
assert_eq 1 "$EPMON_RC" "exit status of once (a failure)"
CSV=$(results_file "$TMP/results")
get() { csv_get "$CSV" "$SITE" "$1"; }
assert_eq FAIL "$(get result)" "result"
assert_eq vpn_login "$(get failed_step)" "failed_step"
assert_positive "$(get external_rtt_ms)" "external_rtt_ms (the gateway is up)"
assert_fields_empty "$CSV" "$SITE" login_ms internal_rtt_ms
assert_match "^failed in auth after [0-9.]+ m?s: bad credentials \(.*(EAP-MS-CHAPv2 failed|EAP_MSCHAPV2 failed|AUTHENTICATION_FAILED).*\)$" \
	"$(get detail)" "detail"
[ "$wall" -lt 8000 ] || fail "a rejected password took $wall ms (login_timeout 10 s)"
e2e_log "ok: wrong password: failed with words in a cycle of $wall ms"
ike_assert_no_dir "$SITE"
probe_assert_clean "$TMP"
e2e_log "PASS"
