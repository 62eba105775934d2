#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# `epmon run`, the daemon, through the real binary (sites without `vpn:`, pinged directly):
#   (concurrency: 1: these are the serial cycle semantics of the seed; test_netns_* and
#   test_cli_concurrency cover concurrent cycles)
#   1. grid: frequency 1, 2 sites; SIGTERM once the 3rd cycle's rows are written: 3 rows per
#      site (4 if a slow machine began a 4th cycle), cycle starts 1 s apart (+-0.2), exit 0,
#      cycles logged.
#   2. SIGHUP: a broken config is logged as FILE:LINE:COL and the old one kept (rows go on);
#      a valid new config (a site renamed) is used from the next cycle on.
#   3. overrun: each site fits in `frequency` (config validation is per site) but two silent
#      sites together take ~1.8 s > frequency 1 s: a warning per cycle, the next cycle starts
#      at once (no overlap, no burst of catch-up cycles); SIGTERM in the middle of a site test
#      ends epmon quickly, exit 0, with no row for the aborted site.
# Targets: alive 10.214.1.10/.11 (kernel), delay 10.214.2.10/.11 (echo_responder, 5 ms),
# silent 10.214.3.10/.11 (echo_ignore_all).
set -u
E2E_PREFIX=${E2E_PREFIX:-clibench$$r}
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"

require_root_netns
require_cmd python3
[ -x "${EPMON:-}" ] || fail "EPMON (the epmon binary) not set or not executable: '${EPMON:-}'"
[ -x "${TOOLS:-}/echo_responder" ] || fail "no echo_responder in TOOLS='${TOOLS:-}'"

P=$E2E_PREFIX-probe
A=$E2E_PREFIX-alive
D=$E2E_PREFIX-delay
S=$E2E_PREFIX-silent
for ns in "$P" "$A" "$D" "$S"; do netns_create "$ns"; done
veth_pair "$P" p1 10.214.1.2/24 "$A" a0 10.214.1.10/24,10.214.1.11/24
veth_pair "$P" p2 10.214.2.2/24 "$D" d0 10.214.2.10/24,10.214.2.11/24
veth_pair "$P" p3 10.214.3.2/24 "$S" s0 10.214.3.10/24,10.214.3.11/24
ns_sysctl "$D" net.ipv4.icmp_echo_ignore_all=1
ns_sysctl "$S" net.ipv4.icmp_echo_ignore_all=1
netns_settle 5

e2e_tmpdir TMP
bg_start "$D" "$TOOLS/echo_responder" --delay-ms 5 --pidfile "$TMP/responder.pid"
wait_pidfile "$TMP/responder.pid"
mkdir -p "$TMP/state"

# config FILE RESULTS_DIR FREQUENCY PING SITE_LINES: write a 0600 config atomically (a
# daemon re-reading it never sees half a file).
config() {
	cat >"$1.new" <<EOF
frequency: $3
concurrency: 1
results: {directory: $2}
state_directory: $TMP/state
ping: $4
sites:
$5
EOF
	chmod 600 "$1.new"
	mv -f "$1.new" "$1"
}

# start_run CONFIG NAME: epmon run in the probe namespace (ip netns exec execs epmon, so
# $RUN_PID is epmon's pid); stderr in $TMP/NAME.err.
start_run() {
	ip netns exec "$P" "$EPMON" run -c "$1" 2>"$TMP/$2.err" &
	RUN_PID=$!
	register_pid "$RUN_PID"
}

# stop_run NAME: SIGTERM epmon, wait for it; its exit status in $rc, seconds it took in $took.
stop_run() {
	local t0 t1
	t0=$(date +%s%N)
	kill -TERM "$RUN_PID"
	wait "$RUN_PID"
	rc=$?
	t1=$(date +%s%N)
	took=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", (b - a) / 1e9 }')
	sed 's/^/    | /' "$TMP/$1.err" >&2
	assert_no_sanitizer "$TMP/$1.err"
}

# expect_log -E|-F FILE PATTERN WHAT: fail (showing FILE) unless a line of FILE matches.
expect_log() {
	if ! grep -q "$1" -- "$3" "$2"; then
		sed 's/^/    | /' "$2" >&2
		fail "$4: no line matching '$3' in the log"
	fi
	e2e_log "ok: $4"
}

