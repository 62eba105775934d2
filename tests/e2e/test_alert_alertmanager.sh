#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Alertmanager (issue 11) for real: /usr/bin/prometheus-alertmanager (0.25, clustering off)
# on 127.0.0.1 of the test's namespace, route receiver "none" grouped by [site]; `epmon run`
# in the same namespace (frequency 1 s, failure_threshold 2, success_threshold 1, labels
# {team: netops}). Checked through Alertmanager's API v2:
#   1. paris fails -> its alert EpmonSiteDown {site, probe, failed_step, severity, team} is
#      active with the documented annotations, startsAt = when DOWN was decided, endsAt at
#      least 3 min ahead; it stays active over more cycles (same startsAt, updated).
#   2. a second probe (another epmon, probe_name probe-b, its own state) fails paris too:
#      two alerts with site paris, in ONE group of /api/v2/alerts/groups.
#   3. paris recovers -> both alerts resolve: Alertmanager 0.25 leaves an alert whose endsAt
#      has passed out of GET /api/v2/alerts (active or not), so they disappear well before
#      the firing endsAt (3 min); they stay gone while epmon re-sends them resolved.
#   4. Alertmanager is down when lyon goes DOWN: epmon logs the failure and keeps the
#      document in STATE/alertmanager; Alertmanager started again (same port) -> lyon's
#      alert appears, the same epmon process still running.
set -u
E2E_PREFIX=${E2E_PREFIX:-alert$$a}
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=tests/e2e/alert_lib.sh
. "$(dirname "$0")/alert_lib.sh"

sink_require
require_cmd prometheus-alertmanager
sink_topology
e2e_tmpdir TMP
PORT=19093
AM=http://127.0.0.1:$PORT
PARIS=10.215.9.1
LYON=10.215.9.2
sink_answer "$LYON" 1

cat >"$TMP/am.yml" <<'EOF'
route:
  receiver: none
  group_by: [site]
receivers:
  - name: none
EOF

# am_start: Alertmanager in $P on 127.0.0.1:$PORT, its pid in $AM_PID (registered); waits
# (10 s) until GET /api/v2/status answers.
am_start() {
	ip netns exec "$P" prometheus-alertmanager --config.file="$TMP/am.yml" \
		--storage.path="$TMP/am-data" --web.listen-address="127.0.0.1:$PORT" \
		--cluster.listen-address= --log.level=warn 2>>"$TMP/am.log" &
	AM_PID=$!
	register_pid "$AM_PID"
	if ! wait_for 10 am_up; then
		cat "$TMP/am.log" >&2
		fail "Alertmanager did not answer on $AM within 10 s"
	fi
	e2e_log "Alertmanager $(am_get /api/v2/status | /usr/bin/python3 -c \
		'import json,sys; print(json.load(sys.stdin)["versionInfo"]["version"])') up (pid $AM_PID)"
}

# am_get PATH: GET $AM/PATH from inside $P; the body on stdout, fails unless 200.
am_get() {
	ip netns exec "$P" /usr/bin/python3 - "$AM$1" <<'EOF'
import sys, urllib.request
sys.stdout.write(urllib.request.urlopen(sys.argv[1], timeout=5).read().decode())
EOF
}

# am_up: true when GET /api/v2/status answers.
am_up() { am_get /api/v2/status >/dev/null 2>&1; }

# alerts [SITE]: the alerts Alertmanager lists (of SITE), one a line, as
# "probe site failed_step state startsAt" (sorted).
alerts() {
	am_get /api/v2/alerts | /usr/bin/python3 -c '
import json, sys
site = sys.argv[1]
for a in sorted(json.load(sys.stdin), key=lambda a: sorted(a["labels"].items())):
    l = a["labels"]
    if l.get("alertname") == "EpmonSiteDown" and (not site or l.get("site") == site):
        print(l["probe"], l["site"], l["failed_step"], a["status"]["state"], a["startsAt"])
' "${1:-}"
}

