#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Certificates that must not log in, against the lab's OpenVPN 2.6 server (lab.sh up 1
# --openvpn; isolation netns), certificates only (no password), three sites in one cycle:
# - expired: an expired client certificate (valid in 2020 only): vpn_login fails at once,
#   "client certificate expired", with openvpn's own warning quoted. Over TLS 1.3 the
#   server's alert never reaches the client (it would wait for hand-window, 60 s), so the
#   client's warning at start-up is what says it;
# - expsrv: the same certificate with the profile's failure patterns replaced (vpn.failed:
#   only AUTH_FAILED) and login_timeout 4: no tunnel after 4 s, and the server's log shows
#   that it did reject the certificate as expired (so the early failure hides no login);
# - untrusted: a good client certificate, but the server is checked against another CA
#   (the lab's ocserv CA): "certificate not trusted" with openvpn's VERIFY ERROR line.
# Nothing is left behind.
set -u
E2E_PREFIX=${E2E_PREFIX:-ovpex$$}
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"

ovpn_test_setup
EXP=ovexp$$ SRV=ovexpsrv$$ UNT=ovuntr$$
ovpn_client_conf "$TMP/expired.ovpn" "cert $LAB_OVPN_EXPIRED_CERT" "key $LAB_OVPN_EXPIRED_KEY"
ovpn_client_conf "$TMP/untrusted.ovpn" "cert $LAB_OVPN_CLIENT_CERT" "key $LAB_OVPN_CLIENT_KEY"
sed -i "s#^ca .*#ca $LAB_CA#" "$TMP/untrusted.ovpn"
LOGIN_TIMEOUT=15
E2E_CONFIG_EXTRA="concurrency: 3"
write_config "$TMP/config.yml" <<YAML
$(lab_openvpn_site "$EXP" "$TMP/expired.ovpn" login_timeout=$LOGIN_TIMEOUT)
$(lab_openvpn_site "$SRV" "$TMP/expired.ovpn" login_timeout=4 'failed=["AUTH_FAILED"]')
$(lab_openvpn_site "$UNT" "$TMP/untrusted.ovpn" login_timeout=$LOGIN_TIMEOUT)
YAML
probe_snapshot "$TMP"

probe_epmon once -v once -c "$TMP/config.yml"
assert_eq 1 "$EPMON_RC" "exit status of once (the sites failed)"
CSV=$(results_file "$TMP/results")
assert_eq 3 "$(csv_count "$TMP/results")" "rows written"
for site in $EXP $SRV $UNT; do
	assert_eq vpn_login "$(csv_get "$CSV" "$site" failed_step)" "$site: failed_step"
	assert_positive "$(csv_get "$CSV" "$site" external_rtt_ms)" "$site: external_rtt_ms"
	assert_fields_empty "$CSV" "$site" login_ms internal_rtt_ms
	assert_positive "$(csv_get "$CSV" "$site" teardown_ms)" "$site: teardown_ms"
done
assert_match "^failed in connect after [0-9.]+ m?s: client certificate expired \(login failed: client said '.*WARNING: Your certificate has expired!'\)$" \
	"$(csv_get "$CSV" "$EXP" detail)" "$EXP: detail"
assert_match "^failed in auth after [0-9.]+ m?s: no tunnel after 4 s" "$(csv_get "$CSV" "$SRV" detail)" "$SRV: detail"
assert_match "^failed in tls after [0-9.]+ m?s: certificate not trusted \(login failed: client said '.*VERIFY ERROR: depth=1, .*'\)$" \
	"$(csv_get "$CSV" "$UNT" detail)" "$UNT: detail"

# the server itself refuses the expired certificate (seen through expsrv's attempt)
grep -q "VERIFY ERROR: depth=0, error=certificate has expired: .*CN=$LAB_USER-expired" "$LAB_OVPN_LOG" ||
	fail "the server log does not show the expired certificate rejected"
grep -E 'VERIFY ERROR|fatal SSL alert' "$LAB_OVPN_LOG" | sed 's/^/    server| /' >&2
grep -q 'Initialization Sequence Completed' <(grep "\[$SRV\] client:" "$TMP/once.err") &&
	fail "$SRV: the expired certificate logged in"
e2e_log "ok: the server rejected the expired certificate (certificate has expired)"
probe_assert_clean "$TMP"
e2e_log "PASS"
