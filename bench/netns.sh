#!/usr/bin/env bash
# bench (d), netns (issue 9): site tests in network namespaces of their own, concurrently,
# against the lab (tests/lab) with NETNS_SITES (default 50) ocserv gateways, one openconnect
# site per gateway, isolation netns. Every `epmon once` runs in the lab's probe namespace
# under bench/rusage.c (wait4) inside a cgroup of its own (cpuacct, or cgroup v2 cpu.stat).
#  1. cycle time ("cycle N s", last line of the `once` table) of all sites at concurrency
#     1, 8 and NETNS_SITES, and of one site alone (median of 3 runs); the ratio
#     cycle(all at NETNS_SITES) / cycle(one site alone).
#  2. CPU per site test, the whole process tree (epmon, the clients, their setup scripts):
#     wait4's rusage of `epmon once` / number of sites. wait4 covers every descendant that
#     was reaped by a process that was itself reaped in turn: openconnect reaps its script,
#     epmon reaps openconnect, rusage reaps epmon. The cgroup's CPU counts every process of
#     the tree however it was reaped (orphans too): its row checks the wait4 figure. Neither
#     holds the kernel's deferred namespace cleanup (a kworker). Once with epmon's own setup
#     helper (the default with isolation netns), once with `vpn.script: <vpnc-script>`.
#  3. epmon's own peak RSS with all sites at once: VmHWM of the epmon process (all its
#     threads, no child), from /proc/PID/status sampled every 20 ms until it exits (VmHWM
#     only grows: the last sample is the peak up to <= 20 ms before the exit). wait4's
#     maxrss is not it: for a process tree it is the largest of any one process (a client).
#  4. fds flat: `epmon run`, NETNS_FD_SITES (5) sites at concurrency NETNS_FD_SITES,
#     frequency 1.5 s (see FD_FREQ), NETNS_FD_CYCLES (default 100, ~150 s) cycles: epmon's
#     open fds, threads and VmRSS after cycles 1, half and last (each counted once the
#     cycle's log line is out and epmon has no child).
#  5. login time to a usable tunnel (login_ms of the CSV), median of NETNS_LOGINS (20)
#     logins, one site after another (concurrency 1, one ping a step), own setup and
#     vpnc-script.
# Afterwards: nothing of epmon may be left in the probe namespace (epmon-v* links, the
# `inet epmon` table, ip_forward changed, resolv.conf changed, processes in the cgroups).
# Usage: bench/netns.sh EPMON RUSAGE. Prints a table; exit 0 when it measured, 77 when it
# cannot (no root, no lab tools, an epmon without issue 9), 1 when a measurement broke
# (a site failed, leftovers). ~4 min with the defaults (lab up 11 s, step 4 150 s).
set -u
E2E_PREFIX=${E2E_PREFIX:-clibench$$n}
# shellcheck source=bench/common.sh
. "$(dirname "$0")/common.sh"

EPMON=$1
RUSAGE=$2
N=${NETNS_SITES:-50}
LOGINS=${NETNS_LOGINS:-20}
FD_SITES=${NETNS_FD_SITES:-5}
FD_CYCLES=${NETNS_FD_CYCLES:-100}
ALONE_RUNS=3
# 1-3 and 5: two ping steps of 3 pings 0.2 s apart (0.4 s each plus the rtt)
PING="{count: 3, interval: 0.2, timeout: 1}"
LOGIN_TIMEOUT=10
TEARDOWN_TIMEOUT=5
# 5: one ping each step (login_ms does not depend on it)
LOGIN_PING="{count: 1, interval: 0.2, timeout: 1}"
# 4: frequency 1.5 s = the budget rule's 2 x 0.1 s of ping + login_timeout 1.3 s. Not 1 s:
# with several logins at once, openconnect's DTLS setup now and then stalls 0.4-1.1 s (plain
# concurrent openconnects against the lab do it too, without epmon; --no-dtls never), and
# a login_timeout under that fails site tests.
FD_FREQ=1.5
FD_PING="{count: 1, interval: 0.2, timeout: 0.1}"
FD_LOGIN_TIMEOUT=1.3
RATIO_TARGET=2.5
CPU_TARGET_MS=200
RSS_TARGET_KB=8192
T0=$(date +%s.%N)
BROKE=()        # what makes the measurement "broke" (exit 1)

