#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# A good openvpn login with a client certificate only (no password: the site has neither
# password_file nor password_env, so epmon passes no --auth-user-pass and writes no auth
# file) against the lab's OpenVPN 2.6 server (lab.sh up 1 --openvpn; isolation netns):
# one OK row with every figure, the server saw the client certificate (CN monitor) and no
# password, and the probe is as it was.
set -u
E2E_PREFIX=${E2E_PREFIX:-ovpce$$}
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"

ovpn_test_setup
SITE=ovcert$$
OVPN_SITES=$SITE
ovpn_client_conf "$TMP/client.ovpn" "cert $LAB_OVPN_CLIENT_CERT" "key $LAB_OVPN_CLIENT_KEY"
write_config "$TMP/config.yml" <<YAML
$(lab_openvpn_site "$SITE" "$TMP/client.ovpn")
YAML
probe_snapshot "$TMP"

probe_epmon once -v once -c "$TMP/config.yml"
assert_eq 0 "$EPMON_RC" "exit status of once (all OK)"
CSV=$(results_file "$TMP/results")
assert_eq 1 "$(csv_count "$TMP/results")" "rows written"
get() { csv_get "$CSV" "$SITE" "$1"; }
assert_eq OK "$(get result)" "result"
assert_eq "" "$(get failed_step)" "failed_step"
assert_positive "$(get external_rtt_ms)" "external_rtt_ms"
assert_positive "$(get login_ms)" "login_ms"
assert_near 5000 "$(get login_ms)" 5000 "login_ms (0..10 s)"
assert_positive "$(get internal_rtt_ms)" "internal_rtt_ms"
assert_eq 0.0 "$(get internal_loss_pct)" "internal_loss_pct"
assert_positive "$(get teardown_ms)" "teardown_ms"
assert_eq "" "$(get detail)" "detail"
e2e_log "login_ms $(get login_ms), internal_rtt_ms $(get internal_rtt_ms)"
grep -q 'Initialization Sequence Completed' "$TMP/once.err" ||
	fail "no 'Initialization Sequence Completed' from openvpn in the -v output"
grep -q 'tunnel up on epmon0' "$TMP/once.err" || fail "no 'tunnel up on epmon0' in the log"
grep -q 'Enter Auth Username' "$TMP/once.err" && fail "openvpn asked for a user name"

# the server verified the client's certificate, and it sent no password
sed 's/^/    server| /' "$LAB_OVPN_LOG" | grep -E 'VERIFY|uthenticat|verify-user' >&2
grep -q "VERIFY OK: depth=0, .*CN=$LAB_USER\$" "$LAB_OVPN_LOG" ||
	fail "the server log has no verified client certificate CN=$LAB_USER"
# (its verify script accepts an empty user name and password only with a certificate)
grep -q "Username/Password authentication succeeded for username '$LAB_USER'" "$LAB_OVPN_LOG" &&
	fail "the server log has a password login (the site has no password)"
grep -q "Username/Password authentication succeeded for username ''" "$LAB_OVPN_LOG" ||
	fail "the server log has no login without user name"
e2e_log "ok: the server verified the client certificate CN=$LAB_USER, no password sent"
left=$(ovpn_auth_dirs)
[ -z "$left" ] || fail "an openvpn auth dir was made (no password): $left"
probe_assert_clean "$TMP"
e2e_log "PASS"
