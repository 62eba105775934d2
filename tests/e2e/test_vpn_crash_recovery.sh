#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# A crash of epmon and its client mid-test (isolation mode none: the client changes the
# probe itself): `epmon run` is killed with SIGKILL while openconnect is connected, and so is
# openconnect (what systemd's SIGKILL of the service's group does). vpnc-script's host
# route to the gateway, its resolv.conf and its files in /run/vpnc stay behind. The next
# start of epmon undoes it from its journal (state_directory/journal-SITE): the probe's
# routes as before, resolv.conf as before, /run/vpnc of the dead client cleaned; and its
# own test leaves nothing either.
set -u
E2E_PREFIX=${E2E_PREFIX:-vpncr$$}
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"

vpn_test_setup 1
E2E_CONFIG_EXTRA=$(isolation_none_yaml)
# 30 echoes 0.1 s apart through the tunnel: 3 s with the tunnel up to kill in
write_config "$TMP/config.yml" 60 "{count: 30, interval: 0.1, timeout: 1}" <<YAML
$(lab_openconnect_site gw1 1 login_timeout=5)
YAML
probe_snapshot "$TMP"

ip netns exec "$LAB_NS_PROBE" "$EPMON" run -c "$TMP/config.yml" 2>"$TMP/run.err" &
PID=$!
register_pid "$PID"
wait_log "$TMP/run.err" "tunnel up on" 20 || fail "no tunnel: $(tail -5 "$TMP/run.err")"
[ -e "$TMP/state/journal-gw1" ] || fail "no journal of the test in progress"
client=""
for c in $(cat "/proc/$PID/task/"*/children 2>/dev/null); do
	[ "$(cat "/proc/$c/comm" 2>/dev/null)" = openconnect ] && client=$c
done
[ -n "$client" ] || fail "no openconnect child of epmon"
kill -KILL "$PID" "$client"
wait "$PID" 2>/dev/null
for _ in $(seq 100); do lab_alive "$client" || break; sleep 0.05; done
lab_alive "$client" && fail "openconnect $client still alive after SIGKILL"
e2e_log "epmon $PID and openconnect $client killed with the tunnel up"

# what the crash left (else this test proves nothing)
probe_state >"$TMP/probe.crash"
diff -u "$TMP/probe.before" "$TMP/probe.crash" | grep '^+[0-9]' >"$TMP/left.routes"
e2e_log "left by the crash: $(tr '\n' ';' <"$TMP/left.routes")"
grep -q "^+$LAB_GW1_IP " "$TMP/left.routes" || fail "no host route to the gateway left: the test needs one"
grep -q '^#@VPNC_GENERATED@' "$LAB_RESOLV_CONF" || fail "resolv.conf not left modified"
[ -e "/run/vpnc/resolv.conf-backup.$client" ] || fail "no vpnc-script backup of $client"

# the next start repairs (then its own test runs and leaves nothing)
probe_epmon once -v once -c "$TMP/config.yml"
assert_eq 0 "$EPMON_RC" "once after the crash: exit status"
expect() { grep -qF -- "$1" "$TMP/once.err" || fail "not logged: $1"; e2e_log "ok: logged: $1"; }
expect "[gw1] the last test of this site did not end (epmon stopped during it): checking what its client (pid $client) left"
expect "[gw1] route $LAB_GW1_IP"
expect "left by a client of an earlier epmon; deleted"
expect "/run/vpnc/resolv.conf-backup.$client of a client of an earlier epmon (pid $client) removed"
[ -e "/run/vpnc/resolv.conf-backup.$client" ] && fail "vpnc-script's backup left"
[ -e "$TMP/state/journal-gw1" ] && fail "journal left after a complete test"
probe_assert_clean "$TMP"
echo "PASS: after SIGKILL of epmon and its client with the tunnel up, the next start repairs the probe"
