#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Login phases and the first echo, every client kind against the lab (ocserv, OpenVPN 2.6,
# wireguard-go, strongSwan IKEv2), one cycle of `epmon run` with http (isolation netns):
#   1. each good login writes its phases: openconnect, openvpn and ipsec all four
#      (connect, tls, auth, tunnel), wireguard connect and tunnel (tls and auth empty: it
#      shows none); they add up to login_ms within 1 ms; internal_first_ms is there;
#   2. a failed login names the phase it failed in, and keeps those it got through: a wrong
#      password "failed in auth after T: bad credentials" (openconnect, openvpn) with
#      connect and tls written; a closed port "failed in connect after T: gateway
#      unreachable";
#   3. /metrics has epmon_login_phase_seconds{probe,site,phase} and
#      epmon_internal_first_rtt_seconds, /status the phases, median_ms and first_ms, equal to
#      the CSV's; `epmon report --format json` their p50.
set -u
E2E_PREFIX=${E2E_PREFIX:-phcl$$}
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"

require_root_netns
require_cmd openvpn wireguard-go wg swanctl curl
[ -x /usr/lib/ipsec/charon ] || skip "needs /usr/lib/ipsec/charon (strongswan-charon)"
vpn_test_setup 1 --openvpn --wireguard --ipsec
ovpn_client_conf "$TMP/pw.ovpn" "auth-user-pass"
PORT=9877
E2E_CONFIG_EXTRA="probe_name: phases
http: {listen: \"127.0.0.1:$PORT\"}"
write_config "$TMP/config.yml" 300 "{count: 3, interval: 0.05, timeout: 1}" <<YAML
$(lab_openconnect_site oc 1)
$(lab_openvpn_site ovpn "$TMP/pw.ovpn" username="$LAB_USER" password_file="$LAB_PASSWORD_FILE")
$(lab_wireguard_site wg)
$(lab_ipsec_site ike)
$(lab_openconnect_site ocwrong 1 password_file="$LAB_WRONG_PASSWORD_FILE")
$(lab_openvpn_site ovwrong "$TMP/pw.ovpn" username="$LAB_USER" password_file="$LAB_WRONG_PASSWORD_FILE")
$(lab_openconnect_site occlosed 1 gateway="$LAB_GW1_IP:4443" login_timeout=5)
YAML
probe_snapshot "$TMP"

probe_epmon_bg run run -c "$TMP/config.yml"
wait_csv_rows "$TMP/results" "" 7 60 || { cat "$TMP/run.err" >&2; fail "no 7 rows in 60 s"; }
wait_log "$TMP/run.err" 'cycle 1: 7 site' 10 || fail "cycle 1 not logged"
pc() { ip netns exec "$LAB_NS_PROBE" curl -sS --max-time 10 "http://127.0.0.1:$PORT$1"; }
pc /metrics >"$TMP/metrics" || fail "GET /metrics"
pc /status >"$TMP/status.json" || fail "GET /status"
kill -TERM "$EPMON_PID"
wait_gone "$EPMON_PID" 30 || fail "epmon still running 30 s after SIGTERM"
wait "$EPMON_PID"
assert_eq 0 "$?" "exit status of run after SIGTERM"
sed 's/^/    err| /' "$TMP/run.err" >&2
assert_no_sanitizer "$TMP/run.err"
CSV=$(results_file "$TMP/results")
cat "$CSV" >&2

# ---- 1. and 2.: the CSV ----
python3 - "$CSV" <<'EOF' || fail "the phases in the CSV (above)"
import csv, re, sys
rows = {r["site"]: r for r in csv.DictReader(open(sys.argv[1], newline=""))}
PH = ("connect", "tls", "auth", "tunnel")
bad = []
def check(cond, what):
    if not cond:
        bad.append(what)
def ph(r, p):
    v = r["login_%s_ms" % p]
    return float(v) if v else None
for site, shown in (("oc", PH), ("ovpn", PH), ("ike", PH), ("wg", ("connect", "tunnel"))):
    r = rows[site]
    check(r["result"] == "OK", "%s: %s %s" % (site, r["result"], r["detail"]))
    if r["result"] != "OK":
        continue
    got = {p: ph(r, p) for p in PH}
    check(all(got[p] is not None and got[p] >= 0 for p in shown), "%s: phases %s" % (site, got))
    check(all(got[p] is None for p in PH if p not in shown), "%s: phases it does not show: %s" % (site, got))
    total = sum(v for v in got.values() if v is not None)
    check(abs(total - float(r["login_ms"])) <= 1.0,
          "%s: phases add up to %.1f, login_ms %s" % (site, total, r["login_ms"]))
    check(r["internal_first_ms"] and float(r["internal_first_ms"]) > 0, "%s: internal_first_ms %r" % (site, r["internal_first_ms"]))
    print("%s: login %s = %s, first echo %s ms" % (site, r["login_ms"],
          " + ".join("%s %s" % (p, got[p]) for p in shown), r["internal_first_ms"]), file=sys.stderr)
T = r"after [0-9.]+ (ms|s)"
for site in ("ocwrong", "ovwrong"):
    r = rows[site]
    check(r["failed_step"] == "vpn_login", "%s: failed_step %s" % (site, r["failed_step"]))
    check(re.match(r"^failed in auth %s: bad credentials \(" % T, r["detail"]), "%s: detail %r" % (site, r["detail"]))
    check(ph(r, "connect") is not None and ph(r, "tls") is not None, "%s: connect and tls kept" % site)
    check(ph(r, "auth") is None and ph(r, "tunnel") is None and not r["login_ms"], "%s: no auth, tunnel, login_ms" % site)
r = rows["occlosed"]
check(re.match(r"^failed in connect %s: gateway unreachable \(" % T, r["detail"]), "occlosed: detail %r" % r["detail"])
check(all(ph(r, p) is None for p in PH), "occlosed: no phase")
for b in bad:
    print("FAIL: " + b, file=sys.stderr)
sys.exit(1 if bad else 0)
EOF
e2e_log "ok: the phases in the CSV add up to login_ms; failures name their phase"

# ---- 3.: /metrics, /status and the report agree with the CSV ----
get() { csv_get "$CSV" "$1" "$2"; }
metric() { awk -v k="$1" '$1 == k { print $2 }' "$TMP/metrics"; }
grep -q '^# TYPE epmon_login_phase_seconds gauge$' "$TMP/metrics" || fail "no epmon_login_phase_seconds"
for p in connect tls auth tunnel; do
	assert_near "$(get oc "login_${p}_ms")" \
		"$(awk -v v="$(metric "epmon_login_phase_seconds{probe=\"phases\",site=\"oc\",phase=\"$p\"}")" 'BEGIN { print v * 1000 }')" \
		0.06 "oc: metric of $p = the CSV's (ms)"
done
[ -z "$(metric "epmon_login_phase_seconds{probe=\"phases\",site=\"wg\",phase=\"tls\"}")" ] ||
	fail "a tls phase for wireguard in /metrics"
assert_near "$(get ike internal_first_ms)" \
	"$(awk -v v="$(metric "epmon_internal_first_rtt_seconds{probe=\"phases\",site=\"ike\"}")" 'BEGIN { print v * 1000 }')" \
	0.0006 "ike: epmon_internal_first_rtt_seconds = the CSV's (ms)"
python3 - "$TMP/status.json" "$CSV" <<'EOF' || fail "/status (above)"
import csv, json, sys
st = {s["name"]: s["last"] for s in json.load(open(sys.argv[1]))["sites"]}
rows = {r["site"]: r for r in csv.DictReader(open(sys.argv[2], newline=""))}
for site in ("oc", "ovpn", "wg", "ike"):
    l, r = st[site], rows[site]
    for p in ("connect", "tls", "auth", "tunnel"):
        got, want = l["vpn_login"]["phases"]["%s_ms" % p], r["login_%s_ms" % p]
        assert (got is None) == (want == ""), (site, p, got, want)
        assert got is None or abs(got - float(want)) <= 0.051, (site, p, got, want)
    ip = l["internal_ping"]
    assert abs(ip["first_ms"] - float(r["internal_first_ms"])) <= 0.0006, (site, ip, r)
    assert ip["min_ms"] <= ip["median_ms"] <= ip["max_ms"], (site, ip)
l = st["ocwrong"]
assert l["vpn_login"]["ms"] is None and l["vpn_login"]["phases"]["connect_ms"] is not None, l
print("/status: phases, median and first echo as in the CSV", file=sys.stderr)
EOF
ip netns exec "$LAB_NS_PROBE" "$EPMON" report -c "$TMP/config.yml" --from "$(date +%F)" --format json \
	>"$TMP/report.json" 2>"$TMP/report.err" || fail "epmon report: $(cat "$TMP/report.err")"
python3 - "$TMP/report.json" "$CSV" <<'EOF' || fail "report (above)"
import csv, json, sys
rep = {s["site"]: s for s in json.load(open(sys.argv[1]))["sites"]}
rows = {r["site"]: r for r in csv.DictReader(open(sys.argv[2], newline=""))}
for site in ("oc", "wg"):
    ph = rep[site]["login_phases_ms"]
    for p in ("connect", "tls", "auth", "tunnel"):
        want = rows[site]["login_%s_ms" % p]
        assert ph[p]["count"] == (1 if want else 0), (site, p, ph[p])
        assert not want or ph[p]["p50"] == float(want), (site, p, ph[p], want)
# a failed login's phases are not a login's
assert rep["ocwrong"]["login_phases_ms"]["connect"]["count"] == 0, rep["ocwrong"]
print("report: p50 per phase as in the CSV", file=sys.stderr)
EOF
e2e_log "ok: /metrics, /status and the report agree with the CSV"
probe_assert_clean "$TMP"
echo "PASS: login phases and the first echo, every client kind"
