#!/usr/bin/env bash
# `epmon report` through the real binary, on a results directory written here: five days in
# Europe/Paris across the switch to summer time, one day missing, damaged and partial lines.
# Every figure of the JSON output (availability, failed cycles by step, outages, login and
# RTT percentiles) is checked against an independent computation in Python; the CSV output
# is parsed with Python's csv module and must agree with the JSON; the text output holds
# every site and outage. Damaged lines: one "FILE:LINE: why" each on stderr, exit 0. Then
# the site filter, options before the command, the default range (the last 7 days), and the
# usage errors (exit 2) and an unreadable results directory (exit 1). No root needed.
set -u
E2E_PREFIX=${E2E_PREFIX:-report$$}
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"

[ -x "${EPMON:-}" ] || fail "EPMON (the epmon binary) not set or not executable: '${EPMON:-}'"
require_cmd python3
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3
export TZ=Europe/Paris
e2e_tmpdir TMP
mkdir -p "$TMP/results" "$TMP/state"

cat >"$TMP/config.yml" <<EOF
frequency: 300
results: {directory: $TMP/results}
state_directory: $TMP/state
sites:
  - {name: paris, external_ip: 192.0.2.1}
EOF
chmod 600 "$TMP/config.yml"

# epmon ARGS...: stdout in $TMP/out, stderr in $TMP/err, exit status in $rc.
epmon() {
	timeout 60 "$EPMON" "$@" >"$TMP/out" 2>"$TMP/err"
	rc=$?
	assert_no_sanitizer "$TMP/err"
}

# ---- the data, and what the report must say about it (expected.json) ----
"$PY" - "$TMP/results" "$TMP/expected.json" <<'PYEOF' || fail "cannot generate the data"
import datetime, json, math, random, sys
d, expected_path = sys.argv[1:3]
rnd = random.Random(6)
tz = datetime.datetime.now().astimezone().tzinfo
HEADER = ("timestamp,site,result,failed_step,external_rtt_ms,external_loss_pct,login_ms,"
          "internal_rtt_ms,internal_loss_pct,teardown_ms,detail\n")
STEPS = ["external_ping", "vpn_login", "internal_ping", "teardown"]
sites = {s: {"rows": []} for s in ["paris", "lyon", "nice-2"]}

def stamp(ts):
    t = datetime.datetime.fromtimestamp(ts).astimezone()
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + "%03d" % rnd.randrange(1000) + t.strftime("%z")[:3] + ":" + t.strftime("%z")[3:]

def iso(ts):
    return datetime.datetime.fromtimestamp(ts).astimezone().isoformat()

files = {}
days = ["2026-03-27", "2026-03-28", "2026-03-29", "2026-03-31"]   # 03-30 missing
for day in days:
    y, m, dd = map(int, day.split("-"))
    start = int(datetime.datetime(y, m, dd).astimezone().timestamp())
    end = int((datetime.datetime(y, m, dd) + datetime.timedelta(days=1)).astimezone().timestamp())
    lines = [HEADER]
    for c in range(start, end, 1800):
        for k, name in enumerate(sites):
            ts = c + k
            s = sites[name]
            # nice-2 is down from 2026-03-31 20:00 to the end: an open outage
            down = (name == "nice-2" and day == "2026-03-31" and c >= end - 4 * 3600)
            if down or rnd.random() < (0.15 if name == "lyon" else 0.03):
                step = "vpn_login" if down else rnd.choice(STEPS)
            else:
                step = ""
            ext = "" if step == "external_ping" else "%.3f" % rnd.uniform(1, 90)
            login = ("" if step == "external_ping" else
                     "30000.0" if step == "vpn_login" else "%.1f" % rnd.uniform(500, 9000))
            intr = "" if step in ("external_ping", "vpn_login", "internal_ping") else "%.3f" % rnd.uniform(5, 120)
            detail = '"x, ""quoted"" detail"' if step else '""'
            site_field = name
            lines.append("%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s\n" % (
                stamp(ts), site_field, "FAIL" if step else "OK", step, ext,
                "100.0" if step == "external_ping" else "0.0", login, intr,
                "100.0" if step == "internal_ping" else "" if not intr else "0.0", "100.0", detail))
            s["rows"].append((ts, step, ext, login, intr))
    files[day] = lines

