#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The daemon against the lab: `epmon run` with 3 sites (gateway 2 with a wrong password)
# and frequency 3 s, SIGTERM after the 3rd cycle. Expect exit 0, exactly 9 rows: gw1 and
# gw3 OK three times (login_ms > 0), gw2 FAIL at vpn_login ("bad credentials") three
# times; cycles 3 s apart (the fixed cycle grid, no overrun), and the probe left as it was.
# The sites of a cycle run at the same time (isolation netns, default concurrency): rows
# come in the order the sites finish, so a cycle is any order of the 3 sites.
# (A wrong-password openconnect sometimes needs SIGTERM after teardown_timeout: see
# test_vpn_wrong_password_stop.sh; here that shows as an overrun.)
set -u
E2E_PREFIX=${E2E_PREFIX:-vpncy$$}
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"

vpn_test_setup 3
# each site fits: 2 pings x ((3 - 1) x 0.1 + 0.3) + login_timeout 2 = 3 <= 3
write_config "$TMP/config.yml" 3 "{count: 3, interval: 0.1, timeout: 0.3}" <<YAML
$(lab_openconnect_site gw1 1 login_timeout=2)
$(lab_openconnect_site gw2 2 password_file="$LAB_WRONG_PASSWORD_FILE" login_timeout=2)
$(lab_openconnect_site gw3 3 login_timeout=2)
YAML
probe_snapshot "$TMP"

ip netns exec "$LAB_NS_PROBE" "$EPMON" -v run -c "$TMP/config.yml" >"$TMP/run.out" 2>"$TMP/run.err" &
RUN=$!
register_pid "$RUN"
# 3 cycles take ~7 s; 40 s leaves room for a slow teardown to show in the rows
wait_csv_rows "$TMP/results" "" 9 40 || { cat "$TMP/run.err" >&2; fail "no 9 rows in 40 s"; }
kill -TERM "$RUN"
wait "$RUN"
rc=$?
sed 's/^/    err| /' "$TMP/run.err" >&2
assert_no_sanitizer "$TMP/run.err"
assert_eq 0 "$rc" "exit status of run after SIGTERM"
CSV=$(results_file "$TMP/results")
cat "$CSV" >&2
assert_eq 9 "$(csv_count "$TMP/results")" "rows after 3 cycles"

python3 - "$CSV" >&2 <<'PY' || fail "row checks (above)"
import csv, datetime, re, sys
rows = list(csv.DictReader(open(sys.argv[1], newline="")))
bad = []
def check(cond, what):
    print(("ok: " if cond else "BAD: ") + what)
    if not cond:
        bad.append(what)
check(all(sorted(r["site"] for r in rows[3 * k:3 * k + 3]) == ["gw1", "gw2", "gw3"]
          for k in range(3)), "each cycle: one row of each site")
for r in rows:
    s = r["site"]
    if s == "gw2":
        check(r["result"] == "FAIL" and r["failed_step"] == "vpn_login", "%s: FAIL at vpn_login" % s)
        check(r["login_ms"] == "" and r["internal_rtt_ms"] == "" and r["internal_loss_pct"] == "",
              "%s: no login or internal figures" % s)
        check(re.match(r"failed in auth after [0-9.]+ m?s: bad credentials", r["detail"]), "%s: detail %r" % (s, r["detail"]))
    else:
        check(r["result"] == "OK" and r["failed_step"] == "", "%s: OK" % s)
        check(r["login_ms"] != "" and float(r["login_ms"]) > 0, "%s: login_ms %s > 0" % (s, r["login_ms"]))
        check(r["internal_loss_pct"] == "0.0" and float(r["internal_rtt_ms"]) > 0,
              "%s: internal ping %s ms" % (s, r["internal_rtt_ms"]))
        check(r["detail"] == "", "%s: empty detail" % s)
    check(float(r["external_rtt_ms"]) > 0 and r["external_loss_pct"] == "0.0", "%s: external ping" % s)
    check(r["teardown_ms"] != "" and float(r["teardown_ms"]) > 0, "%s: teardown_ms" % s)
    check("ignored SIGINT" not in r["detail"], "%s: client stopped by SIGINT (%s ms)" % (s, r["teardown_ms"]))
# the first site of each cycle starts on the grid (start + k x 3 s); the others start
# with it or after it, within the same cycle
t = [datetime.datetime.fromisoformat(r["timestamp"]) for r in rows]
starts = [min(t[3 * k:3 * k + 3]) for k in range(3)]
gaps = [(b - a).total_seconds() for a, b in zip(starts, starts[1:])]
check(all(abs(g - 3.0) < 0.3 for g in gaps), "cycles start 3 s apart: %s" % gaps)
for k in range(3):
    offs = [(x - starts[k]).total_seconds() for x in t[3 * k:3 * k + 3]]
    check(all(0 <= o < 3.0 for o in offs), "cycle %d: sites within the cycle: %s" % (k + 1, offs))
sys.exit(1 if bad else 0)
PY
if grep -q 'longer than frequency' "$TMP/run.err"; then
	grep -E 'longer than frequency|ignored SIGINT' "$TMP/run.err" >&2
	fail "a cycle overran (above)"
fi
assert_eq 3 "$(grep -c 'cycle [0-9]*: 3 site(s), 1 failed' "$TMP/run.err")" "cycles logged as 3 sites, 1 failed"
grep -q 'stopping on signal 15 after 3 cycle(s)' "$TMP/run.err" || fail "no 'stopping on signal 15 after 3 cycle(s)'"
probe_assert_clean "$TMP"
e2e_log "PASS"
