#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The HTTP server of `epmon run` apart from /metrics (frequency 1, alpha up, beta down):
#   1. GET /status is JSON (parsed by Python) with every site's state, last figures and
#      availability, and the cycle info;
#   2. HEAD gives the headers without a body; POST, PUT, DELETE, OPTIONS and PATCH get 405
#      with "Allow: GET, HEAD"; an unknown path 404;
#   3. without http: epmon does not map libmicrohttpd nor GnuTLS (RSS figures logged,
#      <= 4 MB for a build without sanitizers); with http: it does;
#   4. basic auth on [::1] (IPv6): no or wrong credentials 401 with WWW-Authenticate,
#      the right ones 200; the password is in no log;
#   5. TLS with the same auth: https with the test CA works, plain http to it does not;
#   6. SIGHUP with another port moves the server; without the http: map it stops;
#   7. a port already in use: a second epmon exits 1 with "http: cannot listen on".
set -u
E2E_PREFIX=${E2E_PREFIX:-https$$}
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=tests/e2e/http_lib.sh
. "$(dirname "$0")/http_lib.sh"

http_require
http_topology
CFG=$TMP/config.yml
BASE=http://127.0.0.1:$HTTP_PORT

# ---- 1. /status ----
http_config "$CFG" 1 "{listen: \"127.0.0.1:$HTTP_PORT\"}" "$SITES_UP_DOWN"
epmon_start status "$CFG"
wait_cycles 2 8 || fail "no 2 cycles in 8 s"
pcurl -D "$TMP/status.h" -o "$TMP/status.json" "$BASE/status" || fail "GET /status failed"
assert_eq "application/json; charset=utf-8" \
	"$(grep -i '^content-type:' "$TMP/status.h" | cut -d' ' -f2- | tr -d '\r')" "/status content type"
/usr/bin/python3 - "$TMP/status.json" "$("$EPMON" --version | awk '{print $2}')" <<'EOF' ||
import json, sys
d = json.load(open(sys.argv[1]))
def check(cond, what):
    if not cond:
        sys.exit("bad /status: %s: %s" % (what, json.dumps(d, indent=1)))
check(d["version"] == sys.argv[2], "version")
check(d["frequency_s"] == 1, "frequency")
check(d["cycle"]["count"] >= 2 and d["cycle"]["overruns"] == 0, "cycle count/overruns")
check(0 < d["cycle"]["last_duration_s"] < 1, "cycle duration")
check(isinstance(d["cycle"]["last_start"], str), "cycle start")
check(d["mail_spool_messages"] == 0, "spool")
s = {x["name"]: x for x in d["sites"]}
check(list(s) == ["alpha", "beta"], "sites in config order")
a, b = s["alpha"], s["beta"]
check(a["up"] is True and a["state"] == "ok" and a["consecutive_failures"] == 0, "alpha state")
check(a["availability_24h"] == 1 and a["availability_7d"] == 1, "alpha availability")
la = a["last"]
check(la["result"] == "ok" and la["failed_step"] is None and not la["from_history"], "alpha last")
for k in ("external_ping", "internal_ping"):
    p = la[k]
    check(p["sent"] == 2 and p["received"] == 2 and p["loss_pct"] == 0, "alpha " + k)
    check(0 < p["min_ms"] <= p["avg_ms"] <= p["max_ms"] < 100, "alpha %s rtt" % k)
check(la["vpn_login"] is None and la["teardown"] is None, "alpha has no vpn")
check(b["up"] is False and b["consecutive_failures"] >= 2, "beta down")
check(b["state"] in ("failing", "alerted"), "beta state")
check(b["availability_24h"] == 0, "beta availability")
lb = b["last"]
check(lb["result"] == "fail" and lb["failed_step"] == "external_ping", "beta last")
check(lb["external_ping"]["received"] == 0 and lb["external_ping"]["avg_ms"] is None, "beta rtt")
check(lb["external_ping"]["loss_pct"] == 100 and "no reply" in lb["detail"], "beta detail")
print("status ok: %d cycles, alpha %s ms" % (d["cycle"]["count"], la["external_ping"]["avg_ms"]),
      file=sys.stderr)
