#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# A hung SMTP server (accepts the connection, never answers; timeouts 20/25 s) while the
# DOWN mail is being sent:
#   - cycles go on at frequency 1 s: no cycle start is delayed by 1 s or more (CSV times);
#   - SIGTERM during the hung conversation: epmon aborts it and exits 0 within 3 s; the mail
#     stays in the spool for the next run.
set -u
E2E_PREFIX=${E2E_PREFIX:-alert$$h}
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=tests/e2e/alert_lib.sh
. "$(dirname "$0")/alert_lib.sh"

alert_require
alert_topology
e2e_tmpdir TMP
R=$TMP/results
S=$TMP/state
CFG=$TMP/config.yml

smtpd_start h 2525 hang
alert_config "$CFG" "$R" "$S" "  smtp_server: 127.0.0.1
  smtp_port: 2525
  sender: epmon@probe.test
  recipients: noc@example.com
  connect_timeout: 20
  timeout: 25" \
"  - {name: paris, external_ip: $TARGET_IP}"

epmon_start "$CFG" run
wait_log "$TMP/h.smtpd" "accepted 127.0.0.1" 10 || fail "the sender never connected"
wait_csv_rows "$R" paris 2 5 || fail "no DOWN"
n=$(csv_count "$R" paris)
e2e_log "the sender hangs in the conversation; $n rows so far; 8 more cycles"
wait_csv_rows "$R" paris $((n + 8)) 12 || fail "cycles stalled: $(csv_count "$R" paris) rows"
kill -0 "$RUN_PID" || fail "epmon died"
grep -q "cannot send" "$TMP/run.err" && fail "the conversation ended early: $(grep "cannot send" "$TMP/run.err")"
gaps=$(python3 - "$R" <<'EOF'
import csv, datetime, glob, sys
ts = [datetime.datetime.fromisoformat(r["timestamp"]).timestamp()
      for p in sorted(glob.glob(sys.argv[1] + "/results-*.csv"))
      for r in csv.DictReader(open(p, newline="")) if r["site"] == "paris"]
print(" ".join("%.3f" % (b - a) for a, b in zip(ts, ts[1:])))
EOF
)
e2e_log "cycle start gaps (s): $gaps"
max=$(tr ' ' '\n' <<<"$gaps" | sort -g | tail -1)
assert_near 1 "$max" 1 "largest gap between cycle starts (s)"
assert_eq 1 "$(spool_count "$S")" "the DOWN mail in the spool"

e2e_log "SIGTERM during the hung conversation"
epmon_stop run
assert_eq 0 "$rc" "exit status"
assert_near 0 "$took" 3 "seconds from SIGTERM to exit"
expect_log "$TMP/run.err" "stopping on signal 15" "stop logged"
assert_eq 1 "$(spool_count "$S")" "the DOWN mail still in the spool after the exit"
echo "PASS: a hung SMTP server delays no cycle (largest gap $max s); SIGTERM exits in $took s"
