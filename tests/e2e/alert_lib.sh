# SPDX-License-Identifier: MIT
# shellcheck shell=bash
# Helpers of the alert tests (tests/e2e/test_alert_*.sh), sourced after lib.sh.
#
# Topology (alert_topology): a probe namespace $P and a target namespace $T joined by a
# veth, probe 10.215.1.2, target 10.215.1.10. The target ignores pings until
# target_answer 1. The SMTP test server (tests/tools/smtpd.py, python3-aiosmtpd) runs on
# the probe namespace's own loopback, so nothing leaves the test's namespaces.

ALERT_SMTPD=$(cd "$(dirname "${BASH_SOURCE[0]}")/../tools" && pwd)/smtpd.py
TARGET_IP=10.215.1.10

# alert_require: skip/fail unless everything the alert tests need is here.
alert_require() {
	require_root_netns
	require_cmd python3
	[ -x /usr/bin/python3 ] || skip "needs /usr/bin/python3"
	/usr/bin/python3 -c 'import aiosmtpd' 2>/dev/null || skip "needs python3-aiosmtpd (make deps)"
	[ -x "${EPMON:-}" ] || fail "EPMON (the epmon binary) not set or not executable: '${EPMON:-}'"
}

# alert_topology: namespaces $P (probe) and $T (target), the target silent.
alert_topology() {
	P=$E2E_PREFIX-probe
	T=$E2E_PREFIX-target
	netns_create "$P"
	netns_create "$T"
	veth_pair "$P" p1 10.215.1.2/24 "$T" t0 "$TARGET_IP/24"
	target_answer 0
	netns_settle 5
}

# target_answer 0|1: the target ignores (0) or answers (1) pings.
target_answer() {
	ns_sysctl "$T" "net.ipv4.icmp_echo_ignore_all=$((1 - $1))"
}

# smtpd_start NAME PORT MODE [ARGS...]: the SMTP test server in $P on 127.0.0.1:PORT,
# saving to $TMP/NAME.mail; its pid in $SMTPD_PID (registered), log in $TMP/NAME.smtpd.
smtpd_start() {
	local name=$1 port=$2 mode=$3 i
	shift 3
	rm -f "$TMP/$name.pid"
	ip netns exec "$P" /usr/bin/python3 "$ALERT_SMTPD" --port "$port" --mode "$mode" \
		--dir "$TMP/$name.mail" --pidfile "$TMP/$name.pid" "$@" 2>>"$TMP/$name.smtpd" &
	SMTPD_PID=$!
	register_pid "$SMTPD_PID"
	for i in $(seq 100); do
		[ -s "$TMP/$name.pid" ] && return 0
		kill -0 "$SMTPD_PID" 2>/dev/null || break
		sleep 0.05
	done
	cat "$TMP/$name.smtpd" >&2
	fail "smtpd $name ($mode on port $port) did not start"
}

# smtpd_stop PID: stop the server, wait for it.
smtpd_stop() {
	kill -TERM "$1" 2>/dev/null
	wait "$1" 2>/dev/null
}

# mail_count DIR: number of messages received (0 when none).
mail_count() {
	local n
	n=$(find "$1" -maxdepth 1 -name 'msg-*.eml' 2>/dev/null | wc -l)
	echo "$n"
}

# wait_mail DIR N SECONDS: wait until DIR holds at least N messages; 0 when it did.
wait_mail() {
	local end
	end=$(($(date +%s%N) + $3 * 1000000000))
	while [ "$(date +%s%N)" -lt "$end" ]; do
		[ "$(mail_count "$1")" -ge "$2" ] && return 0
		sleep 0.05
	done
	return 1
}

# mail_header FILE NAME: the unfolded, decoded (RFC 2047) value of header NAME.
mail_header() {
	/usr/bin/python3 - "$1" "$2" <<'EOF' || fail "mail_header $1 $2"
import email, email.policy, sys
msg = email.message_from_binary_file(open(sys.argv[1], "rb"), policy=email.policy.default)
v = msg[sys.argv[2]]
print("" if v is None else str(v))
EOF
}

# mail_body FILE: the decoded text body.
mail_body() {
	/usr/bin/python3 - "$1" <<'EOF' || fail "mail_body $1"
import email, email.policy, sys
msg = email.message_from_binary_file(open(sys.argv[1], "rb"), policy=email.policy.default)
sys.stdout.write(msg.get_content())
EOF
}

# subjects DIR: the subjects of the received messages, in order, one a line.
subjects() {
	local f
	for f in "$1"/msg-*.eml; do
		[ -f "$f" ] && mail_header "$f" Subject
	done
}