# damage: garbage, a bad number, a bad result, a row cut short (the last line, no '\n')
files["2026-03-28"].insert(5, "garbage\n")
files["2026-03-28"].insert(9, "2026-03-28T02:00:00.000+01:00,lyon,OK,,1.2.3,0.0,1.0,2.0,0.0,3.0,\"\"\n")
files["2026-03-29"].insert(2, "2026-03-29T00:00:00.000+01:00,lyon,MAYBE,,1.0,0.0,1.0,2.0,0.0,3.0,\"\"\n")
files["2026-03-31"].append("2026-03-31T23:59:59.000+02:00,lyon,OK,,1.0,0.0,12")
damaged = [("results-2026-03-28.csv", 6, "bad timestamp"),
           ("results-2026-03-28.csv", 10, "bad number"),
           ("results-2026-03-29.csv", 3, "bad result (not OK or FAIL)"),
           ("results-2026-03-31.csv", len(files["2026-03-31"]), "too few fields")]
for day, lines in files.items():
    with open("%s/results-%s.csv" % (d, day), "w") as f:
        f.write("".join(lines))

def pct(vals, p):
    if not vals:
        return None
    v = sorted(vals)
    return v[max(0, math.ceil(p / 100 * len(v)) - 1)]

out = {"damaged": damaged, "sites": {}}
for name, s in sites.items():
    rows = s["rows"]
    failed = [r for r in rows if r[1]]
    by = {k: sum(1 for r in failed if r[1] == k) for k in STEPS}
    logins = [float(r[3]) for r in rows if r[3] and r[1] not in ("vpn_login", "external_ping")]
    exts = [float(r[2]) for r in rows if r[2]]
    ints = [float(r[4]) for r in rows if r[4]]
    outages, cur = [], None
    for ts, step, *_ in rows:
        if step and cur is None:
            cur = {"start": ts, "end": ts, "cycles": 0, "step": step, "open": True}
            outages.append(cur)
        if step:
            cur["cycles"] += 1
            cur["end"] = ts
        elif cur is not None:
            cur["end"] = ts
            cur["open"] = False
            cur = None
    for o in outages:
        o["duration_s"] = o["end"] - o["start"]
        o["start"], o["end"] = iso(o["start"]), iso(o["end"])
    out["sites"][name] = {
        "cycles": len(rows), "failed": len(failed),
        "availability_pct": round(100 * (len(rows) - len(failed)) / len(rows), 3),
        "failed_by_step": dict(by, other=0),
        "login_ms": [len(logins), pct(logins, 50), pct(logins, 95), max(logins)],
        "external_rtt_ms": [len(exts), pct(exts, 50), pct(exts, 95)],
        "internal_rtt_ms": [len(ints), pct(ints, 50), pct(ints, 95)],
        "outages": outages}
json.dump(out, open(expected_path, "w"))
PYEOF

# ---- json: every figure ----
epmon report -c "$TMP/config.yml" --from 2026-03-27 --to 2026-03-31 --format json
assert_eq 0 "$rc" "report json: exit status"
cp "$TMP/out" "$TMP/report.json"
"$PY" - "$TMP/report.json" "$TMP/expected.json" "$TMP/err" "$TMP/results" <<'PYEOF' || fail "json report differs (above)"
import json, sys
got = json.load(open(sys.argv[1]))
exp = json.load(open(sys.argv[2]))
err = open(sys.argv[3]).read().splitlines()
d = sys.argv[4]
problems = []
def check(what, g, e, tol=0):
    ok = (g == e) if tol == 0 or g is None or e is None else abs(g - e) <= tol
    if not ok:
        problems.append("%s: got %r, expected %r" % (what, g, e))
