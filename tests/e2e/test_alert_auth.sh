#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# SMTP AUTH over STARTTLS (certtool CA), permanent rejections, dead letters, SIGHUP:
#   1. wrong SMTP password -> a clear error log line, the mail stays in the spool;
#      the password file corrected -> delivered at the next retry (AUTH, TLS seen by the
#      server).
#   2. SIGHUP to a config whose server rejects every message with 550 and without site
#      lyon -> the UP mail is moved to spool/dead with the server's reply; lyon's state
#      is dropped, paris's kept.
#   3. SIGHUP to an unreachable server with spool_max_age 2 s -> the next DOWN goes to
#      spool/dead when too old, with the last error.
#   The passwords never appear in epmon's logs, CSV, state or spool.
set -u
E2E_PREFIX=${E2E_PREFIX:-alert$$a}
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
GOOD='c0rrect horse battery'
BAD='wr0ng-pass'
make_certs "$TMP"
(umask 077; echo "$GOOD" >"$TMP/server.pw"; echo "$BAD" >"$TMP/client.pw")

smtpd_start a 587 starttls --cert "$TMP/cert.pem" --key "$TMP/key.pem" \
	--auth-user monitor --auth-password-file "$TMP/server.pw"
SITES="  - {name: paris, external_ip: $TARGET_IP}"
alert_config "$CFG" "$R" "$S" "  smtp_server: 127.0.0.1
  smtp_port: 587
  sender: epmon@probe.test
  recipients: noc@example.com
  username: monitor
  password_file: $TMP/client.pw
  ca_file: $TMP/ca.pem
  retry_min: 1
  retry_max: 1" "$SITES
  - name: lyon
    external_ip: $TARGET_IP
    alert: {failure_threshold: 1000}"

# ---- 1. wrong password ----
e2e_log "1. wrong SMTP password"
epmon_start "$CFG" run
wait_log "$TMP/run.err" "SMTP authentication as 'monitor' failed" 10 ||
	fail "no authentication failure logged: $(cat "$TMP/run.err")"
expect_log "$TMP/run.err" "<3>error: cannot send the down mail of site paris \(.*\): SMTP authentication as 'monitor' failed at 127\.0\.0\.1:587: Login denied: 535 5\.7\.8 Authentication credentials invalid; check username and the password \(password_file $TMP/client\.pw\); 1 message\(s\) kept in the spool, next attempt in 1 s" \
	"authentication failure: one clear line"
# retried (and refused again) after its 1 s backoff: still spooled, nothing received
for i in $(seq 200); do
	[ "$(grep -c "SMTP authentication as 'monitor' failed" "$TMP/run.err")" -ge 2 ] && break
	sleep 0.05
done
[ "$(grep -c "SMTP authentication as 'monitor' failed" "$TMP/run.err")" -ge 2 ] ||
	fail "no second attempt after the 1 s backoff"
assert_eq 1 "$(spool_count "$S")" "messages in the spool"
assert_eq 0 "$(mail_count "$TMP/a.mail")" "mails received"
(umask 077; echo "$GOOD" >"$TMP/client.pw.new"; mv "$TMP/client.pw.new" "$TMP/client.pw")
wait_mail "$TMP/a.mail" 1 5 || fail "not delivered after the password was fixed"
assert_match '"auth_user": "monitor", "tls": true' "$(cat "$TMP/a.mail/msg-0001.json")" \
	"server saw AUTH and TLS"
assert_match '^\[epmon\] DOWN paris: ' "$(mail_header "$TMP/a.mail/msg-0001.eml" Subject)" "subject"
for i in $(seq 40); do [ "$(spool_count "$S")" -eq 0 ] && break; sleep 0.05; done
assert_eq 0 "$(spool_count "$S")" "spool after delivery"

# ---- 2. 550 and SIGHUP ----
e2e_log "2. SIGHUP: a server that rejects with 550; site lyon removed"
smtpd_start r 2550 reject
alert_config "$CFG" "$R" "$S" "  smtp_server: 127.0.0.1
  smtp_port: 2550
  sender: epmon@probe.test
  recipients: noc@example.com" "$SITES"
kill -HUP "$RUN_PID"
wait_log "$TMP/run.err" "config reloaded" 5 || fail "no reload"
target_answer 1
wait_log "$TMP/run.err" "the up mail of site paris .* was refused by the server" 8 ||
	fail "no rejection logged: $(tail -5 "$TMP/run.err")"
expect_log "$TMP/run.err" "<3>error: the up mail of site paris \(.*\) was refused by the server: 127\.0\.0\.1:2550 \(none\) after the message: .*550 5\.7\.1 message refused by the test server; moved to $S/spool/dead" \
	"rejection logged with the server's reply"
assert_eq 0 "$(spool_count "$S")" "spool after the rejection"
dead=$(find "$S/spool/dead" -name '*-paris-up.eml')
[ -f "$dead" ] || fail "no UP in spool/dead: $(ls -la "$S/spool/dead")"
assert_match "refused by the server: .*550 5\.7\.1 message refused by the test server" \
	"$(cat "$dead.reason")" "reason beside the dead letter"
grep -q '^site lyon ' "$S/alert-state" && fail "lyon still in the state after the reload"
grep -qE '^site paris (recovered|ok) ' "$S/alert-state" || fail "paris: $(grep '^site' "$S/alert-state")"
e2e_log "ok: lyon dropped, paris kept"

# ---- 3. too old ----
e2e_log "3. SIGHUP: unreachable server, spool_max_age 2 s"
smtpd_stop "$SMTPD_PID"
alert_config "$CFG" "$R" "$S" "  smtp_server: 127.0.0.1
  smtp_port: 2550
  sender: epmon@probe.test
  recipients: noc@example.com
  spool_max_age: 2s
  retry_min: 1
  retry_max: 1" "$SITES"
kill -HUP "$RUN_PID"
wait_log "$TMP/run.err" "config reloaded" 10 || fail "SIGHUP: config not reloaded"
target_answer 0
wait_log "$TMP/run.err" "gave up on alert mail [^ ]*-paris-down\.eml" 12 ||
	fail "DOWN not given up: $(tail -5 "$TMP/run.err")"
expect_log "$TMP/run.err" "<3>error: gave up on alert mail [^ ]*-paris-down\.eml: not delivered in [3-9] s \(spool_max_age 2 s\); last error: 127\.0\.0\.1:2550 \(none\): Failed to connect.*; moved to $S/spool/dead" \
	"too old: logged with the last error"
assert_eq 0 "$(spool_count "$S")" "spool after giving up"
assert_eq 2 "$(find "$S/spool/dead" -name '*.eml' | wc -l)" "dead letters"
epmon_stop run
assert_eq 0 "$rc" "exit status"

# ---- the passwords stay secret ----
b64() { printf '%s' "$1" | base64; }
for secret in "$GOOD" "$BAD" "$(b64 "$GOOD")" "$(b64 "$BAD")" \
	"$(printf '\0monitor\0%s' "$GOOD" | base64)"; do
	if grep -rqF -- "$secret" "$TMP/run.err" "$R" "$S"; then
		fail "a password (or its base64) leaked: $(grep -rlF -- "$secret" "$TMP/run.err" "$R" "$S")"
	fi
done
e2e_log "ok: no password in logs, CSV, state or spool"
echo "PASS: AUTH failure kept and retried, 550 and too old to dead/, SIGHUP keeps and drops state"
