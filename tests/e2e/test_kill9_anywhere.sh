#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Crash safety at random moments (issue 13, "kill -9 anywhere"). KILL9_RUNS times (default
# 50; 30 under ASan; a run takes 0.9-1.7 s), `epmon -v run` is started against the lab with
# two sites: good (openconnect, logs in) and downR (R: the run; it fails at once, and with
# failure_threshold 1 its DOWN mail is due in the first cycle; the real SMTP server of
# alert_lib.sh), and is killed with SIGKILL at a moment drawn from a fixed seed (KILL9_SEED,
# default 1234): a delay after one event of its log (its start, the client's start, the
# tunnel up, the internal ping before the teardown, the site's row, the DOWN alert (the
# spool and state writes, the SMTP conversation follow), the server saving the mail, the
# idle time after the cycle). Half the runs (drawn too) crash the whole service: epmon and
# every process it started (client, its script) are frozen and killed together, and the
# next start waits until all are gone, as a service manager kills a unit's cgroup before
# restarting it; the others kill epmon alone (its client sees its pty close and may still
# be on its way out at the next start). Odd runs use netns isolation, even runs none.
# After each kill, the next start (`epmon -v run`, same config) runs a cycle and sends what
# the spool holds, then is stopped with SIGTERM. Then, before the next run:
# - the host is as before the test: no process in the probe namespace (but the SMTP
#   server), no client of the killed epmon, no tun device, the same links, routes and
#   ip_forward, resolv.conf byte-identical, no site namespace, epmon-v* veth, nftables
#   table or slot file, no vpnc-script resolv.conf backup of their clients in /run/vpnc;
# - the alert state parses and downR is alerted; one DOWN message per site downK so far
#   (a second Message-ID for one outage is a duplicate alert; a missing one a lost alert;
#   the same message delivered twice, a kill between the server's "250" and the spool's
#   unlink, is SMTP's at-least-once and only noted), downR's the one the state names;
# - the results CSV only grew (every byte of the last check is still there), each line
#   is the header or a complete row, the file ends with a newline.
# FAULT INJECTION, once (run TEAR_RUN): after the kill the test cuts the CSV's last row in
# the middle, what a SIGKILL leaves when a row's write(2) spans two pages of the file (the
# kernel ends a write between pages for a fatal signal; too rare to wait for): the next
# start must leave that fragment on a line of its own (or set it aside), never glue its
# first row to it, and `epmon report` must name that line as damaged.
# Each run logs its draw and what was killed, to reproduce a failure with its seed.
set -u
E2E_PREFIX=${E2E_PREFIX:-k9any$$}
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=tests/e2e/alert_lib.sh
. "$(dirname "$0")/alert_lib.sh"

KILL9_SEED=${KILL9_SEED:-1234}

alert_require
require_cmd nft
vpn_test_setup 1
epmon_knows_isolation
P=$LAB_NS_PROBE
M=$TMP/m.mail
PY=/usr/bin/python3
T0=$(now_ms)

# ---- the helper: draws, kills, data checks (python3, written to $TMP/k9.py) ----
cat >"$TMP/k9.py" <<'PYEOF'
import csv, email, email.policy, glob, io, os, random, re, signal, sys, time

# event: (regex of the log line, the log ("epmon" or "smtpd"), max delay ms, weight)
EVENTS = {
    "start":    (None, "epmon", 150, 6),
    "login":    (r"\[good\] started \S+ \(pid [0-9]+\)", "epmon", 60, 8),
    "tunnel":   (r"\[good\] tunnel up on ", "epmon", 15, 6),
    "teardown": (r"\[good\] internal ping ", "epmon", 60, 8),
    "row":      (r"\[good\] (OK|FAIL)", "epmon", 3, 5),
    "alert":    (r"alert: \[epmon\] DOWN down[0-9]+:", "epmon", 40, 9),
    "mail":     (r"saved msg-[0-9]+", "smtpd", 5, 5),
    "idle":     (r"info: cycle 1: ", "epmon", 800, 3),
}

