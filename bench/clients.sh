#!/usr/bin/env bash
# bench (e), clients (issue 10): every client kind against the real lab (tests/lab, `up 1
# --openvpn --wireguard --ipsec`): openconnect (ocserv), openvpn with a password, openvpn
# with a client certificate only, wireguard (wireguard-go) and ipsec (strongSwan charon with
# kernel-libipsec). Isolation netns (the default), concurrency 1: the logins never overlap.
#  1. per kind, CLIENTS_LOGINS (20) logins: one `epmon once` of CLIENTS_LOGINS sites of that
#     kind (same server, one after another), ping count 1, in the lab's probe namespace under
#     bench/rusage.c (wait4) inside a cgroup of its own:
#     - login_ms from the CSV: median, p95 (nearest rank: the 19th of 20), min-max;
#     - CPU per site test of the whole process tree: wait4's rusage of `epmon once` / logins
#       (epmon reaps each client, swanctl and openconnect's script; each client reaps what it
#       spawns), epmon's start-up and exit included (spread over the logins); the cgroup's
#       CPU (every process that was in it, however reaped) checks it;
#     - epmon's own CPU (utime + stime of all its threads, no child; /proc/PID/stat in clock
#       ticks, last sample before its exit) and own peak RSS (VmHWM of the epmon process,
#       sampled every 20 ms until it exits; wait4's maxrss is the largest process of the
#       tree, a client's);
#     - the site test's wall time (mean of consecutive CSV timestamps): pings, namespace,
#       login, teardown, the row.
#     - the login phases epmon writes (login_connect_ms, login_tls_ms, login_auth_ms,
#       login_tunnel_ms): p50 and p95 of each over the same logins, and how much of
#       login_ms they cover;
#  2. where login_ms goes: one `epmon -v once` of CLIENTS_TRACED (5) sites of every kind
#     (clients_trace, clients_split below): its log lines timed as they come out of the
#     pipe (the client's own lines are in it, as epmon reads them), the exec and exit of
#     the client and its helpers (openconnect's script, swanctl) from the kernel's proc
#     connector; means per phase. No ptrace: under strace the logins took 2-3 times longer.
#  3. the steady internal RTT against iputils ping: per kind one `epmon -v once` of one site
#     (count 40, interval 50 ms) with iputils ping (20 echoes, 50 ms apart) through the
#     same tunnel alongside its steady internal ping (tests/e2e/lib.sh ping_alongside):
#     both averages and medians, their difference, and the first echo epmon times apart.
# Afterwards nothing may be left (processes in the cgroups or the probe namespace, links,
# routes, resolv.conf, epmon's isolation state): probe_assert_clean.
# CLIENTS_KEEP=DIR copies the configs, CSVs, logs and the timed events there (DIR must exist).
# Usage: bench/clients.sh EPMON RUSAGE. Prints the figures (there is no target: figures
# only); exit 0 when it measured, 77 when it cannot (no root, no lab tools: a kind whose
# client is missing is left out), 1 when a measurement broke (a login failed, leftovers).
# ~45 s.
set -u
E2E_PREFIX=${E2E_PREFIX:-clibench$$e}
# shellcheck source=bench/common.sh
. "$(dirname "$0")/common.sh"

EPMON=$1
RUSAGE=$2
LOGINS=${CLIENTS_LOGINS:-20}
TRACED=${CLIENTS_TRACED:-5}
# login_ms does not depend on the pings: one each step
PING="{count: 1, interval: 0.2, timeout: 1}"
LOGIN_TIMEOUT=10
TEARDOWN_TIMEOUT=5
CHARON=/usr/lib/ipsec/charon
T0=$(date +%s.%N)
BROKE=()
KINDS=(openconnect openvpn-pw openvpn-cert wireguard ipsec)
declare -A WHY_NOT   # kind -> why it is not measured

require_root_netns
require_cmd python3
[ -x "$RUSAGE" ] || fail "no rusage tool at $RUSAGE"
[ "$LOGINS" -ge 2 ] && [ "$TRACED" -ge 1 ] || fail "CLIENTS_LOGINS must be >= 2, CLIENTS_TRACED >= 1"

# What the lab needs for each kind (lab_start skips, exit 77, without ocserv/openconnect).
up_opts=()
if command -v openvpn >/dev/null 2>&1; then
	up_opts+=(--openvpn)
else
	WHY_NOT[openvpn-pw]="needs openvpn" WHY_NOT[openvpn-cert]="needs openvpn"
fi
if command -v wireguard-go >/dev/null 2>&1 && command -v wg >/dev/null 2>&1; then
	up_opts+=(--wireguard)
