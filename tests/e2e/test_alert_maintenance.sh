#!/usr/bin/env bash
# Maintenance windows and mutes (issue 11), `epmon run` in a namespace of the test's own
# (lo only: a site's address answers while it is on lo, fails at once otherwise), frequency
# 1 s, failure_threshold 2, no logging map (alerts are the `alert: [epmon] ...` log lines),
# /status and /metrics on the namespace's 127.0.0.1. Sites: alpha and gamma fail from the
# start, beta answers.
#   a. alpha is in a weekly window that opened a minute ago (timezone UTC): it fails > 2x
#      and raises nothing; its rows' detail ends with "maintenance"; /status in_maintenance
#      true, /metrics epmon_site_in_maintenance 1, its failures go on counting. gamma
#      (no window, the control) goes DOWN after 2 failures.
#   c. `epmon mute -c CFG beta 1h --reason "router swap"` while epmon runs ("beta muted
#      until ..."), then beta fails: > 2 failures, nothing raised, detail "muted", /status
#      muted true, /metrics epmon_site_muted 1; `epmon mute ... nosuch 1h` exits 2 naming
#      the site.
#   b. SIGHUP with alpha's window replaced by a once window that ended, gamma put in a daily
#      window covering now (timezone Asia/Kolkata, +05:30, when tzdata has it): the next
#      failed cycle of alpha sends DOWN at once, counting the failures of the window (N = its
#      maintenance rows + 1); gamma answers again -> its UP goes out although it is in a
#      window (the outage began before it), its row's detail "maintenance".
#   c'. `epmon unmute -c CFG beta` -> DOWN at beta's next failed cycle (N = muted failed
#      rows + 1); /status muted false, alpha in_maintenance false.
set -u
E2E_PREFIX=${E2E_PREFIX:-alert$$x}
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=tests/e2e/alert_lib.sh
. "$(dirname "$0")/alert_lib.sh"

require_root_netns
require_cmd python3 curl
[ -x "${EPMON:-}" ] || fail "EPMON (the epmon binary) not set or not executable: '${EPMON:-}'"
[ -e /usr/lib/x86_64-linux-gnu/libmicrohttpd.so.12 ] || ldconfig -p | grep -q 'libmicrohttpd.so.12 ' ||
	skip "needs libmicrohttpd12 (make deps)"
[ -f /usr/share/zoneinfo/UTC ] || skip "needs tzdata (/usr/share/zoneinfo/UTC)"

P=$E2E_PREFIX-probe
netns_create "$P"
e2e_tmpdir TMP
R=$TMP/results
S=$TMP/state
CFG=$TMP/config.yml
PORT=9877
ALPHA=10.215.9.1
BETA=10.215.9.2
GAMMA=10.215.9.3

# answer ADDR 0|1: pings of ADDR fail at once (no route) or are answered (on lo).
answer() {
	if [ "$2" = 1 ]; then
		ip -n "$P" addr add "$1/32" dev lo || fail "addr $1 on lo of $P"
	else
		ip -n "$P" addr del "$1/32" dev lo || fail "del addr $1 on lo of $P"
	fi
}

# config ALPHA_WINDOW GAMMA_WINDOW: the config (0600, atomic), each window a flow
# mapping's inside without sites ("" for none).
config() {
	{
		echo "frequency: 1"
		echo "probe_name: maint"
		echo "results: {directory: $R}"
		echo "state_directory: $S"
		echo "ping: {count: 1, interval: 0.1, timeout: 0.3}"
		echo "http: {listen: \"127.0.0.1:$PORT\"}"
		echo "alerting:"
		echo "  failure_threshold: 2"
		if [ -n "$1$2" ]; then
			echo "  maintenance:"
			[ -z "$1" ] || echo "    - {sites: [alpha], $1}"
			[ -z "$2" ] || echo "    - {sites: [gamma], $2}"
		fi
		echo "sites:"
		echo "  - {name: alpha, external_ip: $ALPHA}"
		echo "  - {name: beta, external_ip: $BETA}"
		echo "  - {name: gamma, external_ip: $GAMMA}"
	} >"$CFG.new"
	chmod 600 "$CFG.new"
	mv -f "$CFG.new" "$CFG"
}

