# SPDX-License-Identifier: MIT
# shellcheck shell=bash
# shellcheck disable=SC2034  # the variables are for the tests that source this file
# Helpers of the HTTP tests (tests/e2e/test_http_*.sh), sourced after lib.sh.
#
# Topology (http_topology): a probe namespace $P with a veth to $A, which answers pings
# (10.216.1.10 and .11), and one to $S, which does not (10.216.2.10). epmon runs in $P
# and serves on $P's own loopback; curl, promtool's input, Prometheus, Chromium and
# tests/tools/http_load run there too, so nothing leaves the test's namespaces and the
# port cannot clash with anything else on the machine.

HTTP_PORT=9877
ALIVE_IP=10.216.1.10
ALIVE_IP2=10.216.1.11
SILENT_IP=10.216.2.10

# http_require: skip/fail unless the HTTP tests can run here.
http_require() {
	require_root_netns
	require_cmd python3 curl
	[ -x /usr/bin/python3 ] || skip "needs /usr/bin/python3"
	[ -x "${EPMON:-}" ] || fail "EPMON (the epmon binary) not set or not executable: '${EPMON:-}'"
	[ -e /usr/lib/x86_64-linux-gnu/libmicrohttpd.so.12 ] || ldconfig -p | grep -q 'libmicrohttpd.so.12 ' ||
		skip "needs libmicrohttpd12 (make deps)"
}

# http_topology: namespaces $P (probe), $A (alive) and $S (silent); temp dir $TMP.
http_topology() {
	P=$E2E_PREFIX-probe
	A=$E2E_PREFIX-alive
	S=$E2E_PREFIX-silent
	for ns in "$P" "$A" "$S"; do netns_create "$ns"; done
	veth_pair "$P" p1 10.216.1.2/24 "$A" a0 "$ALIVE_IP/24,$ALIVE_IP2/24"
	veth_pair "$P" p2 10.216.2.2/24 "$S" s0 "$SILENT_IP/24"
	ns_sysctl "$S" net.ipv4.icmp_echo_ignore_all=1
	netns_settle 5
	e2e_tmpdir TMP
	mkdir -p "$TMP/results" "$TMP/state"
}

# http_config FILE FREQUENCY HTTP_MAP SITE_LINES: a 0600 config (results and state in
# $TMP), written atomically; HTTP_MAP "" for none.
http_config() {
	{
		echo "frequency: $2"
		echo "probe_name: ${HTTP_PROBE_NAME:-e2e-probe}"
		echo "results: {directory: $TMP/results}"
		echo "state_directory: $TMP/state"
		echo "ping: {count: 2, interval: 0.05, timeout: 0.3}"
		[ -n "$3" ] && echo "http: $3"
		echo "sites:"
		echo "$4"
	} >"$1.new"
	chmod 600 "$1.new"
	mv -f "$1.new" "$1"
}

# SITES_UP_DOWN: alpha (answers, internal too) and beta (silent: down at external_ping).
SITES_UP_DOWN="  - {name: alpha, external_ip: $ALIVE_IP, internal_ip: $ALIVE_IP2}
  - {name: beta, external_ip: $SILENT_IP}"

# epmon_start NAME CONFIG: `epmon run` in $P (pid $EPMON_PID, stderr $TMP/NAME.err).
epmon_start() {
	ip netns exec "$P" "$EPMON" run -c "$2" 2>"$TMP/$1.err" &
	EPMON_PID=$!
	register_pid "$EPMON_PID"
}

# epmon_stop NAME: SIGTERM epmon, wait; fail unless it exits 0 without sanitizer reports.
epmon_stop() {
	local rc
	kill -TERM "$EPMON_PID"
	wait "$EPMON_PID"
	rc=$?
	sed 's/^/    | /' "$TMP/$1.err" >&2
	assert_no_sanitizer "$TMP/$1.err"
	assert_eq 0 "$rc" "$1: exit status of epmon after SIGTERM"
}

# pcurl ARGS...: curl inside $P, quiet, bounded to 10 s.
pcurl() { ip netns exec "$P" curl -sS --max-time 10 "$@"; }

# wait_http URL SECONDS [CURL_ARGS...]: wait until URL answers at all; 1 after SECONDS.
wait_http() {
	local url=$1 t=$2
	shift 2
	for _ in $(seq $((t * 10))); do
		ip netns exec "$P" curl -s --max-time 2 -o /dev/null "$@" "$url" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

# wait_cycles N SECONDS [CURL_ARGS...]: wait until /metrics on $HTTP_PORT counts N cycles
# (epmon_cycles_total): the monitor is updated when a cycle ends, after its rows are
# written (a row alone says its site ended, not the cycle). 1 after SECONDS.
wait_cycles() {
	local n=$1 t=$2 got
	shift 2
	for _ in $(seq $((t * 10))); do
		got=$(ip netns exec "$P" curl -s --max-time 2 "$@" "http://127.0.0.1:$HTTP_PORT/metrics" \
			2>/dev/null | awk '$1 ~ /^epmon_cycles_total[{ ]/ || $1 == "epmon_cycles_total" { print $2 }')
		[ -n "$got" ] && [ "$got" -ge "$n" ] 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

# http_code URL [CURL_ARGS...]: the status code of a GET (000 when no answer).
http_code() {
	local url=$1
	shift
	ip netns exec "$P" curl -s --max-time 10 -o /dev/null -w '%{http_code}' "$@" "$url"
}

# cycle_starts DIR SITE: epoch seconds of SITE's rows, one a line (a cycle's first site
# starts the cycle).
cycle_starts() {
	python3 - "$1" "$2" <<'EOF' || fail "cycle_starts $1 $2"
import csv, datetime, glob, sys
d, site = sys.argv[1:3]
for path in sorted(glob.glob(d + "/results-*.csv")):
    for r in csv.DictReader(open(path, newline="")):
        if r["site"] == site:
            print("%.3f" % datetime.datetime.fromisoformat(r["timestamp"]).timestamp())
EOF
}


# http_web_pid: the pid of $EPMON_PID's child named epmon-web, the web process ("" when
# there is none).
http_web_pid() {
	local c
	for c in $(cat "/proc/$EPMON_PID/task/"*/children 2>/dev/null); do
		[ "$(cat "/proc/$c/comm" 2>/dev/null)" = epmon-web ] && { echo "$c"; return; }
	done
}

# http_wait_web_pid SECONDS [NOT_PID]: wait for a web process (other than NOT_PID) and
# print its pid; 1 after SECONDS.
http_wait_web_pid() {
	local end=$(($(date +%s%N) + $1 * 1000000000)) w
	while [ "$(date +%s%N)" -lt "$end" ]; do
		w=$(http_web_pid)
		[ -n "$w" ] && [ "$w" != "${2:-}" ] && { echo "$w"; return 0; }
		sleep 0.05
	done
	return 1
}