want_err = ["%s/%s:%d: %s" % (d, f, n, why) for f, n, why in exp["damaged"]]
check("stderr", err, want_err)
check("damaged_lines", got["damaged_lines"], len(want_err))
check("from", got["from"], "2026-03-27T00:00:00+01:00")
check("to", got["to"], "2026-03-31T23:59:59+02:00")
check("site order", [s["site"] for s in got["sites"]], sorted(exp["sites"]))
for s in got["sites"]:
    e = exp["sites"][s["site"]]
    n = s["site"]
    for k in ("cycles", "failed", "availability_pct", "failed_by_step"):
        check(n + " " + k, s[k], e[k])
    for k in ("login_ms", "external_rtt_ms", "internal_rtt_ms"):
        g = s[k]
        check(n + " " + k + " count", g["count"], e[k][0])
        check(n + " " + k + " p50", g["p50"], e[k][1], 0.0011)
        check(n + " " + k + " p95", g["p95"], e[k][2], 0.0011)
        if k == "login_ms":
            check(n + " login max", g["max"], e[k][3], 0.0011)
    check(n + " outages", s["outages"], e["outages"])
for p in problems:
    print(p)
print("json: %d sites, %d outages, %d rows checked" % (len(got["sites"]),
      sum(len(s["outages"]) for s in got["sites"]), got["rows"]))
sys.exit(1 if problems else 0)
PYEOF
e2e_log "ok: json figures match the independent computation"
grep -q '"open": true' "$TMP/report.json" || fail "no open outage in the json report"

# ---- csv: the same figures ----
epmon report -c "$TMP/config.yml" --from 2026-03-27 --to 2026-03-31 --format csv
assert_eq 0 "$rc" "report csv: exit status"
"$PY" - "$TMP/out" "$TMP/report.json" <<'PYEOF' || fail "csv report differs from the json one"
import csv, io, json, sys
text = open(sys.argv[1]).read()
got = json.load(open(sys.argv[2]))
summary, outages = text.split("\n\n")
rows = list(csv.DictReader(io.StringIO(summary)))
orows = list(csv.DictReader(io.StringIO(outages)))
assert [r["site"] for r in rows] == [s["site"] for s in got["sites"]], rows
for r, s in zip(rows, got["sites"]):
    assert int(r["cycles"]) == s["cycles"] and int(r["failed"]) == s["failed"], r
    assert float(r["availability_pct"]) == s["availability_pct"], r
    assert float(r["login_p95_ms"]) == s["login_ms"]["p95"], r
    assert float(r["internal_rtt_p50_ms"]) == s["internal_rtt_ms"]["p50"], r
    assert int(r["failed_vpn_login"]) == s["failed_by_step"]["vpn_login"], r
    assert int(r["outages"]) == len(s["outages"]), r
flat = [(s["site"], o) for s in got["sites"] for o in s["outages"]]
assert len(orows) == len(flat), (len(orows), len(flat))
for r, (site, o) in zip(orows, flat):
    assert (r["site"], r["outage_start"], r["outage_end"], int(r["duration_s"]), int(r["cycles"]),
            r["step"], r["open"]) == (site, o["start"], o["end"], o["duration_s"], o["cycles"],
                                      o["step"], "yes" if o["open"] else "no"), (r, o)
print("csv: %d sites, %d outages agree with json" % (len(rows), len(orows)))
PYEOF
e2e_log "ok: csv agrees with json"

# ---- text ----
epmon report -c "$TMP/config.yml" --from 2026-03-27 --to 2026-03-31
assert_eq 0 "$rc" "report text: exit status"
assert_eq 4 "$(wc -l <"$TMP/err")" "report text: damaged lines on stderr"
head -1 "$TMP/out" | grep -q "2026-03-27 00:00:00 .. 2026-03-31 23:59:59 (local time): 3 sites, .* rows, 4 damaged lines skipped" ||
	fail "text header: $(head -1 "$TMP/out")"