# alert_config FILE RESULTS STATE LOGGING SITES: a 0600 config, written atomically;
# frequency 1 s, one ping with a 0.3 s timeout. LOGGING is the inside of the logging map
# ("" for none), SITES the lines under sites:.
alert_config() {
	{
		echo "frequency: 1"
		echo "results: {directory: $2}"
		echo "state_directory: $3"
		echo "ping: {count: 1, interval: 0.1, timeout: 0.3}"
		[ -n "$4" ] && printf 'logging:\n%s\n' "$4"
		printf 'sites:\n%s\n' "$5"
	} >"$1.new"
	chmod 600 "$1.new"
	mv -f "$1.new" "$1"
}

# epmon_start CONFIG NAME: `epmon run` in $P, stderr appended to $TMP/NAME.err; its pid
# in $RUN_PID (registered).
epmon_start() {
	ip netns exec "$P" "$EPMON" run -c "$1" 2>>"$TMP/$2.err" &
	RUN_PID=$!
	register_pid "$RUN_PID"
}

# epmon_stop NAME: SIGTERM epmon, wait; exit status in $rc, seconds it took in $took;
# its stderr is checked for sanitizer reports.
epmon_stop() {
	local t0 t1
	t0=$(date +%s%N)
	kill -TERM "$RUN_PID"
	wait "$RUN_PID"
	rc=$?
	t1=$(date +%s%N)
	took=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", (b - a) / 1e9 }')
	assert_no_sanitizer "$TMP/$1.err"
}

# expect_log FILE REGEX WHAT: fail (showing FILE) unless a line matches the extended REGEX.
expect_log() {
	if ! grep -qE -- "$2" "$1"; then
		sed 's/^/    | /' "$1" >&2
		fail "$3: no line matching /$2/ in $1"
	fi
	e2e_log "ok: $3"
}

# spool_count STATE: messages waiting in STATE/spool.
spool_count() {
	find "$1/spool" -maxdepth 1 -name '*.eml' ! -name '.*' 2>/dev/null | wc -l
}

# ---- webhooks and Alertmanager (test_alert_webhook.sh, test_alert_alertmanager.sh) ----
# One namespace $P with only its loopback: epmon, the receiver and Alertmanager all run in
# it on 127.0.0.1, so nothing leaves it. A site pings an address of 10.215.9.0/24 that
# answers while it is on lo (sink_answer ADDR 1) and fails at once otherwise, with no route
# ("cannot send to ADDR: Network is unreachable"): a cycle takes milliseconds either way.

# sink_require: skip/fail unless root, namespaces, /usr/bin/python3 and $EPMON are here.
sink_require() {
	require_root_netns
	[ -x /usr/bin/python3 ] || skip "needs /usr/bin/python3"
	[ -x "${EPMON:-}" ] || fail "EPMON (the epmon binary) not set or not executable: '${EPMON:-}'"
}

# sink_topology: namespace $P, lo only.
sink_topology() {
	P=$E2E_PREFIX-probe
	netns_create "$P"
}

# sink_answer ADDR 0|1: pings of ADDR fail (0: no route) or are answered (1: on lo).
sink_answer() {
	if [ "$2" = 1 ]; then
		ip -n "$P" addr add "$1/32" dev lo || fail "addr $1 on lo of $P"
	else
		ip -n "$P" addr del "$1/32" dev lo || fail "del addr $1 on lo of $P"
	fi
}

# sink_config FILE RESULTS STATE PROBE ALERTING SITES: a 0600 config, written atomically;
# frequency 1 s, one ping with a 0.3 s timeout, probe_name PROBE; ALERTING is the inside of
# the alerting map, SITES the lines under sites:.
sink_config() {
	{
		echo "frequency: 1"
		echo "probe_name: $4"
		echo "results: {directory: $2}"
		echo "state_directory: $3"
		echo "ping: {count: 1, interval: 0.1, timeout: 0.3}"
		printf 'alerting:\n%s\n' "$5"
		printf 'sites:\n%s\n' "$6"
	} >"$1.new"
	chmod 600 "$1.new"
	mv -f "$1.new" "$1"
}

# wait_for SECONDS CMD...: run CMD every 0.1 s until it succeeds; 0 when it did, 1 after
# SECONDS.
wait_for() {
	local end=$(($(date +%s%N) + $1 * 1000000000))
	shift
	until "$@"; do
		[ "$(date +%s%N)" -lt "$end" ] || return 1
		sleep 0.1
	done
}