else
	WHY_NOT[wireguard]="needs wireguard-go and wg"
fi
if [ -x "$CHARON" ] && command -v swanctl >/dev/null 2>&1; then
	up_opts+=(--ipsec)
else
	WHY_NOT[ipsec]="needs $CHARON and swanctl"
fi

lab_start 1 "${up_opts[@]}"
trap "cg_exit e" EXIT
e2e_tmpdir TMP
e2e_log "(e) clients: lab $LAB_P up in $(awk -v a="$T0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }') s"

# ---- the sites ----
if [ -z "${WHY_NOT[openvpn-pw]:-}" ]; then
	ovpn_client_conf "$TMP/pw.ovpn" "auth-user-pass"
	ovpn_client_conf "$TMP/cert.ovpn" "cert $LAB_OVPN_CLIENT_CERT" "key $LAB_OVPN_CLIENT_KEY"
fi
# site KIND NAME: the YAML of one site of KIND (the e2e tests' helpers, tests/e2e/lib.sh).
site() {
	local t=(login_timeout="$LOGIN_TIMEOUT" teardown_timeout="$TEARDOWN_TIMEOUT")
	case $1 in
	openconnect) lab_openconnect_site "$2" 1 "${t[@]}" ;;
	openvpn-pw) lab_openvpn_site "$2" "$TMP/pw.ovpn" username="$LAB_USER" \
		password_file="$LAB_PASSWORD_FILE" "${t[@]}" ;;
	openvpn-cert) lab_openvpn_site "$2" "$TMP/cert.ovpn" "${t[@]}" ;;
	wireguard) lab_wireguard_site "$2" "${t[@]}" ;;
	ipsec) lab_ipsec_site "$2" "${t[@]}" ;;
	esac
}
short() { case $1 in openconnect) echo oc ;; openvpn-pw) echo ovpw ;; openvpn-cert) echo ovcert ;;
	wireguard) echo wg ;; ipsec) echo ike ;; esac; }
# config NAME "KIND COUNT"...: $TMP/NAME.yml, results in $TMP/NAME/results; COUNT sites of
# each KIND, named <short kind><k>.
config() {
	local name=$1 spec kind n k
	shift
	mkdir -p "$TMP/$name/results" "$TMP/$name/state"
	{
		echo "frequency: 60"
		echo "results: {directory: $TMP/$name/results}"
		echo "state_directory: $TMP/$name/state"
		echo "concurrency: 1"
		echo "isolation: {mode: netns}"
		echo "ping: $PING"
		echo "sites:"
		for spec in "$@"; do
			read -r kind n <<<"$spec"
			for k in $(seq "$n"); do site "$kind" "$(short "$kind")$k"; done
		done
	} >"$TMP/$name.yml"
	chmod 600 "$TMP/$name.yml"
}
# A kind this epmon does not know (check-config refuses its site) is left out.
for kind in "${KINDS[@]}"; do
	[ -z "${WHY_NOT[$kind]:-}" ] || continue
	config "check-$kind" "$kind 1"
	if ! ip netns exec "$LAB_NS_PROBE" "$EPMON" check-config -c "$TMP/check-$kind.yml" >"$TMP/check-$kind.out" 2>&1; then
		WHY_NOT[$kind]="this epmon refuses it: $(grep -m1 . "$TMP/check-$kind.out")"
	fi
done
RUN_KINDS=()
for kind in "${KINDS[@]}"; do [ -n "${WHY_NOT[$kind]:-}" ] || RUN_KINDS+=("$kind"); done
if [ "${#RUN_KINDS[@]}" = 0 ]; then
	echo "bench (e): no client kind can be measured:" >&2
	for kind in "${KINDS[@]}"; do echo "    $kind: ${WHY_NOT[$kind]}" >&2; done
	exit 77
fi
probe_snapshot "$TMP"
LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)

# A sleep without a fork (the sampler must cost the two cores little): read with a timeout
# on a pipe nobody writes to.
exec {NAP_FD}<> <(:)
nap() { read -r -t "$1" -u "$NAP_FD" _; }

# watch_epmon PID: until PID exits, every 20 ms: its VmHWM (kB) in HWM and its own CPU
# (utime + stime, clock ticks: every thread, exited ones too, no child) in TICKS.
watch_epmon() {
	local pid=$1 k v st line
	HWM=0 TICKS=0
	while :; do
		st=
		while read -r k v _; do
			case $k in
			State:) st=$v ;;
			VmHWM:) HWM=$v ;;
			esac
		done 2>/dev/null <"/proc/$pid/status"
		[ -n "$st" ] && [ "$st" != Z ] || break
		read -r line 2>/dev/null <"/proc/$pid/stat" || break
		# the comm field may hold spaces: count fields after its closing parenthesis
		set -- ${line##*) }
		TICKS=$((${12} + ${13}))
		nap 0.02
	done
}


