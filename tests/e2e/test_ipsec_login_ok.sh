#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# A good IKEv2 login against the lab's strongSwan responder (lab.sh up 1 --ipsec; isolation
# netns, the default): epmon starts a charon of its own in the site's namespace (its private
# directory bound onto /run: its pid file, strongswan.conf and VICI socket), loads the inline
# connection over VICI with swanctl, initiates it, and the login is the installed CHILD_SA
# plus the route to internal_ip through ipsec0 (kernel-libipsec's TUN device). `epmon once`
# writes one OK row with every figure (login_ms > 0, the internal ping through the tunnel),
# the -v output says kernel-libipsec ran, the responder saw the IKE_SA and holds none after
# the teardown, and the probe is as it was.
set -u
E2E_PREFIX=${E2E_PREFIX:-ikok$$}
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"

ike_test_setup
SITE=ikok$$
write_config "$TMP/config.yml" <<YAML
$(lab_ipsec_site "$SITE")
YAML
probe_snapshot "$TMP"
log_before=$(grep -c "IKE_SA rw\[[0-9]*\] established" "$LAB_IKE_LOG")

probe_epmon once -v once -c "$TMP/config.yml"
assert_eq 0 "$EPMON_RC" "exit status of once (all OK)"
assert_match "^$SITE +OK " "$(grep "^$SITE " "$TMP/once.out")" "table row"

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
e2e_log "login_ms $(get login_ms), internal_rtt_ms $(get internal_rtt_ms), teardown_ms $(get teardown_ms)"

grep -q 'IPsec: strongSwan charon with kernel-libipsec' "$TMP/once.err" ||
	fail "the -v output does not say that kernel-libipsec ran"
grep -q "CHILD_SA epmon installed" "$TMP/once.err" || fail "no installed CHILD_SA in the -v output"
grep -q 'tunnel up on ipsec0' "$TMP/once.err" || fail "no 'tunnel up on ipsec0' in the log"
grep -q "IKE_SA epmon terminated" "$TMP/once.err" || fail "the IKE_SA was not terminated at teardown"
log_after=$(grep -c "IKE_SA rw\[[0-9]*\] established" "$LAB_IKE_LOG")
[ "$log_after" -gt "$log_before" ] || fail "the responder logged no established IKE_SA"
# the DELETE was answered before charon stopped: the responder holds no SA of ours
[ -z "$(ike_responder_sas)" ] || fail "the responder still holds an IKE_SA: $(ike_responder_sas)"
e2e_log "ok: the responder saw the IKE_SA come and go"
ike_assert_no_dir "$SITE"
probe_assert_clean "$TMP"
e2e_log "PASS"
