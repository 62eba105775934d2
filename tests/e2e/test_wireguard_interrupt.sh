#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# wireguard interrupted and left over (lab.sh up 1 --wireguard):
# A. SIGTERM to `epmon -v run` while wireguard-go is logging in, once with isolation netns
#    (the default: the client in a site namespace) and once with isolation mode none (the
#    client in the probe namespace). The moment is made certain: the peer is stopped first
#    (lab.sh wg-stop: no wireguard-go answers, ICMP port unreachable is ignored) and
#    login_timeout is 30 s, so once epmon's -v log shows wireguard-go's "Sending handshake
#    initiation" epmon has configured it over its control socket and waits for a handshake
#    that cannot come; only then SIGTERM. epmon must exit 0 within teardown_timeout (3 s)
#    + 10 s, log the site as aborted, write no row, and leave nothing: no wireguard-go (its
#    pid gone), no site namespace, no epmon-v* veth, no nftables table, no epmon0, the
#    probe's routes, ip_forward and resolv.conf as before, no control socket in the host's
#    /var/run/wireguard. The peer is started again (wg-start) after each exit; the lab is
#    this test's own and lab_exit takes it down if a check fails.
# B. A real wireguard-go left running in the probe namespace (isolation mode none), as
#    after a crash of an earlier monitor: started by the test as epmon starts it
#    (`wireguard-go -f epmon0`, LOG_LEVEL=verbose, WG_PROCESS_FOREGROUND=1, a private tmpfs
#    on /var/run/wireguard), configured as client1 with `wg set` through its mount
#    namespace, address, link up, route, and connected (a completed handshake). It holds
#    epmon0: a new wireguard-go cannot create it ("Failed to create TUN device: device or
#    resource busy").
#    B1. with `process_names: [wireguard-go]` (the documented way to name stale clients):
#        `epmon once` stops it ("stopped 1 stale client process(es)"), logs in OK, and the
#        probe is as it was;
#    B2. with the default configuration, and beside it the host's own wireguard-go on
#        another interface (h<lab prefix>, its socket in the host's /var/run/wireguard):
#        what a user expects is that epmon stops its own leftover on the site's interface
#        ("stopped 1 stale client process(es)"), logs in OK, and leaves the host's tunnel
#        alone (process and interface still there).
set -u
E2E_PREFIX=${E2E_PREFIX:-wgint$$}
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"

wg_test_setup
require_cmd nsenter unshare
SITE=wgint$$
TD=3
# wireguard-go's control socket directory (epmon resolves /var/run the same way)
WG_DIR=$(realpath -m /var/run/wireguard)
[ -d "$WG_DIR" ] || mkdir -m 700 "$WG_DIR" || fail "mkdir $WG_DIR"
write_config "$TMP/netns.yml" <<YAML
$(lab_wireguard_site "$SITE" login_timeout=30 teardown_timeout=$TD)
YAML
E2E_CONFIG_EXTRA=$(isolation_none_yaml)
write_config "$TMP/none-a.yml" <<YAML
$(lab_wireguard_site "$SITE" login_timeout=30 teardown_timeout=$TD)
YAML
write_config "$TMP/none-names.yml" <<YAML
$(lab_wireguard_site "$SITE" login_timeout=5 teardown_timeout=$TD process_names="[wireguard-go]")
YAML
write_config "$TMP/none.yml" <<YAML
$(lab_wireguard_site "$SITE" login_timeout=5 teardown_timeout=$TD)
YAML
probe_snapshot "$TMP"

# A. SIGTERM mid-login, in both isolation modes
for mode in netns none; do
	cfg=$TMP/netns.yml
	[ "$mode" = none ] && cfg=$TMP/none-a.yml
	lab_cmd wg-stop
	run_until_moment "term-$mode" "$cfg" "$SITE" "\[$SITE\] client: .*Sending handshake initiation"
	sigterm_assert "term-$mode" "$SITE" $TD
	lab_cmd wg-start
	grep -q "\[$SITE\] client stopped in .* by SIGINT" "$TMP/term-$mode.err" ||
		fail "A $mode: wireguard-go was not stopped by SIGINT"
	wg_assert_no_socket epmon0
	probe_assert_clean "$TMP"
done