# once NAME: `epmon once -c $TMP/NAME.yml` in the probe namespace under rusage, in cgroup
# NAME, epmon watched. Sets NRES NFAILED CPU_MS (wait4) CG_MS (cgroup, "" without)
# HWM TICKS, and BUSY: the machine's busy CPU meanwhile, % of one core (200 = 2 cores).
once() {
	local name=$1 pid child='' i last cpu0 cpu1
	cg_new "$name"
	cpu0=$(machine_cpu)
	(
		[ -z "$CG" ] || echo "$BASHPID" >"$CG/cgroup.procs" || exit 125
		exec "$RUSAGE" ip netns exec "$LAB_NS_PROBE" "$EPMON" once -c "$TMP/$name.yml"
	) >"$TMP/$name.out" 2>"$TMP/$name.err" &
	pid=$!
	# rusage's child execs ip, which execs epmon (same pid)
	for i in $(seq 400); do
		read -r child _ <"/proc/$pid/task/$pid/children" 2>/dev/null
		[ -n "$child" ] && [ "$(cat "/proc/$child/comm" 2>/dev/null)" = epmon ] && break
		child=
		nap 0.005
	done
	HWM=0 TICKS=0
	[ -n "$child" ] && watch_epmon "$child"
	wait "$pid"
	ONCE_RC=$?
	cpu1=$(machine_cpu)
	BUSY=$(echo "$cpu0 $cpu1" | awk -v n="$(nproc)" '{
		t = $3 - $1; p = 0; if (t > 0) p = 100 * n * ($4 - $2) / t; printf "%.0f", p }')
	assert_no_sanitizer "$TMP/$name.err"
	last=$(grep -E 'site\(s\), [0-9]+ failed, cycle [0-9.]+ s' "$TMP/$name.out" | tail -1)
	[ -n "$last" ] || fail "epmon once ($name) exited $ONCE_RC without its table: $(tail -5 "$TMP/$name.err")"
	read -r NRES NFAILED < <(echo "$last" | sed -E 's/^([0-9]+) site\(s\), ([0-9]+) failed.*/\1 \2/')
	fig() { sed -n "s/.*rusage:.* $1=\([^ ]*\).*/\1/p" "$TMP/$name.err" | tail -1; }
	CPU_MS=$(fig cpu_ms)
	CG_MS=
	[ -z "$CG" ] || CG_MS=$(cg_cpu_ms "$CG")
	LEFT=$(cg_left "$CG")
	if [ -n "$LEFT" ]; then
		e2e_log "(e) $name: processes left after epmon once exited: $(echo $LEFT)"
		BROKE+=("$name: processes left behind: $(echo $LEFT)")
	fi
	if [ "$NFAILED" != 0 ] || [ "$ONCE_RC" != 0 ] || [ -z "$child" ]; then
		e2e_log "(e) $name: $NFAILED of $NRES site(s) failed (exit $ONCE_RC$([ -n "$child" ] || echo ", epmon not seen")):"
		grep -E 'FAIL|error|warn' "$TMP/$name.err" | head -10 | sed 's/^/    | /' >&2
		BROKE+=("$name: $NFAILED of $NRES site(s) failed")
	fi
}

# ovpn_fresh: the lab's OpenVPN server restarted (0.1 s). An openvpn client stopped by
# SIGINT does not tell a UDP server that it left (no explicit-exit-notify in the users'
# configs): the server keeps each session until its ping-restart (120 s) and takes 64 at
# most (max-clients), so more than 64 openvpn logins within 2 minutes fail with "no
# tunnel" (MULTI: new incoming connection would exceed maximum number of clients (64)).
ovpn_fresh() { lab_cmd ovpn-stop; lab_cmd ovpn-start; }

# clients_phases CSV: the login phases of the CSV's OK rows, "P50/P95" (ms) of connect, tls,
# auth and tunnel ("-" where the client shows none), then the share of login_ms they cover.
clients_phases() {
	python3 - "$1" <<'EOF' || fail "clients_phases $1"
import csv, math, statistics as st, sys
rows = [r for r in csv.DictReader(open(sys.argv[1], newline="")) if r["result"] == "OK"]
PH = ("connect", "tls", "auth", "tunnel")
out, covered, total = [], 0.0, 0.0
for p in PH:
    v = sorted(float(r["login_%s_ms" % p]) for r in rows if r.get("login_%s_ms" % p))
    out.append("%.1f/%.1f" % (st.median(v), v[max(0, math.ceil(0.95 * len(v)) - 1)]) if v else "-")
for r in rows:
    total += float(r["login_ms"])
    covered += sum(float(r["login_%s_ms" % p]) for p in PH if r.get("login_%s_ms" % p))
print(" ".join(out), "%.0f%%" % (100 * covered / total if total else 0))
EOF
}

