#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# `make soak` (issue 13): bench/soak.sh BUILD. SOAK_CYCLES cycles (default 1000) of `epmon run`
# every SOAK_FREQUENCY s (default 2) against the lab (tests/lab, 5 ocserv gateways, isolation
# netns), with faults injected on a schedule (printed at start) in every block of 100 cycles:
# SMTP server down then back on the same port, gateway down (ocserv stopped, or its external
# link down), wrong password (the site's password file rewritten), hung client (a site switched
# by SIGHUP to the FAKE client tests/lab/fake-client-hang and back), results disk full then free
# (the results directory is a small tmpfs, filled with a file, then the file is deleted), SIGHUP
# with a site added then removed. Prints a table and checks the targets:
#   - epmon's VmRSS and open fds after cycle 100 and after the last: within 5 % and equal;
#   - no cycle starts more than 100 ms late, except after a cycle that overran because a site
#     waited for one of its own timeouts (the cycle after it must start at once: same 100 ms);
#   - every fault injected is seen in the log, and in the CSV where a site's row can show it;
#   - every row written once (rows in the CSV = sites tested per the log's "cycle N:" lines);
#   - every alert delivered once: DOWN/UP per site expected from the CSV (failure_threshold 2),
#     as logged by epmon, as received by the SMTP server; the spool empty at the end.
# Exit 0 when every target is met, 1 naming each one missed (or when the run broke), 77 when it
# cannot run here (root, network namespaces, the lab's tools). SOAK_KEEP=DIR keeps epmon's log,
# the CSV, the mails, the fault events and the samples in DIR. Bounded: ~SOAK_CYCLES x SOAK_FREQUENCY
# s plus a minute (each cycle must come within 60 s, the spool must drain within 60 s).
set -u
E2E_PREFIX=${E2E_PREFIX:-soak$$}
cd "$(dirname "$0")/.." || exit 1
BUILD=${1:-build}
EPMON=$PWD/$BUILD/epmon
CYCLES=${SOAK_CYCLES:-1000}
FREQ=${SOAK_FREQUENCY:-2}
# shellcheck source=bench/common.sh
. bench/common.sh
# shellcheck source=tests/e2e/alert_lib.sh
. tests/e2e/alert_lib.sh

{ [[ $CYCLES =~ ^[0-9]+$ ]] && [ "$CYCLES" -ge 60 ]; } ||
	fail "SOAK_CYCLES must be a whole number >= 60 (every fault once), not '$CYCLES'"
awk -v f="$FREQ" 'BEGIN { exit !(f ~ /^[0-9]+(\.[0-9]+)?$/ && f >= 1.6 && f <= 60) }' ||
	fail "SOAK_FREQUENCY must be a number of seconds in 1.6..60, not '$FREQ'"
[ -x "$EPMON" ] || fail "no $EPMON (run make first)"

# ---- the schedule: in each block of B cycles, fault NAME is on after cycle ON, off after OFF
B=100
[ "$CYCLES" -ge 100 ] || B=$CYCLES
FAULTS=(smtp gwdown passwd hang disk extra)
declare -A ON=([smtp]=3 [gwdown]=5 [passwd]=18 [hang]=26 [disk]=34 [extra]=48)
declare -A OFF=([smtp]=15 [gwdown]=9 [passwd]=22 [hang]=29 [disk]=46 [extra]=53)
declare -A WHAT=(
	[smtp]="SMTP server down"
	[gwdown]="gateway down"
	[passwd]="wrong password"
	[hang]="hung client"
	[disk]="results disk full"
	[extra]="SIGHUP, site added"
)
declare -A HOW=(
	[smtp]="the test SMTP server stopped, restarted on the same port (alerts of 'gateway down' wait in the spool)"
	[gwdown]="site gwdown: gateway 1's ocserv stopped (even blocks) or its external link down (odd blocks)"
	[passwd]="site passwd: its password file rewritten with a wrong password, then the right one"
	[hang]="site client: by SIGHUP a custom client, the FAKE tests/lab/fake-client-hang, then openconnect again"
	[disk]="the results directory (a tmpfs) filled with a file, then the file deleted (the CSV's last page, 4 kB, still takes ~10 cycles of rows)"
	[extra]="site extra added to the config (SIGHUP), then removed (SIGHUP)"
)
# the first sample: after cycle 100, or in the quiet part of the first block of a short run
S1=100
[ "$CYCLES" -ge 200 ] || S1=56
SMTP_PORT=2525
PING="{count: 1, interval: 0.1, timeout: 0.3}"
# each site must fit in a cycle: 2 pings x 0.3 s + login_timeout <= frequency
LOGIN_TIMEOUT=$(awk -v f="$FREQ" 'BEGIN { t = f - 0.6; if (t > 10) t = 10; printf "%g", t }')