require_root_netns
require_cmd python3 openconnect
[ -x "$RUSAGE" ] || fail "no rusage tool at $RUSAGE"
[ "$N" -ge 1 ] && [ "$N" -le 50 ] || fail "NETNS_SITES must be 1..50 (the lab's limit), got $N"
[ "$LOGINS" -le "$N" ] && [ "$FD_SITES" -le "$N" ] || fail "NETNS_LOGINS and NETNS_FD_SITES must be <= $N"
# openconnect's default script (what `vpn.script` names for the vendor's way)
VPNC_SCRIPT=$(openconnect --help 2>&1 | sed -n 's/.*default: "\([^"]*vpnc-script[^"]*\)".*/\1/p' | head -1)
[ -n "$VPNC_SCRIPT" ] || VPNC_SCRIPT=$(dpkg -L vpnc-scripts 2>/dev/null | grep '/vpnc-script$' | head -1)
[ -x "${VPNC_SCRIPT:-}" ] || skip "no vpnc-script (openconnect --help names none, no package vpnc-scripts)"
e2e_tmpdir TMP

# An epmon from before issue 9 refuses the new keys: nothing to measure (77).
cat >"$TMP/keys.yml" <<EOF
frequency: 60
results: {directory: $TMP}
state_directory: $TMP
concurrency: 2
isolation: {mode: netns}
sites:
  - {name: s1, external_ip: 192.0.2.1}
EOF
chmod 600 "$TMP/keys.yml"
if ! "$EPMON" check-config -c "$TMP/keys.yml" >"$TMP/keys.out" 2>&1; then
	echo "bench (d): this epmon refuses the issue 9 keys (concurrency, isolation):" >&2
	sed 's/^/    | /' "$TMP/keys.out" >&2
	exit 77
fi

lab_start "$N"
trap "cg_exit d" EXIT
probe_settle
probe_ino=$(ip netns exec "$LAB_NS_PROBE" stat -L -c %i /proc/self/ns/net)
fwd_before=$(ip netns exec "$LAB_NS_PROBE" sysctl -n net.ipv4.ip_forward)
cp "$LAB_RESOLV_CONF" "$TMP/resolv.before"
e2e_log "(d) netns: lab up in $(awk -v a="$T0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }') s"

# config NAME NSITES CONCURRENCY SCRIPT [FREQ PING LOGIN_TIMEOUT]: $TMP/NAME.yml, results
# in $TMP/NAME/results; SCRIPT "" for epmon's own setup, else vpn.script.
config() {
	local name=$1 n=$2 conc=$3 script=$4 freq=${5:-60} ping=${6:-$PING} lt=${7:-$LOGIN_TIMEOUT} k
	mkdir -p "$TMP/$name/results" "$TMP/$name/state"
	{
		echo "frequency: $freq"
		echo "results: {directory: $TMP/$name/results}"
		echo "state_directory: $TMP/$name/state"
		echo "concurrency: $conc"
		echo "isolation: {mode: netns}"
		echo "ping: $ping"
		echo "sites:"
		for k in $(seq "$n"); do
			lab_openconnect_site "gw$k" "$k" login_timeout="$lt" \
				teardown_timeout="$TEARDOWN_TIMEOUT" ${script:+script="$script"}
		done
	} >"$TMP/$name.yml"
	chmod 600 "$TMP/$name.yml"
}