# ---- 1. LOGINS logins of each kind ----
tick_ms=$(awk -v t="$(getconf CLK_TCK)" 'BEGIN { print 1000 / t }')
declare -A PHASES   # kind -> "CONNECT TLS AUTH TUNNEL COVERED", each "P50/P95" (ms) or "-"
declare -A RTT      # kind -> "EPMON_AVG PING_AVG DIFF EPMON_MEDIAN PING_MEDIAN FIRST" (ms)
declare -A FIG   # kind -> "OK/N P50 P95 MIN MAX TEARDOWN_P50 TEST_MS CPU CGROUP EPMON_CPU HWM BUSY"
for kind in "${RUN_KINDS[@]}"; do
	config "$kind" "$kind $LOGINS"
	case $kind in openvpn-*) ovpn_fresh ;; esac
	e2e_log "(e) clients: epmon once, $LOGINS $kind logins one after another"
	once "$kind"
	stats=$(python3 - "$(results_file "$TMP/$kind/results")" <<'EOF'
import csv, datetime, math, statistics as st, sys
rows = list(csv.DictReader(open(sys.argv[1], newline="")))
ok = [r for r in rows if r["result"] == "OK"]
lg = sorted(float(r["login_ms"]) for r in ok if r["login_ms"])
td = [float(r["teardown_ms"]) for r in ok if r["teardown_ms"]]
ts = [datetime.datetime.fromisoformat(r["timestamp"]).timestamp() for r in rows]
gaps = [(b - a) * 1000 for a, b in zip(ts, ts[1:])]
if not lg:
    print("%d/%d - - - - - -" % (len(ok), len(rows)))
else:
    p95 = lg[max(0, math.ceil(0.95 * len(lg)) - 1)]   # nearest rank
    print("%d/%d %.1f %.1f %.1f %.1f %.1f %.0f" % (len(ok), len(rows), st.median(lg), p95,
          lg[0], lg[-1], st.median(td) if td else 0, st.mean(gaps) if gaps else 0))
EOF
	) || fail "statistics of $kind"
	read -r n_ok p50 p95 lmin lmax td test_ms <<<"$stats"
	PHASES[$kind]=$(clients_phases "$(results_file "$TMP/$kind/results")")
	n=${NRES:-$LOGINS}
	per() { awk -v v="$1" -v n="$n" 'BEGIN { if (v == "" || n == 0) print "-"; else printf "%.1f", v / n }'; }
	epmon_ms=$(awk -v t="$TICKS" -v m="$tick_ms" -v n="$n" 'BEGIN { printf "%.1f", t * m / n }')
	FIG[$kind]="$n_ok $p50 $p95 $lmin $lmax $td $test_ms $(per "$CPU_MS") $(per "$CG_MS") $epmon_ms $HWM $BUSY"
	e2e_log "(e) $kind: $n_ok OK, login p50 $p50 p95 $p95 ms, CPU $(per "$CPU_MS") ms/test (cgroup $(per "$CG_MS")), epmon VmHWM $HWM kB"
done

