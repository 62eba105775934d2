#!/usr/bin/env bash
# contrib/prometheus wired to a real Prometheus and two epmon probes (issue 11): two
# `epmon run` (probe_name probe-a and probe-b, each with its own /metrics) in the test's
# namespace, both scraped by one Prometheus with contrib/prometheus/epmon.yml's job
# settings (honor_labels) and contrib/prometheus/epmon-rules.yml loaded; the rules' `for:`
# is set to 0s in this copy so the test need not wait minutes (their timing is
# test_contrib_prometheus.sh's `promtool test rules`). Site paris fails from both probes,
# site lyon from probe-a only (its address answers for probe-b), nice from none:
#   - every series keeps epmon's own probe label (probe-a, probe-b), not the scrape's;
#   - EpmonSiteDownEverywhere fires for paris and only paris;
#   - EpmonSiteDownFromSomeProbes fires for lyon and only lyon.
set -u
E2E_PREFIX=${E2E_PREFIX:-promlv$$}
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=tests/e2e/alert_lib.sh
. "$(dirname "$0")/alert_lib.sh"

require_root_netns
require_cmd prometheus promtool curl
[ -x "${EPMON:-}" ] || fail "EPMON (the epmon binary) not set or not executable: '${EPMON:-}'"
RULES=$(cd "$(dirname "$0")/../../contrib/prometheus" && pwd)/epmon-rules.yml
sink_topology
e2e_tmpdir TMP
NICE=10.215.7.1       # answered for both
LYON_A=10.215.7.2     # lyon as probe-a sees it: no route
LYON_B=10.215.7.3     # lyon as probe-b sees it: answered
PARIS=10.215.7.4      # no route for either
sink_answer "$NICE" 1
sink_answer "$LYON_B" 1

# probe NAME PORT LYON_IP: the config and the `epmon run` of one probe.
probe() {
	mkdir -p "$TMP/$1/results" "$TMP/$1/state"
	sink_config "$TMP/$1/config.yml" "$TMP/$1/results" "$TMP/$1/state" "$1" \
		"  failure_threshold: 2" \
		"  - {name: nice, external_ip: $NICE}
  - {name: lyon, external_ip: $3}
  - {name: paris, external_ip: $PARIS}"
	echo "http: {listen: \"127.0.0.1:$2\"}" >>"$TMP/$1/config.yml"
	epmon_start "$TMP/$1/config.yml" "$1"
	eval "PID_${1//-/_}=\$RUN_PID"
}
probe probe-a 19877 "$LYON_A"
probe probe-b 19878 "$LYON_B"

sed 's/^\( *for: \).*/\10s/' "$RULES" >"$TMP/rules.yml"
cat >"$TMP/prometheus.yml" <<EOF
global: {scrape_interval: 1s, evaluation_interval: 1s}
rule_files: [rules.yml]
scrape_configs:
  - job_name: epmon
    honor_labels: true
    static_configs:
      - targets: ['127.0.0.1:19877', '127.0.0.1:19878']
EOF
promtool check config "$TMP/prometheus.yml" >"$TMP/check.out" 2>&1 ||
	fail "promtool check config: $(cat "$TMP/check.out")"
bg_start "$P" prometheus --config.file="$TMP/prometheus.yml" --storage.tsdb.path="$TMP/prom" \
	--web.listen-address=127.0.0.1:19090 --log.level=warn

# query EXPR: "label=value,... value" lines of an instant query (labels sorted; no name, job
# or instance); nothing while Prometheus is not up yet.
query() {
	ip netns exec "$P" curl -sS --max-time 5 -G --data-urlencode "query=$1" \
		http://127.0.0.1:19090/api/v1/query 2>/dev/null | /usr/bin/python3 -c '
import json, sys
d = json.load(sys.stdin)
for r in d["data"]["result"]:
    m = r["metric"]
    print(",".join("%s=%s" % (k, m[k]) for k in sorted(m) if k not in ("__name__", "job", "instance")),
          r["value"][1])' 2>/dev/null
}
# firing NAME: the sites NAME fires for, sorted, space-separated.
firing() {
	query "ALERTS{alertname=\"$1\",alertstate=\"firing\"}" |
		sed -n 's/.*site=\([^, ]*\).*/\1/p' | sort -u | tr '\n' ' '
}
both_down() { [ "$(firing EpmonSiteDownEverywhere)" = "paris " ]; }
some_down() { [ "$(firing EpmonSiteDownFromSomeProbes)" = "lyon " ]; }

wait_for 30 both_down ||
	fail "EpmonSiteDownEverywhere fires for '$(firing EpmonSiteDownEverywhere)', not paris alone: $(query epmon_alert_active)"
e2e_log "ok: EpmonSiteDownEverywhere fires for paris only"
wait_for 10 some_down ||
	fail "EpmonSiteDownFromSomeProbes fires for '$(firing EpmonSiteDownFromSomeProbes)', not lyon alone: $(query epmon_alert_active)"
e2e_log "ok: EpmonSiteDownFromSomeProbes fires for lyon only"
assert_eq "alertname=EpmonSiteDownEverywhere,alertstate=firing,severity=critical,site=paris 1" \
	"$(query 'ALERTS{alertname="EpmonSiteDownEverywhere"}')" "the alert's labels"
got=$(query 'epmon_alert_active{site="lyon"}' | sort | tr '\n' ' ')
assert_eq "probe=probe-a,site=lyon 1 probe=probe-b,site=lyon 0 " \
	"$got" "lyon's series: epmon's own probe labels"
for p in probe-a probe-b; do
	RUN_PID=$(eval "echo \$PID_${p//-/_}")
	epmon_stop "$p"
	assert_eq 0 "$rc" "$p's exit status"
done
e2e_log "PASS"
# SPDX-License-Identifier: MIT