# n_alerts N [SITE]: true when Alertmanager lists exactly N alerts (of SITE); fails the
# test at once when an epmon of $RUNNING (NAME:PID ...) has died (a sanitizer report?).
RUNNING=
n_alerts() {
	local r
	for r in $RUNNING; do
		if ! kill -0 "${r#*:}" 2>/dev/null; then
			assert_no_sanitizer "$TMP/${r%:*}.err"
			fail "epmon ${r%:*} (pid ${r#*:}) died: $(cat "$TMP/${r%:*}.err")"
		fi
	done
	[ "$(alerts "${2:-}" | grep -c .)" -eq "$1" ]
}

# epmon_config CFG NAME PROBE: the config of probe PROBE, results and state in $TMP/NAME.
epmon_config() {
	sink_config "$1" "$TMP/$2/results" "$TMP/$2/state" "$3" "  failure_threshold: 2
  success_threshold: 1
  retry_min: 1s
  retry_max: 2s
  alertmanager:
    url: $AM
    labels: {team: netops}
    timeout: 2s" \
"  - {name: paris, external_ip: $PARIS}
  - {name: lyon, external_ip: $LYON}"
}

# ---- 1. one probe, paris down ----
e2e_log "1. paris fails: its alert is active in Alertmanager"
am_start
epmon_config "$TMP/a.yml" a probe-a
epmon_start "$TMP/a.yml" a
A_PID=$RUN_PID
RUNNING="a:$A_PID"
wait_for 10 n_alerts 1 || fail "no alert in Alertmanager within 10 s: $(cat "$TMP/a.err")"
expect_log "$TMP/a.err" "<4>warning: \[paris\] alert: \[epmon\] DOWN paris: external_ping failed 2x" "DOWN logged"
am_get /api/v2/alerts >"$TMP/alerts.json" || fail "GET /api/v2/alerts"
/usr/bin/python3 - "$PARIS" "$TMP/alerts.json" "$TMP/a/results" >"$TMP/first" <<'EOF' ||
import csv, datetime, glob, json, sys
addr, alerts, results = sys.argv[1], json.load(open(sys.argv[2])), sys.argv[3]
t = lambda s: datetime.datetime.fromisoformat(s.replace("Z", "+00:00")).timestamp()
# DOWN is decided at the end of paris's 2nd failed cycle (a few ms)
rows = [r for p in sorted(glob.glob(results + "/results-*.csv"))
        for r in csv.DictReader(open(p, newline="")) if r["site"] == "paris"]
assert [r["result"] for r in rows[:2]] == ["FAIL", "FAIL"], rows
down = t(rows[1]["timestamp"])
assert len(alerts) == 1, alerts
a = alerts[0]
want = {"alertname": "EpmonSiteDown", "site": "paris", "probe": "probe-a",
        "failed_step": "external_ping", "severity": "critical", "team": "netops"}
assert a["labels"] == want, "labels %r" % a["labels"]
assert a["annotations"] == {
    "summary": "paris is down from probe probe-a: external_ping failed",
    "detail": "cannot send to %s: Network is unreachable" % addr}, a["annotations"]
assert a["status"]["state"] == "active", a["status"]
assert [r["name"] for r in a["receivers"]] == ["none"], a["receivers"]
assert abs(t(a["startsAt"]) - down) < 1.5, "startsAt %s, 2nd failed cycle at %s" % (
    a["startsAt"], rows[1]["timestamp"])
assert t(a["endsAt"]) >= down + 179, "endsAt %s, DOWN at %s" % (a["endsAt"], rows[1]["timestamp"])
print(a["startsAt"], a["updatedAt"])
EOF
	fail "alert of paris: $(cat "$TMP/alerts.json")"