# once NAME [SAMPLE]: `epmon once -c $TMP/NAME.yml` in the probe namespace under rusage, in
# cgroup NAME. Sets CYCLE (s, the table's last line), NRES, NFAILED, CPU_MS (wait4),
# CG_MS (cgroup; "" without), WALL (s), TREE_RSS (wait4 maxrss kB), LEFT (processes left),
# and with SAMPLE=1 HWM (epmon's VmHWM kB), THREADS and FDS (peaks).
once() {
	local name=$1 sample=${2:-0} pid child='' i last cpu0 cpu1
	cg_new "$name"
	cpu0=$(machine_cpu)
	(
		[ -z "$CG" ] || echo "$BASHPID" >"$CG/cgroup.procs" || exit 125
		exec "$RUSAGE" ip netns exec "$LAB_NS_PROBE" "$EPMON" once -c "$TMP/$name.yml"
	) >"$TMP/$name.out" 2>"$TMP/$name.err" &
	pid=$!
	HWM=0 THREADS=0 FDS=0
	if [ "$sample" = 1 ]; then
		# rusage's child execs ip, which execs epmon (same pid)
		for i in $(seq 400); do
			read -r child _ <"/proc/$pid/task/$pid/children" 2>/dev/null
			[ -n "$child" ] && [ "$(cat "/proc/$child/comm" 2>/dev/null)" = epmon ] && break
			child=
			sleep 0.005
		done
		[ -n "$child" ] && sample_epmon "$child"
	fi
	wait "$pid"
	ONCE_RC=$?
	cpu1=$(machine_cpu)
	BUSY=$(echo "$cpu0 $cpu1" | awk -v n="$(nproc)" -v hz="$(getconf CLK_TCK)" '{
		t = $3 - $1; b = $4 - $2; p = 0; if (t > 0) p = 100 * b / t
		printf "%.0f%% of %d cores, %.2f s CPU", p, n, b / hz }')
	assert_no_sanitizer "$TMP/$name.err"
	last=$(grep -E 'site\(s\), [0-9]+ failed, cycle [0-9.]+ s' "$TMP/$name.out" | tail -1)
	[ -n "$last" ] || fail "epmon once ($name) exited $ONCE_RC without its table: $(tail -5 "$TMP/$name.err")"
	read -r NRES NFAILED CYCLE < <(echo "$last" |
		sed -E 's/^([0-9]+) site\(s\), ([0-9]+) failed, cycle ([0-9.]+) s.*/\1 \2 \3/')
	fig() { sed -n "s/.*rusage:.* $1=\([^ ]*\).*/\1/p" "$TMP/$name.err" | tail -1; }
	CPU_MS=$(fig cpu_ms) WALL=$(fig wall_s | awk '{ printf "%.2f", $1 }') TREE_RSS=$(fig maxrss_kb)
	CG_MS=
	[ -z "$CG" ] || CG_MS=$(cg_cpu_ms "$CG")
	LEFT=$(cg_left "$CG")
	if [ -n "$LEFT" ]; then
		e2e_log "(d) $name: processes left after epmon once exited: $(echo $LEFT)"
		BROKE+=("$name: processes left behind: $(echo $LEFT)")
	fi
	if [ "$NFAILED" != 0 ] || [ "$ONCE_RC" != 0 ]; then
		e2e_log "(d) $name: $NFAILED of $NRES site(s) failed (exit $ONCE_RC):"
		grep -E 'FAIL|error|warn' "$TMP/$name.err" | head -10 | sed 's/^/    | /' >&2
		BROKE+=("$name: $NFAILED of $NRES site(s) failed")
	fi
	e2e_log "(d) $name: $NRES site(s), $NFAILED failed, cycle $CYCLE s, CPU $CPU_MS ms (cgroup ${CG_MS:--} ms)"
}

# machine_cpu: "TOTAL BUSY" clock ticks of all CPUs since boot (/proc/stat; busy = all but
# idle and iowait): ocserv, the kernel's namespace cleanup and everything else included.

