#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The real openvpn client against the lab's OpenVPN 2.6 server (lab.sh up 1 --openvpn;
# isolation netns, the default) when something breaks; password logins. Each fault is made
# at a certain moment (no sleep decides it), and after each the probe is as it was (no
# process, tun device, veth, route, nftables table or resolv.conf change; no auth dir):
# (a) server frozen before the login: SIGSTOP to the server's pid (lab state), then
#     `epmon -v run` (frequency 8 s, login_timeout 4 s): the first cycle's row fails at
#     vpn_login "no tunnel after 4 s" with openvpn's last line, within the cycle; SIGCONT
#     once that row is written, and the next cycle's row is OK (the daemon recovers).
# (b) server SIGKILLed while the tunnel is up: the intranet host ignores echo requests
#     until epmon logs "tunnel up on epmon0", then the server dies (SIGKILL by its pid) and
#     the host answers again: nothing can come back through the tunnel, the row fails at
#     internal_ping (login_ms set, 100 % loss, "no reply"; openvpn itself logs its packets
#     refused, ECONNREFUSED), and the teardown still stops openvpn with SIGINT. `lab.sh ovpn-start` brings up a new server and `epmon once` is
#     OK again.
# (c) openvpn client SIGKILLed during its login: the server's password check is slowed
#     (ovpn-auth-delay 5 s), and once epmon's -v log shows the client verified the server
#     ("VERIFY OK: depth=0": its credentials are being checked) the test SIGKILLs the
#     client, found by the pid epmon logged and checked to be epmon's child named openvpn.
#     The row fails at vpn_login "failed in auth ...: client killed by signal 9" with its
#     last line, at once (not at login_timeout); the client is gone, no tun is left.
set -u
E2E_PREFIX=${E2E_PREFIX:-ovpft$$}
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"

ovpn_test_setup
SITE=ovflt$$
OVPN_SITES=$SITE
ovpn_client_conf "$TMP/client.ovpn" "auth-user-pass"
site() {
	lab_openvpn_site "$SITE" "$TMP/client.ovpn" username="$LAB_USER" \
		password_file="$LAB_PASSWORD_FILE" "$@"
}
write_config "$TMP/frozen.yml" 8 <<YAML
$(site login_timeout=4)
YAML
write_config "$TMP/crash.yml" <<YAML
$(site login_timeout=20)
YAML
write_config "$TMP/killed.yml" 60 "{count: 10, interval: 0.2, timeout: 1}" <<YAML
$(site login_timeout=20)
YAML
probe_snapshot "$TMP"

# server_pid: the lab's openvpn server now (lab.sh env): its pid in SRV, checked to be
# an openvpn in the server's namespace.
server_pid() {
	eval "$("$LAB_SH" env --prefix "$LAB_P")" || fail "lab.sh env failed"
	SRV=$LAB_OVPN_PID
	[ -n "$SRV" ] || fail "the lab's openvpn server is not running"
	assert_eq openvpn "$(cat "/proc/$SRV/comm")" "comm of the server's pid $SRV"
	assert_eq "$LAB_OVPN_NS" "$(ip netns identify "$SRV")" "namespace of the server's pid $SRV"
}

# after_fault NAME: epmon NAME exited; nothing of the site is left.
after_fault() {
	local left
	left=$(ovpn_auth_dirs)
	[ -z "$left" ] || fail "$1: openvpn auth dir left: $left"
	probe_assert_clean "$TMP"
}

# (a) frozen server, then the next cycle
server_pid
kill -STOP "$SRV" || fail "kill -STOP $SRV"
# (the stop is delivered asynchronously: wait for it)
for _ in $(seq 100); do
	st=$(awk '/^State:/ {print $2}' "/proc/$SRV/status")
	[ "$st" = T ] && break
	sleep 0.05
done
assert_eq T "$st" "a: state of the stopped server $SRV"
t0=$(now_ms)
probe_epmon_bg frozen -v run -c "$TMP/frozen.yml"
wait_csv_rows "$TMP/results" "$SITE" 1 30 ||
	{ sed 's/^/    err| /' "$TMP/frozen.err" >&2; fail "a: no row in 30 s"; }
