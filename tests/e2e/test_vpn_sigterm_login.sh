#!/usr/bin/env bash
# SIGTERM to `epmon run` in the middle of a site test: epmon tears the tunnel down, writes
# no row for the aborted site, exits 0, and leaves the probe as it was.
#   A. a FAKE client that hangs after "Configured as" and ignores SIGINT/SIGTERM
#      (tests/lab/fake-client-hang, client: custom): SIGTERM while epmon waits for the
#      tunnel; the teardown escalates to SIGKILL, so the exit takes ~3 s but no more.
#   B. the real openconnect against gateway 1: SIGTERM 0 to 140 ms after epmon started
#      it (TLS, authentication, "Configured as", vpnc-script setting up the
#      tun device, routes and resolv.conf: a signal there interrupts vpnc-script).
#   C. SIGTERM during the external ping, before any client runs.
set -u
E2E_PREFIX=${E2E_PREFIX:-vpntm$$}
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"

vpn_test_setup 1
lab_fake FAKE fake-client-hang
write_config "$TMP/hang.yml" <<YAML
$(lab_fake_site hang 1 "$FAKE" login_timeout=20 teardown_timeout=1)
YAML
write_config "$TMP/oc.yml" 60 "{count: 5, interval: 0.1, timeout: 1}" <<YAML
$(lab_openconnect_site oc 1 teardown_timeout=2)
YAML
write_config "$TMP/ping.yml" 60 "{count: 20, interval: 0.1, timeout: 1}" <<YAML
$(lab_openconnect_site pinging 1)
YAML
probe_snapshot "$TMP"

now_ms() { echo $(($(date +%s%N) / 1000000)); }

# run_and_term NAME CONFIG REGEX DELAY_S: start `epmon -v run`, wait until its stderr
# matches REGEX, sleep DELAY_S, SIGTERM it; sets TERM_RC and TERM_MS (signal to exit).
run_and_term() {
	local name=$1 cfg=$2 re=$3 delay=$4 pid t0 i
	ip netns exec "$LAB_NS_PROBE" "$EPMON" -v run -c "$cfg" >"$TMP/$name.out" 2>"$TMP/$name.err" &
	pid=$!
	register_pid "$pid"
	# a tight poll (5 ms, not wait_log's 50 ms): the delays below are tens of ms
	for i in $(seq 2000); do
		grep -qE -- "$re" "$TMP/$name.err" && break
		sleep 0.005
	done
	grep -qE -- "$re" "$TMP/$name.err" || { cat "$TMP/$name.err" >&2; fail "$name: no /$re/ in 10 s"; }
	[ "$delay" = 0 ] || sleep "$delay"
	t0=$(now_ms)
	kill -TERM "$pid"
	wait "$pid"
	TERM_RC=$?
	TERM_MS=$(($(now_ms) - t0))
	sed 's/^/    err| /' "$TMP/$name.err" >&2
	assert_no_sanitizer "$TMP/$name.err"
	e2e_log "$name: SIGTERM ${delay}s after /$re/: exit $TERM_RC after $TERM_MS ms"
}

# A. the hanging fake, while epmon waits for a tunnel that never comes
run_and_term hang "$TMP/hang.yml" 'login connected' 0.3
assert_eq 0 "$TERM_RC" "A: exit status of run after SIGTERM"
[ "$TERM_MS" -lt 6000 ] || fail "A: exit took $TERM_MS ms (INT 1 s + TERM 2 s + KILL expected)"
grep -q 'client stopped in .* by SIGKILL' "$TMP/hang.err" || fail "A: the fake was not stopped with SIGKILL"
grep -q 'aborted by signal' "$TMP/hang.err" || fail "A: no 'aborted by signal' in the log"
assert_eq 0 "$(csv_count "$TMP/results")" "A: rows written for the aborted site"
pid=$(sed -n 's/.*started .* (pid \([0-9]*\)).*/\1/p' "$TMP/hang.err" | head -1)
[ -n "$pid" ] && lab_alive "$pid" && fail "A: fake client $pid still alive"
probe_assert_clean "$TMP"

# B. the real openconnect, at several points of its login
for delay in 0 0.01 0.02 0.03 0.045 0.06 0.08 0.1 0.14; do
	run_and_term "oc-$delay" "$TMP/oc.yml" 'started /usr/sbin/openconnect' "$delay"
	assert_eq 0 "$TERM_RC" "B $delay: exit status of run after SIGTERM"
	[ "$TERM_MS" -lt 5000 ] || fail "B $delay: exit took $TERM_MS ms"
	assert_eq 0 "$(csv_count "$TMP/results")" "B $delay: rows written for the aborted site"
	probe_assert_clean "$TMP"
done

# C. during the external ping (20 requests, 2 s): no client is started at all
run_and_term ping "$TMP/ping.yml" 'started:' 0.3
assert_eq 0 "$TERM_RC" "C: exit status of run after SIGTERM"
[ "$TERM_MS" -lt 1500 ] || fail "C: exit took $TERM_MS ms"
grep -q 'started /usr/sbin/openconnect' "$TMP/ping.err" && fail "C: a client was started"
assert_eq 0 "$(csv_count "$TMP/results")" "C: rows written for the aborted site"
probe_assert_clean "$TMP"
e2e_log "PASS"
# SPDX-License-Identifier: MIT