EOF
	fail "/status is not what it should be"
e2e_log "ok: /status JSON"

# ---- 2. methods and paths ----
ip netns exec "$P" curl -sS --max-time 5 -I "$BASE/" >"$TMP/head.out" || fail "HEAD / failed"
assert_match '^HTTP/1\.1 200' "$(head -1 "$TMP/head.out" | tr -d '\r')" "HEAD /: status"
len=$(ip netns exec "$P" curl -s --max-time 5 -X HEAD -o "$TMP/head.body" -w '%{size_download}' "$BASE/metrics")
assert_eq 0 "$len" "HEAD /metrics: body bytes"
for m in POST PUT DELETE OPTIONS PATCH; do
	ip netns exec "$P" curl -s --max-time 5 -X "$m" -d 'x=1' -D "$TMP/m.h" -o /dev/null "$BASE/metrics"
	assert_match '^HTTP/1\.1 405' "$(head -1 "$TMP/m.h" | tr -d '\r')" "$m /metrics"
	assert_eq "GET, HEAD" "$(grep -i '^allow:' "$TMP/m.h" | cut -d' ' -f2- | tr -d '\r')" "$m: Allow header"
done
assert_eq 404 "$(http_code "$BASE/nope")" "GET /nope"
assert_eq 404 "$(http_code "$BASE/metrics/x")" "GET /metrics/x"
assert_eq 200 "$(http_code "$BASE/status?x=1")" "GET /status?x=1"

# ---- 3. libraries mapped only with http: ----
grep -q libmicrohttpd "/proc/$EPMON_PID/maps" || fail "libmicrohttpd not mapped with http:"
rss_http=$(awk '/^VmRSS:/ {print $2}' "/proc/$EPMON_PID/status")
epmon_stop status
C2=$TMP/nohttp.yml
http_config "$C2" 1 "" "$SITES_UP_DOWN"
n0=$(csv_count "$TMP/results" beta)
epmon_start nohttp "$C2"
wait_csv_rows "$TMP/results" beta $((n0 + 2)) 8 || fail "nohttp: no 2 cycles in 8 s"
grep -E 'microhttpd|gnutls' "/proc/$EPMON_PID/maps" && fail "libmicrohttpd or GnuTLS mapped without http:"
rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$EPMON_PID/status")
e2e_log "ok: without http: no libmicrohttpd/GnuTLS mapped; VmRSS $rss kB (with http: $rss_http kB)"
if grep -q libasan "/proc/$EPMON_PID/maps"; then
	e2e_log "ASan build: RSS not checked"
else
	[ "$rss" -le 4096 ] || fail "VmRSS of epmon without http: is $rss kB > 4 MB"
fi
assert_eq 000 "$(http_code "$BASE/metrics")" "without http: nothing listens"
epmon_stop nohttp

# ---- 4. basic auth, IPv6 ----
(umask 077; printf 'S3cret-pw\nsecond line ignored\n' >"$TMP/http.pw")
http_config "$CFG" 1 "{listen: \"[::1]:$HTTP_PORT\", username: prom, password_file: $TMP/http.pw}" \
	"$SITES_UP_DOWN"
epmon_start auth "$CFG"
U6="http://[::1]:$HTTP_PORT"
wait_http "$U6/metrics" 5 || fail "auth: no server on [::1]"
ip netns exec "$P" curl -s --max-time 5 -D "$TMP/401.h" -o /dev/null "$U6/metrics"
assert_match '^HTTP/1\.1 401' "$(head -1 "$TMP/401.h" | tr -d '\r')" "auth: no credentials"
assert_eq 'Basic realm="epmon"' "$(grep -i '^www-authenticate:' "$TMP/401.h" | cut -d' ' -f2- | tr -d '\r')" \
	"auth: WWW-Authenticate"
