#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# contrib/prometheus: the scrape config and the alert rules are valid for Prometheus
# (`promtool check config`, `promtool check rules`), every epmon_* metric they use is one
# the epmon binary exports, and each alert fires when it should and not before
# (`promtool test rules` on synthetic series: a site down for 2 cycles, slow logins from the
# login-time histogram, a cycle overrun, a probe that cannot be scraped). No root needed.
set -u
E2E_PREFIX=${E2E_PREFIX:-report$$p}
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"

require_cmd promtool
DIR=$(cd "$(dirname "$0")/../../contrib/prometheus" && pwd) || fail "no contrib/prometheus"
e2e_tmpdir TMP
cp "$DIR/epmon.yml" "$DIR/epmon-rules.yml" "$TMP/"

promtool check rules "$TMP/epmon-rules.yml" >"$TMP/out" 2>&1 || fail "check rules: $(cat "$TMP/out")"
e2e_log "ok: promtool check rules: $(grep -o 'SUCCESS.*' "$TMP/out" | head -1)"
# the config names epmon-rules.yml relative to itself: checked together
promtool check config "$TMP/epmon.yml" >"$TMP/out" 2>&1 || fail "check config: $(cat "$TMP/out")"
e2e_log "ok: promtool check config"

# The metric names the rules use exist in epmon (the binary holds each name as a string).
if [ -x "${EPMON:-}" ]; then
	for m in $(grep -oE 'epmon_[a-z_]+' "$DIR/epmon-rules.yml" | sed 's/_bucket$//' | sort -u); do
		grep -qa "$m" "$EPMON" || fail "the rules use $m, which $EPMON does not export"
	done
	e2e_log "ok: every metric of the rules is exported by $EPMON"
fi

# Alerts on synthetic series, one sample a minute.
cat >"$TMP/tests.yml" <<'EOF'
rule_files:
  - epmon-rules.yml
