#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# GET /metrics of `epmon run` (http: on 127.0.0.1 in the probe namespace), frequency 2,
# three sites: alpha up (external and internal ping), beta down (silent gateway), gamma
# with a `client: custom` VPN (a script whose "tunnel" is a new veth, up after 0.1-0.6 s)
# so the login steps and the login histogram have values.
#   1. the text passes `promtool check metrics`, has every metric the issue lists, with
#      the right values per site, and the 0.0.4 content type;
#   2. a real Prometheus, started here on the namespace's loopback, scrapes it every
#      second; its HTTP API then says up == 1 and epmon_site_up alpha 1, beta 0, gamma 1,
#      and has login histogram samples for gamma.
set -u
E2E_PREFIX=${E2E_PREFIX:-httpm$$}
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=tests/e2e/http_lib.sh
. "$(dirname "$0")/http_lib.sh"

http_require
require_cmd promtool prometheus
http_topology

cat >"$TMP/fakevpn" <<SH
#!/bin/bash
# A VPN client: after 0.1 to 0.6 s its "tunnel", a new veth to the alive namespace,
# carries the route to the internal address; stopped, it removes it.
trap 'kill \$! 2>/dev/null; ip link del fake0 2>/dev/null; exit 0' INT TERM
sleep "0.\$((RANDOM % 6 + 1))"
ip link add fake0 type veth peer name fk0 netns $A || exit 1
ip -n $A addr add 10.216.3.1/24 dev fk0 && ip -n $A link set fk0 up || exit 1
ip addr add 10.216.3.2/24 dev fake0 && ip link set fake0 up || exit 1
ip route add $ALIVE_IP2/32 dev fake0 || exit 1
echo "Configured as fake0"
sleep 30 &
wait \$!
SH
chmod 700 "$TMP/fakevpn"

CFG=$TMP/config.yml
http_config "$CFG" 2 "{listen: \"127.0.0.1:$HTTP_PORT\"}" "$SITES_UP_DOWN
  - name: gamma
    external_ip: $ALIVE_IP
    internal_ip: $ALIVE_IP2
    vpn: {client: custom, command: $TMP/fakevpn, connected: 'Configured as', login_timeout: 1, teardown_timeout: 1}"
epmon_start run "$CFG"
wait_cycles 2 12 || fail "no 2 cycles in 12 s: $(csv_count "$TMP/results") rows"
URL=http://127.0.0.1:$HTTP_PORT/metrics

# ---- 1. the exposition ----
pcurl -D "$TMP/headers" -o "$TMP/metrics" "$URL" || fail "GET $URL failed"
sed 's/^/    metrics| /' "$TMP/metrics" | head -40 >&2
assert_match '^HTTP/1\.1 200' "$(head -1 "$TMP/headers" | tr -d '\r')" "status of GET /metrics"
assert_eq "text/plain; version=0.0.4; charset=utf-8" \
	"$(grep -i '^content-type:' "$TMP/headers" | cut -d' ' -f2- | tr -d '\r')" "content type"
promtool check metrics <"$TMP/metrics" >"$TMP/promtool.out" 2>&1
rc=$?
sed 's/^/    promtool| /' "$TMP/promtool.out" >&2
assert_eq 0 "$rc" "promtool check metrics: exit status"
assert_eq "" "$(cat "$TMP/promtool.out")" "promtool check metrics: problems"
for m in epmon_site_up epmon_step_success epmon_step_duration_seconds epmon_ping_loss_ratio \
	epmon_ping_rtt_seconds epmon_consecutive_failures epmon_alert_active \
	epmon_last_run_timestamp_seconds epmon_cycle_duration_seconds epmon_cycle_overruns_total \
	epmon_stale_clients_killed_total epmon_resolv_conf_repairs_total epmon_mail_spool_messages \
	epmon_login_duration_seconds_bucket epmon_login_duration_seconds_sum \
	epmon_login_duration_seconds_count epmon_build_info; do
	grep -qE "^${m}[{ ]" "$TMP/metrics" || fail "metric $m missing"