assert_eq 401 "$(http_code "$U6/" -u prom:wrong)" "auth: wrong password"
assert_eq 401 "$(http_code "$U6/" -u epmon:S3cret-pw)" "auth: wrong user"
assert_eq 401 "$(http_code "$U6/" -u prom:S3cret-pw2)" "auth: longer password"
assert_eq 200 "$(http_code "$U6/status" -u prom:S3cret-pw)" "auth: right credentials"
assert_eq 405 "$(http_code "$U6/status" -X POST -u prom:S3cret-pw)" "auth: POST still 405"
assert_eq 000 "$(http_code "$BASE/metrics")" "auth: nothing on 127.0.0.1"

# ---- 6. SIGHUP: another port, then no http: map ----
http_config "$CFG" 1 "{listen: \"127.0.0.1:9878\"}" "$SITES_UP_DOWN"
kill -HUP "$EPMON_PID"
wait_http "http://127.0.0.1:9878/metrics" 5 || fail "reload: nothing on the new port"
assert_eq 200 "$(http_code "http://127.0.0.1:9878/metrics")" "reload: new port, no auth"
assert_eq 000 "$(http_code "$U6/metrics")" "reload: old address closed"
http_config "$CFG" 1 "" "$SITES_UP_DOWN"
kill -HUP "$EPMON_PID"
wait_log "$TMP/auth.err" "no http: map any more; server stopped" 5 || fail "reload: server not stopped"
assert_eq 000 "$(http_code "http://127.0.0.1:9878/metrics")" "reload: http: removed"
kill -0 "$EPMON_PID" || fail "epmon died on reloads"
epmon_stop auth
grep -q 'S3cret-pw' "$TMP/auth.err" && fail "the HTTP password is in epmon's log"

# ---- 5. TLS ----
make_certs "$TMP"
http_config "$CFG" 1 "{listen: \"127.0.0.1:9443\", password_file: $TMP/http.pw, cert_file: $TMP/cert.pem, key_file: $TMP/key.pem}" \
	"$SITES_UP_DOWN"
epmon_start tls "$CFG"
wait_http "https://127.0.0.1:9443/" 5 --cacert "$TMP/ca.pem" || fail "tls: no server"
assert_eq 200 "$(http_code "https://127.0.0.1:9443/metrics" --cacert "$TMP/ca.pem" -u epmon:S3cret-pw)" \
	"tls: GET /metrics with the CA and credentials"
assert_eq 401 "$(http_code "https://127.0.0.1:9443/metrics" --cacert "$TMP/ca.pem")" "tls: no credentials"
assert_eq 000 "$(http_code "https://127.0.0.1:9443/metrics" -u epmon:S3cret-pw)" \
	"tls: untrusted without the CA"
code=$(http_code "http://127.0.0.1:9443/metrics" -u epmon:S3cret-pw)
[ "$code" = 200 ] && fail "tls: plain http answered 200"
e2e_log "ok: tls: plain http gets no page ($code)"
grep -q "serving https://127.0.0.1:9443/ (/metrics, /status, /), basic auth, TLS" "$TMP/tls.err" ||
	fail "tls: start not logged"

# ---- 7. a port in use ----
C3=$TMP/second.yml
mkdir -p "$TMP/r2" "$TMP/s2"
{
	echo "frequency: 1"
	echo "results: {directory: $TMP/r2}"
	echo "state_directory: $TMP/s2"
	echo "ping: {count: 1, timeout: 0.3}"
	echo "http: {listen: \"127.0.0.1:9443\"}"
	echo "sites:"
	echo "  - {name: alpha, external_ip: $ALIVE_IP}"
} >"$C3"
chmod 600 "$C3"
ip netns exec "$P" timeout 10 "$EPMON" run -c "$C3" 2>"$TMP/second.err"
rc=$?
sed 's/^/    second| /' "$TMP/second.err" >&2
assert_no_sanitizer "$TMP/second.err"
assert_eq 1 "$rc" "second epmon on a busy port: exit status"
grep -q "http: cannot listen on 127.0.0.1:9443" "$TMP/second.err" || fail "busy port: no clear error"
assert_eq 0 "$(csv_count "$TMP/r2")" "busy port: no cycle ran"
epmon_stop tls

echo "PASS: /status JSON, GET/HEAD only, libmicrohttpd only with http:, basic auth, IPv6, TLS, reload"
