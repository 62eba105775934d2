#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Webhooks (issue 11) through a real HTTP receiver (python3 http.server, written here) on
# 127.0.0.1 of the test's namespace, where `epmon run` also runs (frequency 1 s,
# failure_threshold 2, success_threshold 1, retry_min 1 s, retry_max 2 s). Four webhooks,
# each URL path with a token: json with a secret_file (signed), slack, teams, and one the
# receiver always answers 404 (gone).
#   1. paris fails -> exactly one DOWN per webhook: every documented json field, the
#      X-Epmon-Signature verifies (HMAC-SHA256, key = the secret file's first line), the
#      slack body is {"text": ...}, the teams one a MessageCard; the 404 moves the body to
#      dead/ with a .reason at once; nothing more while paris stays down, nothing for lyon.
#   2. the receiver answers 500 when paris recovers -> the UP body stays spooled
#      (STATE/webhooks/<16 hex>/*-paris-up.json), the log says it is kept and retries;
#      receiver back to 200 -> delivered exactly once (outage_s = the outage), spool empty.
#   3. the receiver hangs when paris goes DOWN again; epmon is stopped (SIGTERM) in the
#      middle of the POSTs: it exits 0, every sender stopped, the bodies stay spooled;
#      restarted with the receiver answering -> each delivered exactly once, byte for byte
#      as spooled (and nothing of the first outage sent again).
#   4. the URL paths (their tokens) never appear in epmon's log.
set -u
E2E_PREFIX=${E2E_PREFIX:-alert$$w}
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=tests/e2e/alert_lib.sh
. "$(dirname "$0")/alert_lib.sh"

sink_require
sink_topology
e2e_tmpdir TMP
R=$TMP/results
S=$TMP/state
CFG=$TMP/config.yml
PORT=18731
PARIS=10.215.9.1
JSON_PATH=/hooks/T0/SECRETTOKEN1
SLACK_PATH=/services/T1/SECRETTOKEN2
TEAMS_PATH=/teams/T2/SECRETTOKEN3
GONE_PATH=/gone/T3/SECRETTOKEN4
REQS=$TMP/requests.jsonl
CTL=$TMP/receiver      # $CTL.500 / $CTL.hang: answer 500 / hang while the file exists

# ---- the receiver ----
cat >"$TMP/receiver.py" <<'EOF'
# A webhook receiver: each POST is appended to LOG as one JSON line (path, the headers of
# interest, the body, the answer) before it is answered: 404 for paths under /gone/, else
# 200, 500 while CTL.500 exists, or no answer (the connection closed) after holding it
# while CTL.hang exists.
import http.server, json, os, sys, threading, time

port, log, ctl, pidfile = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
lock = threading.Lock()

class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        answer = (404 if self.path.startswith("/gone/") else
                  "hang" if os.path.exists(ctl + ".hang") else
                  500 if os.path.exists(ctl + ".500") else 200)
        rec = {"t": time.time(), "path": self.path, "answer": answer,
               "headers": {h: self.headers.get(h) for h in
                           ("Content-Type", "User-Agent", "X-Epmon-Signature")},
               "body": body.decode("utf-8")}
        with lock, open(log, "a") as f:
            f.write(json.dumps(rec) + "\n")
        if answer == "hang":
            end = time.time() + 30
            while os.path.exists(ctl + ".hang") and time.time() < end:
                time.sleep(0.05)
            self.close_connection = True
            return
        text = b"ok\n" if answer == 200 else b"gone\n" if answer == 404 else b"boom\n"
        self.send_response(answer)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(text)))
        self.end_headers()
        self.wfile.write(text)

    def log_message(self, *args):
        pass

srv = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
srv.daemon_threads = True
with open(pidfile + ".new", "w") as f:
    f.write("%d\n" % os.getpid())
os.rename(pidfile + ".new", pidfile)
srv.serve_forever()
EOF
ip netns exec "$P" /usr/bin/python3 "$TMP/receiver.py" "$PORT" "$REQS" "$CTL" \
	"$TMP/receiver.pid" 2>>"$TMP/receiver.err" &
register_pid $!
wait_for 5 test -s "$TMP/receiver.pid" || fail "receiver did not start: $(cat "$TMP/receiver.err")"

