#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# bench (b), VPN: the lab (tests/lab) with 3 ocserv gateways, 3 openconnect sites, ping
# count 5, interval 0.2 s.
#  1. `epmon run` for 5 cycles (the 1st is a warm-up, cycles 2-5 are measured):
#     network floor of a site test, with the client's times as epmon reports them =
#         2 x (count - 1) x interval + external rtt + internal rtt + login_ms + teardown_ms
#     overhead outside login and teardown = site test duration - that floor
#     epmon CPU per site test = on-CPU time of epmon itself (a child's time is not in
#         /proc/PID/task/*/schedstat) after cycle 5 - after cycle 1, / (4 x 3); VmHWM.
#  2. `epmon once` twice under strace -f (bench_trace_split in common.sh): the client's own
#     login (exec to the intranet route added) and exit (SIGINT to exit) are cut out of
#     login_ms and teardown_ms, so what remains is all epmon's: client spawn and teardown
#     wait included.
# Usage: bench/vpn.sh EPMON. Prints a table; exit 0 when it measured, 77 when it cannot.
set -u
E2E_PREFIX=${E2E_PREFIX:-clibench$$v}
# shellcheck source=bench/common.sh
. "$(dirname "$0")/common.sh"

EPMON=$1
N=3
COUNT=5
INTERVAL=0.2
CYCLES=5
FREQ=7       # a cycle takes ~3 x 1.8 s; each site's budget: 2 x (0.8 + 0.5) + 3 = 5.6 s
TRACE_RUNS=2
OVERHEAD_TARGET_MS=20
CPU_TARGET_MS=10
RSS_TARGET_KB=4096

require_root_netns
require_cmd python3
lab_start "$N"
e2e_tmpdir TMP
mkdir -p "$TMP/results" "$TMP/state"
{
	echo "frequency: $FREQ"
	echo "# the seed's way: one site after another in the probe's namespace (the trace"
	echo "# below reads vpnc-script's ip calls); bench/netns.sh measures isolation"
	echo "concurrency: 1"
	echo "isolation: {mode: none}"
	echo "results: {directory: $TMP/results}"
	echo "state_directory: $TMP/state"
	echo "ping: {count: $COUNT, interval: $INTERVAL, timeout: 0.5}"
	echo "sites:"
	for k in $(seq "$N"); do
		gw=LAB_GW${k}_IP in=LAB_GW${k}_INTRANET_IP
		echo "  - name: gw$k"
		echo "    external_ip: ${!gw}"
		echo "    internal_ip: ${!in}"
		echo "    vpn: {client: openconnect, gateway: ${!gw}, username: $LAB_USER,"
		echo "          password_file: $LAB_PASSWORD_FILE, ca_file: $LAB_CA,"
		echo "          login_timeout: 3, teardown_timeout: 3}"
	done
} >"$TMP/config.yml"
chmod 600 "$TMP/config.yml"
probe_settle

# ---- 1. epmon run ----
e2e_log "(b) vpn: epmon run, $N openconnect sites, $CYCLES cycles every $FREQ s (~$((CYCLES * FREQ)) s)"
bench_start_run PID "$TMP/run.err" "$LAB_NS_PROBE" "$EPMON" run -c "$TMP/config.yml"
wait_log "$TMP/run.err" "cycle 1: " $((FREQ + 15)) || fail "no first cycle: $(cat "$TMP/run.err")"
read -r cpu1 ticks1 _ < <(bench_sample "$PID")
wait_log "$TMP/run.err" "cycle $CYCLES: " $((CYCLES * FREQ + 15)) ||
	fail "no cycle $CYCLES: $(cat "$TMP/run.err")"
read -r cpu2 ticks2 hwm anon file pss < <(bench_sample "$PID")
kill -TERM "$PID"
wait "$PID" || fail "epmon run exited $?"
assert_no_sanitizer "$TMP/run.err"
tests=$(((CYCLES - 1) * N))
bench_site_tests "$TMP/results" "$TMP/run.err" "$N" 2 "$CYCLES" "$COUNT" "$INTERVAL" >"$TMP/tests"
cycle_mean=$(grep -oE "cycle [0-9]+: $N site\(s\), 0 failed, [0-9.]+ s" "$TMP/run.err" |
	awk 'NR > 1 { s += $7; n++ } END { printf "%.3f", s / n }')

# ---- 2. epmon once under strace ----
: >"$TMP/split"
internal_of=()
for k in $(seq "$N"); do
	in=LAB_GW${k}_INTRANET_IP
	internal_of+=("gw$k=${!in}")
done
if command -v strace >/dev/null 2>&1; then
	e2e_log "(b) vpn: $TRACE_RUNS x epmon once under strace -f -e trace=execve"
	for r in $(seq "$TRACE_RUNS"); do
		mkdir -p "$TMP/traced$r"
		sed "s|^results: .*|results: {directory: $TMP/traced$r}|" "$TMP/config.yml" >"$TMP/traced$r.yml"
		chmod 600 "$TMP/traced$r.yml"
		ip netns exec "$LAB_NS_PROBE" strace -f --seccomp-bpf -ttt -s 256 -e trace=execve \
			-o "$TMP/trace$r" "$EPMON" once -q -c "$TMP/traced$r.yml" >/dev/null 2>"$TMP/traced$r.err" ||
			fail "traced epmon once failed: $(cat "$TMP/traced$r.err")"
		bench_trace_split "$TMP/trace$r" "$(results_file "$TMP/traced$r")" "$COUNT" "$INTERVAL" \
			"${internal_of[@]}" >>"$TMP/split"
	done