# await SECONDS CMD...: run CMD every 0.1 s until it succeeds; 0 when it did, 1 after SECONDS.
await() {
	local end=$(($(date +%s%N) + $1 * 1000000000))
	shift
	until "$@"; do
		[ "$(date +%s%N)" -lt "$end" ] || return 1
		sleep 0.1
	done
}

# zone_time ZONE FORMAT SECONDS: the time SECONDS from now (negative: ago) in ZONE, strftime FORMAT
# (C locale: English day names).
zone_time() { TZ=$1 LC_ALL=C date -d "@$(($(date +%s) + $3))" "+$2"; }

# rows SITE: "result detail" of SITE's rows, in order, one a line.
rows() {
	python3 - "$R" "$1" <<'EOF' || fail "rows $1"
import csv, glob, sys
for p in sorted(glob.glob(sys.argv[1] + "/results-*.csv")):
    for r in csv.DictReader(open(p, newline="")):
        if r["site"] == sys.argv[2]:
            print(r["result"], r["detail"])
EOF
}

# status SITE KEY: SITE's KEY in /status (JSON: true/false/numbers as JSON).
status() {
	ip netns exec "$P" curl -sS --max-time 5 "http://127.0.0.1:$PORT/status" |
		python3 -c 'import json, sys
d = json.load(sys.stdin)
s = [x for x in d["sites"] if x["name"] == sys.argv[1]][0]
print(json.dumps(s[sys.argv[2]]))' "$1" "$2"
}

# metric NAME SITE: the value of NAME{probe="maint",site="SITE"} in /metrics.
metric() {
	ip netns exec "$P" curl -sS --max-time 5 "http://127.0.0.1:$PORT/metrics" |
		awk -v k="$1{probe=\"maint\",site=\"$2\"}" '$1 == k { print $2 }'
}

# is STATUS_VALUE SITE KEY: /status shows it (for await).
is() { [ "$(status "$2" "$3" 2>/dev/null)" = "$1" ]; }

# downs SITE: the DOWN lines of SITE in epmon's log.
downs() { grep -cE "alert: \[epmon\] DOWN $1: " "$TMP/run.err"; }

# cycle_done: wait for 6 more rows (two cycles of the 3 sites): the alerts of the cycles
# that wrote the rows counted before are then decided (after a cycle's rows, before the
# next cycle).
cycle_done() {
	local n
	n=$(csv_count "$R")
	wait_csv_rows "$R" "" $((n + 6)) 10 || fail_run "no 2 more cycles in 10 s"
}

# fail_run MSG: fail, showing epmon's log.
fail_run() { sed 's/^/    err| /' "$TMP/run.err" >&2; fail "$@"; }

# ---- a + c. alpha in a window, beta muted, gamma as the control ----
day=$(zone_time UTC '%a %H:%M' -60)
WEEKLY="every: \"${day,,}\", duration: 1h, timezone: UTC"
config "$WEEKLY" ""
answer "$BETA" 1
e2e_log "alpha's window: {$WEEKLY}"
ip netns exec "$P" "$EPMON" check-config -c "$CFG" >"$TMP/check.out" 2>&1 ||
	fail "check-config: $(cat "$TMP/check.out")"
epmon_start "$CFG" run

out=$(ip netns exec "$P" "$EPMON" mute -c "$CFG" beta 1h --reason "router swap" 2>&1)
assert_eq 0 "$?" "exit status of epmon mute beta"
assert_match '^beta muted until [0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2} [-+][0-9]{4}: router swap$' \
	"$out" "epmon mute output"
