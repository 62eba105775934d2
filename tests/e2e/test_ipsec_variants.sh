#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The other ways an IPsec site logs in to the lab's strongSwan responder (lab.sh up 1
# --ipsec; isolation netns, the default), in two `epmon once` of two sites each
# (concurrency 2), every site with an identity of its own:
# 1. two inline sites at once on $LAB_IKE_IP, users monitor (ONE) and monitor2 (TWO): both
#    OK, each with a tunnel of its own (the responder established two IKE_SAs, the sites
#    got different virtual IPs).
# 2. an inline site as monitor on the responder's second address $LAB_IKE_MD5_IP (MD5,
#    connection rw-md5), which asks for EAP-MD5: epmon's `auth = eap` answers it; and at the
#    same time a swanctl_file site as monitor2 (SWAN): the test's own swanctl.conf fragment
#    (0600; EAP-MSCHAPv2, the lab CA, encap = yes, vips = 0.0.0.0) with `connection` and
#    `child` named. Both OK.
# Every row OK with login_ms > 0 and an internal RTT through the tunnel. (One user in two
# sites at once would not do: on one address the second IKE_AUTH's INITIAL_CONTACT makes the
# responder drop the first IKE_SA; on the two addresses both come from the probe's address
# and port 4500 and the pool gives the second the first's online lease; the responder
# asserts neither happened.) After each run: no IKE_SA on the responder, charon's
# directories gone, the probe as it was.
set -u
E2E_PREFIX=${E2E_PREFIX:-ikvr$$}
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"

ike_test_setup
ONE=ikone$$ TWO=iktwo$$ MD5=ikmd5$$ SWAN=ikswan$$
E2E_CONFIG_EXTRA="concurrency: 2"
write_config "$TMP/users.yml" <<YAML
$(lab_ipsec_site "$ONE")
$(lab_ipsec_site "$TWO" username="$LAB_USER2" password_file="$LAB_PASSWORD2_FILE")
YAML
ike_swanctl_file "$TMP/lab.swanctl.conf" labvpn intranet "$LAB_USER2" "$LAB_PASSWORD2_FILE"
write_config "$TMP/kinds.yml" <<YAML
$(lab_ipsec_md5_site "$MD5")
$(site_yaml "$SWAN" "$LAB_IKE_IP" "$LAB_IKE_INTRANET_IP" client=ipsec \
	swanctl_file="$TMP/lab.swanctl.conf" connection=labvpn child=intranet login_timeout=10)
YAML
probe_snapshot "$TMP"
[ -z "$(ike_responder_sas)" ] || fail "the responder holds an IKE_SA before the test: $(ike_responder_sas)"

# assert_ok_row SITE RUN: every figure of an OK row, and the tunnel on ipsec0 in RUN's log
assert_ok_row() {
	local csv
	csv=$(results_file "$TMP/results")
	assert_eq OK "$(csv_get "$csv" "$1" result)" "$1: result"
	assert_eq "" "$(csv_get "$csv" "$1" failed_step)" "$1: failed_step"
	assert_positive "$(csv_get "$csv" "$1" login_ms)" "$1: login_ms"
	assert_positive "$(csv_get "$csv" "$1" internal_rtt_ms)" "$1: internal_rtt_ms"
	assert_eq 0.0 "$(csv_get "$csv" "$1" internal_loss_pct)" "$1: internal_loss_pct"
	assert_eq "" "$(csv_get "$csv" "$1" detail)" "$1: detail"
	grep -q "\[$1\] tunnel up on ipsec0" "$TMP/$2.err" || fail "$1: no 'tunnel up on ipsec0' in the log"
}

