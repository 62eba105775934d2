# SPDX-License-Identifier: MIT
# shellcheck shell=bash
# Shared by bench/core.sh and bench/vpn.sh (sourced): the e2e helpers (namespaces, lab,
# cleanup traps), sampling of a running epmon, and the arithmetic on its CSV and log.
#
# How a site test is timed: epmon's CSV timestamp is the start of each site test (CLOCK_REALTIME,
# ms) and its log gives each cycle's duration ("cycle K: N site(s), F failed, D s", 1 us), so
# the duration of a site test is the next site's timestamp minus its own (the last site of a
# cycle: cycle start + cycle duration minus its own). All of a cycle's time is thus charged
# to its sites, writing the CSV row and logging included.

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/e2e/lib.sh
. "$BENCH_DIR/../tests/e2e/lib.sh"

# bench_sample PID: "CPU_NS TICKS HWM_KB ANON_KB FILE_KB PSS_KB" of process PID: its own
# on-CPU time in ns (the sum of /proc/PID/task/*/schedstat, every thread; children are not
# in it), utime + stime in clock ticks (/proc/PID/stat fields 14 and 15: again without
# children), VmHWM (the peak resident set), and of the resident set now: RssAnon, RssFile
# (mapped files: the shared libraries' pages, shared with other processes) and Pss.
bench_sample() {
	local pid=$1 ns=0 t v ticks mem pss
	for t in /proc/"$pid"/task/*/schedstat; do
		read -r v _ <"$t" || fail "cannot read $t"
		ns=$((ns + v))
	done
	# the comm field may hold spaces: count fields after its closing parenthesis
	ticks=$(sed 's/.*) //' "/proc/$pid/stat" | awk '{ print $12 + $13 }')
	mem=$(awk '/^(VmHWM|RssAnon|RssFile):/ { v[$1] = $2 }
		END { print v["VmHWM:"] + 0, v["RssAnon:"] + 0, v["RssFile:"] + 0 }' "/proc/$pid/status")
	pss=$(awk '/^Pss:/ { print $2 }' "/proc/$pid/smaps_rollup" 2>/dev/null)
	echo "$ns $ticks $mem ${pss:-0}"
}

# bench_site_tests CSV_DIR LOG NSITES K1 K2 COUNT INTERVAL: one line per site test of cycles
# K1..K2 (1-based) of one `epmon run` whose sites all passed:
#   SITE DURATION_MS PING_FLOOR_MS LOGIN_MS TEARDOWN_MS
# PING_FLOOR_MS is the least time the two ping steps can take: each ends when the last reply
# is in, (COUNT - 1) x INTERVAL after the first request plus that reply's RTT (the step's
# average RTT stands for it). LOGIN_MS and TEARDOWN_MS as epmon wrote them (0 without vpn).
bench_site_tests() {
	python3 - "$@" <<'EOF' || fail "bench_site_tests $*"
import csv, datetime, glob, re, sys
d, log, nsites, k1, k2, count, interval = sys.argv[1:8]
nsites, k1, k2, count, interval = int(nsites), int(k1), int(k2), int(count), float(interval)
rows = []
for path in sorted(glob.glob(d + "/results-*.csv")):
    rows += list(csv.DictReader(open(path, newline="")))
dur = {}
for line in open(log):
    m = re.search(r"cycle (\d+): (\d+) site\(s\), (\d+) failed, ([0-9.]+) s", line)
    if m:
        dur[int(m.group(1))] = float(m.group(4))
        if int(m.group(2)) != nsites or m.group(3) != "0":
            sys.exit("cycle %s: %s site(s), %s failed: a benchmark needs every site OK"
                     % (m.group(1), m.group(2), m.group(3)))
def ms(r, k):
    return float(r[k]) if r[k] else 0.0
for k in range(k1, k2 + 1):
    cyc = rows[(k - 1) * nsites:k * nsites]
    if len(cyc) != nsites or k not in dur:
        sys.exit("cycle %d: %d rows, duration %s" % (k, len(cyc), dur.get(k)))
    ts = [datetime.datetime.fromisoformat(r["timestamp"]).timestamp() for r in cyc]
    ts.append(ts[0] + dur[k])
    for i, r in enumerate(cyc):
        if r["result"] != "OK":
            sys.exit("cycle %d: site %s failed: %s" % (k, r["site"], r["detail"]))
        floor = 2 * (count - 1) * interval * 1000 + ms(r, "external_rtt_ms") + ms(r, "internal_rtt_ms")
        print("%s %.3f %.3f %.1f %.1f" % (r["site"], (ts[i + 1] - ts[i]) * 1000, floor,
                                         ms(r, "login_ms"), ms(r, "teardown_ms")))
EOF
}

# bench_line LABEL VALUE [TARGET [VERDICT]]: one row of a figures table.
bench_line() { printf '  %-52s %16s  %-10s %s\n' "$1" "$2" "${3:-}" "${4:-}"; }

# bench_verdict VALUE LIMIT UNIT: "ok" when VALUE <= LIMIT, else "MISSED by X UNIT".
bench_verdict() {
	awk -v v="$1" -v l="$2" -v u="$3" 'BEGIN {
		if (v <= l) print "ok"; else printf "MISSED by %.1f %s\n", v - l, u }'
}

# bench_start_run PID_VAR ERR_FILE NS EPMON ARGS...: `epmon run` in namespace NS, in the
# background (ip netns exec execs epmon, so the pid is epmon's), registered for cleanup.
bench_start_run() {
	local var=$1 err=$2 ns=$3
	shift 3
	ip netns exec "$ns" "$@" 2>"$err" &
	printf -v "$var" '%s' "$!"
	register_pid "$!"
}

# bench_trace_split TRACE CSV COUNT INTERVAL SITE=INTERNAL_IP...: where the time of each site test of one
# `epmon once` went, from `strace -f --seccomp-bpf -ttt -e trace=execve` (TRACE) and the rows
# it wrote (CSV). One line per site test, in ms:
#   SITE DURATION PINGS CLIENT_LOGIN CLIENT_EXIT PRE DETECT POST EPMON
# CLIENT_LOGIN: the client's execve to the exit of the `ip route add|replace` that routed
# internal_ip (the vpnc-script's doing); CLIENT_EXIT: SIGINT delivered to the client to its
# exit. epmon's part: PRE (end of the external ping to the client's execve: stale client
# scan, resolv.conf and route snapshots, spawn), DETECT (route added to SIGINT, minus the
# internal ping's floor: noticing the route, and the internal ping's own overhead), POST
# (client exit to the next site's start, or to epmon's exit: verification, the CSV row).
# EPMON = PRE + DETECT + POST = DURATION - PINGS - CLIENT_LOGIN - CLIENT_EXIT.
# DETECT comes out slightly negative: the floor of the internal ping takes its average RTT,
# and the first reply through a fresh tunnel is the slowest (the last one ends the step);
# and the route works as soon as `ip` has added it, a little before that `ip` exits.
bench_trace_split() {
	python3 - "$@" <<'PYEOF' || fail "bench_trace_split $*"
import csv, datetime, ipaddress, re, sys
trace, path, count, interval = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
internal_of = dict(a.split("=", 1) for a in sys.argv[5:])
floor1 = (count - 1) * interval
rows = list(csv.DictReader(open(path, newline="")))
line_re = re.compile(r"^(\d+) +(\d+\.\d+) (.*)$")
events = []
for line in open(trace):
    m = line_re.match(line)
    if m:
        events.append((int(m.group(1)), float(m.group(2)), m.group(3)))
epmon_pid = events[0][0]
epmon_exit = next(t for p, t, x in events if p == epmon_pid and x.startswith("+++ exited"))
def exit_of(pid, after):
    return next(t for p, t, x in events if p == pid and t >= after and x.startswith("+++ "))
clients = [(p, t) for p, t, x in events
           if re.match(r'execve\("[^"]*/openconnect"', x) and p != epmon_pid]
if len(clients) != len(rows):
    sys.exit("%d client execs in the trace for %d rows" % (len(clients), len(rows)))
starts = [datetime.datetime.fromisoformat(r["timestamp"]).timestamp() for r in rows]
for k, r in enumerate(rows):
    if r["result"] != "OK":
        sys.exit("site %s failed: %s" % (r["site"], r["detail"]))
    pid, t_exec = clients[k]
    end = starts[k + 1] if k + 1 < len(rows) else epmon_exit
    internal = ipaddress.ip_address(internal_of[r["site"]])
    t_route = None
    for p, t, x in events:
        if t < t_exec or not x.startswith("execve(") or "route" not in x:
            continue
        args = re.findall(r'"([^"]*)"', x.split("]")[0])
        if not ({"add", "replace"} & set(args)):
            continue
        for a in args:
            try:
                net = ipaddress.ip_network(a, strict=False)
            except ValueError:
                continue
            if net.prefixlen > 0 and internal in net:
                t_route = exit_of(p, t)
                break
        if t_route:
            break
    if t_route is None:
        sys.exit("no route to %s added by the client in the trace" % internal)
    t_int = next(t for p, t, x in events if p == pid and x.startswith("--- SIGINT"))
    t_exit = exit_of(pid, t_int)
    ext, inn = float(r["external_rtt_ms"]) / 1000, float(r["internal_rtt_ms"]) / 1000
    pre = t_exec - (starts[k] + floor1 + ext)
    detect = t_int - t_route - (floor1 + inn)
    post = end - t_exit
    print("%s %.3f %.3f %.3f %.3f %.3f %.3f %.3f %.3f" % (
        r["site"], (end - starts[k]) * 1000, (2 * floor1 + ext + inn) * 1000,
        (t_route - t_exec) * 1000, (t_exit - t_int) * 1000,
        pre * 1000, detect * 1000, post * 1000, (pre + detect + post) * 1000))
PYEOF
}

