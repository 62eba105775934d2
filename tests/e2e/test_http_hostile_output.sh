#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Hostile client output never reaches a page, a mail or the CSV raw (issue 13). Seven sites
# run the FAKE tests/lab/fake-client-hostile (a client quoting a hostile gateway: markup,
# quotes, a 10 kB line, ANSI/OSC/C1 escapes, invalid UTF-8 and a NUL byte, then exit 1);
# its last line, or for h-failed the line its `failed` pattern matched, is quoted in the
# failure detail. After one cycle of `epmon run` (alerts by mail to aiosmtpd,
# failure_threshold 1):
#   1. the status page (/) is valid UTF-8 HTML without a script element, an event-handler
#      attribute or a control character; the text is there escaped (&lt;script&gt;...,
#      &quot;&#39;&amp;&lt;&gt;);
#   2. /status is valid JSON (strict UTF-8); each site's detail holds the client's line as
#      text (markup as is; escapes and controls as spaces, invalid bytes as '?': a
#      detail is cleaned where it is made, util/note.c) and the body no raw control byte;
#   3. /metrics passes `promtool check metrics` and carries none of the text;
#   4. the CSV is valid UTF-8 without control characters, one physical line per row (the
#      text quoted, invalid bytes as '?'); Python's csv module and `epmon report` (its own
#      reader, no damaged line) count one failed cycle per site;
#   5. the DOWN mails (one per site) carry no control character (Unicode Cc but for line
#      ends) in their headers or body, and no line over 998 bytes;
#   6. epmon's log (stderr: a terminal or the journal) is valid UTF-8 without an escape
#      sequence or another control character, and quotes the client (FAIL lines).
set -u
E2E_PREFIX=${E2E_PREFIX:-httph$$}
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"
# alert_lib.sh first: its SMTP helpers are used; http_lib.sh's epmon_start/epmon_stop win
# shellcheck source=tests/e2e/alert_lib.sh
. "$(dirname "$0")/alert_lib.sh"
# shellcheck source=tests/e2e/http_lib.sh
. "$(dirname "$0")/http_lib.sh"

http_require
require_cmd promtool
/usr/bin/python3 -c 'import aiosmtpd' 2>/dev/null || skip "needs python3-aiosmtpd (make deps)"
http_topology
FAKE=$(cd "$(dirname "$0")/../lab" && pwd)/fake-client-hostile
[ -x "$FAKE" ] || fail "no executable $FAKE"
CFG=$TMP/config.yml
BASE=http://127.0.0.1:$HTTP_PORT
SITES=(h-tag h-quotes h-long h-ansi h-utf8 h-all h-failed)

# site NAME KIND [VPN_EXTRA]: a site whose client is the FAKE hostile one printing KIND last
site() {
	printf '  - name: %s\n    external_ip: %s\n    internal_ip: %s\n' "$1" "$ALIVE_IP" "$ALIVE_IP2"
	printf '    vpn: {client: custom, command: %s, args: [%s], connected: "Configured as", login_timeout: 10%s}\n' \
		"$FAKE" "$2" "${3:+, $3}"
}
{
	echo "frequency: 60"
	echo "probe_name: e2e-probe"
	echo "concurrency: 1"
	echo "isolation: {mode: none}"
	echo "results: {directory: $TMP/results}"
	echo "state_directory: $TMP/state"
	echo "ping: {count: 2, interval: 0.05, timeout: 0.3}"
	echo "http: {listen: \"127.0.0.1:$HTTP_PORT\"}"
	echo "logging:"
	echo "  smtp_server: 127.0.0.1"
	echo "  smtp_port: 2525"
	echo "  sender: epmon@probe.test"
	echo "  recipients: noc@example.com"
	echo "  failure_threshold: 1"
	echo "  retry_min: 1"
	echo "  retry_max: 1"
	echo "sites:"
	site h-tag script
	site h-quotes quotes
	site h-long long
	site h-ansi ansi
	site h-utf8 utf8
	site h-all all
	site h-failed all 'failed: "alert\\("'
} >"$CFG"
chmod 600 "$CFG"
smtpd_start m 2525 plain
epmon_start run "$CFG"
wait_cycles 1 60 || fail "no cycle in 60 s: $(tail -20 "$TMP/run.err")"
assert_eq "${#SITES[@]}" "$(csv_count "$TMP/results")" "rows after one cycle"
for s in "${SITES[@]}"; do
	assert_eq FAIL "$(csv_get "$(results_file "$TMP/results")" "$s" result)" "$s: result"
done
e2e_log "h-all's detail in the CSV: $(csv_get "$(results_file "$TMP/results")" h-all detail | od -c | head -3 | tr -s ' ')"

