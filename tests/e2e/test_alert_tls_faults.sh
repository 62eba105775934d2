#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# SMTP with TLS under faults (issue 13): the alert mail is never sent in clear text nor to
# an untrusted server, a silent server costs no more than connect_timeout, and once the
# server is made good the mail spooled meanwhile is delivered exactly once. The servers are
# the real aiosmtpd (tests/tools/smtpd.py) and, for c., a tiny Python listener that accepts
# TCP and never says a word (it also times the connection). retry_min/retry_max 1 s.
#   a. security starttls, the server does not offer STARTTLS: the DOWN mail is not sent
#      (the server receives nothing; `epmon test-email` shows that no MAIL, AUTH or DATA
#      went out), it stays in the spool, the log says "STARTTLS not supported"; the server
#      restarted with STARTTLS: delivered once, over TLS;
#   b. starttls, the server's certificate from a CA that ca_file does not hold: the UP mail
#      is not sent, stays spooled, the log says the certificate could not be verified; the
#      server restarted with a trusted certificate: delivered once;
#   c. SIGHUP to security tls (SMTPS) on a port where the listener accepts and never
#      speaks, connect_timeout 3: each attempt is given up by epmon (it closes the
#      connection) after 3 s, not before, and well before `timeout` (30 s); the DOWN mail
#      stays spooled; the cycles go on meanwhile (rows written while a connection hangs, no
#      overrun); the listener replaced by aiosmtpd in tls mode: delivered once.
set -u
E2E_PREFIX=${E2E_PREFIX:-alert$$t}
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=tests/e2e/alert_lib.sh
. "$(dirname "$0")/alert_lib.sh"

alert_require
require_cmd certtool
alert_topology
e2e_tmpdir TMP
R=$TMP/results
S=$TMP/state
CFG=$TMP/config.yml
make_certs "$TMP"                 # the CA epmon trusts (ca_file) and its server certificate
mkdir -p "$TMP/rogue"
make_certs "$TMP/rogue"           # another CA, unknown to epmon
SITES="  - {name: paris, external_ip: $TARGET_IP}"

# smtp_config SECURITY PORT: the logging map (ca_file: the trusted CA)
smtp_config() {
	alert_config "$CFG" "$R" "$S" "  smtp_server: 127.0.0.1
  smtp_port: $2
  security: $1
  ca_file: $TMP/ca.pem
  sender: epmon@probe.test
  recipients: noc@example.com
  connect_timeout: 3
  retry_min: 1
  retry_max: 1" "$SITES"
}

# delivered_once DIR N WHAT: DIR holds N messages, the spool is empty, and 3 cycles later
# still N (no duplicate)
delivered_once() {
	local n
	for _ in $(seq 40); do [ "$(spool_count "$S")" -eq 0 ] && break; sleep 0.05; done
	assert_eq 0 "$(spool_count "$S")" "$3: messages left in the spool"
	n=$(csv_count "$R" paris)
	wait_csv_rows "$R" paris $((n + 3)) 8 || fail "$3: no 3 more cycles"
	assert_eq "$2" "$(mail_count "$1")" "$3: mails received 3 cycles after the delivery"
}

# ---- a. STARTTLS required, not offered ----
e2e_log "a. security starttls, the server offers no STARTTLS"
smtpd_start a 2587 plain
A_PID=$SMTPD_PID
smtp_config starttls 2587
epmon_start "$CFG" run
wait_log "$TMP/run.err" "cannot send the down mail of site paris" 10 ||
	fail "a. no failed delivery logged: $(cat "$TMP/run.err")"
expect_log "$TMP/run.err" "<3>error: cannot send the down mail of site paris \([^)]*-paris-down\.eml\): 127\.0\.0\.1:2587 \(starttls\): STARTTLS not supported\.?; 1 message\(s\) kept in the spool" \
	"a. the reason logged"
assert_eq 1 "$(spool_count "$S")" "a. messages in the spool"
assert_eq 0 "$(mail_count "$TMP/a.mail")" "a. mails the server received"
# what went out on the wire: epmon's own transcript of the SMTP talk
ip netns exec "$P" "$EPMON" test-email -c "$CFG" >"$TMP/te.out" 2>&1
rc=$?
sed 's/^/    test-email| /' "$TMP/te.out" >&2
assert_eq 1 "$rc" "a. epmon test-email: exit status"
grep -q '^> EHLO ' "$TMP/te.out" || fail "a. test-email: no EHLO in the transcript"
grep -qiE '^> (MAIL|RCPT|DATA|AUTH)|the message, [0-9]+ bytes' "$TMP/te.out" &&
	fail "a. test-email: something went out in clear text after EHLO"