# ---- 2. where login_ms goes: one `epmon -v once`, TRACED sites of every kind ----
# clients_trace EVENTS LOG CMD...: runs CMD (`epmon -v once`) and records, without ptrace
# (strace stops a traced process at every traced syscall: the logins took 2-3 times longer
# under it), in CLOCK_MONOTONIC seconds:
#   EVENTS: "T exec PID PARENT CMDLINE" and "T exit PID" of every process of CMD's tree,
#           from the kernel's proc connector (netlink; its own timestamps), taken by a child
#           process; CMDLINE is "?" when the process was gone before it could be read;
#   LOG:    "T LINE" for each line of CMD's stderr as it comes out of the pipe (epmon writes
#           each log line at once, in one write).
# Exit status: CMD's, or 3 when the proc connector cannot be used, 4 when it dropped events.
clients_trace() {
	python3 - "$@" <<'PYEOF'
import os, signal, socket, struct, subprocess, sys, time
events, log, cmd = sys.argv[1], sys.argv[2], sys.argv[3:]
try:
    s = socket.socket(socket.AF_NETLINK, socket.SOCK_DGRAM, 11)   # NETLINK_CONNECTOR
    s.setsockopt(socket.SOL_SOCKET, 33, 16 << 20)                  # SO_RCVBUFFORCE
    s.bind((0, 1))                                                 # CN_IDX_PROC
    op = struct.pack("=IIIIHHI", 1, 1, 0, 0, 4, 0, 1)              # PROC_CN_MCAST_LISTEN
    s.send(struct.pack("=IHHII", 16 + len(op), 3, 0, 0, 0) + op)   # NLMSG_DONE
except OSError as e:
    print("clients_trace: no proc connector: %s" % e, file=sys.stderr)
    sys.exit(3)
root = os.getpid()
listener = os.fork()
if listener == 0:
    # the tree: processes forked by the tracer (CMD, not this listener) and their descendants
    parent, lost, stop = {}, 0, []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    s.settimeout(0.05)
    with open(events, "w") as out:
        while not stop:
            try:
                d = s.recv(65536)
            except socket.timeout:
                continue
            except InterruptedError:
                continue
            except OSError:          # ENOBUFS: the kernel dropped events
                lost += 1
                continue
            what, _, ts = struct.unpack_from("=IIQ", d, 36)
            t = ts / 1e9
            if what == 1:            # fork: parent pid, tgid, child pid, tgid
                _, ptgid, cpid, ctgid = struct.unpack_from("=IIII", d, 52)
                if cpid == ctgid and ctgid != os.getpid() and (ptgid == root or ptgid in parent):
                    parent[ctgid] = ptgid
            elif what == 2:          # exec: pid, tgid (the command line is read at once)
                _, tgid = struct.unpack_from("=II", d, 52)
                if tgid in parent:
                    try:
                        with open("/proc/%d/cmdline" % tgid, "rb") as f:
                            c = f.read().replace(b"\0", b" ").decode(errors="replace").strip()
                    except OSError:
                        c = "?"
                    out.write("%.6f exec %d %d %s\n" % (t, tgid, parent[tgid], c or "?"))
            elif what == 0x80000000:  # exit: pid, tgid
                pid, tgid = struct.unpack_from("=II", d, 52)
                if pid == tgid and tgid in parent:
                    out.write("%.6f exit %d\n" % (t, tgid))
    os._exit(4 if lost else 0)
s.close()
time.sleep(0.1)      # the listener is subscribed (it shares the socket) and running
p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
with open(log, "w") as out:
    for line in p.stderr:
        out.write("%.6f %s" % (time.monotonic(), line.decode(errors="replace")))
rc = p.wait()
time.sleep(0.1)      # the last events
os.kill(listener, signal.SIGTERM)
_, st = os.waitpid(listener, 0)
if os.waitstatus_to_exitcode(st) == 4:
    print("clients_trace: the proc connector dropped events", file=sys.stderr)
    sys.exit(4)
sys.exit(rc)
PYEOF
}