read -r starts updated <"$TMP/first"
e2e_log "ok: paris's alert: the 6 labels, annotations, active, startsAt $starts (the DOWN), endsAt >= 3 min ahead"
n=$(csv_count "$TMP/a/results" paris)
wait_csv_rows "$TMP/a/results" paris $((n + 3)) 8 || fail "no 3 more cycles"
# the document of the 3rd cycle may still be on its way: wait for a newer update
updated_later() {
	am_get /api/v2/alerts | /usr/bin/python3 -c '
import datetime, json, sys
t = lambda s: datetime.datetime.fromisoformat(s.replace("Z", "+00:00")).timestamp()
a = json.load(sys.stdin)
sys.exit(not (len(a) == 1 and t(a[0]["updatedAt"]) > t(sys.argv[1])))' "$updated"
}
wait_for 5 updated_later || fail "the alert was not updated over 3 cycles: $(am_get /api/v2/alerts)"
assert_eq "probe-a paris external_ping active $starts" "$(alerts)" "paris's alert 3 cycles later"

# ---- 2. a second probe ----
e2e_log "2. probe-b fails paris too: two alerts, one group"
epmon_config "$TMP/b.yml" b probe-b
epmon_start "$TMP/b.yml" b
B_PID=$RUN_PID
RUNNING="a:$A_PID b:$B_PID"
wait_for 10 n_alerts 2 paris || fail "no second alert of paris within 10 s: $(alerts)"
assert_eq "probe-a probe-b" "$(alerts paris | awk '{print $1}' | tr '\n' ' ' | sed 's/ $//')" \
	"probes of paris's alerts"
am_get /api/v2/alerts/groups | /usr/bin/python3 -c '
import json, sys
groups = json.load(sys.stdin)
g = [g for g in groups if g["labels"].get("site") == "paris"]
assert len(g) == 1, "groups of paris: %r" % groups
g = g[0]
assert g["labels"] == {"site": "paris"} and g["receiver"]["name"] == "none", g
probes = sorted(a["labels"]["probe"] for a in g["alerts"])
assert probes == ["probe-a", "probe-b"], probes
assert len(groups) == 1, "other groups: %r" % groups
' || fail "groups: $(am_get /api/v2/alerts/groups)"
e2e_log "ok: one group {site: paris} with the alerts of probe-a and probe-b"

# ---- 3. recovery ----
e2e_log "3. paris answers again: both alerts resolve"
sink_answer "$PARIS" 1
wait_log "$TMP/a.err" "<6>info: \[paris\] alert: \[epmon\] UP paris after" 5 || fail "no UP in probe-a's log"
wait_log "$TMP/b.err" "<6>info: \[paris\] alert: \[epmon\] UP paris after" 5 || fail "no UP in probe-b's log"
wait_for 10 n_alerts 0 || fail "alerts not resolved 10 s after the recovery: $(am_get /api/v2/alerts)"
e2e_log "ok: Alertmanager lists no alert (both resolved, long before the firing endsAt)"
n=$(csv_count "$TMP/a/results" paris)
wait_csv_rows "$TMP/a/results" paris $((n + 2)) 8 || fail "no 2 more cycles"
assert_eq "" "$(alerts)" "alerts 2 cycles later (resolved ones re-sent)"
RUNNING="a:$A_PID"
RUN_PID=$B_PID
epmon_stop b
assert_eq 0 "$rc" "probe-b's exit status"

# ---- 4. Alertmanager down ----
e2e_log "4. Alertmanager stopped, then lyon fails"
kill -TERM "$AM_PID"
wait "$AM_PID"
sink_answer "$LYON" 0
wait_log "$TMP/a.err" "\[lyon\] alert: \[epmon\] DOWN lyon" 8 || fail "no DOWN of lyon"
wait_log "$TMP/a.err" "<3>error: cannot send the Alertmanager document .*Failed to connect to 127\.0\.0\.1 port $PORT" 8 ||
	fail "no failed delivery logged: $(tail -5 "$TMP/a.err")"
line=$(grep -E "<3>error: cannot send the Alertmanager document .*Failed to connect" "$TMP/a.err" | head -1)
e2e_log "logged: $line"
assert_match "http://127\.0\.0\.1:$PORT/\.\.\.: .*; [0-9]+ message\(s\) kept in the spool, next attempt in [0-9]+ s$" \
	"$line" "failed delivery logged"