def plan(seed, r):
    """The draw of run r: event, delay (ms), whole tree (1) or epmon alone (0)."""
    rnd = random.Random("%s/%d" % (seed, r))
    names = sorted(EVENTS)
    ev = rnd.choices(names, weights=[EVENTS[n][3] for n in names])[0]
    return ev, rnd.randint(0, EVENTS[ev][2]), int(rnd.random() < 0.5)

def alive(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False

def comm(pid):
    try:
        with open("/proc/%d/comm" % pid) as f:
            return f.read().strip()
    except OSError:
        return "?"

def children_of(pids):
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit() or int(d) in pids:
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        if ppid in pids:
            out.append(int(d))
    return out

def freeze_tree(root):
    """SIGSTOP root and, top down, every process it started (none can start another
    meanwhile): the tree a service manager kills."""
    os.kill(root, signal.SIGSTOP)
    tree, seen = [root], {root}
    while True:
        new = children_of(seen)
        if not new:
            return tree
        for p in new:
            try:
                os.kill(p, signal.SIGSTOP)
            except OSError:
                pass
            seen.add(p)
            tree.append(p)

def cmd_kill(pidfile, seed, r, elog, slog, soff):
    """Wait for epmon's pid in pidfile, run r's event, its delay, then SIGKILL; one
    line on stdout."""
    ev, delay, tree = plan(seed, r)
    rx, which, _, _ = EVENTS[ev]
    t0 = time.monotonic()
    while not os.path.exists(pidfile):
        if time.monotonic() - t0 > 10:
            print("no pid in %s after 10 s" % pidfile)
            return 3
        time.sleep(0.0005)
    pid = int(open(pidfile).read())
    t0 = time.monotonic()
    how = "at start"
    if rx:
        path, off = (elog, 0) if which == "epmon" else (slog, soff)
        rx, buf, how = re.compile(rx.encode()), b"", "event not seen in 5 s"
        while not os.path.exists(path) and time.monotonic() - t0 < 5:
            time.sleep(0.0005)     # the shell's child makes it
        with open(path, "rb") as f:
            f.seek(off)
            while time.monotonic() - t0 < 5:
                chunk = f.read()
                if not chunk:
                    if not alive(pid):
                        print("epmon exited before the event %s" % ev)
                        return 3
                    time.sleep(0.001)
                    continue
                lines = (buf + chunk).split(b"\n")
                buf = lines.pop()
                if any(rx.search(l) for l in lines):
                    how = "event at %d ms" % ((time.monotonic() - t0) * 1000)
                    break
    time.sleep(delay / 1000)
    if not alive(pid):
        print("epmon exited before the kill")
        return 3
    victims = freeze_tree(pid) if tree else [pid]
    names = ["%s %d" % (comm(p), p) for p in victims]
    for p in victims:
        try:
            os.kill(p, signal.SIGKILL)
        except OSError:
            pass
    t1 = time.monotonic()
    # as a service manager does before the restart: the whole tree is gone (5 s)
    while any(alive(p) for p in victims) and time.monotonic() - t1 < 5:
        time.sleep(0.001)
    left = ["%s %d" % (comm(p), p) for p in victims if alive(p)]
    print("%s +%d ms, %s: %s, SIGKILL at %d ms: %s%s" % (
        ev, delay, "whole tree" if tree else "epmon alone", how,
        (t1 - t0) * 1000, ", ".join(names),
        "; still alive 5 s later: " + ", ".join(left) if left else ""))
    return 3 if left else 0

# ---- data checks ----
HEADER = (b"timestamp,site,result,failed_step,external_rtt_ms,external_loss_pct,login_ms,"
          b"internal_rtt_ms,internal_loss_pct,teardown_ms,detail,internal_first_ms,"
          b"login_connect_ms,login_tls_ms,login_auth_ms,login_tunnel_ms,end")
TS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d\d:\d\d$")

def row_ok(line):
    try:
        f = next(csv.reader(io.StringIO(line.decode())))
    except (UnicodeDecodeError, StopIteration, csv.Error):
        return False
    return (len(f) == 17 and f[16] == "." and TS.match(f[0]) is not None and
            re.match(r"^(good|down[0-9]+)$", f[1]) is not None and f[2] in ("OK", "FAIL"))

def check_csv(results, snap, torn, where, errs, notes):
    """Each results file only grew since the last check (snap), ends with a newline, and
    each line is the header or a complete row, but the torn fragment on a line of its
    own (its FILE:LINE written to where) or set aside (cut off the file)."""
    for path in sorted(glob.glob(results + "/results-*.csv")):
        data = open(path, "rb").read()
        keep = os.path.join(snap, os.path.basename(path))
        before = open(keep, "rb").read() if os.path.exists(keep) else b""
        if torn and before.endswith(torn) and not data.startswith(before) and \
                data.startswith(before[:-len(torn)]):
            notes.append("%s: the torn row was set aside" % path)
        elif not data.startswith(before):
            n = next(i for i in range(len(before)) if i >= len(data) or data[i] != before[i])
            errs.append("%s: bytes of the last check changed or lost from offset %d" % (path, n))
        if data and not data.endswith(b"\n"):
            errs.append("%s: ends without a newline after a clean stop: %r" % (path, data[-80:]))
        for no, line in enumerate(data.split(b"\n")[:-1], 1):
            if line == HEADER or row_ok(line):
                continue
            if torn and line == torn:
                with open(where, "w") as f:
                    f.write("%s:%d" % (path, no))
            elif torn and line.startswith(torn):
                errs.append("%s:%d: the next row was glued to the torn row: %r" % (path, no, line))
            else:
                errs.append("%s:%d: neither the header nor a complete row: %r" % (path, no, line))
        with open(keep, "wb") as f:
            f.write(data)

FIELDS = {"site": 9, "sample": 9, "outage": 7, "degraded": 7, "batch": 2}
STATUS = ("ok", "failing", "alerted", "recovered")

def unescape(s):
    return "" if s == "-" else re.sub("%([0-9A-Fa-f]{2})", lambda m: chr(int(m.group(1), 16)), s)

def check_state(path, errs):
    """The alert state file: every line a known record; {site: (status, down_id)}."""
    sites = {}
    for no, line in enumerate(open(path, encoding="utf-8"), 1):
        if line.startswith("#") or line == "\n":
            continue
        f = line.rstrip("\n").split(" ")
        if not line.endswith("\n") or f[0] not in FIELDS or len(f) != FIELDS[f[0]]:
            errs.append("%s:%d: unreadable alert state line %r" % (path, no, line))
        elif f[0] == "site":
            if f[2] not in STATUS:
                errs.append("%s:%d: unknown status %r" % (path, no, f[2]))
            sites[f[1]] = (f[2], unescape(f[8]))
    return sites

def mails(mdir):
    """{site: [Message-ID of each DOWN delivery]}, and anything else received."""
    down, other = {}, []
    for p in sorted(glob.glob(mdir + "/msg-*.eml")):
        m = email.message_from_binary_file(open(p, "rb"), policy=email.policy.default)
        subj, mid = str(m["Subject"] or ""), str(m["Message-ID"] or "")
        g = re.match(r"^\[epmon\] DOWN (down[0-9]+): ", subj)
        if g:
            down.setdefault(g.group(1), []).append(mid)
        else:
            other.append("%s: %s" % (os.path.basename(p), subj))
    return down, other

def cmd_check(r, state, results, mdir, snap, tornfile):
    errs, notes = [], []
    sites = check_state(state + "/alert-state", errs)
    want = {"good", "down%d" % r}
    if set(sites) != want:
        errs.append("alert state has sites %s, not %s" % (sorted(sites), sorted(want)))
    status, down_id = sites.get("down%d" % r, ("absent", ""))
    if status != "alerted" or not down_id:
        errs.append("down%d: state %s, down_id %r: its DOWN was due (threshold 1)" % (r, status, down_id))
    down, other = mails(mdir)
    for k in range(1, r + 1):
        ids = down.get("down%d" % k, [])
        if len(set(ids)) != 1:
            errs.append("down%d: %d DOWN message(s) %s: one outage, one DOWN" % (k, len(set(ids)), sorted(set(ids))))
        elif len(ids) > 1 and k == r:
            notes.append("down%d: its DOWN message delivered %d times (same Message-ID)" % (k, len(ids)))
    if down_id and down_id not in down.get("down%d" % r, []):
        errs.append("down%d: the DOWN the state names (%s) was not received" % (r, down_id))
    extra = sorted(set(down) - {"down%d" % k for k in range(1, r + 1)})
    if extra or other:
        errs.append("unexpected mails: %s %s" % (extra, other))
    torn = open(tornfile, "rb").read() if os.path.exists(tornfile) else None
    check_csv(results, snap, torn, tornfile + ".where", errs, notes)
    for n in notes:
        print("note: " + n)
    for e in errs:
        print("ERROR: " + e)
    return 1 if errs else 0

def cmd_tear(seed, results, snap, tornfile):
    """FAULT INJECTION: cut the last row of the newest results file in the middle."""
    path = sorted(glob.glob(results + "/results-*.csv"))[-1]
    data = open(path, "rb").read()
    start = data.rfind(b"\n", 0, len(data) - 1) + 1
    row = data[start:-1]
    cut = random.Random("%s/tear" % seed).randint(len(row) // 4, 3 * len(row) // 4)
    with open(path, "r+b") as f:
        f.truncate(start + cut)
    with open(tornfile, "wb") as f:
        f.write(row[:cut])
    with open(os.path.join(snap, os.path.basename(path)), "wb") as f:
        f.write(data[:start + cut])
    print("%s: last row cut after %d of %d bytes: %r" % (path, cut, len(row), row[:cut]))

if __name__ == "__main__":
    a = sys.argv[1:]
    if a[0] == "kill":
        sys.exit(cmd_kill(a[1], a[2], int(a[3]), a[4], a[5], int(a[6])))
    elif a[0] == "check":
        sys.exit(cmd_check(int(a[1]), a[2], a[3], a[4], a[5], a[6]))
    elif a[0] == "tear":
        cmd_tear(a[1], a[2], a[3], a[4])
PYEOF

# k9_config FILE MODE R: good (openconnect on gateway 1, never alerting) and downR (fails
# at the external ping at once: no route), DOWN mails at the first failure; frequency 3 s
# (a cycle takes ~0.2 s: a kill mostly falls in the first one).
k9_config() {
	{
		echo "frequency: 3"
		echo "results: {directory: $TMP/results}"
		echo "state_directory: $TMP/state"
		echo "ping: {count: 1, interval: 0.1, timeout: 0.3}"
		[ "$2" = none ] && isolation_none_yaml
		echo "logging:"
		echo "  smtp_server: 127.0.0.1"
		echo "  smtp_port: 2525"
		echo "  sender: epmon@probe.test"
		echo "  recipients: noc@example.com"
		echo "  failure_threshold: 1"
		echo "sites:"
		lab_openconnect_site good 1 login_timeout=2
		echo "    alert: {failure_threshold: 1000, notify_recovery: false}"
		echo "  - name: down$3"
		echo "    external_ip: 192.0.2.77"
	} >"$1" || fail "cannot write $1"
	chmod 600 "$1"
}

# epmon_bg NAME CONFIG: `epmon -v run -c CONFIG` in the probe namespace, stderr in
# $TMP/NAME.err; pid in RUN_PID, registered (unregister_pid once reaped).
epmon_bg() {
	ip netns exec "$P" "$EPMON" -v run -c "$2" 2>"$TMP/$1.err" &
	RUN_PID=$!
	register_pid "$RUN_PID"
}

# unregister_pid PID: PID is reaped: the exit trap must not signal its number again.
unregister_pid() {
	local keep=() p
	for p in "${E2E_PIDS[@]}"; do [ "$p" = "$1" ] || keep+=("$p"); done
	E2E_PIDS=("${keep[@]}")
}

# run_fail MSG...: show the logs of run $R (the killed epmon, the next start), fail naming
# the run, its draw and how the kill went (HOW).
run_fail() {
	sed 's/^/    killed| /' "$TMP/e$R.err" >&2
	[ -f "$TMP/c$R.err" ] && sed 's/^/    next| /' "$TMP/c$R.err" >&2
	fail "run $R ($MODE; ${HOW:-killer running}): $*"
}

# client_pids FILE: the pids of the clients an epmon started (from its -v log).
client_pids() { sed -n 's/.*\] started .* (pid \([0-9]*\)).*/\1/p' "$1"; }

# host_assert_clean: after run $R's next start exited: probe_assert_clean with the SMTP
# server (in the probe namespace for the whole test) left out, the clients of both epmons
# of the run gone and no vpnc-script resolv.conf backup of theirs left in /run/vpnc.
host_assert_clean() {
	local left pid
	left=$(probe_procs | awk -v s="$SMTPD_PID" '$1 != s')
	[ -z "$left" ] || run_fail "processes left in $P: $left"
	isolation_assert_clean "$TMP"
	probe_state >"$TMP/probe.after"
	diff -u "$TMP/probe.before" "$TMP/probe.after" >&2 ||
		run_fail "links/routes/ip_forward of $P changed (diff above)"
	left=$(ip -n "$P" -o link show type tun)
	[ -z "$left" ] || run_fail "tun device left in $P: $left"
	# (the whole tree killed while vpnc-script rewrites resolv.conf leaves it empty: an
	# empty file is never taken as the good copy, so the next start repairs it)
	cmp -s "$TMP/resolv.before" "$LAB_RESOLV_CONF" ||
		run_fail "$LAB_RESOLV_CONF changed: $(cat "$LAB_RESOLV_CONF")"
	for pid in $(client_pids "$TMP/e$R.err") $(client_pids "$TMP/c$R.err"); do
		if lab_alive "$pid" && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = openconnect ] &&
			tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF "$LAB_CA"; then
			run_fail "client $pid is still alive"
		fi
		# vpnc-script's backup of a client of the killed epmon: the next start removes it
		# (its journal, isolation none)
		if [ -e "/run/vpnc/resolv.conf-backup.$pid" ]; then
			rm -f "/run/vpnc/resolv.conf-backup.$pid"    # the host's, not the lab's
			run_fail "/run/vpnc/resolv.conf-backup.$pid of client $pid left behind"
		fi
	done
}

# down_mails R: the number of DOWN mails of site downR received.
down_mails() { grep -l "^Subject: \[epmon\] DOWN down$1:" "$M"/msg-*.eml 2>/dev/null | wc -l; }

# settled: run $R's next start is done with downR: the alert state has it alerted, its
# DOWN mail came and the spool is empty (what it spooled is sent).
settled() {
	grep -q "^site down$R alerted " "$TMP/state/alert-state" 2>/dev/null &&
		[ "$(down_mails "$R")" -ge 1 ] && [ "$(spool_count "$TMP/state")" -eq 0 ]
}

probe_snapshot "$TMP"
smtpd_start m 2525 plain
mkdir -p "$TMP/snap" || fail "mkdir $TMP/snap"
RUNS=${KILL9_RUNS:-50}
TEAR_RUN=3
HOW=
e2e_log "seed $KILL9_SEED; the first run decides the count (fewer under ASan)"

R=0
while [ "$R" -lt "$RUNS" ]; do
	R=$((R + 1))
	MODE=netns
	[ $((R % 2)) -eq 0 ] && MODE=none
	CFG=$TMP/run$R.yml
	k9_config "$CFG" "$MODE" "$R"
	t_run=$(now_ms)
	HOW=

	# the epmon to kill; the killer, started first, times from the moment it has the pid
	"$PY" "$TMP/k9.py" kill "$TMP/e$R.pid" "$KILL9_SEED" "$R" "$TMP/e$R.err" "$TMP/m.smtpd" \
		"$(stat -c %s "$TMP/m.smtpd")" >"$TMP/e$R.how" &
	KILLER_PID=$!
	register_pid "$KILLER_PID"
	epmon_bg "e$R" "$CFG"
	echo "$RUN_PID" >"$TMP/e$R.pid.new" && mv "$TMP/e$R.pid.new" "$TMP/e$R.pid"
	wait "$KILLER_PID" 2>/dev/null
	rc=$?
	unregister_pid "$KILLER_PID"
	HOW=$(cat "$TMP/e$R.how")
	[ "$rc" -eq 0 ] || run_fail "the killer failed"
	wait "$RUN_PID" 2>/dev/null
	rc=$?
	unregister_pid "$RUN_PID"
	[ "$rc" -eq 137 ] || run_fail "the killed epmon exited $rc, not 137 (SIGKILL)"
	if [ "$R" -eq "$TEAR_RUN" ]; then
		e2e_log "run $R: FAULT INJECTION: $("$PY" "$TMP/k9.py" tear "$KILL9_SEED" \
			"$TMP/results" "$TMP/snap" "$TMP/torn")"
	fi

	# the next start: one cycle, the spool sent, SIGTERM
	epmon_bg "c$R" "$CFG"
	wait_log "$TMP/c$R.err" 'info: cycle 1: ' 20 || run_fail "the next start did no cycle in 20 s"
	if [ "$R" -eq 1 ] && grep -q libasan "/proc/$RUN_PID/maps" 2>/dev/null; then
		RUNS=${KILL9_RUNS:-30}
		e2e_log "ASan build: $RUNS runs"
	fi
	wait_for 10 settled ||
		run_fail "10 s after the next start's cycle: down$R $(grep "^site down$R " "$TMP/state/alert-state"), \
$(spool_count "$TMP/state") mail(s) in the spool, DOWN mails of down$R: $(down_mails "$R")"
	kill -TERM "$RUN_PID"
	wait_gone "$RUN_PID" 30 || run_fail "the next start still runs 30 s after SIGTERM"
	wait "$RUN_PID"
	rc=$?
	unregister_pid "$RUN_PID"
	assert_no_sanitizer "$TMP/c$R.err"
	[ "$rc" -eq 0 ] || run_fail "the next start exited $rc after SIGTERM"

	host_assert_clean
	out=$("$PY" "$TMP/k9.py" check "$R" "$TMP/state" "$TMP/results" "$M" "$TMP/snap" "$TMP/torn")
	rc=$?
	[ -z "$out" ] || while IFS= read -r line; do echo "    run $R: $line"; done <<<"$out" >&2
	[ "$rc" -eq 0 ] || run_fail "data checks failed (above)"
	e2e_log "ok: run $R/$RUNS ($MODE; $HOW); the next start left all clean" \
		"($(($(now_ms) - t_run)) ms)"
done

# the torn row on a line of its own: `epmon report` names that line as damaged
ip netns exec "$P" "$EPMON" report -c "$CFG" --format csv >"$TMP/report.out" 2>"$TMP/report.err"
rc=$?
sed 's/^/    report| /' "$TMP/report.err" >&2
assert_eq 0 "$rc" "epmon report: exit status"
if [ -s "$TMP/torn.where" ]; then
	grep -qF "$(cat "$TMP/torn.where"): " "$TMP/report.err" ||
		fail "epmon report does not name the torn row $(cat "$TMP/torn.where") as damaged"
	e2e_log "ok: epmon report names the torn row as damaged"
fi
left=$(find "$TMP/state" -name '*.epmon-*' -o -name '.*.tmp' | wc -l)
e2e_log "$RUNS runs in $((($(now_ms) - T0) / 1000)) s: $(csv_count "$TMP/results") rows;" \
	"$(mail_count "$M") mails for $RUNS outages (a message delivered again counts);" \
	"$left temp file(s) of interrupted writes left in the state directory"
# the last start cleaned what writes killed mid-way left (alert state, spool)
assert_eq 0 "$left" "temporary files of interrupted writes left"
e2e_log "PASS"
