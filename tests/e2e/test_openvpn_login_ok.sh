#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# A good openvpn login with user name and password against the lab's OpenVPN 2.6 server
# (lab.sh up 1 --openvpn; isolation netns, the default): the test writes the client config
# a user would (CA, `auth-user-pass` with no file, no client certificate); epmon adds
# --dev epmon0 --dev-type tun --auth-user-pass AUTH --auth-nocache with the password in its
# private 0600 auth file. `epmon once` writes one OK row with every figure (login_ms > 0,
# the internal ping through the tunnel), the server checked the password (its log), the
# auth file is gone afterwards and the probe is as it was.
set -u
E2E_PREFIX=${E2E_PREFIX:-ovpok$$}
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"

ovpn_test_setup
SITE=ovpw$$
OVPN_SITES=$SITE
ovpn_client_conf "$TMP/client.ovpn" "auth-user-pass"
write_config "$TMP/config.yml" <<YAML
$(lab_openvpn_site "$SITE" "$TMP/client.ovpn" username="$LAB_USER" password_file="$LAB_PASSWORD_FILE")
YAML
probe_snapshot "$TMP"

probe_epmon once -v once -c "$TMP/config.yml"
assert_eq 0 "$EPMON_RC" "exit status of once (all OK)"
assert_match "^$SITE +OK " "$(grep "^$SITE " "$TMP/once.out")" "table row"

CSV=$(results_file "$TMP/results")
assert_eq 1 "$(csv_count "$TMP/results")" "rows written"
get() { csv_get "$CSV" "$SITE" "$1"; }
assert_eq OK "$(get result)" "result"
assert_eq "" "$(get failed_step)" "failed_step"
assert_positive "$(get external_rtt_ms)" "external_rtt_ms"
assert_eq 0.0 "$(get external_loss_pct)" "external_loss_pct"
assert_positive "$(get login_ms)" "login_ms"
assert_near 5000 "$(get login_ms)" 5000 "login_ms (0..10 s)"
assert_positive "$(get internal_rtt_ms)" "internal_rtt_ms"
assert_eq 0.0 "$(get internal_loss_pct)" "internal_loss_pct"
assert_positive "$(get teardown_ms)" "teardown_ms"
assert_eq "" "$(get detail)" "detail"
e2e_log "login_ms $(get login_ms), internal_rtt_ms $(get internal_rtt_ms), teardown_ms $(get teardown_ms)"

# the client really logged in and routed the intranet through epmon0
grep -q 'Initialization Sequence Completed' "$TMP/once.err" ||
	fail "no 'Initialization Sequence Completed' from openvpn in the -v output"
grep -q "net_route_v4_add: ${LAB_OVPN_INTRANET_IP%.*}.0/24 via .* dev" "$TMP/once.err" ||
	fail "openvpn did not add the pushed route to the intranet (-v output)"
grep -q 'tunnel up on epmon0' "$TMP/once.err" || fail "no 'tunnel up on epmon0' in the log"
# the server checked the password (auth-user-pass-verify), not only the CA
grep -q "Username/Password authentication succeeded for username '$LAB_USER'" "$LAB_OVPN_LOG" ||
	fail "the server log has no password login of $LAB_USER"
grep -q 'VERIFY OK: depth=0' "$LAB_OVPN_LOG" && fail "the client sent a certificate (password only)"
e2e_log "ok: the server authenticated '$LAB_USER' by password (no client certificate)"

left=$(ovpn_auth_dirs)
[ -z "$left" ] || fail "openvpn auth dir left: $left"
e2e_log "ok: the private auth file is gone"
probe_assert_clean "$TMP"
e2e_log "PASS"