done
e2e_log "ok: every metric of the issue is there"
# value SERIES: the value of one exact series
# every series carries probe="e2e-probe" (probe_name) first: value NAME{LABELS} looks it up
# with that label put in front
value() {
	local name=${1%%\{*} labels=
	case $1 in *\{*) labels=,${1#*\{} ;; *) labels='}' ;; esac
	awk -v s="$name{probe=\"e2e-probe\"$labels" '$1 == s { print $2 }' "$TMP/metrics"
}
assert_eq "" "$(grep '^epmon_' "$TMP/metrics" | grep -v '{probe="e2e-probe"[,}]')" \
	"series without the probe label of probe_name"
assert_eq 1 "$(value 'epmon_site_up{site="alpha"}')" "epmon_site_up alpha"
assert_eq 0 "$(value 'epmon_site_up{site="beta"}')" "epmon_site_up beta"
assert_eq 1 "$(value 'epmon_site_up{site="gamma"}')" "epmon_site_up gamma"
assert_eq 0 "$(value 'epmon_step_success{site="beta",step="external_ping"}')" "beta external_ping"
assert_eq 1 "$(value 'epmon_step_success{site="gamma",step="vpn_login"}')" "gamma vpn_login"
assert_eq 1 "$(value 'epmon_step_success{site="gamma",step="teardown"}')" "gamma teardown"
assert_eq 1 "$(value 'epmon_ping_loss_ratio{site="beta",target="external"}')" "beta loss"
assert_eq 0 "$(value 'epmon_ping_loss_ratio{site="alpha",target="internal"}')" "alpha internal loss"
assert_positive "$(value 'epmon_ping_rtt_seconds{site="alpha",target="external",stat="avg"}' |
	awk '{ printf "%.9f", $1 }')" "alpha external avg RTT (s)"
login=$(value 'epmon_step_duration_seconds{site="gamma",step="vpn_login"}')
awk -v v="$login" 'BEGIN { exit !(v >= 0.1 && v < 1) }' || fail "gamma login time $login s not in [0.1, 1)"
e2e_log "ok: gamma login time $login s"
assert_match '^[1-9][0-9]*$' "$(value 'epmon_consecutive_failures{site="beta"}')" "beta consecutive failures"
assert_eq 0 "$(value 'epmon_alert_active{site="alpha"}')" "alpha alert active"
assert_match '^[2-9]$' "$(value 'epmon_login_duration_seconds_count{site="gamma"}')" "gamma logins counted"
assert_eq "$(value 'epmon_login_duration_seconds_count{site="gamma"}')" \
	"$(value 'epmon_login_duration_seconds_bucket{site="gamma",le="+Inf"}')" "gamma +Inf bucket = count"
assert_eq "$(value 'epmon_login_duration_seconds_count{site="gamma"}')" \
	"$(value 'epmon_login_duration_seconds_bucket{site="gamma",le="1"}')" "gamma logins all <= 1 s"
grep -q 'epmon_login_duration_seconds_count{probe="e2e-probe",site="alpha"}' "$TMP/metrics" &&
	fail "a login histogram for alpha, which has no VPN"
assert_eq 1 "$(value "epmon_build_info{version=\"$("$EPMON" --version | awk '{print $2}')\"}")" \
	"epmon_build_info of this version"
last=$(value 'epmon_last_run_timestamp_seconds{site="alpha"}')
assert_near "$(date +%s)" "$last" 5 "alpha's last run timestamp vs now"

# ---- 2. a real Prometheus scraping it ----
mkdir -p "$TMP/prom"
cat >"$TMP/prometheus.yml" <<EOF
global: {scrape_interval: 1s, evaluation_interval: 1s}
scrape_configs:
  - job_name: epmon
    static_configs: [{targets: ['127.0.0.1:$HTTP_PORT']}]
EOF
promtool check config "$TMP/prometheus.yml" >&2 || fail "promtool check config"
bg_start "$P" prometheus --config.file="$TMP/prometheus.yml" --storage.tsdb.path="$TMP/prom" \
	--web.listen-address=127.0.0.1:9090 --log.level=warn
# query EXPR: the result vector of an instant query, as "labels value" lines
query() {
	ip netns exec "$P" curl -sS --max-time 5 -G --data-urlencode "query=$1" \
		http://127.0.0.1:9090/api/v1/query 2>/dev/null | python3 -c '
import json, sys
d = json.load(sys.stdin)
assert d["status"] == "success", d
for r in d["data"]["result"]:
    m = r["metric"]
    print(m.get("site", m.get("job", "-")), r["value"][1])'
}
ok=0
for i in $(seq 150); do
	# two scrapes at least, so rate() has samples too
	if [ "$(query 'count_over_time(up{job="epmon"}[1m])' 2>/dev/null | awk '{print $2}')" -ge 2 ] 2>/dev/null; then
		ok=1
		break
	fi
	sleep 0.1
done
[ "$ok" = 1 ] || fail "Prometheus did not scrape epmon twice in 15 s"
assert_eq "epmon 1" "$(query 'up{job="epmon"}')" "Prometheus: up"
got=$(query 'epmon_site_up' | sort | tr '\n' ' ')
assert_eq "alpha 1 beta 0 gamma 1 " "$got" "Prometheus: epmon_site_up by site"
got=$(query 'epmon_login_duration_seconds_count' | awk '{print $1, ($2 >= 1)}' | tr '\n' ' ')
assert_eq "gamma 1 " "$got" "Prometheus: login histogram samples (gamma only)"
got=$(query 'histogram_quantile(0.5, epmon_login_duration_seconds_bucket)' | awk '{print $1, ($2 > 0 && $2 <= 1)}')
assert_eq "gamma 1" "$got" "Prometheus: median login time of gamma in (0, 1] s"
assert_eq "beta 1" "$(query 'epmon_ping_loss_ratio{target="external"} == 1')" \
	"Prometheus: beta's external loss ratio is 1"
# beta failed every cycle: DOWN after failure_threshold (2) cycles
assert_eq "beta 1" "$(query 'epmon_alert_active == 1')" "Prometheus: alerted sites"

epmon_stop run
echo "PASS: /metrics valid for promtool, scraped and queried through a real Prometheus"