# count PATH EVENT ANSWER: requests to PATH whose body is EVENT ("down", "up"; for slack
# and teams the word in the text or title) and that were answered ANSWER (200, 500, hang).
count() {
	/usr/bin/python3 - "$REQS" "$@" <<'EOF'
import json, os, sys
log, path, event, answer = sys.argv[1:5]
n = 0
for line in open(log) if os.path.exists(log) else []:
    r = json.loads(line)
    if r["path"] != path or str(r["answer"]) != answer:
        continue
    b = json.loads(r["body"])
    ev = b["event"] if "event" in b else b.get("title", b["text"]).split()[1].lower()
    n += ev == event
print(n)
EOF
}
# at_least N PATH EVENT ANSWER: count >= N.
at_least() { [ "$(count "$2" "$3" "$4")" -ge "$1" ]; }
# spooled SITE KIND: the webhook bodies waiting in the spools ($S/webhooks/*/).
spooled() { find "$S/webhooks" -mindepth 2 -maxdepth 2 -name "*-$1-$2.json" 2>/dev/null | sort; }

umask 077
printf 's3cr3t-k3y\nthe second line is not part of the key\n' >"$TMP/hook.secret"
sink_config "$CFG" "$R" "$S" probe-w "  failure_threshold: 2
  success_threshold: 1
  retry_min: 1s
  retry_max: 2s
  webhooks:
    - url: http://127.0.0.1:$PORT$JSON_PATH
      format: json
      secret_file: $TMP/hook.secret
    - url: http://127.0.0.1:$PORT$SLACK_PATH
      format: slack
    - url: http://127.0.0.1:$PORT$TEAMS_PATH
      format: teams
    - url: http://127.0.0.1:$PORT$GONE_PATH" \
"  - {name: paris, external_ip: $PARIS}
  - {name: lyon, external_ip: 127.0.0.1}"

# ---- 1. DOWN ----
e2e_log "1. paris fails: one DOWN per webhook"
epmon_start "$CFG" run1
wait_for 10 at_least 1 "$JSON_PATH" down 200 || fail "no DOWN webhook within 10 s: $(cat "$TMP/run1.err")"
wait_for 5 at_least 1 "$SLACK_PATH" down 200 || fail "no slack DOWN within 5 s"
wait_for 5 at_least 1 "$TEAMS_PATH" down 200 || fail "no teams DOWN within 5 s"
wait_for 5 at_least 1 "$GONE_PATH" down 404 || fail "no DOWN to the 404 webhook within 5 s"
/usr/bin/python3 - "$REQS" "$JSON_PATH" "$SLACK_PATH" "$TMP/hook.secret" "$PARIS" "$TEAMS_PATH" <<'EOF' || fail "DOWN bodies"
import hashlib, hmac, json, re, sys
log, jpath, spath, secret, addr, tpath = sys.argv[1:7]
reqs = [json.loads(l) for l in open(log)]
j = [r for r in reqs if r["path"] == jpath]
s = [r for r in reqs if r["path"] == spath]
m = [r for r in reqs if r["path"] == tpath]
assert len(j) == 1 and len(s) == 1 and len(m) == 1, "requests: %r" % reqs
r = j[0]
h = r["headers"]
assert h["Content-Type"] == "application/json", h
assert re.fullmatch(r"epmon/\S+", h["User-Agent"]), h
key = open(secret, "rb").read().split(b"\n")[0]
want = "sha256=" + hmac.new(key, r["body"].encode(), hashlib.sha256).hexdigest()
assert h["X-Epmon-Signature"] == want, "signature %r, expected %r" % (h["X-Epmon-Signature"], want)
b = json.loads(r["body"])
keys = ["version", "event", "site", "probe", "at", "summary", "failed_step", "detail",
        "gateway", "failures", "failing_since", "outage_s", "last"]
# "figures" (DEGRADED events) is not in doc/config.md's body yet: null for a DOWN
assert sorted(set(b) - {"figures"}) == sorted(keys), "keys %r" % sorted(b)
assert b.get("figures") is None, b
z = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ"
detail = "cannot send to %s: Network is unreachable" % addr
exp = {"version": 1, "event": "down", "site": "paris", "probe": "probe-w",
       "summary": "[epmon] DOWN paris: external_ping failed 2x (%s)" % detail,
       "failed_step": "external_ping", "detail": detail, "gateway": None, "failures": 2,
       "outage_s": None}
for k, v in exp.items():
    assert b[k] == v and type(b[k]) == type(v), "%s = %r, expected %r" % (k, b[k], v)
