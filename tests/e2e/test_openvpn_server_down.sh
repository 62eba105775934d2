#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The lab's OpenVPN server does not answer (lab.sh up 1 --openvpn; isolation netns; its
# address still answers ping, so each site gets to vpn_login), client certificates only:
# 1. server hung (lab.sh ovpn-pause: SIGSTOP; the UDP port stays open, nothing answers,
#    no ICMP): with `hand-window 3` in the client config openvpn gives up the handshake
#    after 3 s: "TLS handshake failed (...)" with its line, well within login_timeout (10
#    s); with a plain config (hand-window 60 s) the login_timeout of 3 s ends it: "no
#    tunnel after 3 s", with the client's last line;
# 2. server stopped (lab.sh ovpn-stop: the port is closed, ICMP port unreachable):
#    "gateway unreachable" with openvpn's "Connection refused" line, at once.
# Each failure comes within its login_timeout; nothing is left behind.
set -u
E2E_PREFIX=${E2E_PREFIX:-ovpdn$$}
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"

ovpn_test_setup
HUNG=ovhung$$ PLAIN=ovplain$$ STOP=ovstop$$
ovpn_client_conf "$TMP/client.ovpn" "cert $LAB_OVPN_CLIENT_CERT" "key $LAB_OVPN_CLIENT_KEY"
ovpn_client_conf "$TMP/hw3.ovpn" "cert $LAB_OVPN_CLIENT_CERT" "key $LAB_OVPN_CLIENT_KEY" "hand-window 3"
E2E_CONFIG_EXTRA="concurrency: 2"
write_config "$TMP/hung.yml" <<YAML
$(lab_openvpn_site "$HUNG" "$TMP/hw3.ovpn" login_timeout=10)
$(lab_openvpn_site "$PLAIN" "$TMP/client.ovpn" login_timeout=3)
YAML
write_config "$TMP/stopped.yml" <<YAML
$(lab_openvpn_site "$STOP" "$TMP/client.ovpn" login_timeout=10)
YAML
probe_snapshot "$TMP"

# 1. hung
lab_cmd ovpn-pause
t0=$(now_ms)
probe_epmon hung -v once -c "$TMP/hung.yml"
wall=$(($(now_ms) - t0))
assert_eq 1 "$EPMON_RC" "hung: exit status of once (the sites failed)"
CSV=$(results_file "$TMP/results")
for site in $HUNG $PLAIN; do
	assert_eq vpn_login "$(csv_get "$CSV" "$site" failed_step)" "$site: failed_step"
	assert_positive "$(csv_get "$CSV" "$site" external_rtt_ms)" "$site: external_rtt_ms (the host is up)"
	assert_fields_empty "$CSV" "$site" login_ms internal_rtt_ms
done
assert_match "^failed in connect after [0-9.]+ m?s: TLS handshake failed \(certificate rejected, or the server does not answer\) \(login failed: client said '.*TLS key negotiation failed to occur within 3 seconds.*'\)$" \
	"$(csv_get "$CSV" "$HUNG" detail)" "$HUNG: detail"
assert_match "^failed in connect after [0-9.]+ m?s: no tunnel after 3 s \(last output: '.+'\)$" "$(csv_get "$CSV" "$PLAIN" detail)" "$PLAIN: detail"
# both ran at once: the cycle is the longer login_timeout's business, not 10 s
[ "$wall" -lt 10000 ] || fail "hung: the cycle took $wall ms (the hand-window site has login_timeout 10 s)"
e2e_log "ok: hung server: both sites failed with words in a cycle of $wall ms"

# 2. stopped
lab_cmd ovpn-stop
t0=$(now_ms)
probe_epmon stopped -v once -c "$TMP/stopped.yml"
wall=$(($(now_ms) - t0))
assert_eq 1 "$EPMON_RC" "stopped: exit status of once (the site failed)"
assert_eq vpn_login "$(csv_get "$CSV" "$STOP" failed_step)" "$STOP: failed_step"
assert_positive "$(csv_get "$CSV" "$STOP" external_rtt_ms)" "$STOP: external_rtt_ms (the host is up)"
assert_fields_empty "$CSV" "$STOP" login_ms internal_rtt_ms
assert_match "^failed in connect after [0-9.]+ m?s: gateway unreachable \(login failed: client said '.*read UDPv4 \[ECONNREFUSED\]: Connection refused.*'\)$" \
	"$(csv_get "$CSV" "$STOP" detail)" "$STOP: detail"
[ "$wall" -lt 5000 ] || fail "stopped: the cycle took $wall ms (a refused port is known at once)"
e2e_log "ok: stopped server: gateway unreachable in a cycle of $wall ms"
assert_eq 3 "$(csv_count "$TMP/results")" "rows written"

probe_assert_clean "$TMP"
e2e_log "PASS"