# ike_run NAME: `epmon -v once` of $TMP/NAME.yml (two sites), both OK; the responder's log
# of the run in $TMP/NAME.responder; nothing left after it
ike_run() {
	local from
	from=$(($(wc -l <"$LAB_IKE_LOG") + 1))
	probe_epmon "$1" -v once -c "$TMP/$1.yml"
	assert_eq 0 "$EPMON_RC" "$1: exit status of once (both OK)"
	tail -n +"$from" "$LAB_IKE_LOG" >"$TMP/$1.responder"
	! grep -E 'destroying duplicate IKE_SA|reassigning online lease' "$TMP/$1.responder" >&2 ||
		fail "$1: the responder took two sites for one (line above)"
}

# ---- 1. two users at once ----
ike_run users
assert_eq 2 "$(csv_count "$TMP/results")" "users: rows written"
for s in "$ONE" "$TWO"; do
	assert_ok_row "$s" users
	grep -q "\[$s\] client: .*EAP method EAP_MSCHAPV2 succeeded" "$TMP/users.err" ||
		fail "$s: EAP-MSCHAPv2 did not succeed"
done
assert_eq 2 "$(grep -cE "IKE_SA $LAB_IKE_CONN\[[0-9]+\] established between $LAB_IKE_IP" "$TMP/users.responder")" \
	"users: IKE_SAs the responder established on $LAB_IKE_CONN"
vip1=$(ike_site_vip "$ONE" "$TMP/users.err")
vip2=$(ike_site_vip "$TWO" "$TMP/users.err")
assert_match '^10\.51\.0\.[0-9]+$' "$vip1" "$ONE: virtual IP"
assert_match '^10\.51\.0\.[0-9]+$' "$vip2" "$TWO: virtual IP"
[ "$vip1" != "$vip2" ] || fail "$ONE and $TWO got the same virtual IP $vip1"
e2e_log "ok: $ONE ($LAB_USER) and $TWO ($LAB_USER2) had tunnels of their own ($vip1, $vip2)"
ike_assert_no_dir "$ONE" "$TWO"
probe_assert_clean "$TMP"
# the DELETEs were answered before each charon stopped
[ -z "$(ike_responder_sas)" ] || fail "users: the responder still holds an IKE_SA: $(ike_responder_sas)"

# ---- 2. EAP-MD5, and a swanctl_file of one's own ----
ike_run kinds
assert_eq 4 "$(csv_count "$TMP/results")" "rows written"
assert_ok_row "$MD5" kinds
grep -q "\[$MD5\] client: .*server requested EAP_MD5 authentication" "$TMP/kinds.err" ||
	fail "$MD5: the responder did not ask for EAP-MD5"
grep -q "\[$MD5\] client: .*EAP method EAP_MD5 succeeded" "$TMP/kinds.err" ||
	fail "$MD5: EAP-MD5 did not succeed"
assert_eq 1 "$(grep -cE "IKE_SA $LAB_IKE_MD5_CONN\[[0-9]+\] established between $LAB_IKE_MD5_IP" "$TMP/kinds.responder")" \
	"kinds: IKE_SAs the responder established on $LAB_IKE_MD5_CONN"
assert_ok_row "$SWAN" kinds
grep -q "\[$SWAN\] CHILD_SA intranet installed" "$TMP/kinds.err" ||
	fail "$SWAN: no installed CHILD_SA intranet in the -v output"
grep -q "\[$SWAN\] IKE_SA labvpn terminated" "$TMP/kinds.err" ||
	fail "$SWAN: the IKE_SA labvpn was not terminated at teardown"
assert_eq 1 "$(grep -cE "IKE_SA $LAB_IKE_CONN\[[0-9]+\] established between $LAB_IKE_IP" "$TMP/kinds.responder")" \
	"kinds: IKE_SAs the responder established on $LAB_IKE_CONN"
ike_assert_no_dir "$MD5" "$SWAN"
probe_assert_clean "$TMP"
[ -z "$(ike_responder_sas)" ] || fail "kinds: the responder still holds an IKE_SA: $(ike_responder_sas)"
e2e_log "ok: no IKE_SA left on the responder"
e2e_log "PASS"