for k in ("at", "failing_since"):
    assert re.fullmatch(z, b[k]), "%s = %r" % (k, b[k])
assert b["failing_since"] < b["at"], b
last = b["last"]
assert sorted(last) == ["at", "external_rtt_ms", "internal_rtt_ms", "login_ms", "ok"], last
assert re.fullmatch(z, last["at"]) and last["ok"] is False, last
assert last["external_rtt_ms"] is None and last["login_ms"] is None \
    and last["internal_rtt_ms"] is None, last
t = s[0]
assert "X-Epmon-Signature" not in t["headers"] or t["headers"]["X-Epmon-Signature"] is None, t
sb = json.loads(t["body"])
assert list(sb) == ["text"], sb
assert sb["text"].startswith("*[epmon] DOWN paris: external_ping failed 2x"), sb
assert "probe-w" in sb["text"] and detail in sb["text"], sb
card = json.loads(m[0]["body"])
assert card["@type"] == "MessageCard" and card["themeColor"] == "D63333", card
assert card["title"] == card["summary"] == b["summary"], card
assert card["text"].startswith(b["summary"] + "\nprobe probe-w"), card
print("DOWN ok: signed json with %d keys, slack text %r, teams card" % (len(b), sb["text"]),
      file=sys.stderr)
EOF
e2e_log "ok: DOWN json fields, signature, slack text, teams card"
expect_log "$TMP/run1.err" "<4>warning: \[paris\] alert: \[epmon\] DOWN paris: external_ping failed 2x" "DOWN logged"
wait_log "$TMP/run1.err" "sent the down webhook of site paris .*HTTP 200" 5 || fail "delivery not logged"
expect_log "$TMP/run1.err" "<6>info: sent the down webhook of site paris \([^)]*-paris-down\.json\): HTTP 200 ok" \
	"delivery logged"
wait_log "$TMP/run1.err" "the down webhook of site paris .* was .*HTTP 404" 5 || fail "404 not logged"
expect_log "$TMP/run1.err" "<3>error: the down webhook of site paris \([^)]*-paris-down\.json\) was http://127\.0\.0\.1:$PORT/\.\.\. answered HTTP 404 \(gone ?\); moved to $S/webhooks/[0-9a-f]{16}/dead" \
	"404 logged: moved to dead/"
n=$(csv_count "$R" paris)
wait_csv_rows "$R" paris $((n + 2)) 8 || fail "no 2 more cycles"
assert_eq 1 "$(count "$JSON_PATH" down 200)" "json DOWN after 2 more failed cycles"
assert_eq 1 "$(count "$SLACK_PATH" down 200)" "slack DOWN after 2 more failed cycles"
assert_eq 1 "$(count "$GONE_PATH" down 404)" "DOWN to the 404 webhook (not retried)"
assert_eq 4 "$(wc -l <"$REQS")" "requests in all (nothing for lyon)"
assert_eq "" "$(spooled paris down)" "DOWN bodies left in the spool"

# ---- 2. UP while the receiver answers 500 ----
e2e_log "2. the receiver answers 500 when paris recovers: the UP stays spooled, then goes once"
touch "$CTL.500"
sink_answer "$PARIS" 1
wait_log "$TMP/run1.err" "cannot send the up webhook of site paris" 8 || fail "UP not attempted"
expect_log "$TMP/run1.err" "<3>error: cannot send the up webhook of site paris \([^)]*-paris-up\.json\): http://127\.0\.0\.1:$PORT/\.\.\. answered HTTP 500 \(boom ?\); 1 message\(s\) kept in the spool, next attempt in [12] s" \
	"failed delivery logged"
up_files=$(spooled paris up)
assert_eq 3 "$(wc -l <<<"$up_files")" "UP bodies spooled (one per webhook but the gone one)"
for f in $up_files; do
	assert_match "/state/webhooks/[0-9a-f]{16}/[^/]+-paris-up\.json$" "$f" "spool file"
	assert_eq 600 "$(stat -c %a "$f")" "spool file mode"