# clients_split EVENTS LOG SITE=KIND... @KIND=UNTRACED_MEDIAN...: per kind, the mean of each
# phase of login_ms (ms) over its traced logins. A login starts at epmon's "tunnel up on IF
# after X ms" line minus X (login_ms starts just before the client's fork); each phase ends
# at a marker found from 20 ms before that start (the pipe may deliver the line late) to
# 0.5 s after the "tunnel up" line: an epmon log line of the site ("log"; the client's own
# lines are there as "client: ..." the moment epmon read them off the pty), the exec of a
# process whose command line matches ("exec") or its exit ("exit"), the exec of the
# client's N-th child ("childN": openconnect's script). Phases are the gaps between
# consecutive markers in the order listed; a marker not found merges its phase into the
# next.
clients_split() {
	python3 - "$@" <<'PYEOF' || fail "clients_split $*"
import re, statistics as st, sys
SPAWN = "epmon: fork, pty, private mounts, exec"
MARKS = {
    "openconnect": [
        ("exec", r"^\S*/openconnect( |$)", SPAWN),
        ("log", r"^client: POST https://", "openconnect start-up (exec to its first line)"),
        ("log", r"^client: Connected to HTTPS", "TCP + TLS handshake"),
        ("log", r"^client: CSTP connected", "auth (2 POSTs) + CONNECT: CSTP up"),
        ("log", r"^client: Established DTLS", "DTLS handshake"),
        ("child2", None, "DTLS wait, tun device, script (reason pre-init)"),
        ("log", r"^tunnel up on", "script (reason connect) until epmon sees the route"),
    ],
    "openvpn": [
        ("exec", r"^\S*/openvpn( |$)", SPAWN),
        ("log", r"^client: .*link remote", "openvpn start-up (exec to its socket)"),
        ("log", r"^client: .*Peer Connection Initiated", "TLS handshake (control channel)"),
        ("log", r"^client: .*PUSH: Received control message", "auth + PUSH_REPLY"),
        ("log", r"^client: .*Initialization Sequence Completed", "openvpn: tun, address, routes"),
        ("log", r"^tunnel up on", "until epmon sees the route"),
    ],
    "wireguard": [
        ("exec", r"^\S*/wireguard-go( |$)", SPAWN),
        ("log", r"^client: .*UAPI listener started", "wireguard-go start-up (Go runtime, tun)"),
        ("log", r"^client: .*Sending handshake initiation", "epmon: UAPI config, address, route"),
        ("log", r"^client: .*Received handshake response", "handshake (1 round trip)"),
        ("log", r"^handshake with .* completed", "epmon reads the handshake over UAPI"),
        ("log", r"^tunnel up on", "until epmon sees the route"),
    ],
    "ipsec": [
        ("exec", r"/charon( |$)", SPAWN),
        ("log", r"^client: .*spawning [0-9]+ worker threads", "charon start-up (plugins, threads)"),
        ("exit", r"/swanctl --load-all", "swanctl --load-all (fork to exit)"),
        ("exec", r"/swanctl --initiate", "epmon: notices its exit, execs swanctl --initiate"),
        ("log", r"^client: .*initiating IKE_SA", "swanctl start-up + VICI initiate"),
        ("log", r"^client: .*CHILD_SA .* established", "IKE: 6 round trips (IKE_SA_INIT, 5 IKE_AUTH: EAP)"),
        ("exit", r"/swanctl --initiate", "swanctl returns"),
        ("log", r"^CHILD_SA .* installed", "epmon: notices swanctl's exit"),
        ("log", r"^tunnel up on", "until epmon sees the route (ipsec0)"),
    ],
}
events, logfile, rest = sys.argv[1], sys.argv[2], sys.argv[3:]
kind_of = dict(a.split("=", 1) for a in rest if "=" in a and not a.startswith("@"))
untraced = dict(a[1:].split("=", 1) for a in rest if a.startswith("@"))
log_re = re.compile(r"^(\d+\.\d+) <\d>\w+: \[([^\]]+)\] (.*)$")
logs, execs, exits = [], [], {}
for line in open(logfile, errors="replace"):
    m = log_re.match(line.rstrip("\n"))
    if m:
        logs.append((float(m.group(1)), m.group(2), m.group(3)))
for line in open(events, errors="replace"):
    f = line.rstrip("\n").split(" ", 4)
    if f[1] == "exec":
        execs.append((float(f[0]), int(f[2]), int(f[3]), f[4] if len(f) > 4 else "?"))
    elif f[1] == "exit":
        exits.setdefault(int(f[2]), []).append(float(f[0]))
def exit_of(pid, t):
    return next((e for e in exits.get(pid, []) if e >= t), None)
def marker(site, start, end, how, rx, client):
    """The time of a marker; "childN": the exec of the client's N-th child (the command
    line of a short-lived one may be unreadable)."""
    if how == "log":
        r = re.compile(rx)
        return next((t for t, s, x in logs if s == site and start <= t <= end and r.search(x)), None)
    if how.startswith("child"):
        kids = [t for t, pid, pp, x in execs if pp == client and start <= t <= end]
        n = int(how[5:])
        return kids[n - 1] if len(kids) >= n else None
    r = re.compile(rx)
    for t, pid, pp, x in execs:
        if start <= t <= end and r.search(x):
            return t if how == "exec" else exit_of(pid, t)
    return None
per, scripts = {}, {}
for site, kind in kind_of.items():
    fam = "openvpn" if kind.startswith("openvpn") else kind
    up = next(((t, float(re.search(r"after ([0-9.]+) ms", x).group(1)))
               for t, s, x in logs if s == site and x.startswith("tunnel up on")), None)
    if up is None:
        sys.exit("no 'tunnel up' line of site %s in the log" % site)
    end, login = up
    start = end - login / 1000
    prev, acc, client = start, [], None
    for i, (how, rx, label) in enumerate(MARKS[fam]):
        t = marker(site, start - 0.02, end + 0.5, how, rx, client)
        if i == 0 and t is not None:   # the client's exec
            client = next(pid for tt, pid, pp, x in execs if tt == t)
        if t is None:
            acc.append((label, None))
            continue
        acc.append((label, (t - prev) * 1000))
        prev = t
    if fam == "openconnect" and client is not None:
        # its script's two runs before the route (pre-init, connect): exec to exit
        kids = [(t, pid) for t, pid, pp, x in execs if pp == client and start - 0.02 <= t <= end]
        for n, (t, pid) in enumerate(kids[:2]):
            e = exit_of(pid, t)
            if e is not None:
                scripts.setdefault(n, []).append((e - t) * 1000)
    per.setdefault(kind, []).append((login, acc))
for kind in [k for k in ("openconnect", "openvpn-pw", "openvpn-cert", "wireguard", "ipsec") if k in per]:
    runs = per[kind]
    logins = [l for l, _ in runs]
    print("      %-13s these logins: mean %.1f (%s); the ones above: median %s" % (
        kind, st.mean(logins), " ".join("%.1f" % l for l in logins), untraced.get(kind, "-")))
    means = []
    for ph in zip(*[acc for _, acc in runs]):
        v = [x for _, x in ph if x is not None]
        means.append((ph[0][0], st.mean(v) if len(v) == len(ph) else None, v))
    top = max((m for _, m, _ in means if m is not None), default=0)
    for label, m, v in means:
        if m is None:
            print("        %-52s %8s" % (label, "(merged)"))
        else:
            print("        %-52s %7.1f  %-14s%s" % (label, m, "(%.1f-%.1f)" % (min(v), max(v)),
                  " <- largest" if m == top else ""))
    if kind == "openconnect" and len(scripts) == 2:
        print("        %-52s %s" % ("  the script's own runs (sh + epmon tunnel-setup)",
              ", ".join("%s %.1f" % (w, st.mean(scripts[n])) for n, w in
                        enumerate(("pre-init", "connect")))))
PYEOF
}