# cycle_starts DIR FIRST_SITE: the timestamps (epoch s) of FIRST_SITE's rows, one a line: the
# start of each cycle (the first site's test starts its cycle).
cycle_starts() {
	python3 - "$1" "$2" <<'EOF' || fail "cycle_starts $1 $2"
import csv, datetime, glob, sys
d, site = sys.argv[1:3]
for path in sorted(glob.glob(d + "/results-*.csv")):
    for r in csv.DictReader(open(path, newline="")):
        if r["site"] == site:
            print("%.3f" % datetime.datetime.fromisoformat(r["timestamp"]).timestamp())
EOF
}

# ---- 1. the grid ----
R1=$TMP/results1
C1=$TMP/grid.yml
config "$C1" "$R1" 1 "{count: 3, interval: 0.05, timeout: 0.4}" \
"  - {name: alpha, external_ip: 10.214.1.10, internal_ip: 10.214.1.11}
  - {name: beta, external_ip: 10.214.2.10, internal_ip: 10.214.2.11}"
e2e_log "1. grid: epmon run, frequency 1, 2 sites"
start_run "$C1" grid
wait_csv_rows "$R1" beta 3 8 || fail "no 3 cycles in 8 s: $(csv_count "$R1") rows"
stop_run grid
assert_eq 0 "$rc" "grid: exit status after SIGTERM"
# SIGTERM came right after the 3rd cycle's rows: 3 each (4 if the machine was slow enough
# for a 4th cycle to start; never more: no burst)
for site in alpha beta; do
	assert_match '^[34]$' "$(csv_count "$R1" "$site")" "grid: rows of $site"
done
expect_log -E "$TMP/grid.err" '<6>info: epmon .* started: 2 site\(s\), frequency 1 s' \
	"grid: start logged"
for k in 1 2 3; do
	expect_log -E "$TMP/grid.err" "<6>info: cycle $k: 2 site\(s\), 0 failed, [0-9.]+ s" \
		"grid: cycle $k logged"
done
expect_log -E "$TMP/grid.err" "stopping on signal 15 after [34] cycle\(s\)" "grid: stop logged"
grep -q "longer than frequency" "$TMP/grid.err" && fail "grid: an overrun was logged"
# on the grid: a cycle every second, none skipped (2 s) and no burst (0 s); how closely
# the grid is kept is a figure of `make bench`, not an assertion on a busy machine
mapfile -t starts < <(cycle_starts "$R1" alpha)
for k in 1 2; do
	gap=$(awk -v a="${starts[k - 1]}" -v b="${starts[k]}" 'BEGIN { print b - a }')
	awk -v g="$gap" 'BEGIN { exit !(g > 0.5 && g < 1.9) }' ||
		fail "grid: start of cycle $((k + 1)) - start of cycle $k = $gap s (not ~1 s)"
done

# ---- 2. SIGHUP ----
R2=$TMP/results2
C2=$TMP/reload.yml
config "$C2" "$R2" 1 "{count: 3, interval: 0.05, timeout: 0.4}" \
"  - {name: alpha, external_ip: 10.214.1.10, internal_ip: 10.214.1.11}
  - {name: beta, external_ip: 10.214.2.10, internal_ip: 10.214.2.11}"
e2e_log "2. SIGHUP: broken config, then a valid one"
start_run "$C2" reload
wait_csv_rows "$R2" beta 1 5 || fail "reload: no first cycle"
# broken: an unknown key at 6:1 and a bad address at 8:32 -> both reported, old config kept
config "$C2" "$R2" 1 "{count: 3, interval: 0.05, timeout: 0.4}
bogus_key: 1" \
"  - {name: gamma, external_ip: 10.214.1.300}"
kill -HUP "$RUN_PID"
wait_log "$TMP/reload.err" "keeping the previous config" 5 ||
	fail "reload: no 'keeping the previous config' after SIGHUP with a broken config"
kill -0 "$RUN_PID" 2>/dev/null || fail "reload: epmon died on a broken config"
n_alpha=$(csv_count "$R2" alpha)
wait_csv_rows "$R2" beta $((n_alpha + 2)) 5 ||
	fail "reload: no rows with the old config after the broken reload"
expect_log -F "$TMP/reload.err" "$C2:6:1: unknown key 'bogus_key' in top level" \
	"reload: FILE:LINE:COL of the unknown key"
expect_log -F "$TMP/reload.err" "$C2:8:32: site 'gamma': external_ip: '10.214.1.300' is not a numeric" \
	"reload: FILE:LINE:COL of the bad address"