require_root_netns
require_cmd python3 nft
[ -x /usr/bin/python3 ] || skip "needs /usr/bin/python3"
/usr/bin/python3 -c 'import aiosmtpd' 2>/dev/null || skip "needs python3-aiosmtpd (make deps)"
lab_start 5
e2e_tmpdir TMP
P=$LAB_NS_PROBE
R=$TMP/results
S=$TMP/state
M=$TMP/m.mail
LOG=$TMP/epmon.log
CFG=$TMP/config.yml
EV=$TMP/events
mkdir -p "$R" "$S" || fail "mkdir in $TMP"
lab_fake FAKE fake-client-hang

# the results directory: a tmpfs of its own, ~4 x what the rows need (300 bytes a row)
TMPFS_KB=$((CYCLES * 5 * 300 * 4 / 1024 + 1024))
mount -t tmpfs -o "size=${TMPFS_KB}k,mode=0755" "$E2E_PREFIX-results" "$R" ||
	fail "cannot mount a tmpfs on $R"
EPMON_PID=
# soak_exit: the EXIT trap: epmon stopped, the tmpfs unmounted, then the lab's cleanup.
soak_exit() {
	local rc=$?
	if [ -n "$EPMON_PID" ] && lab_alive "$EPMON_PID"; then
		kill -TERM "$EPMON_PID" 2>/dev/null
		wait_gone "$EPMON_PID" 20 || kill -KILL "$EPMON_PID" 2>/dev/null
	fi
	if [ -n "${SOAK_KEEP:-}" ] && [ -n "${TMP:-}" ]; then
		mkdir -p "$SOAK_KEEP" && cp -a "$LOG" "$EV" "$CFG" "$TMP/samples" "$TMP"/fds.* "$R" "$M" "$SOAK_KEEP/" 2>/dev/null
		rm -f "$SOAK_KEEP/results/fill"
	fi
	mountpoint -q "$R" && { umount "$R" || umount -l "$R"; }
	(exit "$rc")
	lab_exit
}
trap soak_exit EXIT

# ---- the config: sites gwdown, passwd, client (openconnect, or the hung FAKE), steady, [extra]
HANG=0 EXTRA=0
install -m 600 "$LAB_PASSWORD_FILE" "$TMP/passwd.pass" || fail "cannot copy the lab's password"
soak_config() {
	local t=(login_timeout="$LOGIN_TIMEOUT" teardown_timeout=3)
	{
		echo "frequency: $FREQ"
		echo "concurrency: 8"
		echo "results: {directory: $R}"
		echo "state_directory: $S"
		echo "ping: $PING"
		echo "logging:"
		echo "  smtp_server: 127.0.0.1"
		echo "  smtp_port: $SMTP_PORT"
		echo "  security: none"
		echo "  sender: epmon@soak.test"
		echo "  recipients: [noc@soak.test]"
		echo "  failure_threshold: 2"
		echo "  retry_min: 5"
		echo "  retry_max: 20"
		echo "sites:"
		lab_openconnect_site gwdown 1 "${t[@]}"
		lab_openconnect_site passwd 2 password_file="$TMP/passwd.pass" "${t[@]}"
		if [ "$HANG" = 1 ]; then
			lab_fake_site client 3 "$FAKE" login_timeout=1 teardown_timeout=0.5
		else
			lab_openconnect_site client 3 "${t[@]}"
		fi
		lab_openconnect_site steady 4 "${t[@]}"
		[ "$EXTRA" = 0 ] || lab_openconnect_site extra 5 "${t[@]}"
	} >"$CFG.new" || fail "cannot write $CFG.new"
	chmod 600 "$CFG.new"
	mv -f "$CFG.new" "$CFG" || fail "cannot replace $CFG"
}
# set_password FILE: the site passwd's password file gets FILE's first line (atomically).
set_password() {
	{ install -m 600 "$1" "$TMP/passwd.new" && mv -f "$TMP/passwd.new" "$TMP/passwd.pass"; } ||
		fail "cannot rewrite $TMP/passwd.pass"
}

