#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# A wrong password against the lab's OpenVPN 2.6 server (lab.sh up 1 --openvpn; isolation
# netns): password only, and a valid client certificate with the wrong password (the
# certificate does not make up for it). Each row fails at vpn_login with "bad
# credentials" and openvpn's own AUTH_FAILED line, at once (not at login_timeout); the
# login and internal figures stay empty, the teardown ran, the server's check said why,
# the auth files are gone and nothing is left behind.
set -u
E2E_PREFIX=${E2E_PREFIX:-ovpwp$$}
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"

ovpn_test_setup
PW=ovwrong$$ CERT=ovwcert$$
OVPN_SITES="$PW $CERT"
ovpn_client_conf "$TMP/pw.ovpn" "auth-user-pass"
ovpn_client_conf "$TMP/cert.ovpn" "auth-user-pass" "cert $LAB_OVPN_CLIENT_CERT" "key $LAB_OVPN_CLIENT_KEY"
LOGIN_TIMEOUT=15
E2E_CONFIG_EXTRA="concurrency: 2"
write_config "$TMP/config.yml" <<YAML
$(lab_openvpn_site "$PW" "$TMP/pw.ovpn" username="$LAB_USER" password_file="$LAB_WRONG_PASSWORD_FILE" login_timeout=$LOGIN_TIMEOUT)
$(lab_openvpn_site "$CERT" "$TMP/cert.ovpn" username="$LAB_USER" password_file="$LAB_WRONG_PASSWORD_FILE" login_timeout=$LOGIN_TIMEOUT)
YAML
probe_snapshot "$TMP"

t0=$(now_ms)
probe_epmon once -v once -c "$TMP/config.yml"
wall=$(($(now_ms) - t0))
assert_eq 1 "$EPMON_RC" "exit status of once (a site failed)"
CSV=$(results_file "$TMP/results")
assert_eq 2 "$(csv_count "$TMP/results")" "rows written"
for site in $PW $CERT; do
	get() { csv_get "$CSV" "$site" "$1"; }
	assert_eq FAIL "$(get result)" "$site: result"
	assert_eq vpn_login "$(get failed_step)" "$site: failed_step"
	assert_positive "$(get external_rtt_ms)" "$site: external_rtt_ms"
	assert_fields_empty "$CSV" "$site" login_ms internal_rtt_ms internal_loss_pct
	assert_positive "$(get teardown_ms)" "$site: teardown_ms (the client was stopped)"
	assert_match "^failed in auth after [0-9.]+ m?s: bad credentials \(login failed: client said '.*AUTH: Received control message: AUTH_FAILED'\)$" \
		"$(get detail)" "$site: detail"
	assert_match "^$site +FAIL +vpn_login " "$(grep "^$site " "$TMP/once.out")" "$site: table row"
done
# AUTH_FAILED comes within a second: the failure is the server's answer, not a timeout
[ "$wall" -lt $((LOGIN_TIMEOUT * 1000 / 2)) ] ||
	fail "epmon once took $wall ms: the failures did not come at once (login_timeout $LOGIN_TIMEOUT s)"
e2e_log "ok: both failed in one cycle of $wall ms (login_timeout $LOGIN_TIMEOUT s)"
# the server's own check refused them (and verified the certificate of the second)
[ "$(grep -c "verify-user: bad password for '$LAB_USER'" "$LAB_OVPN_LOG")" -ge 2 ] ||
	fail "the server's password check did not refuse both logins (server log)"
grep -q "VERIFY OK: depth=0, .*CN=$LAB_USER\$" "$LAB_OVPN_LOG" ||
	fail "the server did not verify the second site's client certificate"
e2e_log "ok: the server refused both passwords (one with a valid certificate)"
for f in "$TMP/once.out" "$TMP/once.err" "$CSV"; do
	grep -qF -- "$(head -1 "$LAB_WRONG_PASSWORD_FILE")" "$f" && fail "wrong password in $f"
	grep -qF -- "$(head -1 "$LAB_PASSWORD_FILE")" "$f" && fail "password in $f"
done
e2e_log "ok: no password in stdout, stderr (-v) or the CSV"
left=$(ovpn_auth_dirs)
[ -z "$left" ] || fail "openvpn auth dir left: $left"
probe_assert_clean "$TMP"
e2e_log "PASS"
