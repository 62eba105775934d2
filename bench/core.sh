#!/usr/bin/env bash
# bench (a), the core: N sites without `vpn:` (so epmon pings external_ip and internal_ip
# directly), each pair of targets in its own namespace over a veth (the kernel answers),
# ping count 5, interval 0.2 s. `epmon run` for 3 cycles, then `epmon once`.
#   overhead per site test = its duration - its network floor
#     network floor = 2 x (count - 1) x interval + external rtt + internal rtt
#   epmon CPU per site test = (on-CPU time after cycle 3 - after cycle 1) / (2 x N)
#   max RSS = VmHWM of the daemon after 3 cycles; and `epmon once` as a whole process
#     (wall, CPU and max RSS from wait4, startup and config load included).
# Usage: bench/core.sh EPMON RUSAGE [NSITES] (RUSAGE: bench/rusage.c, built).
# Prints a table; exit 0 when it measured.
set -u
E2E_PREFIX=${E2E_PREFIX:-clibench$$c}
# shellcheck source=bench/common.sh
. "$(dirname "$0")/common.sh"

EPMON=$1
RUSAGE=$2
N=${3:-5}
COUNT=5
INTERVAL=0.2
CYCLES=3
FREQ=$(awk -v n="$N" 'BEGIN { f = int(n * 1.6 + 1.5); print (f < 4 ? 4 : f) }') # cycle ~ N x 1.6 s
OVERHEAD_TARGET_MS=5
RSS_TARGET_KB=4096

require_root_netns
require_cmd python3 nsenter
[ -x "$RUSAGE" ] || fail "no rusage tool at $RUSAGE"
P=$E2E_PREFIX-probe
netns_create "$P"
for k in $(seq "$N"); do
	netns_create "$E2E_PREFIX-t$k"
	veth_pair "$P" "p$k" "10.216.$k.2/24" "$E2E_PREFIX-t$k" t0 "10.216.$k.10/24,10.216.$k.11/24"
done
netns_settle 5
e2e_tmpdir TMP
mkdir -p "$TMP/results" "$TMP/state" "$TMP/once"
{
	echo "frequency: $FREQ"
	echo "concurrency: 1   # the overhead figures assume one site after another"
	echo "results: {directory: $TMP/results}"
	echo "state_directory: $TMP/state"
	echo "ping: {count: $COUNT, interval: $INTERVAL, timeout: 1}"
	echo "sites:"
	for k in $(seq "$N"); do
		echo "  - {name: site$k, external_ip: 10.216.$k.10, internal_ip: 10.216.$k.11}"
	done
} >"$TMP/config.yml"
chmod 600 "$TMP/config.yml"

e2e_log "(a) core: epmon run, $N sites, $CYCLES cycles every $FREQ s (~$((CYCLES * FREQ)) s)"
bench_start_run PID "$TMP/run.err" "$P" "$EPMON" run -c "$TMP/config.yml"
wait_log "$TMP/run.err" "cycle 1: " $((FREQ + 10)) || fail "no first cycle: $(cat "$TMP/run.err")"
read -r cpu1 ticks1 _ < <(bench_sample "$PID")
wait_log "$TMP/run.err" "cycle $CYCLES: " $((CYCLES * FREQ + 10)) || fail "no cycle $CYCLES"
read -r cpu3 ticks3 hwm anon file pss < <(bench_sample "$PID")
kill -TERM "$PID"
wait "$PID" || fail "epmon run exited $?"
tests=$(((CYCLES - 1) * N))
bench_site_tests "$TMP/results" "$TMP/run.err" "$N" 2 "$CYCLES" "$COUNT" "$INTERVAL" >"$TMP/tests"
bench_site_tests "$TMP/results" "$TMP/run.err" "$N" 1 "$CYCLES" "$COUNT" "$INTERVAL" >"$TMP/all"
cycles=$(grep -oE "cycle [0-9]+: $N site\(s\), 0 failed, [0-9.]+ s" "$TMP/run.err" | awk '{ print $7 }')

# `epmon once` as a whole process, through bench/rusage.c (wait4: CPU in us, max RSS not
# inflated by a big parent); nsenter only joins the namespace before it execs epmon.
"$RUSAGE" nsenter --net="/run/netns/$P" "$EPMON" once -q -c "$TMP/config.yml" \
	>/dev/null 2>"$TMP/once.err" || fail "epmon once: $(cat "$TMP/once.err")"