# ---- faults ----
# fault NAME on|off K: inject or remove a fault after cycle K; one line in $EV:
# "K LOGLINE WALL_MS NAME on|off KIND" (LOGLINE: the lines of epmon's log read so far).
declare -A STATE=()
fault() {
	local name=$1 to=$2 k=$3 kind=-
	case $name:$to in
	smtp:on) smtpd_stop "$SMTPD_PID" ;;
	smtp:off) smtpd_start m "$SMTP_PORT" plain ;;
	gwdown:*)
		if [ "$to" = on ]; then
			GW_KIND="stop"
			[ $(((k / B) % 2)) = 0 ] || GW_KIND="link"
		fi
		kind=$GW_KIND
		case $GW_KIND:$to in
		stop:on) lab_cmd gw-stop 1 ;;
		stop:off) lab_cmd gw-start 1 ;;
		link:on) lab_cmd gw-link-down 1 ;;
		link:off) lab_cmd gw-link-up 1 ;;
		esac ;;
	passwd:on) set_password "$LAB_WRONG_PASSWORD_FILE" ;;
	passwd:off) set_password "$LAB_PASSWORD_FILE" ;;
	hang:*) HANG=$([ "$to" = on ] && echo 1 || echo 0); soak_config; kill -HUP "$EPMON_PID" ;;
	extra:*) EXTRA=$([ "$to" = on ] && echo 1 || echo 0); soak_config; kill -HUP "$EPMON_PID" ;;
	disk:on)
		# dd stops at ENOSPC: the tmpfs is full (rows still fit in the CSV's last page)
		dd if=/dev/zero of="$R/fill" bs=64k 2>/dev/null
		[ "$(df --output=avail -k "$R" | tail -1 | tr -d ' ')" = 0 ] ||
			fail "the tmpfs on $R is not full after dd: $(df -k "$R" | tail -1)" ;;
	disk:off) rm -f "$R/fill" ;;
	esac
	STATE[$name]=$to
	echo "$k $LN $(now_ms) $name $to $kind" >>"$EV"
	e2e_log "after cycle $k: ${WHAT[$name]} $to$([ "$kind" = - ] || echo " ($kind)")"
}

# after_cycle K: the faults of the schedule due after cycle K; a fault goes on only when its
# window ends 5 cycles before the last cycle at the latest.
after_cycle() {
	local k=$1 rel=$(($1 % B)) f
	for f in "${FAULTS[@]}"; do
		if [ "$rel" = "${OFF[$f]}" ] && [ "${STATE[$f]:-off}" = on ]; then
			fault "$f" off "$k"
		fi
	done
	for f in "${FAULTS[@]}"; do
		if [ "$rel" = "${ON[$f]}" ] && [ $((k - ON[$f] + OFF[$f])) -le $((CYCLES - 5)) ]; then
			fault "$f" on "$k"
		fi
	done
}