# sample_epmon PID: peaks of VmHWM, threads and open fds of PID until it exits, every 20 ms
# (bash builtins only, so that sampling costs the cores little); sets HWM, THREADS, FDS.
sample_epmon() {
	local pid=$1 k v st fds
	while :; do
		st=
		while read -r k v _; do
			case $k in
			State:) st=$v ;;
			VmHWM:) HWM=$v ;;
			Threads:) [ "$v" -gt "$THREADS" ] && THREADS=$v ;;
			esac
		done 2>/dev/null <"/proc/$pid/status"
		[ -n "$st" ] && [ "$st" != Z ] || break
		fds=(/proc/"$pid"/fd/*)
		[ "${#fds[@]}" -gt "$FDS" ] && FDS=${#fds[@]}
		sleep 0.02
	done
}

per_site() { awk -v v="$1" -v n="$2" 'BEGIN { if (v == "") print "-"; else printf "%.1f", v / n }'; }

# ---- 1-3: cycles at concurrency 1, 8, N; one site alone; CPU; RSS ----
levels=$(printf '%s\n' 1 8 "$N" | awk '$1 <= '"$N"' && !seen[$1]++')
declare -A CYC CPU CGCPU FAILED
for c in $levels; do
	s=0
	[ "$c" = "$N" ] && s=1
	config "c$c" "$N" "$c" ""
	e2e_log "(d) netns: epmon once, $N sites at concurrency $c"
	once "c$c" "$s"
	CYC[$c]=$CYCLE CPU[$c]=$(per_site "$CPU_MS" "$N") CGCPU[$c]=$(per_site "$CG_MS" "$N")
	FAILED[$c]=$NFAILED
	if [ "$s" = 1 ]; then
		hwm=$HWM threads=$THREADS fds_peak=$FDS tree_rss=$TREE_RSS wall_all=$WALL busy_all=$BUSY
	fi
done
config alone 1 1 ""
: >"$TMP/alone.cycles"
for r in $(seq "$ALONE_RUNS"); do
	e2e_log "(d) netns: epmon once, 1 site alone (run $r of $ALONE_RUNS)"
	cp "$TMP/alone.yml" "$TMP/alone$r.yml"
	once "alone$r"
	echo "$CYCLE" >>"$TMP/alone.cycles"
done
alone=$(sort -n "$TMP/alone.cycles" | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }')
alone_all=$(paste -sd/ "$TMP/alone.cycles")
ratio=$(awk -v a="${CYC[$N]}" -v b="$alone" 'BEGIN { printf "%.2f", a / b }')
config vpnc "$N" "$N" "$VPNC_SCRIPT"
e2e_log "(d) netns: epmon once, $N sites at concurrency $N, vpn.script $VPNC_SCRIPT"
once vpnc
vpnc_busy=$BUSY vpnc_cycle=$CYCLE vpnc_cpu=$(per_site "$CPU_MS" "$N") vpnc_cg=$(per_site "$CG_MS" "$N")

# login_stats NAME: "MEDIAN MIN MAX COUNT" of the login_ms column of run NAME's CSV.
login_stats() {
	python3 - "$(results_file "$TMP/$1/results")" <<'EOF' || fail "login statistics of $1"
import csv, statistics as st, sys
v = [float(r["login_ms"]) for r in csv.DictReader(open(sys.argv[1], newline="")) if r["login_ms"]]
print("%.1f %.1f %.1f %d" % (st.median(v), min(v), max(v), len(v)) if v else "- - - 0")
EOF
}
login_stats "c$N" >"$TMP/stats"
read -r lat_own_med _ lat_own_max _ <"$TMP/stats"
login_stats vpnc >"$TMP/stats"
read -r lat_vpnc_med _ lat_vpnc_max _ <"$TMP/stats"

# ---- 5: logins, one after another ----
for how in own vpnc; do
	script=
	[ "$how" = vpnc ] && script=$VPNC_SCRIPT
	config "login-$how" "$LOGINS" 1 "$script" 60 "$LOGIN_PING"
	e2e_log "(d) netns: epmon once, $LOGINS logins one after another ($how setup)"
	once "login-$how"
done
login_stats login-own >"$TMP/stats"
read -r login_own login_own_min login_own_max _ <"$TMP/stats"
login_stats login-vpnc >"$TMP/stats"
read -r login_vpnc login_vpnc_min login_vpnc_max _ <"$TMP/stats"

# ---- 4: fds over FD_CYCLES cycles of `epmon run` ----
config fd "$FD_SITES" "$FD_SITES" "" "$FD_FREQ" "$FD_PING" "$FD_LOGIN_TIMEOUT"
half=$(((FD_CYCLES + 1) / 2))
e2e_log "(d) netns: epmon run, $FD_SITES sites at concurrency $FD_SITES, frequency $FD_FREQ s, $FD_CYCLES cycles (~$(awk -v n="$FD_CYCLES" -v f="$FD_FREQ" 'BEGIN { print n * f }') s)"
t_fd=$(date +%s.%N)
bench_start_run PID "$TMP/fd.err" "$LAB_NS_PROBE" "$EPMON" run -c "$TMP/fd.yml"
# epmon_idle PID: wait (2 s at most) until PID has no child (between two cycles).
epmon_idle() {
	local i t c
	for i in $(seq 100); do
		c=
		for t in /proc/"$1"/task/*/children; do
			read -r c _ <"$t" 2>/dev/null
			[ -n "$c" ] && break
		done
		[ -z "$c" ] && return 0
		sleep 0.02
	done
	return 1
}
fd_at=() thr_at=() rss_at=() busy=
for k in 1 "$half" "$FD_CYCLES"; do
	wait_log "$TMP/fd.err" "cycle $k: [0-9]+ site" $((FD_CYCLES * 3 + 30)) ||
		fail "no cycle $k of epmon run: $(tail -5 "$TMP/fd.err")"
	epmon_idle "$PID" || busy+=" $k"
	fds=(/proc/"$PID"/fd/*)
	fd_at+=("${#fds[@]}")
	ls -l /proc/"$PID"/fd/ 2>/dev/null | awk 'NR > 1 { print $9, $10, $11 }' >"$TMP/fd.$k"
	thr_at+=("$(awk '/^Threads:/ { print $2 }' "/proc/$PID/status")")
	rss_at+=("$(awk '/^VmRSS:/ { print $2 }' "/proc/$PID/status")")
done
t_fd=$(awk -v a="$t_fd" -v b="$(date +%s.%N)" 'BEGIN { printf "%.0f", b - a }')
kill -TERM "$PID"
wait "$PID" || BROKE+=("epmon run exited $? on SIGTERM")
assert_no_sanitizer "$TMP/fd.err"
fd_failed=$(grep -oE "cycle [0-9]+: [0-9]+ site\(s\), [0-9]+ failed" "$TMP/fd.err" | awk '{ s += $5 } END { print s + 0 }')
fd_overruns=$(grep -c "longer than frequency" "$TMP/fd.err")
fd_flat=$(printf '%s\n' "${fd_at[@]}" | sort -u | wc -l)

# ---- what the runs left in the probe namespace ----
left=()
links=$(ip -n "$LAB_NS_PROBE" -o link show | awk -F': ' '{ sub(/@.*/, "", $2); print $2 }' | grep '^epmon-v' | paste -sd' ')
[ -z "$links" ] || left+=("links $links")
if command -v nft >/dev/null 2>&1 && ip netns exec "$LAB_NS_PROBE" nft list table inet epmon >/dev/null 2>&1; then
	left+=("nft table inet epmon")