evaluation_interval: 1m
tests:
  - interval: 1m
    input_series:
      # paris: OK, 1 failure, then down from minute 3 to 5; lyon fails once only
      - series: 'epmon_consecutive_failures{job="epmon",instance="p:9877",probe="local",site="paris"}'
        values: '0 0 1 2 3 3 0 0'
      - series: 'epmon_consecutive_failures{job="epmon",instance="p:9877",probe="local",site="lyon"}'
        values: '0 1 0 1 0 1 0 0'
    alert_rule_test:
      - eval_time: 2m
        alertname: EpmonSiteDown
        exp_alerts: []
      - eval_time: 3m   # 2 failures, pending for 1m
        alertname: EpmonSiteDown
        exp_alerts: []
      - eval_time: 4m
        alertname: EpmonSiteDown
        exp_alerts:
          - exp_labels: {severity: critical, job: epmon, instance: "p:9877", probe: local, site: paris}
            exp_annotations:
              summary: "VPN site paris is down (probe local)"
              description: "paris failed 3 consecutive cycles. See `epmon report --site paris` or the status page for the failed step."
      - eval_time: 7m
        alertname: EpmonSiteDown
        exp_alerts: []

  - interval: 1m
    input_series:
      # nice: every login between 20 and 30 s (one a minute); fast: under 2 s
      - series: 'epmon_login_duration_seconds_bucket{job="epmon",instance="p:9877",probe="local",site="nice",le="20"}'
        values: '0+0x120'
      - series: 'epmon_login_duration_seconds_bucket{job="epmon",instance="p:9877",probe="local",site="nice",le="30"}'
        values: '0+1x120'
      - series: 'epmon_login_duration_seconds_bucket{job="epmon",instance="p:9877",probe="local",site="nice",le="+Inf"}'
        values: '0+1x120'
      - series: 'epmon_login_duration_seconds_bucket{job="epmon",instance="p:9877",probe="local",site="fast",le="2"}'
        values: '0+1x120'
      - series: 'epmon_login_duration_seconds_bucket{job="epmon",instance="p:9877",probe="local",site="fast",le="20"}'
        values: '0+1x120'
      - series: 'epmon_login_duration_seconds_bucket{job="epmon",instance="p:9877",probe="local",site="fast",le="+Inf"}'
        values: '0+1x120'
    alert_rule_test:
      - eval_time: 10m  # above the threshold, but not yet for 15 min
        alertname: EpmonLoginSlow
        exp_alerts: []
      - eval_time: 60m
        alertname: EpmonLoginSlow
        exp_alerts:
          - exp_labels: {severity: warning, job: epmon, instance: "p:9877", probe: local, site: nice}
            exp_annotations:
              summary: "VPN login to nice is slow (p95 29.5s)"
              description: "The 95th percentile of the VPN login time of nice over the last hour is 29.5s (threshold 20 s)."

  - interval: 1m
    input_series:
      # two probes: paris down from both from minute 3; lyon down from probe a only
      - series: 'epmon_alert_active{job="epmon",instance="a:9877",probe="a",site="paris"}'
        values: '0 0 0 1 1 1 1 1 1 1 1 1'
      - series: 'epmon_alert_active{job="epmon",instance="b:9877",probe="b",site="paris"}'
        values: '0 0 0 0 0 1 1 1 1 1 1 1'
      - series: 'epmon_alert_active{job="epmon",instance="a:9877",probe="a",site="lyon"}'
        values: '0 1 1 1 1 1 1 1 1 1 1 1'
      - series: 'epmon_alert_active{job="epmon",instance="b:9877",probe="b",site="lyon"}'
        values: '0 0 0 0 0 0 0 0 0 0 0 0'
      - series: 'epmon_site_degraded{job="epmon",instance="a:9877",probe="a",site="nice"}'
        values: '0 0 1 1 1 0'
    alert_rule_test:
      - eval_time: 4m   # paris down from a only so far
        alertname: EpmonSiteDownEverywhere
        exp_alerts: []
      - eval_time: 7m
        alertname: EpmonSiteDownEverywhere
        exp_alerts:
          - exp_labels: {severity: critical, site: paris}
            exp_annotations:
              summary: "VPN site paris is down from every probe"
              description: "Every epmon probe that tests paris has it alerted: the gateway or its intranet is down, not one probe's path."
      - eval_time: 4m   # lyon for 3 min: not yet 5
        alertname: EpmonSiteDownFromSomeProbes
        exp_alerts: []
      - eval_time: 9m
        alertname: EpmonSiteDownFromSomeProbes
        exp_alerts:
          - exp_labels: {severity: warning, site: lyon}
            exp_annotations:
              summary: "VPN site lyon is down from some probes only"
              description: "Some epmon probes have lyon alerted and others reach it: look at the paths from those probes (epmon_alert_active{site=\"lyon\"})."
      - eval_time: 4m
        alertname: EpmonSiteDegraded
        exp_alerts:
          - exp_labels: {severity: warning, job: epmon, instance: "a:9877", probe: a, site: nice}
            exp_annotations:
              summary: "VPN site nice is slow (probe a)"
              description: "nice passes its tests but is slower than its own history; the figures are in epmon's DEGRADED alert and in /status."
      - eval_time: 6m
        alertname: EpmonSiteDegraded
        exp_alerts: []

  - interval: 1m
    input_series:
      - series: 'epmon_cycle_overruns_total{job="epmon",instance="p:9877",probe="local"}'
        values: '0x30 1x100'
      - series: 'up{job="epmon",instance="p:9877",probe="local"}'
        values: '1x10 0x10 1x10'
    alert_rule_test:
      - eval_time: 20m
        alertname: EpmonCycleOverrun
        exp_alerts: []
      - eval_time: 40m
        alertname: EpmonCycleOverrun
        exp_alerts:
          - exp_labels: {severity: warning, job: epmon, instance: "p:9877", probe: local}
            exp_annotations:
              summary: "epmon cycles overrun their frequency (probe local)"
              description: "1 cycle(s) in the last hour took longer than `frequency`; raise `frequency` or split the sites over more probes."
      - eval_time: 140m # an hour after the last overrun
        alertname: EpmonCycleOverrun
        exp_alerts: []
      - eval_time: 13m
        alertname: EpmonProbeDown
        exp_alerts: []
      - eval_time: 17m
        alertname: EpmonProbeDown
        exp_alerts:
          - exp_labels: {severity: critical, job: epmon, instance: "p:9877", probe: local}
            exp_annotations:
              summary: "epmon probe p:9877 cannot be scraped"
EOF
(cd "$TMP" && promtool test rules tests.yml) >"$TMP/out" 2>&1 || fail "promtool test rules: $(cat "$TMP/out")"
e2e_log "ok: promtool test rules: $(tr '\n' ' ' <"$TMP/out")"