# ---- cgroups: the CPU of a whole process tree, and what a run left behind ----
CG_ROOT='' CG_KIND=''
if [ -f /sys/fs/cgroup/cpuacct/cpuacct.usage ]; then
	CG_ROOT=/sys/fs/cgroup/cpuacct CG_KIND=v1
elif [ -f /sys/fs/cgroup/cgroup.controllers ]; then
	CG_ROOT=/sys/fs/cgroup CG_KIND=v2
fi
CG_DIRS=()
# cg_new NAME: a cgroup for one run; its path in CG ("" when there are no cgroups).
cg_new() {
	CG=
	[ -n "$CG_ROOT" ] || return 0
	if mkdir "$CG_ROOT/$E2E_PREFIX-$1" 2>/dev/null; then
		CG=$CG_ROOT/$E2E_PREFIX-$1
		CG_DIRS+=("$CG")
	fi
}
# cg_cpu_ms DIR: CPU of every process that ever was in DIR, ms.
cg_cpu_ms() {
	case $CG_KIND in
	v1) awk '{ printf "%.1f", $1 / 1e6 }' "$1/cpuacct.usage" ;;
	v2) awk '$1 == "usage_usec" { printf "%.1f", $2 / 1e3 }' "$1/cpu.stat" ;;
	esac
}
# cg_left DIR: "PID COMM" of every live process still in DIR.
cg_left() {
	local pid
	[ -n "$1" ] || return 0
	for pid in $(cat "$1/cgroup.procs" 2>/dev/null); do
		lab_alive "$pid" && echo "$pid $(cat "/proc/$pid/comm" 2>/dev/null)"
	done
}
# cg_exit SECTION: for an EXIT trap: processes left in our cgroups were started by a run of
# epmon here: SIGKILL them by pid, remove the cgroups, then lab_exit (registered pids, the
# lab), keeping the exit status.
cg_exit() {
	local rc=$? d pid i
	for d in "${CG_DIRS[@]}"; do
		for pid in $(cat "$d/cgroup.procs" 2>/dev/null); do
			echo "bench ($1): killing leftover $(cat "/proc/$pid/comm" 2>/dev/null) $pid (of $(basename "$d"))" >&2
			kill -KILL "$pid" 2>/dev/null
		done
	done
	for d in "${CG_DIRS[@]}"; do
		for i in $(seq 40); do rmdir "$d" 2>/dev/null && break; sleep 0.05; done
	done
	(exit "$rc")
	lab_exit
}
# machine_cpu: "TOTAL BUSY" clock ticks of all CPUs since boot (/proc/stat; busy = all but
# idle and iowait): the lab's servers and whatever else runs on the machine included.
machine_cpu() { awk '$1 == "cpu" { t = 0; for (i = 2; i <= NF; i++) t += $i; print t, t - $5 - $6 }' /proc/stat; }