fi
fwd_after=$(ip netns exec "$LAB_NS_PROBE" sysctl -n net.ipv4.ip_forward)
[ "$fwd_after" = "$fwd_before" ] || left+=("ip_forward $fwd_before -> $fwd_after")
cmp -s "$TMP/resolv.before" "$LAB_RESOLV_CONF" || left+=("resolv.conf changed")
slots=$(for f in /run/epmon/isolation/"$probe_ino"/slot-*; do [ -e "$f" ] && basename "$f"; done | paste -sd' ')
[ -z "$slots" ] || left+=("state files $slots in /run/epmon/isolation/$probe_ino")
[ -z "$(probe_procs)" ] || left+=("processes in the probe namespace: $(probe_procs | paste -sd' ')")
[ "${#left[@]}" = 0 ] || BROKE+=("left in $LAB_NS_PROBE: ${left[*]}")
elapsed=$(awk -v a="$T0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.0f", b - a }')

# ---- figures ----
line2() { printf '  %-44s %15s %15s  %-10s %s\n' "$1" "$2" "$3" "${4:-}" "${5:-}"; }
echo
echo "(d) netns: lab with $N ocserv gateways, $N openconnect sites (one per gateway), isolation netns,"
echo "    ping $PING, login_timeout $LOGIN_TIMEOUT s; epmon once under wait4 and a cgroup ($CG_KIND${CG_ROOT:+ $CG_ROOT})"
bench_line "figure" "measured" "target"
for c in $levels; do
	note=
	[ "${FAILED[$c]}" = 0 ] || note="(${FAILED[$c]} site(s) FAILED)"
	bench_line "cycle, $N sites at concurrency $c" "${CYC[$c]} s" "" "$note"
done
bench_line "cycle, 1 site alone (median of $ALONE_RUNS: $alone_all)" "$alone s"
bench_line "cycle($N at $N) / cycle(1 site alone)" "${ratio}x" "<= ${RATIO_TARGET}x" \
	"$(bench_verdict "$ratio" "$RATIO_TARGET" x)"