first=$(($(now_ms) - t0))
kill -CONT "$SRV" || fail "kill -CONT $SRV"
CSV=$(results_file "$TMP/results")
assert_eq FAIL "$(csv_get "$CSV" "$SITE" result)" "a: first cycle: result"
assert_eq vpn_login "$(csv_get "$CSV" "$SITE" failed_step)" "a: first cycle: failed_step"
assert_positive "$(csv_get "$CSV" "$SITE" external_rtt_ms)" "a: first cycle: external_rtt_ms"
assert_fields_empty "$CSV" "$SITE" login_ms internal_rtt_ms
assert_match "^failed in connect after [0-9.]+ s: no tunnel after 4 s \(last output: '.*UDPv4 link remote: \[AF_INET\]$LAB_OVPN_IP:$LAB_OVPN_PORT'\)$" \
	"$(csv_get "$CSV" "$SITE" detail)" "a: first cycle: detail"
# login_timeout 4 s after the start; the bound only catches a hang (the machine may be busy)
[ "$first" -lt 20000 ] || fail "a: the first row came $first ms after the start (login_timeout 4 s: a hang?)"
e2e_log "ok: a: the frozen server's login failed in a cycle of $first ms; server resumed"
wait_csv_rows "$TMP/results" "$SITE" 2 30 ||
	{ sed 's/^/    err| /' "$TMP/frozen.err" >&2; fail "a: no second row in 30 s"; }
kill -TERM "$EPMON_PID"
wait_gone "$EPMON_PID" 20 || fail "a: epmon run still running 20 s after SIGTERM"
wait "$EPMON_PID"
rc=$?
sed 's/^/    err| /' "$TMP/frozen.err" >&2
assert_no_sanitizer "$TMP/frozen.err"
assert_eq 0 "$rc" "a: exit status of run after SIGTERM"
assert_eq 2 "$(csv_count "$TMP/results" "$SITE")" "a: rows (a third cycle did not start)"
assert_eq OK "$(csv_get "$CSV" "$SITE" result)" "a: second cycle: result"
assert_positive "$(csv_get "$CSV" "$SITE" login_ms)" "a: second cycle: login_ms"
assert_positive "$(csv_get "$CSV" "$SITE" internal_rtt_ms)" "a: second cycle: internal_rtt_ms"
assert_eq "" "$(csv_get "$CSV" "$SITE" detail)" "a: second cycle: detail"
after_fault a

# (b) the server SIGKILLed while the tunnel is up
server_pid
ip netns exec "$LAB_OVPN_INTRANET_NS" sysctl -qw net.ipv4.icmp_echo_ignore_all=1 ||
	fail "b: cannot silence the intranet host"
probe_epmon_bg killed -v once -c "$TMP/killed.yml"
if ! wait_log "$TMP/killed.err" "\[$SITE\] tunnel up on epmon0" 30; then
	sed 's/^/    err| /' "$TMP/killed.err" >&2
	fail "b: no tunnel in 30 s"
fi
kill -KILL "$SRV" || fail "b: kill -KILL $SRV"
wait_gone "$SRV" 5 || fail "b: the server $SRV still alive 5 s after SIGKILL"
ip netns exec "$LAB_OVPN_INTRANET_NS" sysctl -qw net.ipv4.icmp_echo_ignore_all=0 ||
	fail "b: cannot make the intranet host answer again"
