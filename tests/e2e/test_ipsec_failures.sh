#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Two IKEv2 logins the lab's strongSwan responder (lab.sh up 1 --ipsec) cannot complete, in
# one `epmon once` (concurrency 2, isolation netns):
# - an inline site whose ca_file is a CA that did not sign the responder's certificate:
#   epmon's charon rejects the responder's AUTH (after IKE_SA_INIT), a vpn_login failure
#   "certificate not trusted (<charon's line>)";
# - a swanctl_file site (0600) proposing aes128-sha256-modp1024 only: modp1024 is not in the
#   responder's default proposals, it answers IKE_SA_INIT with NO_PROPOSAL_CHOSEN (its log
#   says "received proposals unacceptable"), a vpn_login failure "proposal mismatch (...)".
# Both well before login_timeout; nothing left: no process, no ipsec0, charon's directories
# gone, the probe as it was, and no IKE_SA on the responder (the rejected certificate leaves
# it a half-open IKE_SA, never an established one, which it drops at its half_open_timeout).
set -u
E2E_PREFIX=${E2E_PREFIX:-ikfl$$}
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"

ike_test_setup
CA=ikca$$ PROP=ikprop$$
# a CA of its own (certtool, as the lab makes its CAs): it signed no certificate of the lab's
mkdir -p "$TMP/otherca" || fail "mkdir $TMP/otherca"
make_certs "$TMP/otherca"
ike_swanctl_file "$TMP/prop.swanctl.conf" modp1024 net "$LAB_USER2" "$LAB_PASSWORD2_FILE" \
	"proposals = aes128-sha256-modp1024"
E2E_CONFIG_EXTRA="concurrency: 2"
write_config "$TMP/config.yml" <<YAML
$(lab_ipsec_site "$CA" ca_file="$TMP/otherca/ca.pem")
$(site_yaml "$PROP" "$LAB_IKE_IP" "$LAB_IKE_INTRANET_IP" client=ipsec \
	swanctl_file="$TMP/prop.swanctl.conf" connection=modp1024 child=net login_timeout=10)
YAML
probe_snapshot "$TMP"
[ -z "$(ike_responder_sas)" ] || fail "the responder holds an IKE_SA before the test: $(ike_responder_sas)"
log_from=$(($(wc -l <"$LAB_IKE_LOG") + 1))

t0=$(now_ms)
probe_epmon once -v once -c "$TMP/config.yml"
wall=$(($(now_ms) - t0))
assert_eq 1 "$EPMON_RC" "exit status of once (failures)"
CSV=$(results_file "$TMP/results")
assert_eq 2 "$(csv_count "$TMP/results")" "rows written"
for s in "$CA" "$PROP"; do
	assert_eq FAIL "$(csv_get "$CSV" "$s" result)" "$s: result"
	assert_eq vpn_login "$(csv_get "$CSV" "$s" failed_step)" "$s: failed_step"
	assert_positive "$(csv_get "$CSV" "$s" external_rtt_ms)" "$s: external_rtt_ms (the gateway is up)"
	assert_fields_empty "$CSV" "$s" login_ms internal_rtt_ms
done
assert_match "^failed in tls after [0-9.]+ m?s: certificate not trusted \(.*(no issuer certificate found|no trusted .* public key found|constraint check failed|signature validation failed).*\)$" \
	"$(csv_get "$CSV" "$CA" detail)" "$CA: detail (another CA)"
assert_match "^failed in tls after [0-9.]+ m?s: proposal mismatch \(.*(NO_PROPOSAL_CHOSEN|no acceptable proposal).*\)$" \
	"$(csv_get "$CSV" "$PROP" detail)" "$PROP: detail (modp1024)"
[ "$wall" -lt 8000 ] || fail "two rejected logins took $wall ms (login_timeout 10 s)"
e2e_log "ok: both failed with words in a cycle of $wall ms"

# the responder's side of it: it rejected the proposal itself (it logs that before it
# answers), and it got the AUTH_FAILED that epmon's charon sends before it drops its IKE_SA
resp() { tail -n +"$log_from" "$LAB_IKE_LOG" >"$TMP/responder.log"; grep -qE -- "$1" "$TMP/responder.log"; }
resp 'received proposals: IKE:AES_CBC_128/HMAC_SHA2_256_128/PRF_HMAC_SHA2_256/MODP_1024' ||
	fail "the responder did not receive the modp1024 proposal"
resp 'received proposals unacceptable' || fail "the responder did not reject the modp1024 proposal"
for i in $(seq 100); do resp 'N\(AUTH_FAILED\)' && break; sleep 0.05; done
resp 'N\(AUTH_FAILED\)' || fail "the responder got no AUTH_FAILED from the client that rejected its certificate"
resp 'IKE_SA .* established' && fail "the responder established an IKE_SA"
e2e_log "ok: the responder rejected modp1024 and was told its certificate was not trusted"

ike_assert_no_dir "$CA" "$PROP"
probe_assert_clean "$TMP"

# at most the half-open IKE_SA of the rejected certificate, never an established one; it goes
sas=$(ike_responder_sas)
[ -z "$sas" ] || e2e_log "the responder holds: $sas"
grep -v ', CONNECTING, ' <<<"$sas" | grep -q . && fail "the responder holds an IKE_SA that is not half-open: $sas"
ike_wait_no_sas 20 || fail "the responder still holds an IKE_SA: $(ike_responder_sas)"
e2e_log "ok: no IKE_SA left on the responder"
e2e_log "PASS"
