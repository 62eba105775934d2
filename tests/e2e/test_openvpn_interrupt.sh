#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# openvpn interrupted and left over (lab.sh up 1 --openvpn):
# A. SIGTERM to `epmon -v run` while openvpn is logging in (password login: epmon's 0600
#    auth file exists), once with isolation netns (the default: the client in a site
#    namespace) and once with isolation mode none (the client in the probe namespace).
#    The moment is made certain: the server is hung first (lab.sh ovpn-pause: SIGSTOP, its
#    UDP port open, nothing answers, no ICMP) and login_timeout is 30 s, so once epmon's
#    -v log shows openvpn's "UDPv4 link remote: [AF_INET]SERVER:PORT" the client has sent
#    its first packet and can only wait; only then SIGTERM. epmon must exit 0 within
#    teardown_timeout (3 s) + 10 s, log the site as aborted, write no row, and leave
#    nothing: no openvpn (its pid gone), no site namespace, no epmon-v* veth, no nftables
#    table, no tun device, the probe's routes, ip_forward and resolv.conf as before, no
#    auth dir under /run/epmon. The server is resumed (ovpn-resume) after each exit; the
#    lab is this test's own and lab_exit takes it down (SIGCONT first) if a check fails.
# B. A real openvpn left running in the probe namespace (isolation mode none), as after a
#    crash of an earlier monitor: started by the test as epmon starts it (--dev epmon0
#    --dev-type tun, a client certificate), connected to the server (its log says
#    "Initialization Sequence Completed", the route to the intranet host leaves through
#    epmon0). `epmon once` must stop it before the site test ("stopped 1 stale client
#    process(es)" in the detail: openvpn is a default stale name), log in OK (this also
#    proves the server is back after A), and leave the probe as it was before.
set -u
E2E_PREFIX=${E2E_PREFIX:-ovint$$}
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"

ovpn_test_setup
SITE=ovint$$
OVPN_SITES=$SITE
TD=3
ovpn_client_conf "$TMP/client.ovpn" "auth-user-pass"
ovpn_client_conf "$TMP/stale.ovpn" "cert $LAB_OVPN_CLIENT_CERT" "key $LAB_OVPN_CLIENT_KEY"
site() {
	lab_openvpn_site "$SITE" "$TMP/client.ovpn" username="$LAB_USER" \
		password_file="$LAB_PASSWORD_FILE" login_timeout=30 teardown_timeout=$TD
}
write_config "$TMP/netns.yml" <<YAML
$(site)
YAML
E2E_CONFIG_EXTRA=$(isolation_none_yaml)
write_config "$TMP/none.yml" <<YAML
$(site)
YAML
probe_snapshot "$TMP"
MOMENT="\[$SITE\] client: .*UDPv4 link remote: \[AF_INET\]$LAB_OVPN_IP:$LAB_OVPN_PORT"

# A. SIGTERM mid-login, in both isolation modes
for mode in netns none; do
	lab_cmd ovpn-pause
	run_until_moment "term-$mode" "$TMP/$mode.yml" "$SITE" "$MOMENT"
	[ -n "$(ovpn_auth_dirs)" ] || fail "A $mode: no auth dir of $SITE while openvpn logs in"
	sigterm_assert "term-$mode" "$SITE" $TD
	lab_cmd ovpn-resume
	grep -q "\[$SITE\] client stopped in .* by SIGINT" "$TMP/term-$mode.err" ||
		fail "A $mode: openvpn was not stopped by SIGINT"
	left=$(ovpn_auth_dirs)
	[ -z "$left" ] || fail "A $mode: auth dir left: $left"
	probe_assert_clean "$TMP"
done

# B. a stale openvpn, connected, in the probe namespace
ip netns exec "$LAB_NS_PROBE" openvpn --config "$TMP/stale.ovpn" --dev epmon0 --dev-type tun \
	>"$TMP/stale-openvpn.log" 2>&1 &
stale=$!
register_pid "$stale"
wait_log "$TMP/stale-openvpn.log" 'Initialization Sequence Completed' 10 ||
	{ sed 's/^/    stale| /' "$TMP/stale-openvpn.log" >&2; fail "the stale openvpn did not connect in 10 s"; }
route=$(ip -n "$LAB_NS_PROBE" route get "$LAB_OVPN_INTRANET_IP" 2>&1 | head -1)
assert_match "dev epmon0" "$route" "B: route of the stale openvpn $stale"
assert_eq openvpn "$(cat "/proc/$stale/comm")" "B: comm of the stale client $stale"

probe_epmon once -v once -c "$TMP/none.yml"
assert_eq 0 "$EPMON_RC" "B: exit status of once"
CSV=$(results_file "$TMP/results")
assert_eq 1 "$(csv_count "$TMP/results")" "B: rows written"
get() { csv_get "$CSV" "$SITE" "$1"; }
assert_eq OK "$(get result)" "B: result"
assert_positive "$(get login_ms)" "B: login_ms"
assert_positive "$(get internal_rtt_ms)" "B: internal_rtt_ms"
assert_eq 0.0 "$(get internal_loss_pct)" "B: internal_loss_pct"
assert_match "^stopped 1 stale client process\(es\) before the test$" "$(get detail)" "B: detail"
grep -q "stale VPN client pid $stale stopped before the test" "$TMP/once.err" ||
	fail "B: the log does not name the stale openvpn $stale"
lab_alive "$stale" && fail "B: stale openvpn $stale still alive"
wait "$stale" 2>/dev/null
e2e_log "ok: stale openvpn $stale is gone"
left=$(ovpn_auth_dirs)
[ -z "$left" ] || fail "B: auth dir left: $left"
probe_assert_clean "$TMP"
e2e_log "PASS"
