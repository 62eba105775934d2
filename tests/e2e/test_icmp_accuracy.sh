#!/usr/bin/env bash
# RTT accuracy: echo_responder answers after exactly 10.000 ms; `epmon once`
# (count 20, interval 0.05) and iputils ping (-c 20 -i 0.05) measure it at the
# same time from the probe namespace over one direct veth. epmon's external and
# internal rtt must be within 1 ms of the true delay and of what ping says (best of 3
# valid attempts): an error of epmon's is far larger; the difference to ping, printed,
# is hundredths of a ms on an idle machine.
set -u
E2E_PREFIX=${E2E_PREFIX:-icmpa$$}
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"

require_root_netns
require_cmd python3 ping
[ -x "${EPMON:-}" ] || fail "EPMON (the epmon binary) not set or not executable: '${EPMON:-}'"
[ -x "${TOOLS:-}/echo_responder" ] || fail "no echo_responder in TOOLS='${TOOLS:-}'"

P=$E2E_PREFIX-probe
D=$E2E_PREFIX-delay
netns_create "$P"
netns_create "$D"
veth_pair "$P" p0 10.202.1.2/24 "$D" d0 10.202.1.10/24,10.202.1.11/24
ns_sysctl "$D" net.ipv4.icmp_echo_ignore_all=1 net.ipv6.icmp.echo_ignore_all=1
netns_settle 5

e2e_tmpdir TMP
mkdir -p "$TMP/state"

# One measurement: a fresh responder, epmon once and ping side by side.
# Sets ext, int, ping_avg, late (the responder's worst lateness, us).
measure() { # attempt
	local k=$1 rc ping_rc resp_pid ping_pid csv
	mkdir -p "$TMP/results$k"
	cat >"$TMP/config$k.yml" <<EOF2
frequency: 60
results: {directory: $TMP/results$k}
state_directory: $TMP/state
ping: {count: 20, interval: 0.05, timeout: 1}
sites:
  - {name: acc, external_ip: 10.202.1.10, internal_ip: 10.202.1.11}
EOF2
	chmod 600 "$TMP/config$k.yml"
	rm -f "$TMP/responder.pid"
	ip netns exec "$D" "$TOOLS/echo_responder" --delay-ms 10.000 \
		--pidfile "$TMP/responder.pid" 2>"$TMP/responder$k.log" &
	resp_pid=$!
	register_pid "$resp_pid"
	wait_pidfile "$TMP/responder.pid"

	# ping runs alongside epmon's external ping (the first of its two steps).
	ip netns exec "$P" ping -n -q -c 20 -i 0.05 10.202.1.10 >"$TMP/ping$k.out" 2>&1 &
	ping_pid=$!
	register_pid "$ping_pid"
	ip netns exec "$P" "$EPMON" once -c "$TMP/config$k.yml" >"$TMP/once$k.out" 2>&1
	rc=$?
	wait "$ping_pid"
	ping_rc=$?
	kill -TERM "$resp_pid"
	wait "$resp_pid"
	cat "$TMP/once$k.out" "$TMP/ping$k.out" "$TMP/responder$k.log" >&2
	assert_eq 0 "$rc" "exit status of epmon once"
	assert_eq 0 "$ping_rc" "exit status of ping"

	csv=$(results_file "$TMP/results$k")
	assert_near 0 "$(csv_get "$csv" acc external_loss_pct)" 0.001 "external loss"
	ext=$(csv_get "$csv" acc external_rtt_ms)
	int=$(csv_get "$csv" acc internal_rtt_ms)
	ping_avg=$(sed -n 's|^rtt min/avg/max/mdev = [0-9.]*/\([0-9.]*\)/.*|\1|p' "$TMP/ping$k.out")
	late=$(sed -n 's/.*, \([0-9.]*\) us at most$/\1/p' "$TMP/responder$k.log")
	assert_match '^[0-9]+\.[0-9]+$' "$ping_avg" "ping's average"
	echo "attempt $k: true delay 10.000 ms: epmon external $ext ms, internal $int ms;" \
		"ping $ping_avg ms; responder late by $late us at most"
}

# within A B TOL: |A - B| < TOL
within() { awk -v a="$1" -v b="$2" -v t="$3" 'BEGIN { d = a - b; exit !((d < 0 ? -d : d) < t) }'; }

# A busy shared machine can stall any of the three processes for milliseconds,
# which moves an average of 20 by 0.05 ms or more. An attempt in which the
# responder itself answered more than 500 us late measured the machine, not
# epmon: it is discarded and repeated (at most 10 attempts in all).
valid=0
for k in 1 2 3 4 5 6 7 8 9 10; do
	measure "$k"
	if ! within "${late:-99999}" 0 500; then
		echo "attempt $k discarded: the responder was ${late} us late (> 500 us)"
		continue
	fi
	valid=$((valid + 1))
	# a wrong RTT (units, the interval counted, a late send timestamp) is off by far
	# more than 1 ms; how close epmon comes to ping (hundredths of a ms on an idle
	# machine) is a figure for `make bench` and the log, not an assertion under load
	if within "$ext" 10.0 1 && within "$ext" "$ping_avg" 1 && within "$int" 10.0 1; then
		echo "attempt $k: epmon - ping = $(awk -v a="$ext" -v b="$ping_avg" 'BEGIN { printf "%.3f", a - b }') ms"
		echo "PASS: icmp accuracy"
		exit 0
	fi
	[ "$valid" -ge 3 ] && break
done
fail "epmon's rtt is off in $valid valid attempt(s) of $k (need |epmon - 10.0| < 1 ms, |epmon - ping| < 1 ms, responder late < 500 us)"
# SPDX-License-Identifier: MIT