# stale_wg: start a wireguard-go on epmon0 in the probe namespace as epmon starts it and
# connect it as client1; its pid in STALE, its output in STALE_LOG (a new file each time:
# the wait for its first line must not see the previous one's).
NSTALE=0
stale_wg() {
	local i hs
	NSTALE=$((NSTALE + 1))
	STALE_LOG=$TMP/stale-wg-$NSTALE.log
	ip netns exec "$LAB_NS_PROBE" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LOG_LEVEL=verbose \
		WG_PROCESS_FOREGROUND=1 unshare -m --propagation private \
		sh -c "mount -t tmpfs tmpfs '$WG_DIR' && exec wireguard-go -f epmon0" \
		>"$STALE_LOG" 2>&1 &
	STALE=$!
	register_pid "$STALE"
	wait_log "$STALE_LOG" 'UAPI listener started' 10 ||
		{ sed 's/^/    stale| /' "$STALE_LOG" >&2; fail "the stale wireguard-go did not start"; }
	nsenter -t "$STALE" -m -n wg set epmon0 private-key "$LAB_WG_CLIENT1_KEY" \
		peer "$LAB_WG_PUBLIC_KEY" endpoint "$LAB_WG_ENDPOINT" \
		allowed-ips "$LAB_WG_INTRANET_IP/32" persistent-keepalive 25 ||
		fail "wg set of the stale wireguard-go $STALE"
	ip -n "$LAB_NS_PROBE" addr add "$LAB_WG_CLIENT1_IP/32" dev epmon0 || fail "address of the stale epmon0"
	ip -n "$LAB_NS_PROBE" link set epmon0 up || fail "link up of the stale epmon0"
	ip -n "$LAB_NS_PROBE" route add "$LAB_WG_INTRANET_IP/32" dev epmon0 || fail "route of the stale epmon0"
	for i in $(seq 100); do
		hs=$(nsenter -t "$STALE" -m -n wg show epmon0 latest-handshakes | awk '{print $2}')
		[ "${hs:-0}" -gt 0 ] && break
		# a datagram through the tunnel asks for the handshake (as epmon does)
		if [ $((i % 20)) -eq 1 ]; then
			ip netns exec "$LAB_NS_PROBE" bash -c "echo epmon >/dev/udp/$LAB_WG_INTRANET_IP/9" 2>/dev/null
		fi
		sleep 0.05
	done
	[ "${hs:-0}" -gt 0 ] ||
		{ sed 's/^/    stale| /' "$STALE_LOG" >&2; fail "the stale wireguard-go did not connect in 5 s"; }
	assert_eq wireguard-go "$(cat "/proc/$STALE/comm")" "comm of the stale client $STALE"
	e2e_log "stale wireguard-go $STALE connected: $(ip -n "$LAB_NS_PROBE" route get "$LAB_WG_INTRANET_IP" | head -1)"
}

# assert_ok_after_stale RUN ROWS: the row of once RUN is OK, says one stale client was
# stopped, and the stale wireguard-go is gone.
assert_ok_after_stale() {
	local run=$1 rows=$2
	CSV=$(results_file "$TMP/results")
	assert_eq "$rows" "$(csv_count "$TMP/results")" "$run: rows written"
	get() { csv_get "$CSV" "$SITE" "$1"; }
	assert_eq OK "$(get result)" "$run: result (detail: $(get detail))"
	assert_positive "$(get login_ms)" "$run: login_ms"
	assert_positive "$(get internal_rtt_ms)" "$run: internal_rtt_ms"
	assert_match "^stopped 1 stale client process\(es\) before the test$" "$(get detail)" "$run: detail"
	grep -q "stale VPN client pid $STALE stopped before the test" "$TMP/$run.err" ||
		fail "$run: the log does not name the stale wireguard-go $STALE"
	lab_alive "$STALE" && fail "$run: stale wireguard-go $STALE still alive"
	wait "$STALE" 2>/dev/null
	e2e_log "ok: $run: stale wireguard-go $STALE is gone"
	wg_assert_no_socket epmon0
}

# B1. process_names: [wireguard-go]
stale_wg
probe_epmon once-names -v once -c "$TMP/none-names.yml"
assert_ok_after_stale once-names 1
assert_eq 0 "$EPMON_RC" "B1: exit status of once"
probe_assert_clean "$TMP"

# B2. the default configuration, the host's own wireguard-go beside the stale one
HOST_IF=h$LAB_P
E2E_DIRS+=("$WG_DIR/$HOST_IF.sock")
ip netns exec "$LAB_NS_PROBE" env WG_PROCESS_FOREGROUND=1 wireguard-go -f "$HOST_IF" \
	>"$TMP/host-wg.log" 2>&1 &
host=$!
register_pid "$host"
# (at its default log level it prints nothing: its control socket says it is ready)
for i in $(seq 200); do
	[ -S "$WG_DIR/$HOST_IF.sock" ] && break
	lab_alive "$host" || break
	sleep 0.05
done
if ! [ -S "$WG_DIR/$HOST_IF.sock" ] || ! ip -n "$LAB_NS_PROBE" link show "$HOST_IF" >/dev/null 2>&1; then
	sed 's/^/    host| /' "$TMP/host-wg.log" >&2
	fail "the host's wireguard-go did not start (no $WG_DIR/$HOST_IF.sock, or no $HOST_IF)"
fi
stale_wg
probe_epmon once-default -v once -c "$TMP/none.yml"
assert_ok_after_stale once-default 2
assert_eq 0 "$EPMON_RC" "B2: exit status of once"
lab_alive "$host" || fail "B2: the host's own wireguard-go $host (interface $HOST_IF) was stopped"
ip -n "$LAB_NS_PROBE" link show "$HOST_IF" >/dev/null 2>&1 ||
	fail "B2: the host's interface $HOST_IF is gone"
e2e_log "ok: B2: the host's own wireguard-go $host on $HOST_IF is untouched"
kill -TERM "$host"
wait_gone "$host" 5 || fail "the host's wireguard-go $host did not exit on SIGTERM"
wait "$host" 2>/dev/null
probe_assert_clean "$TMP"
e2e_log "PASS"