specs=() map=()
for kind in "${RUN_KINDS[@]}"; do
	specs+=("$kind $TRACED")
	for k in $(seq "$TRACED"); do map+=("$(short "$kind")$k=$kind"); done
	read -r _ p50 _ <<<"${FIG[$kind]}"
	map+=("@$kind=$p50")
done
config traced "${specs[@]}"
[ -n "${WHY_NOT[openvpn-pw]:-}" ] || ovpn_fresh
e2e_log "(e) clients: epmon -v once, $TRACED site(s) of each kind, its log lines and process events timed"
clients_trace "$TMP/traced.events" "$TMP/traced.log" \
	ip netns exec "$LAB_NS_PROBE" "$EPMON" -v once -c "$TMP/traced.yml"
rc=$?
assert_no_sanitizer "$TMP/traced.log"
SPLIT=
case $rc in
0) SPLIT=$(clients_split "$TMP/traced.events" "$TMP/traced.log" "${map[@]}") ;;
3) e2e_log "(e) clients: no proc connector (netlink), so no time split" ;;
4) e2e_log "(e) clients: the proc connector dropped events: no time split"
	BROKE+=("the time split lost process events (busy machine?)") ;;
*) e2e_log "(e) traced epmon once failed (exit $rc):"
	grep -E 'FAIL|error|warn' "$TMP/traced.log" | head -10 | sed 's/^/    | /' >&2
	BROKE+=("traced epmon once: a site failed") ;;
esac

# ---- 3. the steady internal RTT against iputils ping, through the same tunnel ----
internal_of() { case $1 in openconnect) echo "$LAB_GW1_INTRANET_IP" ;; openvpn-*) echo "$LAB_OVPN_INTRANET_IP" ;;
	wireguard) echo "$LAB_WG_INTRANET_IP" ;; ipsec) echo "$LAB_IKE_INTRANET_IP" ;; esac; }
PING="{count: 40, interval: 0.05, timeout: 1}"
command -v nsenter >/dev/null 2>&1 && command -v ping >/dev/null 2>&1 ||
	e2e_log "(e) clients: no nsenter or iputils ping: no RTT comparison"
for kind in "${RUN_KINDS[@]}"; do
	command -v nsenter >/dev/null 2>&1 && command -v ping >/dev/null 2>&1 || break
	config "rtt-$kind" "$kind 1"
	case $kind in openvpn-*) ovpn_fresh ;; esac
	e2e_log "(e) clients: $kind, epmon's steady internal ping and iputils ping through the same tunnel"
	ping_alongside "rtt-$kind" "$TMP/rtt-$kind.yml" "$(short "$kind")1" "$(internal_of "$kind")" 20 0.05
	if [ "$EPMON_RC" != 0 ]; then
		BROKE+=("rtt-$kind: epmon once exited $EPMON_RC")
		continue
	fi
	csv=$(results_file "$TMP/rtt-$kind/results")
	avg=$(csv_get "$csv" "$(short "$kind")1" internal_rtt_ms)
	first=$(csv_get "$csv" "$(short "$kind")1" internal_first_ms)
	RTT[$kind]="$avg $PING_AVG $(awk -v a="$avg" -v b="$PING_AVG" 'BEGIN { printf "%+.3f", a - b }') $EPMON_MEDIAN $PING_MEDIAN ${first:--}"
