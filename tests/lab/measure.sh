#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Measures the lab: time of `lab.sh up N` (first and second), its memory, and the time
# of `lab.sh down`. Root only; uses its own prefix (lm<pid>), removed at the end.
#
#   tests/lab/measure.sh [N] [--epmon BINARY]
#
# Memory: `free` (used, KiB) before and after `up`; the RSS sum of every ocserv process
# of the lab (RSS counts the shared libraries in every process) and their PSS sum (shared
# pages split between the processes that map them: the honest total; other ocserv on the
# machine take their share of it). With --epmon, also while N openconnect clients are
# connected at once: `epmon run` (isolation netns, concurrency N) on N sites whose intranet
# hosts do not answer ({count: 1, timeout: 60}), measured once N "tunnel up on" lines are
# logged; then SIGTERM. Prints "name value" lines.
set -euo pipefail
N=50
EPMON=
while [ $# -gt 0 ]; do
	case $1 in
	--epmon) EPMON=$2; shift 2 ;;
	[0-9]*) N=$1; shift ;;
	*) echo "usage: $0 [N] [--epmon BINARY]" >&2; exit 2 ;;
	esac
done
[ "$(id -u)" -eq 0 ] || { echo "measure.sh: must run as root" >&2; exit 1; }
LAB=$(cd "$(dirname "$0")" && pwd)/lab.sh
P=lm$(($$ % 10000))
TMPD=$(mktemp -d /tmp/lab-measure.XXXXXX)
EPID=
cleanup() {
	[ -z "$EPID" ] || { kill -TERM "$EPID" 2>/dev/null; wait "$EPID" 2>/dev/null || true; }
	"$LAB" down --prefix "$P" >/dev/null 2>&1 || true
	rm -rf "$TMPD"
}
trap cleanup EXIT

now_ms() { echo $(($(date +%s%N) / 1000000)); }
used_kb() { free -k | awk '/^Mem:/ {print $3}'; }
# sum_mem COMM_REGEX PIDS...: "count rss_kB pss_kB" of PIDS whose comm matches
sum_mem() {
	local re=$1 pid n=0 rss=0 pss=0 r p
	shift
	for pid in "$@"; do
		[[ $(cat "/proc/$pid/comm" 2>/dev/null) =~ $re ]] || continue
		r=$(awk '/^VmRSS:/ {print $2}' "/proc/$pid/status" 2>/dev/null) || continue
		p=$(awk '/^Pss:/ {print $2}' "/proc/$pid/smaps_rollup" 2>/dev/null) || continue
		n=$((n + 1)); rss=$((rss + ${r:-0})); pss=$((pss + ${p:-0}))
	done
	echo "$n $rss $pss"
}
# lab_pids: every process in the lab's gateway namespaces
lab_pids() {
	local k
	for ((k = 1; k <= N; k++)); do ip netns pids "$P-gw$k" 2>/dev/null; done
}

sync
before=$(used_kb)
t=$(now_ms); "$LAB" up "$N" --prefix "$P" 2>/dev/null; echo "up_ms $(($(now_ms) - t))"
t=$(now_ms); "$LAB" up "$N" --prefix "$P" 2>/dev/null; echo "second_up_ms $(($(now_ms) - t))"
after=$(used_kb)
echo "free_used_before_kB $before"
echo "free_used_after_kB $after"
echo "free_used_delta_kB $((after - before))"
# shellcheck disable=SC2046
read -r n rss pss <<<"$(sum_mem '^ocserv' $(lab_pids))"
echo "ocserv_processes $n"
echo "ocserv_rss_sum_kB $rss"
echo "ocserv_pss_sum_kB $pss"

if [ -n "$EPMON" ]; then
	eval "$("$LAB" env --prefix "$P")"
	for ((k = 1; k <= N; k++)); do "$LAB" intranet-down "$k" --prefix "$P"; done
	mkdir -p "$TMPD/results" "$TMPD/state"
	{
		echo "frequency: 300"
		echo "concurrency: $N"
		echo "results: {directory: $TMPD/results}"
		echo "state_directory: $TMPD/state"
		echo "ping: {count: 1, timeout: 60}"
		echo "sites:"
		for ((k = 1; k <= N; k++)); do
			printf '  - name: s%d\n    external_ip: 198.18.%d.2\n    internal_ip: 10.10.%d.10\n' "$k" "$k" "$k"
			printf '    vpn: {client: openconnect, gateway: 198.18.%d.2, username: %s, password_file: %s, ca_file: %s, login_timeout: 60}\n' \
				"$k" "$LAB_USER" "$LAB_PASSWORD_FILE" "$LAB_CA"
		done
	} >"$TMPD/config.yml"
	chmod 600 "$TMPD/config.yml"
	before=$(used_kb)
	t=$(now_ms)
	ip netns exec "$LAB_NS_PROBE" "$EPMON" run -c "$TMPD/config.yml" 2>"$TMPD/run.err" &
	EPID=$!
	while [ "$(grep -c 'tunnel up on' "$TMPD/run.err")" -lt "$N" ]; do
		kill -0 "$EPID" 2>/dev/null || { cat "$TMPD/run.err" >&2; exit 1; }
		[ $(($(now_ms) - t)) -lt 120000 ] || { echo "not $N tunnels in 120 s" >&2; exit 1; }
		sleep 0.1
	done
	echo "tunnels_up_ms $(($(now_ms) - t))"
	echo "free_used_delta_connected_kB $(($(used_kb) - before))"
	# shellcheck disable=SC2046
	read -r n rss pss <<<"$(sum_mem '^ocserv' $(lab_pids))"
	echo "ocserv_processes_connected $n"
	echo "ocserv_rss_sum_connected_kB $rss"
	echo "ocserv_pss_sum_connected_kB $pss"
	# shellcheck disable=SC2046
	read -r n rss pss <<<"$(sum_mem '^openconnect$' $(pgrep -x openconnect))"
	echo "openconnect_processes $n (machine-wide)"
	echo "openconnect_rss_sum_kB $rss"
	echo "openconnect_pss_sum_kB $pss"
	echo "epmon_rss_kB $(awk '/^VmRSS:/ {print $2}' "/proc/$EPID/status")"
	kill -TERM "$EPID"
	wait "$EPID" || true
	EPID=
fi

t=$(now_ms); "$LAB" down --prefix "$P" 2>/dev/null; echo "down_ms $(($(now_ms) - t))"
