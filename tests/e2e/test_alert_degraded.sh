#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# DEGRADED / NOT DEGRADED (alerting.degraded, issue 11) with real openconnect logins to the
# lab (ocserv gateway 1), made slow on demand by the test double tests/lab/slow-openconnect
# (a copy in the temp dir, named as the site's vpn.command; its delay in COPY.delay).
# `epmon -v run`, frequency 4 s, no logging map (alerts are the `alert: [epmon] ...` log
# lines), /status and /metrics on the probe namespace's 127.0.0.1, alerting.degraded
# {window: 8s, baseline: 1h, min_samples: 2, login_floor_ms: 250, login_factor 2 (the
# default), rtt_factor: 0 (the tunnel's RTT on a loaded machine is not the subject)}.
#   0. `epmon once` (delay 0) gives a real row; its header and columns make the baseline:
#      40 good rows of the last hour (50 to 4.5 min ago) with logins of 600..749 ms (p95
#      ~745 ms: slow means a window p95 above ~1.49 s), written to results-DAY.csv before
#      `run` starts; run logs "40 good result(s) ... as the baseline". (The lab's real
#      logins take ~40 ms, but up to ~1 s on a loaded machine: with a baseline of 100 ms
#      those would be DEGRADED. The delay, 1.6 s, is above the threshold by itself.)
#   1. `run` starts with delay 1.6 s; after its first (slow) row the delay goes back to 0:
#      at the second cycle (two samples in the window) DEGRADED, logged as "DEGRADED good:
#      login p95 1.x s over the last 8 s, baseline B ms", the figures those of the rows
#      (window = the last rows, baseline = the 40 + the older run rows, p95 by nearest
#      rank); /status degraded true, /metrics epmon_site_degraded 1.
#   2. once the slow login left the 8 s window, NOT DEGRADED (figures in ms, those of the
#      rows, not slow by the rule); /status false, metric 0. After one more cycle epmon is
#      stopped (exit 0, no sanitizer report): one DEGRADED and one NOT DEGRADED in all,
#      every row has a login; the probe is left as it was.
set -u
E2E_PREFIX=${E2E_PREFIX:-vpndg$$}
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"