out=$(ip netns exec "$P" "$EPMON" mute -c "$CFG" nosuch 1h 2>&1)
assert_eq 2 "$?" "exit status of epmon mute nosuch"
assert_match "nosuch" "$out" "epmon mute nosuch names the site"
grep -q '^nosuch ' "$S/mutes" 2>/dev/null && fail "nosuch written to $S/mutes"

# beta fails only once a cycle has seen the mute (its OK row says "muted")
beta_muted_ok() { rows beta | grep -q '^OK muted$'; }
await 10 beta_muted_ok || fail_run "no OK row of beta with detail muted in 10 s: $(rows beta)"
answer "$BETA" 0
wait_log "$TMP/run.err" "alert: \[epmon\] DOWN gamma: external_ping failed 2x" 10 ||
	fail_run "control: no DOWN of gamma in 10 s"
e2e_log "ok: gamma (no window, not muted) DOWN after 2 failures"
quiet_enough() { [ "$(rows alpha | wc -l)" -ge 5 ] && [ "$(rows beta | grep -c ^FAIL)" -ge 4 ]; }
await 15 quiet_enough ||
	fail_run "no 5 cycles of alpha and 4 failures of beta in 15 s"
cycle_done
assert_eq 0 "$(downs alpha)" "DOWN of alpha in its window"
assert_eq 0 "$(downs beta)" "DOWN of beta while muted"
grep -E 'alert: \[epmon\] (STILL DOWN|DEGRADED|UP) (alpha|beta)' "$TMP/run.err" &&
	fail_run "an alert of alpha or beta while quiet"
bad=$(rows alpha | grep -v '^FAIL .*; maintenance$')
[ -z "$bad" ] || fail "alpha rows without 'FAIL ...; maintenance': $bad"
e2e_log "ok: every alpha row ($(rows alpha | wc -l)) is FAIL with detail ending '; maintenance'"
# (OK rows before the mute; from the first muted one on, every row says muted)
bad=$(rows beta | sed -n '/^OK muted$/,$p' | grep -v '^OK muted$' | grep -v '^FAIL .*; muted$')
[ -z "$bad" ] || fail "beta rows without 'muted' after the mute: $bad"
bad=$(rows beta | grep -v '^OK muted$' | grep -v '^FAIL .*; muted$' | grep -v '^OK $')
[ -z "$bad" ] || fail "beta rows neither muted nor OK before the mute: $bad"
e2e_log "ok: every beta row since the mute ($(rows beta | sed -n '/^OK muted$/,$p' | wc -l)) says muted," \
	"$(rows beta | grep -c '^FAIL') FAIL"
assert_eq true "$(status alpha in_maintenance)" "/status alpha in_maintenance"
assert_eq false "$(status alpha muted)" "/status alpha muted"
assert_eq true "$(status beta muted)" "/status beta muted"
assert_eq false "$(status beta in_maintenance)" "/status beta in_maintenance"
assert_eq false "$(status gamma in_maintenance)" "/status gamma in_maintenance"
assert_eq 1 "$(metric epmon_site_in_maintenance alpha)" "epmon_site_in_maintenance{alpha}"
assert_eq 0 "$(metric epmon_site_in_maintenance gamma)" "epmon_site_in_maintenance{gamma}"
assert_eq 1 "$(metric epmon_site_muted beta)" "epmon_site_muted{beta}"
assert_eq 0 "$(metric epmon_site_muted alpha)" "epmon_site_muted{alpha}"
assert_eq 0 "$(metric epmon_alert_active alpha)" "epmon_alert_active{alpha}"
f=$(status alpha consecutive_failures)
[ "$f" -ge 5 ] || fail "alpha's consecutive failures in its window: $f (< 5)"
e2e_log "ok: alpha's failures go on counting in its window: $f"