# kept_doc: true when one document waits in the spool and has lyon's alert (a copy in
# $TMP/kept.json). Each cycle puts its own in place of the last: two for an instant.
kept_doc() {
	local f
	f=$(find "$TMP/a/state/alertmanager" -maxdepth 1 -name '*.json')
	[ -n "$f" ] && [ "$(grep -c . <<<"$f")" = 1 ] && cp "$f" "$TMP/kept.json" 2>/dev/null &&
		grep -q '"site":"lyon"' "$TMP/kept.json"
}
wait_for 3 kept_doc || fail "no single document with lyon's alert kept in $TMP/a/state/alertmanager: $(ls -l "$TMP/a/state/alertmanager")"
/usr/bin/python3 - "$TMP/kept.json" "$TMP/a/results" "$starts" <<'EOF' || fail "kept document: $(cat "$TMP/kept.json")"
import csv, datetime, glob, json, sys
doc, results, starts = json.load(open(sys.argv[1])), sys.argv[2], sys.argv[3]
t = lambda s: datetime.datetime.fromisoformat(s.replace("Z", "+00:00")).timestamp()
rows = [r for p in sorted(glob.glob(results + "/results-*.csv"))
        for r in csv.DictReader(open(p, newline=""))]
ts = lambda r: t(r["timestamp"])
by = {a["labels"]["site"]: a for a in doc}
assert sorted(by) == ["lyon", "paris"] and len(doc) == 2, doc
p, l = by["paris"], by["lyon"]
# paris: resolved, endsAt = its recovery (the end of its first good cycle after the outage)
paris = [r for r in rows if r["site"] == "paris"]
last_fail = max(i for i, r in enumerate(paris) if r["result"] == "FAIL")
recovered = ts(paris[last_fail + 1])
assert abs(t(p["startsAt"]) - t(starts)) < 1, (p, starts)
assert abs(t(p["endsAt"]) - recovered) < 1.5, "paris endsAt %s, recovered %s" % (
    p["endsAt"], paris[last_fail + 1]["timestamp"])
assert p["labels"]["probe"] == "probe-a" and p["labels"]["failed_step"] == "external_ping", p
# lyon: firing, endsAt >= 3 min after its DOWN
lyon = [r for r in rows if r["site"] == "lyon"]
first_fail = min(i for i, r in enumerate(lyon) if r["result"] == "FAIL")
assert t(l["endsAt"]) - ts(lyon[first_fail + 1]) >= 179, l
assert l["labels"] == {"alertname": "EpmonSiteDown", "site": "lyon", "probe": "probe-a",
                       "failed_step": "external_ping", "severity": "critical",
                       "team": "netops"}, l["labels"]
print("kept: paris resolved at %s, lyon firing until %s" % (p["endsAt"], l["endsAt"]),
      file=sys.stderr)
EOF
e2e_log "ok: the kept document holds lyon's alert (firing) and paris's (resolved at its recovery)"
am_start
wait_for 8 n_alerts 1 lyon || fail "lyon's alert did not reach the restarted Alertmanager in 8 s: $(alerts)"
assert_match "^probe-a lyon external_ping active " "$(alerts)" "alerts after Alertmanager's restart"
kill -0 "$A_PID" 2>/dev/null || fail "probe-a's epmon is gone"
assert_eq 1 "$(grep -c 'started: 2 site' "$TMP/a.err")" "starts of probe-a's epmon"
RUN_PID=$A_PID
epmon_stop a
assert_eq 0 "$rc" "probe-a's exit status"
if grep -E "sent the Alertmanager document" "$TMP/a.err" "$TMP/b.err"; then
	fail "Alertmanager deliveries are logged above debug level"
fi
assert_no_sanitizer "$TMP/a.err" "$TMP/b.err"
echo "PASS: the alert of a failing site active with its labels, two probes in one group, resolved on recovery, delivered after Alertmanager came back"