for s in lyon nice-2 paris; do
	assert_eq 2 "$(grep -cE "^$s +[0-9.]+ +[0-9.-]+ " "$TMP/out")" "text: rows of $s in the two tables"
done
n_out=$("$PY" -c 'import json,sys; print(sum(len(s["outages"]) for s in json.load(open(sys.argv[1]))["sites"]))' "$TMP/report.json")
assert_eq "$n_out" "$(grep -cE '^[a-z0-9-]+ +20[0-9-]+ [0-9:]+ +(20|open)' "$TMP/out")" "text: outage lines"
grep -qE '^nice-2 +2026-03-31 20:00:02 open +>= *3h 30m +8 vpn_login$' "$TMP/out" ||
	fail "text: the open outage of nice-2: $(grep '^nice-2.*open' "$TMP/out")"

# ---- the site filter, options before the command, one day ----
epmon -c "$TMP/config.yml" --site paris report --site absent --from 2026-03-29 --to 2026-03-29 --format json
assert_eq 0 "$rc" "report --site: exit status"
"$PY" - "$TMP/out" <<'PYEOF' || fail "report --site: $(cat "$TMP/out")"
import json, sys
r = json.load(open(sys.argv[1]))
assert [s["site"] for s in r["sites"]] == ["absent", "paris"], r["sites"]
assert r["sites"][0]["cycles"] == 0 and r["sites"][0]["availability_pct"] is None
assert r["sites"][1]["cycles"] == 46, r["sites"][1]["cycles"]  # 23 h on the spring-forward day
assert r["damaged_lines"] == 1, r["damaged_lines"]
PYEOF
e2e_log "ok: --site filter, a 23-hour day"

# ---- the default range: the last 7 days until now ----
mkdir -p "$TMP/recent"
sed "s|$TMP/results|$TMP/recent|" "$TMP/config.yml" >"$TMP/recent.yml"
chmod 600 "$TMP/recent.yml"
"$PY" - "$TMP/recent" <<'PYEOF' || fail "cannot write recent rows"
import datetime, sys
now = datetime.datetime.now().astimezone()
for age, site in ((datetime.timedelta(hours=1), "fresh"), (datetime.timedelta(days=8), "old")):
    t = (now - age).replace(microsecond=0)
    z = t.strftime("%z")
    with open(sys.argv[1] + "/results-%s.csv" % t.strftime("%Y-%m-%d"), "a") as f:
        f.write("%s.000%s:%s,%s,OK,,1.0,0.0,2.0,3.0,0.0,4.0,\"\"\n" % (
            t.strftime("%Y-%m-%dT%H:%M:%S"), z[:3], z[3:], site))
PYEOF
epmon report -c "$TMP/recent.yml" --format csv
assert_eq 0 "$rc" "report default range: exit status"
assert_eq "fresh" "$(sed -n 2p "$TMP/out" | cut -d, -f1)" "default range: the site of the last hour"
assert_eq "" "$(grep '^old' "$TMP/out")" "default range: nothing older than 7 days"

# ---- a NUL inside a field, a row cut short then written again whole (issue 13) ----
# Today's layout (the end mark last). A NUL in login_ms (9\0000000.5 once read as 9.0) and in
# a site name (al\0ha once read as "al", with an open outage); a row cut just before its
# detail's opening quote, then the header and the row again, as epmon appends after a short
# write: each damaged line reported, the cut row counted once.
mkdir -p "$TMP/torn"
sed "s|$TMP/results|$TMP/torn|" "$TMP/config.yml" >"$TMP/torn.yml"
chmod 600 "$TMP/torn.yml"
"$PY" - "$TMP/torn/results-2026-04-02.csv" <<'PYEOF' || fail "cannot write the torn file"
import sys
H = (b"timestamp,site,result,failed_step,external_rtt_ms,external_loss_pct,login_ms,"
     b"internal_rtt_ms,internal_loss_pct,teardown_ms,detail,internal_first_ms,"
     b"login_connect_ms,login_tls_ms,login_auth_ms,login_tunnel_ms,end\n")
