#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Stale clients left running in the probe namespace before a site test (as after a crash
# of an earlier monitor). epmon must stop them before it logs in, say so in the detail
# ("stopped 1 stale client process(es)"), still log in, and leave the probe as it was
# before the stale client started:
#   1. a FAKE stale client: tests/lab/fake-client-stale openconnect (a sleeper whose comm
#      is "openconnect"), started inside the probe namespace; it ignores SIGINT (started
#      in the background by a script), so epmon needs SIGTERM after teardown_timeout;
#   2. a real openconnect connected to gateway 1 (tun device, routes, resolv.conf
#      rewritten by vpnc-script) and left running.
# Stale clients in the probe namespace are a concern of `isolation: {mode: none}` only
# (with netns every client lives and dies in its own namespace): the config says so.
set -u
E2E_PREFIX=${E2E_PREFIX:-vpnst$$}
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"

vpn_test_setup 1
E2E_CONFIG_EXTRA=$(isolation_none_yaml)
lab_fake STALE fake-client-stale
write_config "$TMP/config.yml" <<YAML
$(lab_openconnect_site gw1 1 teardown_timeout=2)
YAML
probe_snapshot "$TMP"

# assert_ok_after_stale RUN: the row of run RUN is OK, says a stale client was stopped
assert_ok_after_stale() {
	local n=$1
	CSV=$(results_file "$TMP/results")
	assert_eq "$n" "$(csv_count "$TMP/results")" "run $n: rows written"
	get() { csv_get "$CSV" gw1 "$1"; }
	assert_eq OK "$(get result)" "run $n: result"
	assert_eq "" "$(get failed_step)" "run $n: failed_step"
	assert_positive "$(get login_ms)" "run $n: login_ms"
	assert_positive "$(get internal_rtt_ms)" "run $n: internal_rtt_ms"
	assert_eq 0.0 "$(get internal_loss_pct)" "run $n: internal_loss_pct"
	assert_positive "$(get teardown_ms)" "run $n: teardown_ms"
	assert_match "stopped 1 stale client process\(es\)" "$(get detail)" "run $n: detail"
}

# 1. the fake stale client
pid=$(ip netns exec "$LAB_NS_PROBE" "$STALE" openconnect 120) || fail "fake-client-stale failed"
register_pid "$pid"
assert_eq openconnect "$(cat "/proc/$pid/comm")" "comm of the fake stale client $pid"
probe_epmon once1 -v once -c "$TMP/config.yml"
assert_eq 0 "$EPMON_RC" "run 1: exit status of once"
assert_ok_after_stale 1
lab_alive "$pid" && fail "fake stale client $pid still alive"
e2e_log "ok: fake stale client $pid is gone"
probe_assert_clean "$TMP"

# 2. a real openconnect, connected and left running
ip netns exec "$LAB_NS_PROBE" openconnect --protocol=anyconnect --cafile="$LAB_CA" \
	--user="$LAB_USER" --interface=epmon0 --passwd-on-stdin --non-inter "$LAB_GW1_IP" \
	<"$LAB_PASSWORD_FILE" >"$TMP/stale-openconnect.log" 2>&1 &
pid=$!
register_pid "$pid"
for i in $(seq 100); do
	ip -n "$LAB_NS_PROBE" route get "$LAB_GW1_INTRANET_IP" 2>/dev/null | grep -q 'dev epmon0' &&
		grep -q '^#@VPNC_GENERATED@' "$LAB_RESOLV_CONF" && break
	lab_alive "$pid" || { cat "$TMP/stale-openconnect.log" >&2; fail "openconnect $pid exited"; }
	sleep 0.05
done
grep -q '^#@VPNC_GENERATED@' "$LAB_RESOLV_CONF" ||
	{ cat "$TMP/stale-openconnect.log" >&2; fail "the stale openconnect did not connect in 5 s"; }
e2e_log "stale openconnect $pid connected: $(ip -n "$LAB_NS_PROBE" route get "$LAB_GW1_INTRANET_IP" | head -1)"
probe_epmon once2 -v once -c "$TMP/config.yml"
assert_eq 0 "$EPMON_RC" "run 2: exit status of once"
assert_ok_after_stale 2
lab_alive "$pid" && fail "stale openconnect $pid still alive"
wait "$pid" 2>/dev/null
e2e_log "ok: stale openconnect $pid is gone"
probe_assert_clean "$TMP"
e2e_log "PASS"
