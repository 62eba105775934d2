#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Nothing lost: the SMTP server is down when alerts are due (retry_min 1 s, retry_max 2 s).
#   1. DOWN while the server is down -> the mail waits in state/spool, the failure is
#      logged with the next attempt; server started -> delivered exactly once, the spool
#      empties, and no duplicate comes later.
#   2. UP while the server is down, epmon stopped (SIGTERM) with the mail in the spool,
#      server started, epmon started -> the spooled mail is delivered exactly once, byte
#      for byte as spooled, and the state (recovered) was not forgotten.
#   3. the spool directory cannot be written (a file is in its place) when a DOWN is due ->
#      the error is logged, the mail waits in memory and is spooled and sent once it can be.
set -u
E2E_PREFIX=${E2E_PREFIX:-alert$$s}
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=tests/e2e/alert_lib.sh
. "$(dirname "$0")/alert_lib.sh"

alert_require
alert_topology
e2e_tmpdir TMP
R=$TMP/results
S=$TMP/state
M=$TMP/m.mail
CFG=$TMP/config.yml

alert_config "$CFG" "$R" "$S" "  smtp_server: 127.0.0.1
  smtp_port: 2525
  sender: epmon@probe.test
  recipients: noc@example.com
  retry_min: 1s
  retry_max: 2" \
"  - {name: paris, external_ip: $TARGET_IP}"

# ---- 1. server down, then up ----
e2e_log "1. DOWN while the SMTP server is down"
epmon_start "$CFG" run1
wait_log "$TMP/run1.err" "cannot send the down mail of site paris" 10 ||
	fail "no failed delivery logged: $(cat "$TMP/run1.err")"
expect_log "$TMP/run1.err" "<3>error: cannot send the down mail of site paris \([^)]*-paris-down\.eml\): 127\.0\.0\.1:2525 \(none\): Failed to connect to 127\.0\.0\.1 port 2525 .*; 1 message\(s\) kept in the spool, next attempt in 1 s" \
	"failed delivery logged"
assert_eq 1 "$(spool_count "$S")" "messages in the spool"
spooled=$(find "$S/spool" -maxdepth 1 -name '*.eml')
assert_match '/spool/[0-9]{10}\.[0-9]{6}\.[0-9]+\.[0-9]+-paris-down\.eml$' "$spooled" "spool file name"
assert_eq 600 "$(stat -c %a "$spooled")" "spool file mode"
cp "$spooled" "$TMP/down.spooled"
# three attempts, backing off 1, 2, 2 s (retry_min 1, retry_max 2)
for i in $(seq 200); do
	[ "$(grep -c "cannot send the down mail" "$TMP/run1.err")" -ge 3 ] && break
	sleep 0.05
done
backoff=$(grep -o "cannot send the down mail.*next attempt in [0-9]* s" "$TMP/run1.err" |
	sed 's/.*next attempt in \([0-9]*\) s/\1/' | head -3 | tr '\n' ' ')
assert_eq "1 2 2 " "$backoff" "backoff of the first three attempts (s)"
e2e_log "starting the SMTP server"
smtpd_start m 2525 plain
wait_mail "$M" 1 6 || fail "spooled DOWN not delivered within 6 s of the server's start"
cmp "$TMP/down.spooled" "$M/msg-0001.eml" || fail "delivered message differs from the spooled one"
e2e_log "ok: delivered byte for byte as spooled"
for i in $(seq 40); do [ "$(spool_count "$S")" -eq 0 ] && break; sleep 0.05; done
assert_eq 0 "$(spool_count "$S")" "messages in the spool after delivery"
expect_log "$TMP/run1.err" "<6>info: sent the down mail of site paris .*: 250 2\.0\.0 OK saved as msg-0001" \
	"delivery logged"
n=$(csv_count "$R" paris)
wait_csv_rows "$R" paris $((n + 4)) 8 || fail "no 4 more cycles"
assert_eq 1 "$(mail_count "$M")" "mails 4 cycles after the delivery (no duplicate)"

# ---- 2. server down, restart in between ----
e2e_log "2. UP while the server is down; epmon restarted before the server is back"
smtpd_stop "$SMTPD_PID"
target_answer 1
wait_log "$TMP/run1.err" "cannot send the up mail of site paris" 8 || fail "UP not attempted"
assert_eq 1 "$(spool_count "$S")" "messages in the spool (the UP)"
cp "$(find "$S/spool" -maxdepth 1 -name '*.eml')" "$TMP/up.spooled"
epmon_stop run1
assert_eq 0 "$rc" "exit status"
assert_eq 1 "$(spool_count "$S")" "UP still spooled after the stop"
grep -qE '^site paris recovered ' "$S/alert-state" ||
	grep -qE '^site paris ok ' "$S/alert-state" || fail "state: $(cat "$S/alert-state")"
smtpd_start m 2525 plain
epmon_start "$CFG" run2
wait_mail "$M" 2 6 || fail "spooled UP not delivered within 6 s of the restart"
cmp "$TMP/up.spooled" "$M/msg-0002.eml" || fail "delivered UP differs from the spooled one"
assert_match '^\[epmon\] UP paris after [0-9]+ s$' "$(mail_header "$M/msg-0002.eml" Subject)" "UP subject"
n=$(csv_count "$R" paris)
wait_csv_rows "$R" paris $((n + 3)) 6 || fail "no 3 more cycles"
epmon_stop run2
assert_eq 0 "$rc" "exit status"
assert_eq 2 "$(mail_count "$M")" "mails in all (one DOWN, one UP)"
assert_eq 0 "$(spool_count "$S")" "messages left in the spool"
[ -d "$S/spool/dead" ] && [ -n "$(ls -A "$S/spool/dead")" ] && fail "dead letters: $(ls "$S/spool/dead")"

# ---- 3. spool unwritable ----
e2e_log "3. the spool cannot be written: the mail waits in memory, then goes"
rm -rf "$S/spool"
echo "not a directory" >"$S/spool"
epmon_start "$CFG" run3
target_answer 0
wait_log "$TMP/run3.err" "cannot write [^ ]*-paris-down\.eml to the spool" 8 ||
	fail "no spool error: $(tail -5 "$TMP/run3.err")"
assert_eq 2 "$(mail_count "$M")" "mails while the spool is unwritable"
rm -f "$S/spool"
wait_mail "$M" 3 6 || fail "DOWN not sent after the spool became writable"
expect_log "$TMP/run3.err" "<6>info: 1 alert mail\(s\) kept in memory are now in the spool" \
	"kept mail spooled later"
assert_match '^\[epmon\] DOWN paris: ' "$(mail_header "$M/msg-0003.eml" Subject)" "subject"
epmon_stop run3
assert_eq 0 "$rc" "exit status"
assert_eq 3 "$(mail_count "$M")" "mails in all"
echo "PASS: spooled while the server is down, delivered exactly once, also across a restart; kept in memory while the spool is unwritable"