# ---- b. the window ends (SIGHUP); gamma gets one ----
ONCE="start: $(zone_time UTC '%Y-%m-%dT%H:%M' -180), duration: 1m, timezone: UTC"
# gamma's in a zone of its own (+05:30; epmon asks a child for the offset, not for UTC)
ZONE=Asia/Kolkata
[ -f "/usr/share/zoneinfo/$ZONE" ] || ZONE=UTC
DAILY="every: \"daily $(zone_time "$ZONE" '%H:%M' -60)\", duration: 1h, timezone: $ZONE"
e2e_log "b. SIGHUP: alpha's window {$ONCE} (ended), gamma's {$DAILY}"
config "$ONCE" "$DAILY"
nreload=$(grep -c 'config reloaded' "$TMP/run.err")
kill -HUP "$RUN_PID"
wait_log_count "$TMP/run.err" 'config reloaded' $((nreload + 1)) 10 || fail_run "no reload in 10 s"
wait_log "$TMP/run.err" "alert: \[epmon\] DOWN alpha: " 10 || fail_run "no DOWN of alpha in 10 s after its window ended"
line=$(grep -E "alert: \[epmon\] DOWN alpha: " "$TMP/run.err")
nmaint=$(rows alpha | grep -c '; maintenance$')
assert_match "^<4>warning: \[alpha\] alert: \[epmon\] DOWN alpha: external_ping failed $((nmaint + 1))x \(" \
	"$line" "DOWN of alpha at its first failed cycle after the window ($nmaint in it)"
# the row of that cycle: the first one not in maintenance
first=$(rows alpha | grep -v '; maintenance$' | head -1)
assert_match '^FAIL ' "$first" "alpha's first row after the window"
[[ $first == *maintenance* ]] && fail "alpha's row after the window says maintenance: $first"
answer "$GAMMA" 1

# ---- c'. unmute beta ----
nmuted=$(rows beta | grep -c '^FAIL .*; muted$')
out=$(ip netns exec "$P" "$EPMON" unmute -c "$CFG" beta 2>&1)
assert_eq 0 "$?" "exit status of epmon unmute beta"
assert_eq "beta unmuted" "$out" "epmon unmute output"
wait_log "$TMP/run.err" "alert: \[epmon\] DOWN beta: " 10 || fail_run "no DOWN of beta in 10 s after unmute"
line=$(grep -E "alert: \[epmon\] DOWN beta: " "$TMP/run.err")
nmuted=$(rows beta | grep -c '^FAIL .*; muted$')
assert_match "^<4>warning: \[beta\] alert: \[epmon\] DOWN beta: external_ping failed $((nmuted + 1))x \(" \
	"$line" "DOWN of beta at its first failed cycle after unmute ($nmuted muted)"
wait_log "$TMP/run.err" "alert: \[epmon\] UP gamma after [0-9]+ s" 10 ||
	fail_run "no UP of gamma in 10 s (in its window, outage begun before it)"
e2e_log "ok: gamma's UP went out in its window"
ok=$(rows gamma | grep '^OK' | head -1)
assert_eq "OK maintenance" "$ok" "gamma's first good row (in its window)"
cycle_done
await 5 is false beta muted || fail "/status beta muted still $(status beta muted)"
assert_eq false "$(status alpha in_maintenance)" "/status alpha in_maintenance after the window"
assert_eq true "$(status gamma in_maintenance)" "/status gamma in_maintenance"
assert_eq 0 "$(metric epmon_site_muted beta)" "epmon_site_muted{beta} after unmute"
assert_eq 1 "$(metric epmon_alert_active alpha)" "epmon_alert_active{alpha}"
assert_eq 1 "$(metric epmon_alert_active beta)" "epmon_alert_active{beta}"
for s in alpha beta gamma; do assert_eq 1 "$(downs $s)" "DOWN lines of $s"; done

epmon_stop run   # sets rc
# shellcheck disable=SC2154
assert_eq 0 "$rc" "exit status after SIGTERM"
echo "PASS: a window and a mute keep failures quiet (counted, rows marked); DOWN at once after; UP in a window"
# SPDX-License-Identifier: MIT
