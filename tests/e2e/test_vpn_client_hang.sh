#!/usr/bin/env bash
# A client that ignores SIGINT and SIGTERM (tests/lab/fake-client-hang, a FAKE client: it
# prompts "Password:", prints "Configured as ..." and then blocks, only SIGKILL ends it),
# run as a `client: custom` site with teardown_timeout 1:
#   hang     the fake alone: it makes no tunnel, so the login fails at vpn_login
#            ("no usable tunnel") after login_timeout; the teardown escalates
#            SIGINT -> SIGTERM -> SIGKILL and the fake is gone.
#   hangtun  a wrapper (written here) adds a veth pair with a route to internal_ip on one
#            end, then execs the fake: the login succeeds (a new interface carries the
#            route), the internal ping fails (nobody answers on that veth), the teardown
#            escalates to SIGKILL. With isolation netns (the default) the interface goes
#            with the site namespace; a second run with `isolation: {mode: none}` (the
#            client in the probe namespace) must delete the interface the client left
#            behind and say so in the detail.
# Every run leaves the probe as it was.
set -u
E2E_PREFIX=${E2E_PREFIX:-vpnhg$$}
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"

vpn_test_setup 1
lab_fake FAKE fake-client-hang
cat >"$TMP/hang-with-tun" <<SH
#!/bin/sh
# wrapper for the FAKE client: a leftover-prone "tunnel", then the fake itself
ip link add vhang0 type veth peer name vhang1 || exit 1
ip link set vhang1 up || exit 1
ip addr add 10.99.0.1/32 dev vhang0 || exit 1
ip link set vhang0 up || exit 1
ip route add $LAB_GW1_INTRANET_IP/32 dev vhang0 || exit 1
exec $FAKE
SH
chmod 700 "$TMP/hang-with-tun"
write_config "$TMP/config.yml" <<YAML
$(lab_fake_site hang 1 "$FAKE" login_timeout=2 teardown_timeout=1)
$(lab_fake_site hangtun 1 "$TMP/hang-with-tun" login_timeout=5 teardown_timeout=1)
YAML
probe_snapshot "$TMP"

start=$(date +%s%N)
probe_epmon once -v once -c "$TMP/config.yml"
e2e_log "once took $((($(date +%s%N) - start) / 1000000)) ms"
assert_eq 1 "$EPMON_RC" "exit status of once (sites failed)"
CSV=$(results_file "$TMP/results")
assert_eq 2 "$(csv_count "$TMP/results")" "rows written"

get() { csv_get "$CSV" hang "$1"; }
assert_eq FAIL "$(get result)" "hang: result"
assert_eq vpn_login "$(get failed_step)" "hang: failed_step"
assert_positive "$(get external_rtt_ms)" "hang: external_rtt_ms"
assert_fields_empty "$CSV" hang login_ms internal_rtt_ms internal_loss_pct
assert_positive "$(get teardown_ms)" "hang: teardown_ms"
# SIGINT ignored for 1 s, SIGTERM for 2 s, then SIGKILL
# (a busy machine only makes it longer: the bound above is loose)
awk -v v="$(get teardown_ms)" 'BEGIN { exit !(v >= 2900 && v < 10000) }' ||
	fail "hang: teardown_ms $(get teardown_ms) (INT 1 s + TERM 2 s + KILL: 3 s and a little)"
assert_match "no usable tunnel after 2 s" "$(get detail)" "hang: detail (login)"
assert_match "SIGKILL" "$(get detail)" "hang: detail (escalation)"

get() { csv_get "$CSV" hangtun "$1"; }
assert_eq FAIL "$(get result)" "hangtun: result"
assert_eq internal_ping "$(get failed_step)" "hangtun: failed_step"
assert_positive "$(get login_ms)" "hangtun: login_ms"
assert_eq 100.0 "$(get internal_loss_pct)" "hangtun: internal_loss_pct"
assert_eq "" "$(get internal_rtt_ms)" "hangtun: internal_rtt_ms"
assert_positive "$(get teardown_ms)" "hangtun: teardown_ms"
assert_match "SIGKILL" "$(get detail)" "hangtun: detail (escalation)"

# the fakes' pids, from the log, are gone (not even alive in another namespace)
pids=$(sed -n 's/.*started .* (pid \([0-9]*\)).*/\1/p' "$TMP/once.err")
[ "$(echo "$pids" | wc -w)" -eq 2 ] || fail "expected 2 client pids in the log, got '$pids'"
for pid in $pids; do
	lab_alive "$pid" && fail "client pid $pid still alive: $(cat "/proc/$pid/comm")"
done
e2e_log "ok: client pids $(echo "$pids" | tr "\n" " ")are gone"
[ "$(grep -c 'client stopped in .* by SIGKILL' "$TMP/once.err")" -eq 2 ] ||
	fail "expected both clients stopped by SIGKILL in the log"

probe_assert_clean "$TMP"

# mode none: hangtun's veth is left in the probe namespace, epmon deletes it
rm -f "$TMP"/results/*.csv
E2E_CONFIG_EXTRA=$(isolation_none_yaml) write_config "$TMP/none.yml" <<YAML
$(lab_fake_site hangtun 1 "$TMP/hang-with-tun" login_timeout=5 teardown_timeout=1)
YAML
probe_epmon none -v once -c "$TMP/none.yml"
assert_eq 1 "$EPMON_RC" "mode none: exit status of once (site failed)"
CSV=$(results_file "$TMP/results")
assert_eq 1 "$(csv_count "$TMP/results")" "mode none: rows written"
assert_eq internal_ping "$(csv_get "$CSV" hangtun failed_step)" "mode none: hangtun: failed_step"
assert_match "SIGKILL" "$(csv_get "$CSV" hangtun detail)" "mode none: hangtun: detail (escalation)"
assert_match "vhang0" "$(csv_get "$CSV" hangtun detail)" "mode none: hangtun: detail (leftover interface repaired)"
pid=$(sed -n 's/.*started .* (pid \([0-9]*\)).*/\1/p' "$TMP/none.err")
[ -n "$pid" ] || fail "mode none: no client pid in the log"
lab_alive "$pid" && fail "mode none: client pid $pid still alive"
probe_assert_clean "$TMP"
e2e_log "PASS"
# SPDX-License-Identifier: MIT