expect_log -E "$TMP/reload.err" "<3>error: $C2 is invalid \(errors above\); keeping the previous config" \
	"reload: 'keeping the previous config' is an error"
assert_eq 0 "$(csv_count "$R2" gamma)" "reload: rows of gamma (broken config not used)"
# valid: beta renamed delta, alpha kept
config "$C2" "$R2" 1 "{count: 3, interval: 0.05, timeout: 0.4}" \
"  - {name: alpha, external_ip: 10.214.1.10, internal_ip: 10.214.1.11}
  - {name: delta, external_ip: 10.214.2.10, internal_ip: 10.214.2.11}"
n_beta=$(csv_count "$R2" beta)
kill -HUP "$RUN_PID"
wait_csv_rows "$R2" delta 2 5 || fail "reload: no rows of the new site after a valid SIGHUP"
stop_run reload
assert_eq 0 "$rc" "reload: exit status"
expect_log -F "$TMP/reload.err" "config reloaded: 2 site(s), frequency 1 s" "reload: new config logged"
n_beta2=$(csv_count "$R2" beta)
[ "$n_beta2" -le $((n_beta + 1)) ] ||
	fail "reload: beta still tested after the reload ($n_beta -> $n_beta2 rows)"
python3 - "$(results_file "$R2")" <<'EOF' || fail "reload: rows of delta before beta's last"
import csv, sys
rows = [r["site"] for r in csv.DictReader(open(sys.argv[1], newline=""))]
last_beta = max(i for i, s in enumerate(rows) if s == "beta")
first_delta = min(i for i, s in enumerate(rows) if s == "delta")
if first_delta < last_beta:
    sys.exit("delta before beta: %s" % rows)
print("order ok: %s" % " ".join(rows), file=sys.stderr)
EOF

# ---- 3. overrun ----
# each site: 1 ping x ((2 - 1) x 0.1 + 0.8) = 0.9 s <= frequency 1: valid; both: ~1.8 s.
R3=$TMP/results3
C3=$TMP/overrun.yml
config "$C3" "$R3" 1 "{count: 2, interval: 0.1, timeout: 0.8}" \
"  - {name: mute1, external_ip: 10.214.3.10}
  - {name: mute2, external_ip: 10.214.3.11}"
e2e_log "3. overrun: frequency 1, a cycle of ~1.8 s"
start_run "$C3" overrun
wait_log "$TMP/overrun.err" "cycle 1 took" 10 || fail "overrun: no overrun warning in 10 s"
wait_csv_rows "$R3" mute1 2 8 || fail "overrun: no 2nd cycle"
# (SIGTERM during a site test, made certain with a site that blocks, is
# test_vpn_sigterm_login's; here it lands wherever the 2nd cycle is)
stop_run overrun
assert_eq 0 "$rc" "overrun: exit status after SIGTERM"
expect_log -E "$TMP/overrun.err" \
	"<4>warning: cycle 1 took [0-9]+\.[0-9]{3} s, longer than frequency 1 s; next cycle starts now \(1 overrun\(s\) so far\)" \
	"overrun: warning for cycle 1"
took1=$(sed -n 's/.*cycle 1 took \([0-9.]*\) s, longer.*/\1/p' "$TMP/overrun.err" | head -1)
mapfile -t starts < <(cycle_starts "$R3" mute1)
gap=$(awk -v a="${starts[0]}" -v b="${starts[1]}" 'BEGIN { print b - a }')
# never overlapped: cycle 2 starts after cycle 1 ended (its rows carry each site test's
# start, a few ms after its cycle's), and at once, not on the next grid point (2 s) when
# cycle 1 ended well before it
awk -v g="$gap" -v t="$took1" 'BEGIN { exit !(g >= t - 0.05) }' ||
	fail "overrun: cycle 2 started $gap s after cycle 1, which took $took1 s (overlap)"
if awk -v t="$took1" 'BEGIN { exit !(t < 1.7) }'; then
	awk -v g="$gap" 'BEGIN { exit !(g < 1.95) }' ||
		fail "overrun: cycle 2 waited for the grid ($gap s after cycle 1, which took $took1 s)"
fi
e2e_log "overrun: cycle 1 took $took1 s, cycle 2 started $gap s after it"

echo "PASS: epmon run: grid, SIGTERM, SIGHUP (broken and valid), overrun"