def row(hm, site, login, fail=b"", detail=b'""'):
    return (b"2026-04-02T" + hm + b":00.000+02:00," + site + (b",FAIL," if fail else b",OK,") +
            fail + b",1.500,0.0," + login + b",3.250,0.0,40.0," + detail +
            b",3.100,5.0,300.2,480.1,27.1,.\n")
cut = row(b"00:15", b"paris", b"", b"vpn_login", b'"failed in auth: bad credentials"')
open(sys.argv[1], "wb").write(
    H + row(b"00:00", b"paris", b"812.4") +
    row(b"00:05", b"paris", b"9\x000000000.5") +
    row(b"00:10", b"al\x00ha", b"", b"vpn_login", b'"down"') +
    cut[:cut.index(b'"')] + b"\n" + H + cut +
    row(b"00:20", b"paris", b"20.0"))
PYEOF
epmon report -c "$TMP/torn.yml" --from 2026-04-02 --to 2026-04-02 --format json
assert_eq 0 "$rc" "report on NUL and torn lines: exit status"
F=$TMP/torn/results-2026-04-02.csv
assert_eq "$F:3: NUL byte
$F:4: NUL byte
$F:5: too few fields" "$(cat "$TMP/err")" "NUL and torn lines reported"
"$PY" - "$TMP/out" <<'PYEOF' || fail "report over NUL and torn lines: $(cat "$TMP/out")"
import json, sys
r = json.load(open(sys.argv[1]))
assert r["damaged_lines"] == 3, r["damaged_lines"]
assert [s["site"] for s in r["sites"]] == ["paris"], [s["site"] for s in r["sites"]]
p = r["sites"][0]
assert (p["cycles"], p["failed"], p["failed_by_step"]["vpn_login"]) == (3, 1, 1), p
assert [(o["cycles"], o["open"]) for o in p["outages"]] == [(1, False)], p["outages"]
assert (p["login_ms"]["count"], p["login_ms"]["max"]) == (2, 812.4), p["login_ms"]
PYEOF
e2e_log "ok: NUL and torn lines reported, the cut row counted once"

# ---- usage errors: exit 2, a message, nothing on stdout ----
usage_error() {
	local what=$1
	shift
	epmon "$@"
	assert_eq 2 "$rc" "$what: exit status"
	assert_eq "" "$(cat "$TMP/out")" "$what: stdout"
	[ -s "$TMP/err" ] || fail "$what: no message"
}
usage_error "unknown format" report -c "$TMP/config.yml" --format xml
usage_error "bad date" report -c "$TMP/config.yml" --from 2026-02-30
usage_error "not a date" report -c "$TMP/config.yml" --to yesterday
usage_error "from after to" report -c "$TMP/config.yml" --from 2026-03-31 --to 2026-03-27
usage_error "unknown option" report -c "$TMP/config.yml" --frobnicate
usage_error "extra argument" report -c "$TMP/config.yml" extra
usage_error "missing config" report -c "$TMP/nonexistent.yml"
epmon report --help
assert_eq 0 "$rc" "report --help: exit status"
grep -q -- "--format text|csv|json" "$TMP/out" || fail "report --help: $(cat "$TMP/out")"

# ---- the results directory cannot be read: exit 1 ----
sed "s|$TMP/results|$TMP/no-such-dir|" "$TMP/config.yml" >"$TMP/nodir.yml"
chmod 600 "$TMP/nodir.yml"
epmon report -c "$TMP/nodir.yml"
assert_eq 1 "$rc" "unreadable results directory: exit status"
grep -q "cannot read $TMP/no-such-dir" "$TMP/err" || fail "no such dir: $(cat "$TMP/err")"
e2e_log "all report checks passed"
# SPDX-License-Identifier: MIT