done

[ -z "${CLIENTS_KEEP:-}" ] || cp -a "$TMP/." "$CLIENTS_KEEP/" || e2e_log "(e) cannot copy $TMP to $CLIENTS_KEEP"

# ---- what the runs left ----
left=$(probe_assert_clean "$TMP" 2>&1 >/dev/null) || BROKE+=("left behind: $(echo "$left" | grep FAIL)")
elapsed=$(awk -v a="$T0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.0f", b - a }')

# ---- figures ----
echo
echo "(e) clients: one server of each kind in the lab (ocserv, OpenVPN 2.6, wireguard-go, strongSwan"
echo "    IKEv2), isolation netns, concurrency 1, ping count 1; per kind one epmon once of $LOGINS sites on"
echo "    that server under wait4 and a cgroup ($CG_KIND${CG_ROOT:+ $CG_ROOT}); load average before: $LOAD0"
echo "    no target (issue 10 asks for the figures). login_ms: p50 = median, p95 = nearest rank, min-max;"
echo "    CPU/test: the whole process tree (wait4) / site tests, (its cgroup check), epmon alone;"
echo "    VmHWM: epmon's own peak RSS; test: site test wall time, mean; busy: the machine meanwhile,"
echo "    % of one core (all processes: the lab's servers and anything else running)"
printf '  %-13s %5s %6s %6s %12s %6s %8s %8s %5s %8s %5s %4s\n' kind ok p50 p95 min-max teardn \
	CPU/test "(cgroup)" epmon VmHWM test busy
for kind in "${KINDS[@]}"; do
	if [ -n "${WHY_NOT[$kind]:-}" ]; then
		printf '  %-13s not measured: %s\n' "$kind" "${WHY_NOT[$kind]}"
		continue
	fi
	read -r n_ok p50 p95 lmin lmax td test_ms cpu cg own hwm busy <<<"${FIG[$kind]}"
	printf '  %-13s %5s %6s %6s %12s %6s %8s %8s %5s %8s %5s %4s\n' "$kind" "$n_ok" "$p50" "$p95" \
		"$lmin-$lmax" "$td" "$cpu" "($cg)" "$own" "$hwm kB" "$test_ms" "$busy%"
done
echo "    (ms; epmon's own CPU is in ${tick_ms} ms ticks over $LOGINS tests; every CPU figure includes"
echo "    epmon's start-up and exit, nftables table and ip_forward, spread over the $LOGINS tests)"
echo "    the login phases epmon writes (its CSV, the same $LOGINS logins; ms, p50/p95; '-': the client"
echo "    shows no such phase) and how much of login_ms they cover:"
printf '  %-13s %14s %14s %14s %14s %8s\n' kind connect tls auth tunnel covered
for kind in "${RUN_KINDS[@]}"; do
	read -r c t a u cov <<<"${PHASES[$kind]}"
	printf '  %-13s %14s %14s %14s %14s %8s\n' "$kind" "$c" "$t" "$a" "$u" "$cov"
done
echo "    the steady internal RTT against iputils ping through the same tunnel, run alongside (one"
echo "    login per kind; epmon count 40, ping 20 echoes, both 50 ms apart; ms), and epmon's first echo:"
printf '  %-13s %10s %10s %8s %12s %12s %10s\n' kind epmon-avg ping-avg diff epmon-median ping-median first
for kind in "${RUN_KINDS[@]}"; do
	[ -n "${RTT[$kind]:-}" ] || continue
	read -r a b d m1 m2 f <<<"${RTT[$kind]}"
	printf '  %-13s %10s %10s %8s %12s %12s %10s\n' "$kind" "$a" "$b" "$d" "$m1" "$m2" "$f"
done
if [ -n "$SPLIT" ]; then
	echo "    where login_ms goes: epmon -v once, $TRACED login(s) per kind, its log lines timed as they come,"
	echo "    process exec/exit from the kernel's proc connector (no ptrace); mean (min-max) ms"
	echo "$SPLIT"
fi
echo "    bench (e) took $elapsed s"
if [ "${#BROKE[@]}" != 0 ]; then
	printf '    BROKE: %s\n' "${BROKE[@]}"
	exit 1
fi
exit 0
# SPDX-License-Identifier: MIT
