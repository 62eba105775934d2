#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# WireGuard keys the peer does not accept (lab.sh up 1 --wireguard; isolation netns; two
# sites at once, both on interface epmon0): a private key the peer does not know, and
# client2's key without the preshared key the peer expects. WireGuard never answers a
# handshake it cannot verify, so each is a vpn_login failure "no handshake from ENDPOINT in
# 3 s (wrong key, or UDP blocked)" at its login_timeout (3 s), with the external ping OK,
# no login_ms, and nothing left behind.
set -u
E2E_PREFIX=${E2E_PREFIX:-wgwk$$}
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"

wg_test_setup
WRONG=wgwrong$$ NOPSK=wgnopsk$$
E2E_CONFIG_EXTRA="concurrency: 2"
write_config "$TMP/config.yml" <<YAML
$(lab_wireguard_site "$WRONG" private_key_file="$LAB_WG_WRONG_KEY" login_timeout=3)
$(lab_wireguard_site "$NOPSK" private_key_file="$LAB_WG_CLIENT2_KEY" address="$LAB_WG_CLIENT2_IP/32" login_timeout=3)
YAML
probe_snapshot "$TMP"

t0=$(now_ms)
probe_epmon once -v once -c "$TMP/config.yml"
wall=$(($(now_ms) - t0))
assert_eq 1 "$EPMON_RC" "exit status of once (the sites failed)"
CSV=$(results_file "$TMP/results")
assert_eq 2 "$(csv_count "$TMP/results")" "rows written"
for site in $WRONG $NOPSK; do
	assert_eq vpn_login "$(csv_get "$CSV" "$site" failed_step)" "$site: failed_step"
	assert_positive "$(csv_get "$CSV" "$site" external_rtt_ms)" "$site: external_rtt_ms (the peer is up)"
	assert_fields_empty "$CSV" "$site" login_ms internal_rtt_ms
	assert_match "^failed in connect after [0-9.]+ m?s: no handshake from $LAB_WG_ENDPOINT in 3 s \(wrong key, or UDP blocked\)$" \
		"$(csv_get "$CSV" "$site" detail)" "$site: detail"
done
# both at once, each ending at its 3 s login_timeout: not 6 s, and not much more than 3
[ "$wall" -lt 6000 ] || fail "the cycle took $wall ms (two sites of login_timeout 3 s at once)"
e2e_log "ok: both failed with words in a cycle of $wall ms"
wg_assert_no_socket epmon0
probe_assert_clean "$TMP"
e2e_log "PASS"