bench_line "epmon once wall, $N at $N (startup, exit incl.)" "$wall_all s"
bench_line "  the machine, $N at $N: busy (all processes)" "$busy_all"
bench_line "epmon's own peak RSS, $N at $N (VmHWM)" "$hwm kB" "<= $RSS_TARGET_KB kB" \
	"$(bench_verdict "$hwm" "$RSS_TARGET_KB" kB)"
bench_line "  max RSS of any one process of the tree (wait4)" "$tree_rss kB" "" "(a client's or epmon's)"
bench_line "  epmon's peak threads / open fds, $N at $N" "$threads / $fds_peak"
for c in $levels; do
	bench_line "CPU per site test, tree (wait4), $N at $c" "${CPU[$c]} ms" "<= $CPU_TARGET_MS ms" \
		"$(bench_verdict "${CPU[$c]}" "$CPU_TARGET_MS" ms)"
done
echo "    own setup (epmon tunnel-setup, the default) beside vpn.script: $VPNC_SCRIPT"
line2 "figure" "own setup" "vpnc-script" "target"
line2 "CPU per site test, tree (wait4), $N at $N" "${CPU[$N]} ms" "$vpnc_cpu ms" "<= $CPU_TARGET_MS ms" \
	"$(bench_verdict "${CPU[$N]}" "$CPU_TARGET_MS" ms)"
line2 "  check: cgroup CPU per site test" "${CGCPU[$N]} ms" "$vpnc_cg ms" "" "(all of the tree, orphans too)"
line2 "cycle, $N sites at concurrency $N" "${CYC[$N]} s" "$vpnc_cycle s"
line2 "  the machine: busy (all processes)" "${busy_all%%,*}" "${vpnc_busy%%,*}"
line2 "login_ms, median of $LOGINS logins one at a time" "$login_own ms" "$login_vpnc ms"
line2 "  min-max" "$login_own_min-$login_own_max ms" "$login_vpnc_min-$login_vpnc_max ms"
line2 "login_ms, $N at $N: median / max" "$lat_own_med / $lat_own_max" "$lat_vpnc_med / $lat_vpnc_max" "" "(ms)"
echo "    epmon run: $FD_SITES sites at concurrency $FD_SITES, frequency $FD_FREQ s, $FD_CYCLES cycles in $t_fd s" \
	"($fd_failed failed site tests, $fd_overruns overruns)"
v=ok
[ "$fd_flat" = 1 ] || v=MISSED
[ -z "$busy" ] || v="? (counted mid-cycle)"
bench_line "open fds of epmon after cycle 1 / $half / $FD_CYCLES" "$(IFS=/; echo "${fd_at[*]}")" "flat" "$v"
bench_line "  threads after cycle 1 / $half / $FD_CYCLES" "$(IFS=/; echo "${thr_at[*]}")"
bench_line "  VmRSS after cycle 1 / $half / $FD_CYCLES" "$(IFS=/; echo "${rss_at[*]}") kB"
[ -z "$busy" ] || echo "    (epmon still had a child at cycle(s)$busy: counted mid-cycle)"
if [ "$fd_failed" != 0 ]; then
	echo "    failed site tests of epmon run (distinct reasons):"
	grep -oE '\] FAIL at .*' "$TMP/fd.err" | sort | uniq -c | sort -rn | head -5 | sed 's/^/      /'
fi
if [ "$fd_flat" != 1 ]; then
	echo "    fds at cycle 1 -> cycle $FD_CYCLES:"
	diff "$TMP/fd.1" "$TMP/fd.$FD_CYCLES" | grep '^[<>]' | head -20 | sed 's/^/      /'
fi
if [ "${#left[@]}" = 0 ]; then
	echo "    left in the probe namespace afterwards: nothing (links, nft, ip_forward, resolv.conf, processes)"
else
	echo "    left in the probe namespace afterwards: ${left[*]}"
fi
echo "    bench (d) took $elapsed s"
if [ "${#BROKE[@]}" != 0 ]; then
	printf '    BROKE: %s\n' "${BROKE[@]}"
	exit 1
fi
exit 0
# SPDX-License-Identifier: MIT