require_cmd curl
vpn_test_setup 1
PORT=9877
SLOW=$TMP/slow-openconnect
cp "$(dirname "$LAB_SH")/slow-openconnect" "$SLOW" || fail "cannot copy slow-openconnect"
chmod 755 "$SLOW"
echo 0 >"$SLOW.delay"
E2E_CONFIG_EXTRA="probe_name: dg
http: {listen: \"127.0.0.1:$PORT\"}
alerting:
  degraded: {window: 8s, baseline: 1h, min_samples: 2, login_floor_ms: 250, rtt_factor: 0}"
# a site fits in frequency: 2 pings x 0.3 s + login_timeout 3.4 s = 4 s (a slow login: ~1.65 s)
write_config "$TMP/config.yml" 4 "{count: 1, interval: 0.1, timeout: 0.3}" <<YAML
$(lab_openconnect_site good 1 command="$SLOW" login_timeout=3.4)
YAML
probe_snapshot "$TMP"

# ---- 0. a real row, then the baseline ----
probe_epmon once once -c "$TMP/config.yml"
assert_eq 0 "$EPMON_RC" "exit status of once (the double logs in)"
CSV=$(results_file "$TMP/results")
mv "$CSV" "$TMP/once.csv" || fail "mv $CSV"
BASE_P95=$(python3 - "$TMP/once.csv" "$TMP/results" <<'EOF'
# 40 copies of the once row, 50 min to 4.5 min ago (70 s apart), each in its local day's
# file, login_ms 600..749; prints the baseline's login p95 (nearest rank) as epmon does.
import csv, datetime, math, os, sys
src, out = sys.argv[1:3]
with open(src, newline="") as f:
    header = f.readline()
    row = next(csv.DictReader([header, f.readline()]))
assert row["result"] == "OK" and float(row["login_ms"]) > 0, row
now = datetime.datetime.now().astimezone()
logins = []
for i in range(40):
    t = (now - datetime.timedelta(seconds=3000 - 70 * i)).astimezone()
    login = 600 + (i * 37) % 150
    logins.append(login)
    r = dict(row, timestamp=t.isoformat(timespec="milliseconds"), login_ms="%.1f" % login)
    path = os.path.join(out, "results-%s.csv" % t.strftime("%Y-%m-%d"))
    new = not os.path.exists(path)
    with open(path, "a", newline="") as f:
        if new:
            f.write(header)
        csv.DictWriter(f, fieldnames=header.strip().split(","), lineterminator="\n").writerow(r)
logins.sort()
print("%.1f" % logins[math.ceil(0.95 * len(logins)) - 1])
EOF
) || fail "cannot write the baseline"
assert_eq 40 "$(csv_count "$TMP/results" good)" "baseline rows written"
e2e_log "baseline: 40 rows, login p95 $BASE_P95 ms"

# status KEY: the site's KEY in /status (as JSON).
status() {
	ip netns exec "$LAB_NS_PROBE" curl -sS --max-time 5 "http://127.0.0.1:$PORT/status" |
		python3 -c 'import json, sys
print(json.dumps([s for s in json.load(sys.stdin)["sites"] if s["name"] == "good"][0][sys.argv[1]]))' "$1"
}
# metric NAME: NAME{probe="dg",site="good"} in /metrics.
metric() {
	ip netns exec "$LAB_NS_PROBE" curl -sS --max-time 5 "http://127.0.0.1:$PORT/metrics" |
		awk -v k="$1{probe=\"dg\",site=\"good\"}" '$1 == k { print $2 }'
}
# degraded_is true|false: /status and /metrics say so.
degraded_is() {
	[ "$(status degraded 2>/dev/null)" = "$1" ] &&
		[ "$(metric epmon_site_degraded 2>/dev/null)" = "$([ "$1" = true ] && echo 1 || echo 0)" ]
}
# await SECONDS CMD...: run CMD every 0.1 s until it succeeds; 0 when it did, 1 after SECONDS.
await() {
	local end=$(($(date +%s%N) + $1 * 1000000000))
	shift
	until "$@"; do
		[ "$(date +%s%N)" -lt "$end" ] || return 1
		sleep 0.1
	done
}
# figures KIND LINE: check the figures of a DEGRADED or NOT DEGRADED line against the
# rows: the window is the run's rows k..j-1 (j - k >= 2, k..j within the rows written so
# far) and the baseline the 40 rows plus the run's rows before k, for one k and j; p95 by
# nearest rank, shown as epmon does (%.1f ms, %.1f s from 1000 ms; 0.1 of slack for the
# CSV's own rounding); DEGRADED: slow by the rule (login_factor 2, floor 250 ms) with a
# slow row (>= 1.6 s) in the window; NOT DEGRADED: not slow. Prints the split found.
figures() {
	python3 - "$TMP/results" "$1" "$2" <<'EOF'
import csv, glob, math, re, sys
d, kind, line = sys.argv[1:4]
m = re.search(r"login p95 ([0-9.]+) (s|ms) over the last 8 s, baseline ([0-9.]+) (s|ms)$", line)
if not m:
    sys.exit("no figures in %r" % line)
shown = [(float(m.group(1)), m.group(2)), (float(m.group(3)), m.group(4))]
rows = [r for p in sorted(glob.glob(d + "/results-*.csv"))
        for r in csv.DictReader(open(p, newline="")) if r["site"] == "good"]
v = [float(r["login_ms"]) for r in rows if r["result"] == "OK" and r["login_ms"]]
base, run = v[:40], v[40:]
def p95(x):
    x = sorted(x)
    return x[max(math.ceil(0.95 * len(x)), 1) - 1]
def same(ms, fig):
    n, unit = fig
    return unit == ("s" if ms >= 1000 else "ms") and abs((ms / 1000 if unit == "s" else ms) - n) <= 0.1 + 1e-9
for k in range(len(run) + 1):
    for j in range(k + 2, len(run) + 1):
        w, b = p95(run[k:j]), p95(base + run[:k])
        slow = w > 2 * b and w - b >= 250
        if same(w, shown[0]) and same(b, shown[1]) and slow == (kind == "DEGRADED") and \
                (kind != "DEGRADED" or max(run[k:j]) >= 1600):
            print("window = run rows %d..%d %s (p95 %.1f ms), baseline = 40 + %d rows (p95 %.1f ms)"
                  % (k + 1, j, run[k:j], w, k, b))
            sys.exit(0)
sys.exit("%s figures %r match no split of the rows: baseline %s, run %s" % (kind, line, base, run))
EOF
}
# logins: the login_ms of the site's rows written by run (after the baseline), in order.
logins() {
	python3 - "$TMP/results" <<'EOF'
import csv, glob, sys
rows = [r for p in sorted(glob.glob(sys.argv[1] + "/results-*.csv"))
        for r in csv.DictReader(open(p, newline="")) if r["site"] == "good"]
for r in rows[40:]:
    print(r["login_ms"] or "-")
EOF
}
RE_ALERT='alert: \[epmon\]'
# on a failure while epmon runs, show its log
fail_run() { sed 's/^/    err| /' "$TMP/run.err" >&2; fail "$@"; }

# ---- 1. a slow login, then fast ones: DEGRADED ----
echo 1.6 >"$SLOW.delay"
probe_epmon_bg run -v run -c "$TMP/config.yml"
wait_log "$TMP/run.err" 'degraded: [0-9]+ good result\(s\) of the last 1 h as the baseline' 10 ||
	fail_run "no baseline log line"
line=$(grep -E 'degraded: [0-9]+ good result' "$TMP/run.err")
assert_match 'degraded: 40 good result\(s\) of the last 1 h as the baseline' "$line" "baseline loaded"
wait_csv_rows "$TMP/results" good 41 10 || fail_run "no row of run in 10 s"
echo 0 >"$SLOW.delay"
first=$(logins | head -1)
awk -v x="$first" 'BEGIN { exit !(x >= 1600) }' || fail_run "the first login of run took $first ms (delay 1.6 s)"
e2e_log "ok: the first login of run (delay 1.6 s) took $first ms"
wait_log "$TMP/run.err" "$RE_ALERT DEGRADED good: " 15 || {
	e2e_log "logins (ms): $(logins | tr '\n' ' ')"
	fail_run "no DEGRADED in 15 s"
}
line=$(grep -E "$RE_ALERT DEGRADED good: " "$TMP/run.err")
e2e_log "logins (ms): $(logins | tr '\n' ' ')"
assert_match "^<4>warning: \[good\] alert: \[epmon\] DEGRADED good: login p95 [0-9]+\.[0-9] m?s over the last 8 s, baseline [0-9]+\.[0-9] m?s$" \
	"$line" "DEGRADED line"
split=$(figures DEGRADED "$line") || fail_run "DEGRADED figures (above)"
e2e_log "ok: DEGRADED figures: $split"
await 5 degraded_is true || fail_run "/status degraded $(status degraded), epmon_site_degraded $(metric epmon_site_degraded)"
e2e_log "ok: /status degraded true, epmon_site_degraded 1"

# ---- 2. fast logins only in the window: NOT DEGRADED ----
wait_log "$TMP/run.err" "$RE_ALERT NOT DEGRADED good: " 20 || {
	e2e_log "logins (ms): $(logins | tr '\n' ' ')"
	fail_run "no NOT DEGRADED in 20 s"
}
line=$(grep -E "$RE_ALERT NOT DEGRADED good: " "$TMP/run.err")
e2e_log "logins (ms): $(logins | tr '\n' ' ')"
assert_match "^<4>warning: \[good\] alert: \[epmon\] NOT DEGRADED good: login p95 [0-9]+\.[0-9] m?s over the last 8 s, baseline [0-9]+\.[0-9] m?s$" \
	"$line" "NOT DEGRADED line"
split=$(figures "NOT DEGRADED" "$line") || fail_run "NOT DEGRADED figures (above)"
e2e_log "ok: NOT DEGRADED figures: $split"
await 5 degraded_is false || fail_run "/status degraded $(status degraded), epmon_site_degraded $(metric epmon_site_degraded)"
e2e_log "ok: /status degraded false, epmon_site_degraded 0"
n=$(csv_count "$TMP/results" good)
wait_csv_rows "$TMP/results" good $((n + 1)) 8 || fail_run "no row after NOT DEGRADED in 8 s"

kill -TERM "$EPMON_PID"
wait "$EPMON_PID"
rc=$?
sed 's/^/    err| /' "$TMP/run.err" >&2
assert_no_sanitizer "$TMP/run.err"
assert_eq 0 "$rc" "exit status of run after SIGTERM"
e2e_log "logins (ms): $(logins | tr '\n' ' ')"
assert_eq 1 "$(grep -cE "$RE_ALERT DEGRADED good: " "$TMP/run.err")" "DEGRADED lines in the run"
assert_eq 1 "$(grep -cE "$RE_ALERT NOT DEGRADED good: " "$TMP/run.err")" "NOT DEGRADED lines in the run"
assert_eq 2 "$(grep -cE "$RE_ALERT" "$TMP/run.err")" "alert lines in the run"
bad=$(logins | awk '$1 == "-"')
[ -z "$bad" ] || fail "a row of run without login_ms: $(logins | tr '\n' ' ')"
probe_assert_clean "$TMP"
e2e_log "PASS"