grep -q 'STARTTLS not supported' "$TMP/te.out" || fail "a. test-email: the reason not shown"
assert_eq 0 "$(mail_count "$TMP/a.mail")" "a. mails the server received (test-email too)"
e2e_log "a. the server restarted with STARTTLS"
smtpd_stop "$A_PID"
smtpd_start a-good 2587 starttls --cert "$TMP/cert.pem" --key "$TMP/key.pem"
wait_mail "$TMP/a-good.mail" 1 8 || fail "a. the spooled DOWN not delivered in 8 s: $(tail -3 "$TMP/run.err")"
assert_match '^\[epmon\] DOWN paris: ' "$(mail_header "$TMP/a-good.mail/msg-0001.eml" Subject)" "a. subject"
assert_match '"tls": true' "$(cat "$TMP/a-good.mail/msg-0001.json")" "a. the server saw TLS"
delivered_once "$TMP/a-good.mail" 1 "a"

# ---- b. a certificate epmon does not trust ----
e2e_log "b. starttls with a certificate from an unknown CA"
smtpd_stop "$SMTPD_PID"
smtpd_start b 2587 starttls --cert "$TMP/rogue/cert.pem" --key "$TMP/rogue/key.pem"
B_PID=$SMTPD_PID
target_answer 1
wait_log "$TMP/run.err" "cannot send the up mail of site paris" 10 ||
	fail "b. no failed delivery logged: $(tail -5 "$TMP/run.err")"
expect_log "$TMP/run.err" "<3>error: cannot send the up mail of site paris \([^)]*\): 127\.0\.0\.1:2587 \(starttls\): .*certificate.*(verif|issuer)" \
	"b. the reason (certificate not verified) logged"
e2e_log "logged: $(grep -m1 'cannot send the up mail' "$TMP/run.err")"
assert_eq 1 "$(spool_count "$S")" "b. messages in the spool"
assert_eq 0 "$(mail_count "$TMP/b.mail")" "b. mails the untrusted server received"
e2e_log "b. the server restarted with a trusted certificate"
smtpd_stop "$B_PID"
smtpd_start b-good 2587 starttls --cert "$TMP/cert.pem" --key "$TMP/key.pem"
wait_mail "$TMP/b-good.mail" 1 8 || fail "b. the spooled UP not delivered in 8 s: $(tail -3 "$TMP/run.err")"
assert_match '^\[epmon\] UP paris after ' "$(mail_header "$TMP/b-good.mail/msg-0001.eml" Subject)" "b. subject"
delivered_once "$TMP/b-good.mail" 1 "b"
assert_eq 0 "$(mail_count "$TMP/b.mail")" "b. mails the untrusted server received in all"
smtpd_stop "$SMTPD_PID"

# ---- c. SMTPS to a server that never speaks ----
e2e_log "c. security tls against a listener that never speaks, connect_timeout 3"
cat >"$TMP/silent.py" <<'EOF'
# Accepts TCP on 127.0.0.1:PORT and never sends a byte; for each connection the client
# closes it prints "conn ACCEPTED CLOSED HELD_S BYTES" (epoch seconds; bytes it sent).
import os, selectors, socket, sys, time
port, pidfile = int(sys.argv[1]), sys.argv[2]
srv = socket.socket()
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", port))
srv.listen(16)
sel = selectors.DefaultSelector()
sel.register(srv, selectors.EVENT_READ)
with open(pidfile + ".tmp", "w") as f:
    f.write("%d\n" % os.getpid())
os.rename(pidfile + ".tmp", pidfile)
conns = {}
while True:
    for key, _ in sel.select():
        if key.fileobj is srv:
            c, _ = srv.accept()
            conns[c] = [time.time(), 0]
            sel.register(c, selectors.EVENT_READ)
            continue
        c = key.fileobj
        try:
            b = c.recv(65536)
        except OSError:
            b = b""
        if b:
            conns[c][1] += len(b)
            continue
        t0, n = conns.pop(c)
        sel.unregister(c)
        c.close()
        t1 = time.time()
        print("conn %.3f %.3f %.3f %d" % (t0, t1, t1 - t0, n), flush=True)
