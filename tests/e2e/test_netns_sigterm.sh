#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# SIGTERM to `epmon run` mid-cycle with 8 tunnels up (isolation netns, concurrency 8).
# The moment is made certain: the 8 intranet hosts do not answer (lab.sh intranet-down)
# and the internal ping waits up to 60 s ({count: 1, timeout: 60}), so once the log has
# 8 "tunnel up on" lines every site sits in its internal ping with its client connected
# in a namespace of its own. Then SIGTERM: epmon tears the 8 sites down in parallel and
# exits 0 within teardown_timeout (5 s) + 1 s (asserted < 15 s: margin for the ASan build
# on a busy machine), writes no row for the aborted sites, and leaves nothing: no client
# (the 8 openconnect pids seen before are gone), no site namespace, no epmon-v* veth, no
# nftables table, ip_forward, routes and resolv.conf of the probe as before.
set -u
E2E_PREFIX=${E2E_PREFIX:-nsterm$$}
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"

N=8
netns_test_setup $N
for k in $(seq $N); do lab_cmd intranet-down "$k"; done
E2E_CONFIG_EXTRA="concurrency: $N"
write_config "$TMP/config.yml" 300 "{count: 1, timeout: 60}" <<YAML
$(for k in $(seq $N); do lab_openconnect_site "site$k" "$k" teardown_timeout=5; done)
YAML
probe_snapshot "$TMP"

probe_epmon_bg run run -c "$TMP/config.yml"
wait_log_count "$TMP/run.err" 'tunnel up on epmon0' $N 60 ||
	{ sed 's/^/    err| /' "$TMP/run.err" >&2; fail "not $N 'tunnel up on' lines in 60 s"; }
e2e_log "ok: $N tunnels up"

# the clients: one openconnect per site, each in a namespace of its own, none in the probe's
new_netns_procs "$TMP" >"$TMP/site-procs"
sed 's/^/    site-proc| /' "$TMP/site-procs" >&2
clients=$(awk '$3 == "openconnect" {print $1}' "$TMP/site-procs")
assert_eq $N "$(wc -w <<<"$clients")" "openconnect processes in new namespaces"
assert_eq $N "$(awk '$3 == "openconnect" {print $2}' "$TMP/site-procs" | sort -u | wc -l)" \
	"distinct namespaces of the openconnect processes"
probe_oc=$(probe_procs | awk '$2 == "openconnect"')
[ -z "$probe_oc" ] || fail "openconnect in the probe namespace: $probe_oc"
ip -n "$LAB_NS_PROBE" link show epmon0 >/dev/null 2>&1 && fail "epmon0 in the probe namespace"
assert_eq 0 "$(csv_count "$TMP/results")" "rows before SIGTERM"

t0=$(now_ms)
kill -TERM "$EPMON_PID"
wait_gone "$EPMON_PID" 30 || fail "epmon run still running 30 s after SIGTERM"
took=$(($(now_ms) - t0))
wait "$EPMON_PID"
rc=$?
sed 's/^/    err| /' "$TMP/run.err" >&2
assert_no_sanitizer "$TMP/run.err"
e2e_log "SIGTERM -> exit $rc after $took ms (teardown_timeout 5 s)"
assert_eq 0 "$rc" "exit status of run after SIGTERM"
[ "$took" -lt 15000 ] || fail "exit took $took ms after SIGTERM (teardown_timeout 5 s + 1 s, + margin)"
assert_eq 0 "$(csv_count "$TMP/results")" "rows written for the aborted sites"
for pid in $clients; do
	lab_alive "$pid" && fail "openconnect $pid still alive: $(tr '\0' ' ' <"/proc/$pid/cmdline")"
done
e2e_log "ok: the $N openconnect processes are gone"
awk '$3 == "openconnect" {print $2}' "$TMP/site-procs" | sort -u >"$TMP/site-ns"
left=$(netns_inventory | grep -Fxf "$TMP/site-ns")
[ -z "$left" ] || fail "site namespaces still in use (by a process or /run/netns): $left"
e2e_log "ok: the $N site namespaces are gone"
probe_assert_clean "$TMP"
e2e_log "PASS"
