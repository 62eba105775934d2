#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Two sites whose clients use the same interface name (epmon0, the default) and get the
# same tunnel address at the same time: a lab with --same-pool (both ocserv give user
# monitor 10.99.0.223/32), concurrency 2, isolation netns (the default). Both intranet
# hosts answer 3 s late, so both tunnels are up together for ~3 s; the test sees it
# (two site namespaces, each with epmon0 = 10.99.0.223) and both rows are OK, each with
# its own ~3000 ms RTT. The probe is left as it was.
set -u
E2E_PREFIX=${E2E_PREFIX:-nssam$$}
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"

netns_test_setup 2 --same-pool
assert_eq 10.99.0.223 "$LAB_GW1_TUNNEL_IP" "tunnel address of gateway 1"
assert_eq "$LAB_GW1_TUNNEL_IP" "$LAB_GW2_TUNNEL_IP" "tunnel address of gateway 2"
DELAY_MS=3000
lab_cmd intranet-delay 1 $DELAY_MS
lab_cmd intranet-delay 2 $DELAY_MS
E2E_CONFIG_EXTRA="concurrency: 2"
write_config "$TMP/config.yml" 60 "{count: 1, timeout: 10}" <<YAML
$(lab_openconnect_site one 1)
$(lab_openconnect_site two 2)
YAML
probe_snapshot "$TMP"

# tunnels_now: "NETNS_INODE ADDRESS" of every openconnect in a new namespace whose
# epmon0 has an address
tunnels_now() {
	local pid ino comm rest a
	new_netns_procs "$TMP" | while read -r pid ino comm rest; do
		[ "$comm" = openconnect ] || continue
		a=$(nsenter -t "$pid" -n ip -4 -o addr show dev epmon0 2>/dev/null | awk '{print $4}')
		[ -n "$a" ] && echo "$ino $a"
	done | sort -u
}

probe_epmon_bg once -v once -c "$TMP/config.yml"
both=
end=$(($(now_ms) + 30000))
while [ "$(now_ms)" -lt "$end" ] && lab_alive "$EPMON_PID"; do
	seen=$(tunnels_now)
	if [ "$(grep -c " $LAB_GW1_TUNNEL_IP/32\$" <<<"$seen")" -eq 2 ]; then
		both=$seen
		break
	fi
	sleep 0.05
done
[ -n "$both" ] || fail "never saw two tunnels epmon0 = $LAB_GW1_TUNNEL_IP at once (last: ${seen:-none})"
e2e_log "ok: two site namespaces with epmon0 = $LAB_GW1_TUNNEL_IP at once: $(tr '\n' ';' <<<"$both")"

wait_gone "$EPMON_PID" 40 || fail "epmon once still running after 40 s"
wait "$EPMON_PID"
rc=$?
sed 's/^/    out| /' "$TMP/once.out" >&2
sed 's/^/    err| /' "$TMP/once.err" >&2
assert_no_sanitizer "$TMP/once.err"
assert_eq 0 "$rc" "exit status of once (both OK)"
CSV=$(results_file "$TMP/results")
assert_eq 2 "$(csv_count "$TMP/results")" "rows written"
for site in one two; do
	assert_eq OK "$(csv_get "$CSV" $site result)" "$site: result"
	assert_positive "$(csv_get "$CSV" $site login_ms)" "$site: login_ms"
	# its host's delay and the tunnel's own time (which the ASan build on a busy machine
	# stretches to tens of ms)
	assert_near $((DELAY_MS + 50)) "$(csv_get "$CSV" $site internal_rtt_ms)" 50.5 "$site: internal_rtt_ms"
done
assert_eq 2 "$(grep -c 'tunnel up on epmon0' "$TMP/once.err")" "'tunnel up on epmon0' lines"
grep -q "Configured as $LAB_GW1_TUNNEL_IP" "$TMP/once.err" || fail "no 'Configured as $LAB_GW1_TUNNEL_IP' in the -v log"

probe_assert_clean "$TMP"
e2e_log "PASS"