e2e_log "b: server $SRV killed with the tunnel up; the intranet host answers again"
wait_gone "$EPMON_PID" 40 || fail "b: epmon once still running 40 s after its start"
wait "$EPMON_PID"
rc=$?
sed 's/^/    err| /' "$TMP/killed.err" >&2
assert_no_sanitizer "$TMP/killed.err"
assert_eq 1 "$rc" "b: exit status of once (the site failed)"
assert_eq FAIL "$(csv_get "$CSV" "$SITE" result)" "b: result"
assert_eq internal_ping "$(csv_get "$CSV" "$SITE" failed_step)" "b: failed_step"
assert_positive "$(csv_get "$CSV" "$SITE" login_ms)" "b: login_ms (the login was done)"
assert_eq 100.0 "$(csv_get "$CSV" "$SITE" internal_loss_pct)" "b: internal_loss_pct"
assert_positive "$(csv_get "$CSV" "$SITE" teardown_ms)" "b: teardown_ms"
assert_match "^no reply from $LAB_OVPN_INTRANET_IP" "$(csv_get "$CSV" "$SITE" detail)" "b: detail"
# the client saw it: its packets to the dead server's port come back refused (ICMP)
sed -n "/\[$SITE\] tunnel up on epmon0/,\$p" "$TMP/killed.err" |
	grep -q "\[$SITE\] client: .*read UDPv4 \[ECONNREFUSED\]" ||
	fail "b: openvpn did not report its packets refused after the server's death"
grep -q "\[$SITE\] client stopped in .* by SIGINT" "$TMP/killed.err" ||
	fail "b: openvpn was not stopped by SIGINT"
after_fault b
lab_cmd ovpn-start
old=$SRV
server_pid
[ "$SRV" != "$old" ] || fail "b: ovpn-start kept the killed server's pid $old"
probe_epmon again -v once -c "$TMP/killed.yml"
assert_eq 0 "$EPMON_RC" "b: exit status of once after ovpn-start"
assert_eq OK "$(csv_get "$CSV" "$SITE" result)" "b: result after ovpn-start"
assert_eq 0.0 "$(csv_get "$CSV" "$SITE" internal_loss_pct)" "b: internal_loss_pct after ovpn-start"
after_fault again

# (c) the client SIGKILLed while its credentials are checked
lab_cmd ovpn-auth-delay 5000
probe_epmon_bg crash -v once -c "$TMP/crash.yml"
if ! wait_log "$TMP/crash.err" "\[$SITE\] client: .*VERIFY OK: depth=0" 20; then
	sed 's/^/    err| /' "$TMP/crash.err" >&2
	fail "c: openvpn did not verify the server in 20 s"
fi
CL=$(sed -n "s/.*\[$SITE\] started .* (pid \([0-9]*\)).*/\1/p" "$TMP/crash.err" | head -1)
[ -n "$CL" ] || fail "c: no client pid in epmon's log"
assert_eq openvpn "$(cat "/proc/$CL/comm")" "c: comm of the client $CL"
assert_eq "$EPMON_PID" "$(awk '/^PPid:/ {print $2}' "/proc/$CL/status")" "c: parent of the client $CL (epmon)"
kill -KILL "$CL" || fail "c: kill -KILL $CL"
t0=$(now_ms)
lab_cmd ovpn-auth-delay 0
wait_gone "$EPMON_PID" 30 || fail "c: epmon once still running 30 s after the client's SIGKILL"
wait "$EPMON_PID"
rc=$?
took=$(($(now_ms) - t0))
sed 's/^/    err| /' "$TMP/crash.err" >&2
assert_no_sanitizer "$TMP/crash.err"
assert_eq 1 "$rc" "c: exit status of once (the site failed)"
assert_eq FAIL "$(csv_get "$CSV" "$SITE" result)" "c: result"
assert_eq vpn_login "$(csv_get "$CSV" "$SITE" failed_step)" "c: failed_step"
assert_fields_empty "$CSV" "$SITE" login_ms internal_rtt_ms
assert_positive "$(csv_get "$CSV" "$SITE" teardown_ms)" "c: teardown_ms"
assert_match "^failed in auth after [0-9.]+ m?s: client killed by signal 9 \(last output: '.+'\)$" \
	"$(csv_get "$CSV" "$SITE" detail)" "c: detail"
# at once, not at login_timeout (20 s)
[ "$took" -lt 10000 ] || fail "c: epmon took $took ms after the client's SIGKILL (login_timeout 20 s)"
e2e_log "ok: c: epmon finished $took ms after the client's SIGKILL"
lab_alive "$CL" && fail "c: the killed client $CL is still there"
after_fault c

assert_eq 5 "$(csv_count "$TMP/results" "$SITE")" "rows written"
e2e_log "PASS"