EOF
rm -f "$TMP/silent.pid"
ip netns exec "$P" /usr/bin/python3 "$TMP/silent.py" 2465 "$TMP/silent.pid" >"$TMP/silent.out" 2>&1 &
SILENT=$!
register_pid "$SILENT"
wait_log "$TMP/silent.pid" '[0-9]' 10 || fail "c. the silent listener did not start: $(cat "$TMP/silent.out")"
smtp_config tls 2465
kill -HUP "$RUN_PID"
wait_log "$TMP/run.err" "config reloaded" 10 || fail "c. SIGHUP: config not reloaded"
target_answer 0
wait_log_count "$TMP/silent.out" '^conn ' 2 30 ||
	fail "c. no 2 connections given up in 30 s: $(cat "$TMP/silent.out"; tail -5 "$TMP/run.err")"
sed 's/^/    silent| /' "$TMP/silent.out" >&2
expect_log "$TMP/run.err" "<3>error: cannot send the down mail of site paris \([^)]*\): 127\.0\.0\.1:2465 \(tls\): .*(timed out|timeout).*; 1 message\(s\) kept in the spool" \
	"c. the timeout logged"
e2e_log "logged: $(grep -m1 'cannot send the down mail.*2465' "$TMP/run.err")"
assert_eq 1 "$(spool_count "$S")" "c. messages in the spool"
# each connection: closed by epmon after connect_timeout (3 s), not before, and long
# before timeout (30 s); the rows written while it hung
mapfile -t held < <(awk '/^conn /' "$TMP/silent.out" | head -2)
for line in "${held[@]}"; do
	read -r _ acc clo hs by <<<"$line"
	awk -v t="$hs" 'BEGIN { exit !(t >= 2.9 && t < 10) }' ||
		fail "c. a connection held $hs s (connect_timeout 3 s expected)"
	[ "$by" -gt 0 ] || fail "c. epmon sent no ClientHello on the SMTPS connection"
	rows=$(python3 - "$R" "$acc" "$clo" <<'PYEOF'
import csv, datetime, glob, sys
d, a, b = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
n = 0
for path in glob.glob(d + "/results-*.csv"):
    for r in csv.DictReader(open(path, newline="")):
        t = datetime.datetime.fromisoformat(r["timestamp"]).timestamp()
        n += r["site"] == "paris" and a <= t <= b
print(n)
PYEOF
)
	e2e_log "c. connection held $hs s ($by bytes from epmon); $rows row(s) of paris written meanwhile"
	[ "$rows" -ge 2 ] || fail "c. only $rows row(s) written during a $hs s hang (frequency 1 s)"
done
grep -q 'longer than frequency' "$TMP/run.err" && fail "c. an overrun was logged"
assert_eq 0 "$(mail_count "$TMP/c.mail")" "c. mails (none yet)"
e2e_log "c. the listener replaced by an SMTPS server"
kill -TERM "$SILENT"
wait "$SILENT" 2>/dev/null
smtpd_start c 2465 tls --cert "$TMP/cert.pem" --key "$TMP/key.pem"
wait_mail "$TMP/c.mail" 1 10 || fail "c. the spooled DOWN not delivered in 10 s: $(tail -3 "$TMP/run.err")"
assert_match '^\[epmon\] DOWN paris: ' "$(mail_header "$TMP/c.mail/msg-0001.eml" Subject)" "c. subject"
delivered_once "$TMP/c.mail" 1 "c"

epmon_stop run
assert_eq 0 "$rc" "exit status"
[ -d "$S/spool/dead" ] && [ -n "$(ls -A "$S/spool/dead")" ] && fail "dead letters: $(ls "$S/spool/dead")"
assert_eq 3 "$(($(mail_count "$TMP/a-good.mail") + $(mail_count "$TMP/b-good.mail") + $(mail_count "$TMP/c.mail")))" \
	"mails delivered in all (DOWN, UP, DOWN)"
echo "PASS: no mail in clear text without STARTTLS nor to an untrusted server, a silent SMTPS server" \
	"given up after connect_timeout while the cycles go on; each spooled mail delivered once"
