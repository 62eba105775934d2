#!/usr/bin/env bash
# bench (f), alerting (issue 11):
#  1. DEGRADED's baseline at start: 7 days of 5-minute results for 50 sites (bench/gen_results.c,
#     ~100 000 rows) read from the CSV by `epmon run` with alerting.degraded; the figures are
#     its own log line ("N good result(s) ... (X ms of CPU)"), the wall time from start to that
#     line, and epmon's VmHWM just after it (target: <= 1 s; RSS within the report's).
#  2. Sinks never delay a cycle: `epmon run` at frequency 1 s with a failing site (DOWN,
#     then one Alertmanager document a cycle) while Alertmanager and a webhook are hung (a
#     listener that accepts and never answers): the gaps between cycle starts (the CSV's
#     timestamps) over 15 cycles, as bench (a) measured for a hung SMTP server.
# Everything runs in a namespace of its own (loopback only). Usage: bench/alerting.sh EPMON GEN.
set -u
E2E_PREFIX=${E2E_PREFIX:-clibench$$f}
# shellcheck source=bench/common.sh
. "$(dirname "$0")/common.sh"

EPMON=$1
GEN=$2
DAYS=7
SITES=50
FREQ=300
CYCLES=15
LOAD_TARGET_S=1

require_root_netns
[ -x "$GEN" ] || fail "no generator at $GEN"
P=$E2E_PREFIX-probe
netns_create "$P"
e2e_tmpdir TMP
mkdir -p "$TMP/results" "$TMP/state"

# ---- 1. the baseline ----
read -r rows _ < <("$GEN" "$TMP/results" "$DAYS" "$SITES" "$FREQ") || fail "gen_results failed"
{
	echo "frequency: 3600"
	echo "results: {directory: $TMP/results}"
	echo "state_directory: $TMP/state"
	echo "ping: {count: 1, timeout: 0.2}"
	echo "alerting: {degraded: {window: 1h, baseline: 7d}}"
	echo "sites:"
	for i in $(seq "$SITES"); do
		printf '  - {name: branch-office-%02d, external_ip: 127.0.0.1}\n' "$i"
	done
} >"$TMP/base.yml"
chmod 600 "$TMP/base.yml"
t0=$(date +%s%N)
ip netns exec "$P" "$EPMON" run -c "$TMP/base.yml" 2>"$TMP/base.err" &
PID=$!
register_pid "$PID"
wait_log "$TMP/base.err" "degraded: [0-9]+ good result" 30 || fail "no baseline line: $(tail -3 "$TMP/base.err")"
load_ms=$((($(date +%s%N) - t0) / 1000000))
hwm=$(awk '/^VmHWM/ { print $2 }' "/proc/$PID/status")
line=$(grep -oE "degraded: [0-9]+ good result.*" "$TMP/base.err")
kill -TERM "$PID"
wait "$PID"
taken=$(sed -n 's/degraded: \([0-9]*\) good.*/\1/p' <<<"$line")
cpu_ms=$(sed -n 's/.*(\([0-9]*\) ms of CPU).*/\1/p' <<<"$line")

# ---- 2. hung sinks ----
ip -n "$P" addr add 10.215.8.1/32 dev lo
cat >"$TMP/hang.py" <<'EOF'
import socket, sys, time
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen(64)
held = []
while True:
    c, _ = s.accept()
    held.append(c)      # read nothing, answer nothing
EOF
for port in 19393 19394; do
	ip netns exec "$P" /usr/bin/python3 "$TMP/hang.py" "$port" &
	register_pid $!
done
cat >"$TMP/hung.yml" <<EOF
frequency: 1
results: {directory: $TMP/hung-results}
state_directory: $TMP/hung-state
ping: {count: 1, timeout: 0.2}
alerting:
  failure_threshold: 1
  alertmanager: {url: http://127.0.0.1:19393, timeout: 30s}
  webhooks:
    - {url: http://127.0.0.1:19394/hook, timeout: 30s}
sites:
  - {name: down, external_ip: 10.215.8.2}
  - {name: up, external_ip: 10.215.8.1}
EOF
chmod 600 "$TMP/hung.yml"
ip netns exec "$P" "$EPMON" run -c "$TMP/hung.yml" 2>"$TMP/hung.err" &
PID=$!
register_pid "$PID"
wait_csv_rows "$TMP/hung-results" up $((CYCLES + 1)) $((CYCLES * 3)) ||
	fail "no $CYCLES cycles: $(tail -3 "$TMP/hung.err")"
kill -TERM "$PID"
t1=$(date +%s%N)
wait "$PID"
stop_ms=$((($(date +%s%N) - t1) / 1000000))
grep -q "DOWN down" "$TMP/hung.err" || fail "no DOWN: $(tail -3 "$TMP/hung.err")"
# the gaps between the starts of site "up" (one a cycle), after the first cycle
gaps=$(python3 - "$TMP"/hung-results/*.csv <<'EOF'
import csv, sys
from datetime import datetime
t = []
for f in sys.argv[1:]:
    for r in csv.DictReader(open(f)):
        if r["site"] == "up":
            t.append(datetime.fromisoformat(r["timestamp"]).timestamp())
t.sort()
g = [b - a for a, b in zip(t[1:], t[2:])]
print("%.3f %.3f %d" % (min(g), max(g), len(g)))
EOF
)
read -r gmin gmax ngaps <<<"$gaps"

echo
echo "(f) alerting: DEGRADED's baseline from $DAYS days x $SITES sites every $FREQ s ($rows rows);" \
	"cycles with Alertmanager and a webhook hung"
bench_line "figure" "measured" "target"
bench_line "baseline rows taken at start" "$taken"
bench_line "baseline: epmon's CPU / start to its log line" "$cpu_ms ms / $load_ms ms" \
	"<= ${LOAD_TARGET_S} s" "$(bench_verdict "$(awk -v m="$load_ms" 'BEGIN { print m / 1000 }')" "$LOAD_TARGET_S" s)"
bench_line "epmon VmHWM after the baseline" "$hwm kB" "report's"
bench_line "hung sinks: gap between cycle starts, min-max" "$gmin-$gmax s" "1 s"
bench_line "  (over $ngaps gaps); SIGTERM to exit" "$stop_ms ms"
# SPDX-License-Identifier: MIT