else
	e2e_log "(b) vpn: no strace, so no breakdown of the overhead (apt-get install strace)"
fi

# ---- figures ----
python3 - "$TMP/tests" <<'EOF' >"$TMP/stats" || fail "statistics"
import statistics as st, sys
t = [[float(x) for x in l.split()[1:5]] for l in open(sys.argv[1]) if l.strip()]
dur, floor, login, td = zip(*t)
outside = [d - f - l - e for d, f, l, e in t]
print(" ".join("%.1f" % v for v in (
    st.mean(dur), st.mean(floor), st.median(login), min(login), max(login),
    st.median(td), min(td), max(td), st.mean(outside), max(outside))))
EOF
read -r dur floor login login_min login_max td td_min td_max out_mean out_max <"$TMP/stats"
if [ -s "$TMP/split" ]; then
	python3 - "$TMP/split" <<'EOF' >"$TMP/split.stats" || fail "statistics of the trace"
import statistics as st, sys
rows = [[float(x) for x in l.split()[1:]] for l in open(sys.argv[1]) if l.strip()]
cols = list(zip(*rows))
# dur pings client_login client_exit pre detect post epmon, then the worst epmon
print(" ".join("%.1f" % st.mean(c) for c in cols) + " %.1f" % max(cols[7]))
EOF
	read -r _ _ s_login s_exit s_pre s_detect s_post s_epmon s_epmon_max <"$TMP/split.stats"
fi
cpu_site=$(awk -v a="$cpu1" -v b="$cpu2" -v n="$tests" 'BEGIN { printf "%.3f", (b - a) / 1e6 / n }')
tick_ms=$(awk -v t="$(getconf CLK_TCK)" 'BEGIN { print 1000 / t }')
cpu_ticks=$(awk -v a="$ticks1" -v b="$ticks2" -v n="$tests" -v t="$tick_ms" \
	'BEGIN { printf "%.2f", (b - a) * t / n }')

echo
echo "(b) vpn: lab with $N ocserv gateways, openconnect, ping count $COUNT, interval $INTERVAL s"
echo "    epmon run: $tests site tests (cycles 2-$CYCLES)"
bench_line "figure" "measured" "target"
bench_line "cycle wall time (mean)" "$cycle_mean s"
bench_line "site test duration (mean)" "$dur ms"
bench_line "  pings: 2x(count-1)xinterval + rtts (mean)" "$floor ms"
bench_line "  login_ms (median, min-max)" "$login ($login_min-$login_max) ms"
bench_line "  teardown_ms (median, min-max)" "$td ($td_min-$td_max) ms"
bench_line "  rest = duration - the above (mean; max +-1 ms)" "$out_mean; $out_max ms"
if [ -s "$TMP/split" ]; then
	echo "    epmon once under strace -f: $(grep -c . "$TMP/split") site tests, means"
	bench_line "  client login: its exec to intranet route added" "$s_login ms"
	bench_line "  client exit: SIGINT to its exit" "$s_exit ms"
	bench_line "  epmon: end of ext. ping to client exec" "$s_pre ms"
	bench_line "  epmon: route added to SIGINT, beyond int. ping" "$s_detect ms" "" "(< 0: avg rtt)"
	bench_line "  epmon: client exit to next site (verify, row)" "$s_post ms"
	bench_line "epmon overhead per site test (mean)" "$s_epmon ms" "<= $OVERHEAD_TARGET_MS ms" \
		"$(bench_verdict "$s_epmon" "$OVERHEAD_TARGET_MS" ms)"
	bench_line "epmon overhead per site test (max)" "$s_epmon_max ms" "<= $OVERHEAD_TARGET_MS ms" \
		"$(bench_verdict "$s_epmon_max" "$OVERHEAD_TARGET_MS" ms)"
else
	bench_line "epmon overhead per site test" "not measured" "<= $OVERHEAD_TARGET_MS ms" \
		"(needs strace)"
fi
bench_line "epmon CPU per site test (schedstat, client excl.)" "$cpu_site ms" "<= $CPU_TARGET_MS ms" \
	"$(bench_verdict "$cpu_site" "$CPU_TARGET_MS" ms)"
bench_line "epmon CPU per site test (utime+stime ticks)" "$cpu_ticks ms" "" "(${tick_ms} ms ticks)"
bench_line "max RSS of epmon run (VmHWM)" "$hwm kB" "<= $RSS_TARGET_KB kB" \
	"$(bench_verdict "$hwm" "$RSS_TARGET_KB" kB)"
bench_line "  resident now: anonymous / mapped files / PSS" "$anon / $file / $pss kB"
echo "    epmon run, per site test (ms): site duration pings login teardown rest"
awk '{ printf "      %-6s %8.1f %8.1f %6.1f %6.1f %5.1f\n", $1, $2, $3, $4, $5, $2 - $3 - $4 - $5 }' \
	"$TMP/tests"
if [ -s "$TMP/split" ]; then
	echo "    traced, per site test (ms): site duration pings client_login client_exit" \
		"| epmon: pre detect post total"
	awk '{ printf "      %-6s %7.1f %7.1f %6.1f %6.1f | %5.1f %5.1f %5.1f %5.1f\n",
		$1, $2, $3, $4, $5, $6, $7, $8, $9 }' "$TMP/split"
fi
