#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Crash safety: `epmon run` is killed with SIGKILL while 8 tunnels are up (the moment
# made certain as in test_netns_sigterm.sh: silent intranet hosts, {count: 1, timeout:
# 60}, 8 "tunnel up on" lines) and 2 more sites run the FAKE client
# tests/lab/fake-client-hang (waiting for a tunnel, login_timeout 60), each client in a
# site namespace of its own. The openconnect clients exit by themselves when epmon's pty
# closes (SIGHUP); the fakes ignore SIGHUP and survive, so their namespaces, epmon-v*
# veths and slot files stay, and so do the nftables table inet epmon and ip_forward. A
# new `epmon once` on a config with one good site removes all of it before its first test
# (stderr: "removed leftover ..." lines for the fakes' sites and the table, before the
# site's first line), the site is OK, every client the first epmon started is gone, and
# after it exits the probe is as it was before the first epmon started.
set -u
E2E_PREFIX=${E2E_PREFIX:-nskill$$}
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"

N=8
netns_test_setup $N
lab_fake FAKE fake-client-hang
for k in $(seq $N); do lab_cmd intranet-down "$k"; done
E2E_CONFIG_EXTRA="concurrency: $((N + 2))"
write_config "$TMP/config.yml" 300 "{count: 1, timeout: 60}" <<YAML
$(for k in $(seq $N); do lab_openconnect_site "site$k" "$k" teardown_timeout=5; done)
$(lab_fake_site fake1 1 "$FAKE" login_timeout=60 teardown_timeout=1)
$(lab_fake_site fake2 2 "$FAKE" login_timeout=60 teardown_timeout=1)
YAML
probe_snapshot "$TMP"

probe_epmon_bg run run -c "$TMP/config.yml"
wait_log_count "$TMP/run.err" 'tunnel up on epmon0' $N 60 ||
	{ sed 's/^/    err| /' "$TMP/run.err" >&2; fail "not $N 'tunnel up on' lines in 60 s"; }
e2e_log "ok: $N tunnels up"
# the two fakes: started with the others, waiting for their tunnel until login_timeout
for _ in $(seq 200); do
	new_netns_procs "$TMP" >"$TMP/site-procs"
	[ "$(awk '$3 == "fake-client-han"' "$TMP/site-procs" | wc -l)" -ge 2 ] && break
	sleep 0.05
done
sed 's/^/    site-proc| /' "$TMP/site-procs" >&2
clients=$(awk '$3 == "openconnect" {print $1}' "$TMP/site-procs")
fakes=$(awk '$3 == "fake-client-han" {print $1}' "$TMP/site-procs")
assert_eq $N "$(wc -w <<<"$clients")" "openconnect processes in site namespaces"
assert_eq 2 "$(wc -w <<<"$fakes")" "fake clients in site namespaces"
awk '$3 == "openconnect" || $3 == "fake-client-han" {print $2}' "$TMP/site-procs" | sort -u >"$TMP/site-ns"
assert_eq $((N + 2)) "$(wc -l <"$TMP/site-ns")" "distinct site namespaces"
e2e_log "private resolv.conf of a fake: $(grep resolv "/proc/$(head -1 <<<"$fakes")/mountinfo" | head -1)"

kill -KILL "$EPMON_PID"
wait "$EPMON_PID" 2>/dev/null
sed 's/^/    run| /' "$TMP/run.err" >&2
e2e_log "epmon run $EPMON_PID killed with SIGKILL"
# what it left (the leftovers the next start must remove): the fakes for sure
for pid in $fakes; do lab_alive "$pid" || fail "fake client $pid died with epmon (it ignores SIGHUP)"; done
ip netns exec "$LAB_NS_PROBE" nft list table inet epmon >/dev/null 2>&1 ||
	fail "no nftables table inet epmon after the SIGKILL of epmon"
links=$(ip -n "$LAB_NS_PROBE" -o link show | awk -F': ' '$2 ~ /^epmon-v/ { sub(/@.*/, "", $2); printf "%s ", $2 }')
[ -n "$links" ] || fail "no epmon-v* link after the SIGKILL of epmon"
alive=0
for pid in $clients; do lab_alive "$pid" && alive=$((alive + 1)); done
e2e_log "left behind: the 2 fakes, $alive of $N openconnect alive, links: $links," \
	"nft table, run state: $(cd "$(isolation_state_dir)" 2>/dev/null && echo *)"

# the new start: one good site (intranet 1 answers again)
lab_cmd intranet-up 1
E2E_CONFIG_EXTRA="concurrency: 2"
write_config "$TMP/good.yml" <<YAML
$(lab_openconnect_site good 1)
YAML
probe_epmon once once -c "$TMP/good.yml"
assert_eq 0 "$EPMON_RC" "exit status of the new once (the good site OK)"
CSV=$(results_file "$TMP/results")
assert_eq 1 "$(csv_count "$TMP/results")" "rows written (only the new once's)"
assert_eq OK "$(csv_get "$CSV" good result)" "good: result"
removed=$(grep -c 'removed leftover' "$TMP/once.err")
for site in fake1 fake2; do
	grep -q "removed leftover processes of site $site" "$TMP/once.err" ||
		fail "no 'removed leftover processes of site $site' in the new once's stderr"
done
grep -q 'removed leftover nftables table inet epmon' "$TMP/once.err" ||
	fail "no 'removed leftover nftables table inet epmon' in the new once's stderr"
first_removed=$(grep -n 'removed leftover' "$TMP/once.err" | head -1 | cut -d: -f1)
last_removed=$(grep -n 'removed leftover' "$TMP/once.err" | tail -1 | cut -d: -f1)
first_site=$(grep -n '\[good\]' "$TMP/once.err" | head -1 | cut -d: -f1)
[ -n "$first_site" ] || fail "no line of site good in the new once's stderr"
[ "$last_removed" -lt "$first_site" ] ||
	fail "'removed leftover' line $last_removed comes after the site's first line $first_site"
e2e_log "ok: $removed 'removed leftover' lines (lines $first_removed..$last_removed), before the site's first line ($first_site)"

# every client of the killed epmon is gone (killed processes are reaped by init: a
# zombie counts as gone)
for pid in $clients $fakes; do
	lab_alive "$pid" && fail "client $pid ($(cat "/proc/$pid/comm")) of the killed epmon still alive"
done
e2e_log "ok: the $N openconnect and 2 fake clients of the killed epmon are gone"
# their namespaces are gone (a client the first epmon's death is ending, e.g. its
# disconnect script, may still be on its way out: 3 s)
for i in $(seq 60); do
	left=$(netns_inventory | grep -Fxf "$TMP/site-ns")
	[ -z "$left" ] && break
	[ "$i" -gt 1 ] || netns_procs | grep -Ff <(awk '{print " " $0 " "}' <<<"$left") >"$TMP/in-site-ns"
	sleep 0.05
done
if [ -s "$TMP/in-site-ns" ]; then
	sed 's/^/    in-site-ns| /' "$TMP/in-site-ns" >&2
	[ -z "$left" ] && e2e_log "note: processes above were in site namespaces when once exited; gone after $((i * 50)) ms"
fi
[ -z "$left" ] || fail "site namespaces of the killed epmon still in use 3 s after once exited: $left"
e2e_log "ok: the $((N + 2)) site namespaces are gone"
probe_assert_clean "$TMP"
e2e_log "PASS"