done
wait_for 6 at_least 2 "$JSON_PATH" up 500 || fail "the UP was not retried"
e2e_log "ok: retried, $(count "$JSON_PATH" up 500) attempt(s) answered 500"
assert_eq 0 "$(count "$JSON_PATH" up 200)" "UP delivered while the receiver fails"
rm -f "$CTL.500"
wait_for 6 at_least 1 "$JSON_PATH" up 200 || fail "UP not delivered within 6 s of the receiver's recovery"
wait_for 6 at_least 1 "$SLACK_PATH" up 200 || fail "slack UP not delivered"
wait_for 6 at_least 1 "$TEAMS_PATH" up 200 || fail "teams UP not delivered"
wait_for 3 test -z "$(spooled paris up)" || fail "UP still spooled after delivery: $(spooled paris up)"
assert_eq 1 "$(count "$JSON_PATH" up 200)" "json UP delivered"
assert_eq 1 "$(count "$SLACK_PATH" up 200)" "slack UP delivered"
# outage: first failed row -> first good row, from the CSV
expected=$(/usr/bin/python3 - "$R" <<'EOF'
import csv, datetime, glob, sys
rows = [r for p in sorted(glob.glob(sys.argv[1] + "/results-*.csv"))
        for r in csv.DictReader(open(p, newline="")) if r["site"] == "paris"]
ts = lambda r: datetime.datetime.fromisoformat(r["timestamp"]).timestamp()
first_fail = next(r for r in rows if r["result"] != "OK")
first_ok = next(r for r in rows if r["result"] == "OK" and ts(r) > ts(first_fail))
print(int(ts(first_ok)) - int(ts(first_fail)))
EOF
)
/usr/bin/python3 - "$REQS" "$JSON_PATH" "$SLACK_PATH" "$expected" <<'EOF' || fail "UP bodies"
import json, re, sys
log, jpath, spath, expected = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
reqs = [json.loads(l) for l in open(log)]
ok = lambda p: [json.loads(r["body"]) for r in reqs if r["path"] == p and r["answer"] == 200]
down, up = ok(jpath)
assert up["event"] == "up" and up["site"] == "paris" and up["probe"] == "probe-w", up
assert type(up["outage_s"]) is int and abs(up["outage_s"] - expected) <= 1, \
    "outage_s %r, expected %d" % (up["outage_s"], expected)
assert up["summary"] == "[epmon] UP paris after %d s" % up["outage_s"], up["summary"]
assert up["failed_step"] is None and up["last"]["ok"] is True and up.get("figures") is None, up
assert isinstance(up["last"]["external_rtt_ms"], float), up["last"]
assert up["failing_since"] == down["failing_since"], (up, down)
assert up["at"] >= down["at"], (up, down)
sup = ok(spath)[1]
assert list(sup) == ["text"] and sup["text"].startswith("*[epmon] UP paris after "), sup
print("UP ok: outage_s %d (CSV %d)" % (up["outage_s"], expected), file=sys.stderr)
EOF
e2e_log "ok: UP body, outage_s matches the CSV ($expected s)"
expect_log "$TMP/run1.err" "<6>info: sent the up webhook of site paris \([^)]*-paris-up\.json\): HTTP 200 ok" \
	"UP delivery logged"

# ---- 3. SIGTERM in the middle of a POST, restart ----
e2e_log "3. the receiver hangs when paris goes DOWN again; epmon stopped mid-POST, restarted"
touch "$CTL.hang"
sink_answer "$PARIS" 0
wait_for 10 at_least 1 "$JSON_PATH" down hang || fail "second DOWN not attempted"
wait_for 3 at_least 1 "$SLACK_PATH" down hang || fail "second slack DOWN not attempted"
wait_for 3 at_least 1 "$TEAMS_PATH" down hang || fail "second teams DOWN not attempted"
down_files=$(spooled paris down)
assert_eq 3 "$(wc -l <<<"$down_files")" "second DOWN bodies spooled"
mkdir "$TMP/kept"
for f in $down_files; do cp "$f" "$TMP/kept/$(basename "$(dirname "$f")").json"; done
epmon_stop run1
assert_eq 0 "$rc" "exit status after SIGTERM mid-POST"
awk -v t="$took" 'BEGIN { exit !(t < 7) }' ||
	fail "SIGTERM mid-POST took $took s (more than 2 s per hung webhook + 1)"
e2e_log "ok: epmon stopped in $took s with 3 POSTs hanging"
if grep -q "sender did not stop" "$TMP/run1.err"; then
	fail "a webhook sender did not stop: $(grep 'did not stop' "$TMP/run1.err")"