# ---- 1. the status page ----
pcurl -o "$TMP/page.html" "$BASE/" || fail "GET / failed"
/usr/bin/python3 - "$TMP/page.html" <<'EOF' || fail "the status page carries hostile text raw"
import html.parser, re, sys
raw = open(sys.argv[1], "rb").read()
try:
    text = raw.decode("utf-8")          # strict: invalid UTF-8 would raise
except UnicodeDecodeError as e:
    sys.exit("not valid UTF-8: %s" % e)
bad = sorted({"%#x" % b for b in raw if (b < 0x20 and b not in b"\n\t\r") or b == 0x7f})
if bad:
    sys.exit("control bytes in the page: %s" % bad)
c1 = sorted({"U+%04X" % ord(c) for c in text if 0x80 <= ord(c) <= 0x9f})
if c1:
    sys.exit("C1 control characters in the page: %s" % c1)
if re.search(r"<\s*script", text, re.I) or re.search(r"<\s*img", text, re.I):
    sys.exit("a raw <script> or <img> tag in the page")

class Tags(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.bad = []
    def handle_starttag(self, tag, attrs):
        if tag in ("script", "img", "iframe", "object", "embed"):
            self.bad.append(tag)
        self.bad += ["%s %s" % (tag, k) for k, _ in attrs if k.startswith("on")]
t = Tags()
t.feed(text)
if t.bad:
    sys.exit("elements/attributes the page must not have: %s" % t.bad)
for want in ("&lt;script&gt;alert(1)&lt;/script&gt;", "&quot;&#39;&amp;&lt;&gt;",
             "&lt;img src=x onerror=alert(2)&gt;", "bad ?? cut"):
    if want not in text:
        sys.exit("the escaped text %r is not on the page" % want)
print("page: %d bytes, valid UTF-8, no script/img element, no on* attribute, no control"
      " character; the text is there escaped" % len(raw), file=sys.stderr)
EOF
e2e_log "ok: 1. status page"

# ---- 2. /status ----
pcurl -o "$TMP/status.json" "$BASE/status" || fail "GET /status failed"
/usr/bin/python3 - "$TMP/status.json" <<'EOF' || fail "/status is not what it should be"
import json, sys
raw = open(sys.argv[1], "rb").read()
bad = sorted({"%#x" % b for b in raw if b < 0x20 and b not in b"\n\t\r"})
if bad:
    sys.exit("raw control bytes in the JSON: %s" % bad)
d = json.loads(raw.decode("utf-8"))     # strict UTF-8, then strict JSON
det = {s["name"]: s["last"]["detail"] for s in d["sites"]}
want = {
    "h-tag": "'<script>alert(1)</script>'",
    "h-quotes": "'\"'&<>'",
    "h-long": "<img src=x onerror=alert(2)>",
    "h-ansi": " [31mRED [0m",
    "h-utf8": "bad ?? cut",
    "h-all": "<script>alert(1)</script> \"'&<>  [1;31mRED",
    "h-failed": "client said '<script>alert(1)</script>'",
}
for name, text in want.items():
    if text not in det.get(name, ""):
        sys.exit("%s: detail %r does not hold %r" % (name, det.get(name), text))
for name, v in det.items():
    if any(ord(c) < 0x20 or 0x7f <= ord(c) <= 0x9f for c in v):
        sys.exit("%s: a control character in the detail: %r" % (name, v))
print("/status: valid JSON; details: %s" % json.dumps(det)[:600], file=sys.stderr)
EOF
e2e_log "ok: 2. /status JSON"

# ---- 3. /metrics ----
pcurl -o "$TMP/metrics.txt" "$BASE/metrics" || fail "GET /metrics failed"
promtool check metrics <"$TMP/metrics.txt" >"$TMP/promtool.out" 2>&1 ||
	fail "promtool check metrics: $(cat "$TMP/promtool.out")"
if grep -aiE "alert\\(|onerror|pwned|$(printf '\033')" "$TMP/metrics.txt"; then
	fail "/metrics carries the client's text (above)"
fi
e2e_log "ok: 3. /metrics: promtool check metrics passes ($(wc -l <"$TMP/metrics.txt") lines)"

# ---- 4. the CSV, through Python and epmon's own reader ----
csv=$(results_file "$TMP/results")
/usr/bin/python3 - "$csv" "${#SITES[@]}" <<'EOF' || fail "the CSV is not one line per row"
import csv, sys
path, n = sys.argv[1], int(sys.argv[2])
raw = open(path, "rb").read()
lines = raw.count(b"\n")
rows = list(csv.DictReader(open(path, newline="", encoding="utf-8", errors="replace")))
if len(rows) != n or lines != n + 1:
    sys.exit("%d rows in %d lines (expected %d rows, %d lines)" % (len(rows), lines, n, n + 1))
try:
    text = raw.decode("utf-8")    # strict: what pandas or a spreadsheet expects
except UnicodeDecodeError as e:
    sys.exit("the CSV is not valid UTF-8: %s" % e)
bad = sorted({"U+%04X" % ord(c) for c in text if (ord(c) < 0x20 and c != "\n") or 0x7f <= ord(c) <= 0x9f})
if bad:
    sys.exit("control characters in the CSV: %s" % bad)
det = {r["site"]: r["detail"] for r in rows}
if "'<script>alert(1)</script>'" not in det["h-tag"] or "bad ?? cut" not in det["h-utf8"]:
    sys.exit("details not as the client said them: %r" % det)
print("CSV: %d rows, one line each, valid UTF-8 without control characters" % len(rows),
      file=sys.stderr)
EOF
ip netns exec "$P" "$EPMON" report -c "$CFG" --format json >"$TMP/report.json" 2>"$TMP/report.err"
rc=$?
sed 's/^/    report| /' "$TMP/report.err" >&2
assert_eq 0 "$rc" "epmon report: exit status"
[ -s "$TMP/report.err" ] && fail "epmon report complained about the CSV: $(cat "$TMP/report.err")"
/usr/bin/python3 - "$TMP/report.json" "${SITES[@]}" <<'EOF' || fail "epmon report does not count every row"
import json, sys
d = json.load(open(sys.argv[1]))
names = sys.argv[2:]
if d["rows"] != len(names) or d["damaged_lines"] != 0:
    sys.exit("report: %d rows, %d damaged lines (expected %d, 0)" % (d["rows"], d["damaged_lines"], len(names)))
by = {s["site"]: s for s in d["sites"]}
for name in names:
    s = by.get(name)
    if not s or s["cycles"] != 1 or s["failed"] != 1:
        sys.exit("%s: not 1 failed cycle in the report: %s" % (name, json.dumps(s)))
print("epmon report: %d rows, none damaged, 1 failed cycle for each site" % d["rows"], file=sys.stderr)
EOF
e2e_log "ok: 4. CSV one line a row, counted by epmon report"

# ---- 5. the mails ----
wait_mail "$TMP/m.mail" "${#SITES[@]}" 15 ||
	fail "only $(mail_count "$TMP/m.mail") of ${#SITES[@]} DOWN mails in 15 s: $(grep -i mail "$TMP/run.err" | tail -5)"
/usr/bin/python3 - "$TMP/m.mail" <<'EOF' || fail "an alert mail carries control characters"
import email, email.policy, glob, sys, unicodedata
files = sorted(glob.glob(sys.argv[1] + "/msg-*.eml"))
def controls(s):
    return sorted({"U+%04X" % ord(c) for c in s if unicodedata.category(c) == "Cc" and c not in "\n\r\t"})
for f in files:
    raw = open(f, "rb").read()
    long_lines = [l for l in raw.split(b"\r\n") if len(l) > 998]
    if long_lines:
        sys.exit("%s: a line of %d bytes (> 998)" % (f, len(long_lines[0])))
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    for k, v in msg.items():
        if controls(str(v)):
            sys.exit("%s: header %s has control characters %s: %r" % (f, k, controls(str(v)), str(v)))
    body = msg.get_content()
    if controls(body):
        bad = [l for l in body.splitlines() if controls(l)]
        sys.exit("%s: body has control characters %s: %r" % (f, controls(body), bad[:2]))
    if str(msg["Subject"]).startswith("[epmon] DOWN h-tag") and "<script>alert(1)</script>" not in body:
        sys.exit("%s: the detail is not in the body: %r" % (f, body))
print("%d mails, no control character in headers or bodies" % len(files), file=sys.stderr)
EOF
e2e_log "ok: 5. mails"

epmon_stop run
/usr/bin/python3 - "$TMP/run.err" <<'EOF' || fail "epmon's log carries the client's control characters"
import sys
data = open(sys.argv[1], "rb").read()
text = data.decode("utf-8")  # strict: fails on an invalid byte
bad = [c for c in text if (ord(c) < 0x20 and c != "\n") or 0x7f <= ord(c) <= 0x9f]
if bad:
    sys.exit("control characters in the log: %r" % sorted(set(bad)))
if "<script>alert(1)</script>" not in text:
    sys.exit("the log does not quote the client's line")
print("log: %d lines, valid UTF-8, no control character" % text.count("\n"), file=sys.stderr)
EOF
e2e_log "ok: 6. log"
echo "PASS: hostile client output reaches the page escaped, /status as valid JSON, /metrics not at all," \
	"the CSV one line a row (epmon report counts it), the mails and the log without control characters"