# sample K: "K VMRSS_KB FDS CPU_NS" of epmon into $TMP/samples (CPU_NS: its own on-CPU time,
# every thread), its fds listed in $TMP/fds.K: three looks 0.15 s apart (the cycle's last
# writes, a mail being sent) keep the fewest fds.
sample() {
	local k=$1 i n rss cpu fds=
	for i in 1 2 3; do
		n=$(find "/proc/$EPMON_PID/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l)
		rss=$(awk '/^VmRSS:/ { print $2 }' "/proc/$EPMON_PID/status" 2>/dev/null)
		if [ -z "$fds" ] || [ "$n" -lt "$fds" ]; then
			fds=$n
			find "/proc/$EPMON_PID/fd" -mindepth 1 -maxdepth 1 -printf '%f -> %l\n' 2>/dev/null |
				sort -n >"$TMP/fds.$k"
		fi
		[ "$i" = 3 ] || sleep 0.15
	done
	[ -n "$rss" ] || fail "cannot read /proc/$EPMON_PID/status after cycle $k"
	read -r cpu _ < <(bench_sample "$EPMON_PID")
	echo "$k $rss $fds $cpu" >>"$TMP/samples"
	e2e_log "after cycle $k of $CYCLES: VmRSS $rss kB, $fds fds"
}

# ---- the run ----
echo "epmon soak: $("$EPMON" --version), $BUILD/epmon"
echo "host: $(nproc) CPU(s), Linux $(uname -r), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "$CYCLES cycles every $FREQ s (~$(awk -v c="$CYCLES" -v f="$FREQ" 'BEGIN { printf "%.0f", c * f / 60 }') min)," \
	"4 openconnect sites (+1 by SIGHUP) on a lab of 5 ocserv gateways, isolation netns," \
	"ping count 1 timeout 0.3 s, login_timeout $LOGIN_TIMEOUT s; alerts by mail (failure_threshold 2," \
	"retry 5..20 s) to a test SMTP server"
echo "faults, in every block of $B cycles (on after cycle ON, off after cycle OFF of the block):"
for f in "${FAULTS[@]}"; do
	printf '  %-20s %3d..%-3d %s\n' "${WHAT[$f]}" "${ON[$f]}" "${OFF[$f]}" "${HOW[$f]}"
done
echo "samples of epmon's VmRSS and fds after cycle $S1 and after cycle $CYCLES (and every 100 cycles)"

soak_config
probe_snapshot "$TMP"
smtpd_start m "$SMTP_PORT" plain
: >"$EV"
: >"$TMP/samples"
ip netns exec "$P" "$EPMON" run -c "$CFG" 2>"$LOG" &
EPMON_PID=$!
register_pid "$EPMON_PID"
exec {LOGFD}< <(exec tail -n +1 -F "$LOG" 2>/dev/null)
register_pid "$!"
T0=$(now_ms)
K=0 LN=0
while [ "$K" -lt "$CYCLES" ]; do
	if ! IFS= read -r -t 60 -u "$LOGFD" line; then
		lab_alive "$EPMON_PID" || fail "epmon exited after cycle $K: $(tail -5 "$LOG")"
		fail "no line from epmon for 60 s after cycle $K: $(tail -5 "$LOG")"
	fi
	LN=$((LN + 1))
	[[ $line =~ info:\ cycle\ ([0-9]+):\ [0-9]+\ site ]] || continue
	K=${BASH_REMATCH[1]}
	after_cycle "$K"
	if [ "$K" = "$S1" ] || [ "$K" = "$CYCLES" ] || [ $((K % 100)) = 0 ]; then
		sample "$K"
	fi
done
T1=$(now_ms)
LOAD=$(cut -d' ' -f1-3 /proc/loadavg)
for f in "${FAULTS[@]}"; do
	[ "${STATE[$f]:-off}" = off ] || fail "fault $f still on after the last cycle"
done
# the last alerts delivered (the spool empty), then stop
end=$(($(date +%s) + 60))
while [ "$(spool_count "$S")" -gt 0 ] && [ "$(date +%s)" -lt "$end" ]; do sleep 0.5; done
kill -TERM "$EPMON_PID"
wait "$EPMON_PID"
RC=$?
assert_no_sanitizer "$LOG"
[ "$RC" = 0 ] || fail "epmon run exited $RC after SIGTERM: $(tail -5 "$LOG")"
# the soak left the probe as it found it (no client, link, route, namespace of epmon's)
smtpd_stop "$SMTPD_PID"
probe_assert_clean "$TMP"

# epmon's own reader: the lines it sets aside (a row torn by a short write) are not rows
"$EPMON" report -c "$CFG" --from "$(date -d "@$((T0 / 1000))" +%F)" --to "$(date +%F)" \
	--format csv >"$TMP/report.csv" 2>"$TMP/report.err" || fail "epmon report: $(cat "$TMP/report.err")"

# ---- figures and targets ----
python3 - "$LOG" "$R" "$EV" "$TMP/samples" "$M" "$S" "$FREQ" "$CYCLES" "$S1" \
	"$(((T1 - T0) / 1000))" "$TMP/fds.$S1" "$TMP/fds.$CYCLES" "$TMP/report.err" "$LOAD" <<'PYEOF'
import csv, datetime, email, email.policy, glob, os, re, sys
(logf, rdir, evf, sampf, maildir, statedir, F, N, S1, wall, fds1f, fds2f, reperr, load) = sys.argv[1:15]
F, N, S1, wall = float(F), int(N), int(S1), int(wall)
missed = []
# "FILE:LINE: why" of `epmon report`: the lines its reader skips
damaged = {}
for l in open(reperr, errors="replace"):
    m = re.match(r"^(.+\.csv):(\d+): (.*)$", l.rstrip("\n"))
    if m:
        damaged[(os.path.basename(m.group(1)), int(m.group(2)))] = m.group(3)

lines = open(logf, errors="replace").read().split("\n")
cyc = {}      # K -> [line number, sites, failed, duration s]
over = {}     # K -> duration s
for i, l in enumerate(lines, 1):
    m = re.search(r"info: cycle (\d+): (\d+) site\(s\), (\d+) failed, ([0-9.]+) s$", l)
    if m:
        cyc[int(m.group(1))] = [i, int(m.group(2)), int(m.group(3)), float(m.group(4))]
    m = re.search(r"info: cycle (\d+) stopped by signal after ([0-9.]+) s: (\d+) site\(s\) done", l)
    if m:
        cyc[int(m.group(1))] = [i, int(m.group(3)), 0, float(m.group(2))]
    m = re.search(r"cycle (\d+) took ([0-9.]+) s, longer than frequency", l)
    if m:
        over[int(m.group(1))] = float(m.group(2))
ncyc = max(cyc)

# ---- rows, and the cycle of each: the sites of a cycle start together (concurrency 8),
# a cycle after the previous one has ended: a gap of more than F/2 starts a new cycle
rows = []
for path in sorted(glob.glob(rdir + "/results-*.csv")):
    head = None
    for i, l in enumerate(open(path, newline="", errors="replace"), 1):
        if l.startswith("timestamp,"):
            head = head or next(csv.reader([l]))
            continue
        if (os.path.basename(path), i) in damaged or not l.strip():
            continue
        r = dict(zip(head, next(csv.reader([l]))))
        r["t"] = datetime.datetime.fromisoformat(r["timestamp"]).timestamp()
        rows.append(r)
rows.sort(key=lambda r: r["t"])
groups = []
for r in rows:
    if not groups or r["t"] - groups[-1][0]["t"] > F / 2:
        groups.append([])
    groups[-1].append(r)
want_rows = sum(c[1] for c in cyc.values())
rows_ok = len(rows) == want_rows and len(groups) == ncyc and \
    all(len(groups[k - 1]) == cyc[k][1] for k in range(1, ncyc + 1))
if not rows_ok:
    bad = [k for k in range(1, min(ncyc, len(groups)) + 1) if len(groups[k - 1]) != cyc[k][1]]
    missed.append("every row written once: the CSV has %d rows in %d cycles, the log counts %d "
                  "in %d cycles (first cycle that differs: %s)"
                  % (len(rows), len(groups), want_rows, ncyc, bad[0] if bad else "-"))
for k, g in enumerate(groups, 1):
    for r in g:
        r["cycle"] = k

# ---- fault windows: (name, kind, on K, off K, on log line, off log line, on t, off t)
ev = [l.split() for l in open(evf) if l.strip()]
wins, opened = [], {}
for k, ln, ms, name, to, kind in ev:
    if to == "on":
        opened[name] = (int(k), int(ln), int(ms) / 1000, kind)
    else:
        k0, ln0, t0, kind0 = opened.pop(name)
        wins.append((name, kind0, k0, int(k), ln0, int(ln), t0, int(ms) / 1000))
CYC_LN = {k: c[0] for k, c in cyc.items()}

def fail_row(site, step=None, detail=None):
    return lambda r: r["site"] == site and r["result"] == "FAIL" and \
        (step is None or r["failed_step"] == step) and (detail is None or re.search(detail, r["detail"]))
# fault -> (what, CSV predicate or None, log regex); a row or log line is the fault's when it
# comes from its window: from the injection until 3 cycles after the removal
SIG = {
    "smtp/-": ("SMTP server down", None, r"cannot send the (down|up) mail"),
    "gwdown/stop": ("gateway down (ocserv stopped)", fail_row("gwdown", "vpn_login", "gateway unreachable"),
                    r"\[gwdown\] FAIL at vpn_login: .*gateway unreachable"),
    "gwdown/link": ("gateway down (link down)", fail_row("gwdown", "external_ping"),
                    r"\[gwdown\] FAIL at external_ping"),
    "passwd/-": ("wrong password", fail_row("passwd", "vpn_login", "bad credentials"),
                 r"\[passwd\] FAIL at vpn_login: .*bad credentials"),
    "hang/-": ("hung client", fail_row("client", None, "SIGKILL"), r"\[client\] FAIL at .*SIGKILL"),
    "disk/-": ("results disk full", None, r"cannot write results to .*(No space left on device|short write)"),
    "extra/-": ("SIGHUP, site added/removed", lambda r: r["site"] == "extra",
                r"config reloaded: 5 site\(s\)"),
}
def in_win(w, r):
    return w[6] <= r["t"] <= w[7] + 3 * F
def log_win(w):
    end = CYC_LN.get(w[3] + 3, len(lines))
    return lines[w[4]:end]
fig = {}      # key -> [windows, seen in CSV, seen in log, CSV rows, log lines]
for w in wins:
    key = w[0] + "/" + w[1]
    what, pred, rx = SIG[key]
    f = fig.setdefault(key, [0, 0, 0, 0, 0])
    f[0] += 1
    if pred:
        n = sum(1 for r in rows if in_win(w, r) and pred(r))
        f[3] += n
        f[1] += n > 0
    n = sum(1 for l in log_win(w) if re.search(rx, l))
    f[4] += n
    f[2] += n > 0
# disk full: the rows of its cycles were written once the file went (counted above), and the log
# says so; a SIGHUP removal: the log's reload line back to 4 sites
disk_back = sum(1 for l in lines if re.search(r"results: .* writable again, \d+ pending row", l))
extra_off = sum(1 for w in wins if w[0] == "extra" and
                any(re.search(r"config reloaded: 4 site\(s\)", l) for l in lines[w[5]:CYC_LN.get(w[3] + 3, len(lines))]))
extra_out = sum(1 for r in rows if r["site"] == "extra" and not any(in_win(w, r) for w in wins if w[0] == "extra"))
smtp_back = sum(1 for l in lines if re.search(r"sent the (down|up) mail", l))
for key, f in fig.items():
    what, pred, _ = SIG[key]
    if f[2] < f[0] or (pred and f[1] < f[0]):
        missed.append("every fault visible: %s: %d window(s), seen in the CSV in %s, in the log in %d"
                      % (what, f[0], f[1] if pred else "n/a", f[2]))
if extra_out:
    missed.append("SIGHUP: %d row(s) of site extra outside its windows" % extra_out)
# failed rows no fault explains
def explained(r):
    for w in wins:
        key = w[0] + "/" + w[1]
        if SIG[key][1] and in_win(w, r) and SIG[key][1](r):
            return True
    return False
stray = [r for r in rows if r["result"] == "FAIL" and not explained(r)]

# ---- overruns and lateness (CSV timestamps: the first site of a cycle starts it)
start = {k: min(r["t"] for r in g) for k, g in enumerate(groups, 1)}
TIMEOUT = r"no usable tunnel after|no tunnel after|SIGKILL|SIGTERM|100(\.0)?% loss|timed out|timeout"
def excused(k):
    return any(r["result"] == "FAIL" and re.search(TIMEOUT, r["detail"] + " " + r["failed_step"])
               for r in groups[k - 1])
exc = {k for k in over if rows_ok and excused(k)}
late, worst, at_once = {}, (0.0, 0), (0.0, 0)
if rows_ok:
    chains, cur = [], []
    for k in range(1, ncyc + 1):
        if cur and (k - 1) in over:
            chains.append(cur)
            cur = []
        cur.append(k)
    chains.append(cur)
    prev_base = None
    for ch in chains:
        off = {k: start[k] - k * F for k in ch}
        base = min(off[k] for k in ch[1:]) if len(ch) > 1 else off[ch[0]]
        h = ch[0]
        if h > 1:
            end_prev = start[h - 1] + cyc[h - 1][3]
            if (h - 1) in exc:
                late[h] = start[h] - end_prev
                if late[h] > at_once[0]:
                    at_once = (late[h], h)
            else:     # a slow cycle, not a site's timeout: late against the old grid
                late[h] = off[h] - prev_base
        for k in ch[1:]:
            late[k] = off[k] - base
        prev_base = base
    for k, v in late.items():
        if v > worst[0]:
            worst = (v, k)
    if worst[0] > 0.1:
        bad = sorted(k for k, v in late.items() if v > 0.1)
        missed.append("no cycle late by more than 100 ms: %d late, the worst cycle %d by %.0f ms "
                      "(cycles %s)" % (len(bad), worst[1], worst[0] * 1000, " ".join(map(str, bad[:20]))))
else:
    missed.append("cycle lateness: not measurable (the rows do not match the cycles)")

# ---- alerts: expected from the rows (failure_threshold 2, success_threshold 1; a site absent
# from a cycle was removed from the config: its state dropped), as logged, as received
exp = {}
st = {}
sites = sorted({r["site"] for r in rows})
for k, g in enumerate(groups, 1):
    present = {r["site"] for r in g}
    for s in sites:
        if s not in present:
            st.pop(s, None)
    for r in g:
        fails, down = st.get(r["site"], (0, False))
        if r["result"] == "FAIL":
            fails += 1
            if fails >= 2 and not down:
                exp[("DOWN", r["site"])] = exp.get(("DOWN", r["site"]), 0) + 1
                down = True
        else:
            if down:
                exp[("UP", r["site"])] = exp.get(("UP", r["site"]), 0) + 1
            fails, down = 0, False
        st[r["site"]] = (fails, down)
logged = {}
for l in lines:
    m = re.search(r"\] alert: \[epmon\] (DOWN|UP) ([^: ]+)", l)
    if m:
        logged[(m.group(1), m.group(2))] = logged.get((m.group(1), m.group(2)), 0) + 1
got = {}
for p in sorted(glob.glob(maildir + "/msg-*.eml")):
    msg = email.message_from_binary_file(open(p, "rb"), policy=email.policy.default)
    m = re.match(r"\[epmon\] (DOWN|UP) ([^: ]+)", str(msg["Subject"] or ""))
    if m:
        got[(m.group(1), m.group(2))] = got.get((m.group(1), m.group(2)), 0) + 1
spooled = len([n for n in os.listdir(statedir + "/spool") if n.endswith(".eml") and not n.startswith(".")]) \
    if os.path.isdir(statedir + "/spool") else 0
dead = len([n for n in os.listdir(statedir + "/spool/dead") if not n.endswith(".reason")]) \
    if os.path.isdir(statedir + "/spool/dead") else 0
keys = sorted(set(exp) | set(logged) | set(got), key=lambda x: (x[1], x[0] != "DOWN"))
n_exp, n_log, n_got = sum(exp.values()), sum(logged.values()), sum(got.values())
if exp != got or exp != logged or spooled or dead:
    diff = ["%s %s: expected %d, logged %d, delivered %d" % (kd, s, exp.get((kd, s), 0),
            logged.get((kd, s), 0), got.get((kd, s), 0))
            for kd, s in keys if len({exp.get((kd, s), 0), logged.get((kd, s), 0), got.get((kd, s), 0)}) > 1]
    missed.append("every alert delivered once: %s%s" % ("; ".join(diff) or "counts equal",
                  "; %d left in the spool, %d in spool/dead" % (spooled, dead) if spooled or dead else ""))

# ---- RSS and fds
samp = {}
cpu = {}
for l in open(sampf):
    k, rss, fds, ns = map(int, l.split())
    samp[k] = (rss, fds)
    cpu[k] = ns
(r1, f1), (r2, f2) = samp[S1], samp[N]
drss = 100.0 * (r2 - r1) / r1
if abs(drss) > 5:
    missed.append("RSS within 5 %%: %d kB after cycle %d, %d kB after cycle %d (%+.1f %%)" % (r1, S1, r2, N, drss))
if f1 != f2:
    a = set(open(fds1f).read().split("\n")) if os.path.exists(fds1f) else set()
    b = set(open(fds2f).read().split("\n")) if os.path.exists(fds2f) else set()
    missed.append("fds equal: %d after cycle %d, %d after cycle %d (new: %s; gone: %s)"
                  % (f1, S1, f2, N, "; ".join(sorted(b - a)) or "-", "; ".join(sorted(a - b)) or "-"))

# ---- the table
def line(label, value, target="", verdict=""):
    print("  %-54s %18s  %-12s %s" % (label, value, target, verdict))
def ok(cond):
    return "ok" if cond else "MISSED"
print()
print("soak: %d cycles (%d run) every %g s in %d min %02d s; lab of 5 ocserv gateways, 4-5 sites;"
      " load average at the end %s" % (N, ncyc, F, wall // 60, wall % 60, load))
line("", "figure", "target")
line("epmon VmRSS after cycle %d / %d" % (S1, N), "%d / %d kB" % (r1, r2))
line("  difference", "%+.1f %%" % drss, "within 5 %", ok(abs(drss) <= 5))
line("epmon open fds after cycle %d / %d" % (S1, N), "%d / %d" % (f1, f2))
line("  difference", "%+d" % (f2 - f1), "0", ok(f1 == f2))
for k in sorted(samp):
    if k not in (S1, N):
        line("  VmRSS, fds after cycle %d" % k, "%d kB, %d" % samp[k])
line("epmon's own CPU per cycle, cycles %d..%d" % (S1 + 1, N),
     "%.1f ms" % ((cpu[N] - cpu[S1]) / 1e6 / (N - S1)))
if rows_ok:
    line("max cycle-start lateness (cycle %d)" % worst[1], "%.1f ms" % (worst[0] * 1000), "<= 100 ms",
         ok(worst[0] <= 0.1))
    line("  of it, start after an overrun by a site's timeout", "%.1f ms" % (at_once[0] * 1000))
    lv = sorted(late.values())
    line("  lateness p50 / p99", "%.1f / %.1f ms" % (lv[len(lv) // 2] * 1000,
         lv[min(len(lv) - 1, int(0.99 * len(lv)))] * 1000))
durs = sorted(c[3] for c in cyc.values())
line("cycle duration p50 / p95 / max", "%.2f / %.2f / %.2f s" % (durs[len(durs) // 2],
     durs[min(len(durs) - 1, int(0.95 * len(durs)))], durs[-1]))
line("overruns (cycle longer than %g s)" % F, "%d" % len(over))
line("  by a site's own timeout", "%d" % len(exc))
if set(over) - exc:
    line("  other (cycle: duration)", " ".join("%d:%.2fs" % (k, over[k]) for k in sorted(set(over) - exc)))
line("rows in the CSV / sites tested per the log", "%d / %d" % (len(rows), want_rows), "equal", ok(rows_ok))
line("lines epmon's reader sets aside (torn by a short write)", "%d" % len(damaged))
for (f, n), why in sorted(damaged.items())[:5]:
    print("      %s:%d: %s" % (f, n, why))
line("failed rows no injected fault explains", "%d" % len(stray))
for r in stray[:5]:
    print("      cycle %s %s %s: %s" % (r.get("cycle", "?"), r["site"], r["failed_step"], r["detail"][:100]))
print()
print("  %-36s %8s %16s %16s" % ("fault", "injected", "CSV rows (wins)", "log lines (wins)"))
for key in ("gwdown/stop", "gwdown/link", "passwd/-", "hang/-", "smtp/-", "disk/-", "extra/-"):
    if key not in fig:
        continue
    f = fig[key]
    what, pred, _ = SIG[key]
    csvs = "%d (%d)" % (f[3], f[1]) if pred else "n/a"
    print("  %-36s %8d %16s %16s  %s" % (what, f[0], csvs, "%d (%d)" % (f[4], f[2]),
          ok(f[2] == f[0] and (not pred or f[1] == f[0]))))
print("  (SMTP back: %d 'sent the' lines; disk free again: %d 'writable again' lines;"
      " site extra removed: %d of %d windows, %d row(s) of it outside them)"
      % (smtp_back, disk_back, extra_off, fig.get("extra/-", [0])[0], extra_out))
print()
print("  %-36s %8s %8s %10s" % ("alert", "expected", "logged", "delivered"))
for kd, s in keys:
    print("  %-36s %8d %8d %10d" % ("%s %s" % (kd, s), exp.get((kd, s), 0), logged.get((kd, s), 0), got.get((kd, s), 0)))
print("  %-36s %8d %8d %10d  %s" % ("all", n_exp, n_log, n_got, ok(exp == got == logged and not spooled and not dead)))
print("  (left in the spool: %d, in spool/dead: %d)" % (spooled, dead))
print()
if missed:
    for m in missed:
        print("MISSED: " + m)
    sys.exit(1)
print("every target met")
PYEOF