fi
assert_eq "$down_files" "$(spooled paris down)" "DOWN bodies still spooled after the stop"
rm -f "$CTL.hang"
epmon_start "$CFG" run2
wait_for 6 at_least 2 "$JSON_PATH" down 200 || fail "spooled DOWN not delivered after the restart"
wait_for 6 at_least 2 "$SLACK_PATH" down 200 || fail "spooled slack DOWN not delivered after the restart"
wait_for 6 at_least 2 "$TEAMS_PATH" down 200 || fail "spooled teams DOWN not delivered after the restart"
expect_log "$TMP/run2.err" "<6>info: \[paris\] alert state restored: alerted, [0-9]+ failed cycle" \
	"state restored at start"
wait_for 3 test -z "$(spooled paris down)" || fail "DOWN still spooled after delivery"
n=$(csv_count "$R" paris)
wait_csv_rows "$R" paris $((n + 2)) 8 || fail "no 2 cycles after the restart"
epmon_stop run2
assert_eq 0 "$rc" "exit status"
/usr/bin/python3 - "$REQS" "$TMP/kept" "$S/webhooks" <<'EOF' || fail "delivered bodies"
import glob, json, os, sys
log, kept, spools = sys.argv[1:4]
reqs = [json.loads(l) for l in open(log)]
for f in sorted(glob.glob(kept + "/*.json")):
    body = open(f).read()
    # the webhook of this spool: the one whose POST of this body hung (the 404 one has
    # the same json body; a slack text has no time: the first outage's DOWN is the same)
    hung = [r["path"] for r in reqs if r["body"] == body and r["answer"] == "hang"]
    assert len(hung) == 1, "%s: hung %r" % (os.path.basename(f), hung)
    got = [r for r in reqs if r["body"] == body and r["path"] == hung[0]]
    first = [r["answer"] for r in got].index("hang")
    answers = [r["answer"] for r in got[first:]]
    assert answers == ["hang", 200], "%s: answers %r" % (os.path.basename(f), answers)
print("second DOWN: each body hung once, then delivered once byte for byte", file=sys.stderr)
EOF
e2e_log "ok: the spooled second DOWN delivered exactly once per webhook, byte for byte"
for p in "$JSON_PATH" "$SLACK_PATH" "$TEAMS_PATH"; do
	assert_eq 2 "$(count "$p" down 200)" "DOWNs delivered to $p (one per outage)"
	assert_eq 1 "$(count "$p" up 200)" "UPs delivered to $p"
done
assert_eq "2 1" "$(count "$GONE_PATH" down 404) $(count "$GONE_PATH" up 404)" \
	"DOWNs and UPs answered 404 (each once)"
dead=$(find "$S/webhooks" -path '*/dead/*' -type f -printf '%P\n' 2>/dev/null | sed -E 's/^[0-9a-f]{16}/H/; s/^.*-paris-/H\/dead\/-paris-/' | sort | uniq -c | awk '{print $1, $2}' | tr '\n' ' ')
dirs=$(find "$S/webhooks" -type d -name dead | wc -l)
assert_eq 1 "$dirs" "dead/ directories (the 404 webhook's only)"
assert_eq "2 H/dead/-paris-down.json 2 H/dead/-paris-down.json.reason 1 H/dead/-paris-up.json 1 H/dead/-paris-up.json.reason " \
	"$dead" "dead letters (bodies and reasons)"
reason=$(cat "$(find "$S/webhooks" -path '*/dead/*-paris-up.json.reason')")
assert_match "^http://127\.0\.0\.1:$PORT/\.\.\. answered HTTP 404 \(gone ?\)$" "$reason" ".reason of the dead UP"

# ---- 4. the URL paths stay secret ----
e2e_log "4. epmon's log never shows the URL paths"
for f in "$TMP"/run*.err; do
	if grep -nE 'SECRETTOKEN|/hooks/|/services/|/teams/|/gone/' "$f"; then
		fail "$f shows a webhook URL path (above)"
	fi
done
expect_log "$TMP/run1.err" "http://127\.0\.0\.1:$PORT/\.\.\." "URL logged as scheme://host:port/..."
assert_no_sanitizer "$TMP/run1.err" "$TMP/run2.err"
echo "PASS: one signed DOWN per webhook (json, slack, teams), a 404 dead at once, UP spooled through 500s and delivered once with outage_s, a POST cut by SIGTERM delivered once after the restart, URL paths never logged"
