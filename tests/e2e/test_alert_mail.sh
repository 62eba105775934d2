#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Alert mails through a real SMTP server (aiosmtpd), one site pinged directly, frequency 1 s,
# failure_threshold 2 (the default), no reminders:
#   1. fail, fail -> exactly one DOWN mail; its headers and body checked line by line;
#      5 more failures -> still one.
#   2. epmon restarted during the outage: the state is reloaded (no second DOWN).
#   3. the target answers again -> exactly one UP mail with the outage's duration,
#      threaded to the DOWN mail (In-Reply-To); more good cycles send nothing.
#   4. `epmon once` during an outage sends nothing and leaves the state alone.
set -u
E2E_PREFIX=${E2E_PREFIX:-alert$$m}
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
HOST=$(hostname)

smtpd_start m 2525 plain
alert_config "$CFG" "$R" "$S" "  smtp_server: 127.0.0.1
  smtp_port: 2525
  sender: \"epmon probe <epmon@probe.test>\"
  recipients: [noc@example.com, \"Ops <ops@example.com>\"]" \
"  - {name: paris, external_ip: $TARGET_IP}"

# ---- 1. one DOWN ----
e2e_log "1. the target is silent: fail, fail -> one DOWN"
epmon_start "$CFG" run1
wait_mail "$M" 1 10 || fail "no DOWN mail within 10 s"
assert_eq 2 "$(csv_count "$R" paris)" "rows of paris when the DOWN mail came"
DOWN=$M/msg-0001.eml
want="[epmon] DOWN paris: external_ping failed 2x (no reply from $TARGET_IP in 0.3 s)"
assert_eq "$want" "$(mail_header "$DOWN" Subject)" "DOWN subject"
# the raw header block, byte by byte where it is fixed
/usr/bin/python3 - "$DOWN" "$HOST" "$want" <<'EOF' || fail "DOWN headers"
import re, sys
raw = open(sys.argv[1], "rb").read()
host, subject = sys.argv[2], sys.argv[3]
head, sep, body = raw.partition(b"\r\n\r\n")
assert sep, "no empty line after the headers"
assert b"\n" not in raw.replace(b"\r\n", b""), "bare LF in the message"
lines = head.decode().replace("\r\n ", " ").split("\r\n")   # unfold
dom = re.sub(r"[^A-Za-z0-9.-]", "", host) or "localhost"
want = [
    r"Date: (Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d\d (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d\d:\d\d:\d\d [-+]\d{4}",
    re.escape("From: epmon probe <epmon@probe.test>"),
    re.escape("To: noc@example.com, Ops <ops@example.com>"),
    re.escape("Subject: " + subject),
    r"Message-ID: <epmon\.paris\.down\.\d{8}T\d{6}Z\.[0-9a-f]{12}@" + re.escape(dom) + ">",
    re.escape("MIME-Version: 1.0"),
    re.escape("Content-Type: text/plain; charset=UTF-8"),
    re.escape("Content-Transfer-Encoding: 8bit"),
    re.escape("Auto-Submitted: auto-generated"),
    r"X-Mailer: epmon \S+",
]
assert len(lines) == len(want), "headers: %r" % lines
for got, pat in zip(lines, want):
    assert re.fullmatch(pat, got), "header %r does not match /%s/" % (got, pat)
text = body.decode("utf-8")
for fixed in ["Site paris is DOWN: external_ping failed in 2 consecutive cycles.\r\n\r\n",
              "\r\nSite:           paris\r\n",
              "\r\nGateway:        10.215.1.10 (pinged, no VPN)\r\n",
              "\r\nFailed step:    external_ping\r\n",
              "\r\nDetail:         no reply from 10.215.1.10 in 0.3 s\r\n",
              "\r\nFailed cycles:  2\r\n",
              "\r\nProbe host:     %s\r\n" % host,
              "\r\nLast results, oldest first:\r\n"]:
    assert fixed in text, "body lacks %r:\n%s" % (fixed, text)
assert re.search(r"\r\nProbe:          [A-Za-z0-9_.-]+\r\n", text), "no probe_name line: " + text
assert re.search(r"\r\nFirst failure:  \d{4}-\d\d-\d\d \d\d:\d\d:\d\d [-+]\d{4}\r\n", text), text
rows = re.findall(r"\r\n  \d{4}-\d\d-\d\d \d\d:\d\d:\d\d [-+]\d{4} +FAIL +external_ping +- +- +- +"
                  r"no reply from 10\.215\.1\.10 in 0\.3 s", text)
assert len(rows) == 2, "table rows: %d\n%s" % (len(rows), text)
print("DOWN mail ok: %d header lines, %d table rows" % (len(lines), len(rows)), file=sys.stderr)
EOF
meta=$(cat "$M/msg-0001.json")
assert_match '"mail_from": "epmon@probe.test", "rcpt_tos": \["noc@example.com", "ops@example.com"\]' \
	"$meta" "envelope of the DOWN mail"
down_id=$(mail_header "$DOWN" Message-ID)

n=$(csv_count "$R" paris)
wait_csv_rows "$R" paris $((n + 5)) 10 || fail "no 5 more cycles"
assert_eq 1 "$(mail_count "$M")" "mails after 5 more failed cycles"
expect_log "$TMP/run1.err" "<4>warning: \[paris\] alert: \[epmon\] DOWN paris: external_ping failed 2x" \
	"DOWN logged"
expect_log "$TMP/run1.err" "<6>info: sent the down mail of site paris \(.*\): 250 " "delivery logged"
grep -q '^site paris alerted ' "$S/alert-state" || fail "state file: $(cat "$S/alert-state")"

# ---- 2. restart during the outage ----
e2e_log "2. restart during the outage: no second DOWN"
epmon_stop run1
assert_eq 0 "$rc" "exit status after SIGTERM"
epmon_start "$CFG" run2
n=$(csv_count "$R" paris)
wait_csv_rows "$R" paris $((n + 3)) 8 || fail "no 3 cycles after the restart"
expect_log "$TMP/run2.err" "<6>info: \[paris\] alert state restored: alerted, [0-9]+ failed cycle" \
	"state restored at start"
assert_eq 1 "$(mail_count "$M")" "mails after the restart"

# ---- 3. recovery ----
e2e_log "3. the target answers: one UP"
target_answer 1
wait_mail "$M" 2 8 || fail "no UP mail within 8 s"
UP=$M/msg-0002.eml
subject=$(mail_header "$UP" Subject)
assert_match '^\[epmon\] UP paris after [0-9]+ s$' "$subject" "UP subject"
# the duration: first failed row -> first good row, from the CSV
expected=$(python3 - "$R" <<'EOF'
import csv, datetime, glob, sys
rows = [r for p in sorted(glob.glob(sys.argv[1] + "/results-*.csv"))
        for r in csv.DictReader(open(p, newline="")) if r["site"] == "paris"]
ts = lambda r: datetime.datetime.fromisoformat(r["timestamp"]).timestamp()
first_fail = next(r for r in rows if r["result"] != "OK")
first_ok = next(r for r in rows if r["result"] == "OK" and ts(r) > ts(first_fail))
print(int(ts(first_ok)) - int(ts(first_fail)))
EOF
)
got=$(sed -E 's/.* after ([0-9]+) s$/\1/' <<<"$subject")
assert_near "$expected" "$got" 1.5 "outage in the UP subject (s)"
assert_eq "$down_id" "$(mail_header "$UP" In-Reply-To)" "UP In-Reply-To = DOWN Message-ID"
body=$(mail_body "$UP")
assert_match "Site paris is UP again after $got s \(" "$body" "UP body first line"
assert_match "Down for: +$got s" "$body" "UP body duration"
n=$(csv_count "$R" paris)
wait_csv_rows "$R" paris $((n + 3)) 8 || fail "no 3 good cycles"
assert_eq 2 "$(mail_count "$M")" "mails after 3 good cycles"
grep -qE '^site paris (ok|recovered) 0 0 0 0 0 -$' "$S/alert-state" ||
	fail "state after recovery: $(grep '^site' "$S/alert-state")"
epmon_stop run2
assert_eq 0 "$rc" "exit status"

# ---- 4. once does not alert ----
e2e_log "4. epmon once during an outage: no mail, state untouched"
target_answer 0
cp "$S/alert-state" "$TMP/state.before"
for i in 1 2 3; do
	ip netns exec "$P" "$EPMON" once -c "$CFG" >"$TMP/once.out" 2>"$TMP/once.err"
	assert_eq 1 "$?" "once #$i exit (site failed)"
	assert_no_sanitizer "$TMP/once.err"
done
sleep 0.5
assert_eq 2 "$(mail_count "$M")" "mails after 3 failing once runs"
cmp -s "$TMP/state.before" "$S/alert-state" || fail "once changed the alert state"
assert_eq 0 "$(spool_count "$S")" "spooled messages"
echo "PASS: one DOWN per outage, restart keeps the state, one UP with the duration, once sends nothing"