fig() { sed -n "s/.*rusage:.* $1=\([^ ]*\).*/\1/p" "$TMP/once.err"; }
once_wall=$(fig wall_s | awk '{ printf "%.3f", $1 }') once_cpu=$(fig cpu_ms) once_rss=$(fig maxrss_kb)

# The mean is exact (a cycle's duration is timed in us and is the sum of its site tests); a
# single site test is timed from the CSV timestamps, to +-1 ms.
python3 - "$TMP/tests" "$TMP/all" <<'EOF' >"$TMP/stats" || fail "statistics"
import statistics as st, sys
def load(p):
    return [[float(x) for x in l.split()[1:3]] for l in open(p) if l.strip()]
t, a = load(sys.argv[1]), load(sys.argv[2])
over = sorted(d - f for d, f in t)
print("%.3f %.3f %.3f %.3f %.3f" % (st.mean(over), st.median(over), max(over),
      st.mean(d for d, _ in t), st.mean(f for _, f in t)))
# the first site test of the first cycle (cold: first sockets, first ARP) on its own
print("%.3f" % (a[0][0] - a[0][1]))
EOF
read -r over_mean over_med over_max dur_mean floor_mean <"$TMP/stats"
first=$(sed -n 2p "$TMP/stats")
cycle_mean=$(echo "$cycles" | awk '{ s += $1; n++ } END { printf "%.3f", s / n }')
cpu_site=$(awk -v a="$cpu1" -v b="$cpu3" -v n="$tests" 'BEGIN { printf "%.3f", (b - a) / 1e6 / n }')
tick_ms=$(awk -v t="$(getconf CLK_TCK)" 'BEGIN { print 1000 / t }')
cpu_ticks=$(awk -v a="$ticks1" -v b="$ticks3" -v n="$tests" -v t="$tick_ms" \
	'BEGIN { printf "%.2f", (b - a) * t / n }')

echo
echo "(a) core: $N sites without vpn, 2 ping steps each (count $COUNT, interval $INTERVAL s)"
echo "    network floor of a site test = 2 x (count-1) x interval + external rtt + internal rtt"
bench_line "figure" "measured" "target"
bench_line "cycle wall time (mean of $CYCLES cycles)" "$cycle_mean s"
bench_line "site test duration (mean, cycles 2-$CYCLES)" "$dur_mean ms"
bench_line "network floor of a site test (mean)" "$floor_mean ms"
bench_line "overhead per site test: mean" "$over_mean ms" "<= $OVERHEAD_TARGET_MS ms" \
	"$(bench_verdict "$over_mean" "$OVERHEAD_TARGET_MS" ms)"
bench_line "overhead per site test: median / max (+-1 ms)" "$over_med / $over_max ms" "<= $OVERHEAD_TARGET_MS ms" \
	"$(bench_verdict "$over_max" "$OVERHEAD_TARGET_MS" ms)"
bench_line "overhead of the very first site test (+-1 ms)" "$first ms"
bench_line "epmon CPU per site test (schedstat)" "$cpu_site ms"
bench_line "epmon CPU per site test (utime+stime ticks)" "$cpu_ticks ms" "" "(${tick_ms} ms ticks)"
bench_line "max RSS of epmon run (VmHWM)" "$hwm kB" "<= $RSS_TARGET_KB kB" \
	"$(bench_verdict "$hwm" "$RSS_TARGET_KB" kB)"
bench_line "  resident now: anonymous / mapped files / PSS" "$anon / $file / $pss kB"
bench_line "epmon once: wall time ($N sites)" "$once_wall s"
bench_line "epmon once: CPU, whole process (wait4)" "$once_cpu ms"
bench_line "epmon once: max RSS (wait4)" "$once_rss kB" "<= $RSS_TARGET_KB kB" \
	"$(bench_verdict "$once_rss" "$RSS_TARGET_KB" kB)"
echo "    per site test (cycles 2-$CYCLES): site duration_ms floor_ms"
awk '{ printf "      %-8s %10.3f %10.3f  overhead %7.3f ms\n", $1, $2, $3, $2 - $3 }' "$TMP/tests"
# SPDX-License-Identifier: MIT
