#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Self-test of the lab (no epmon involved): builds a 2-gateway lab under a unique prefix,
# connects with the real openconnect, checks the tunnel, DNS rewrite, every failure the
# lab can inject, and removes the lab. Exit 0 pass, 77 skip (not root / tools missing,
# a failure under CI=true), 1 fail.   Usage: sudo tests/lab/selftest.sh
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
lab="$here/lab.sh"

skip() {
	echo "SKIP: $*"
	[ "${CI:-}" = true ] && exit 1
	exit 77
}
[ "$(id -u)" -eq 0 ] || skip "needs root"
for t in ip ocserv openconnect certtool ocpasswd; do
	command -v "$t" >/dev/null || skip "$t missing (run: sudo make deps)"
done

prefix="lt$(($$ % 10000))"
work=$(mktemp -d)
oc_pid=
cleanup() {
	[ -n "$oc_pid" ] && kill -KILL "$oc_pid" 2>/dev/null
	"$lab" down --prefix "$prefix" >/dev/null 2>&1 || true
	rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; exit 1; }
ok() { echo "ok: $*"; }

ms() { date +%s%3N; }
t0=$(ms)
"$lab" up 2 --prefix "$prefix" >/dev/null
ok "lab up 2 in $(($(ms) - t0)) ms"
"$lab" up 2 --prefix "$prefix" >/dev/null
"$lab" status --prefix "$prefix" >/dev/null || fail "status after second up"
eval "$("$lab" env --prefix "$prefix")"
P=(ip netns exec "$LAB_NS_PROBE")

"${P[@]}" ip route get "$LAB_GW1_INTRANET_IP" >/dev/null 2>&1 &&
	fail "probe has a route to the intranet without a tunnel"
"${P[@]}" ping -c 1 -W 1 "$LAB_GW1_IP" >/dev/null || fail "gateway 1 does not answer ping"
ok "no intranet route without tunnel; gateway answers ping"

oc() { # GW_IP PASSWORD_FILE [openconnect options...]: run in the background
	local gw=$1 pw=$2; shift 2
	"${P[@]}" openconnect --protocol=anyconnect --user "$LAB_USER" --passwd-on-stdin \
		--interface epmon0 "$@" "$gw" <"$pw" >"$work/oc.out" 2>&1 &
	oc_pid=$!
}
wait_for() { # SECONDS COMMAND...: poll every 20 ms
	local end=$(($(ms) + $1 * 1000)); shift
	until "$@"; do [ "$(ms)" -lt "$end" ] || return 1; sleep 0.02; done
}
tunnel_routed() { "${P[@]}" ip route get "$LAB_GW1_INTRANET_IP" 2>/dev/null | grep -q 'dev epmon0'; }
dns_rewritten() { grep -q '^#@VPNC_GENERATED@' "$LAB_RESOLV_CONF"; }
oc_exited() { # a zombie counts as exited (kill -0 would still succeed)
	local st
	st=$(awk '/^State:/ {print $2}' "/proc/$oc_pid/status" 2>/dev/null) || true
	[ -z "$st" ] || [ "$st" = Z ]
}

t0=$(ms)
oc "$LAB_GW1_IP" "$LAB_PASSWORD_FILE" --cafile "$LAB_CA"
wait_for 10 dns_rewritten || fail "no connection: $(cat "$work/oc.out")"
grep -q '^Configured as 10\.20\.1\.' "$work/oc.out" || fail "no 'Configured as' line"
tunnel_routed || fail "no route to the intranet via epmon0"
grep -q "^nameserver $LAB_GW1_DNS" "$LAB_RESOLV_CONF" || fail "pushed DNS not in resolv.conf"
ok "connected and configured in $(($(ms) - t0)) ms"
"${P[@]}" ping -c 2 -i 0.2 -W 1 -I epmon0 "$LAB_GW1_INTRANET_IP" >/dev/null || fail "intranet ping"
ok "intranet host answers through the tunnel"
"${P[@]}" ping -c 1 -W 1 "$LAB_GW2_INTRANET_IP" >/dev/null 2>&1 &&
	fail "intranet 2 reachable through gateway 1's tunnel"

"$lab" intranet-down 1 --prefix "$prefix"
"${P[@]}" ping -c 1 -W 1 -I epmon0 "$LAB_GW1_INTRANET_IP" >/dev/null 2>&1 && fail "intranet-down"
"$lab" intranet-up 1 --prefix "$prefix"
"${P[@]}" ping -c 1 -W 1 -I epmon0 "$LAB_GW1_INTRANET_IP" >/dev/null || fail "intranet-up"
ok "intranet-down / intranet-up"

kill -INT "$oc_pid"
wait_for 5 oc_exited || fail "openconnect ignored SIGINT"
wait "$oc_pid" || fail "openconnect exit status $? after SIGINT"
oc_pid=
"${P[@]}" ip link show epmon0 >/dev/null 2>&1 && fail "epmon0 left after disconnect"
dns_rewritten && fail "resolv.conf not restored"
grep -q '^# epmon lab baseline' "$LAB_RESOLV_CONF" || fail "resolv.conf baseline lost"
ok "SIGINT: disconnected, epmon0 gone, resolv.conf restored"

expect_fail() { # WHAT PATTERN GW_IP PASSWORD_FILE [options...]
	local what=$1 pattern=$2 rc=0; shift 2
	oc "$@"
	wait "$oc_pid" || rc=$?
	oc_pid=
	[ "$rc" -ne 0 ] || fail "$what: openconnect exited 0"
	grep -q "$pattern" "$work/oc.out" || fail "$what: no '$pattern' in: $(cat "$work/oc.out")"
	ok "$what: exit $rc, '$pattern'"
}
expect_fail "wrong password" '^Login failed\.' "$LAB_GW1_IP" "$LAB_WRONG_PASSWORD_FILE" --cafile "$LAB_CA"
expect_fail "untrusted certificate" 'Server certificate verify failed' "$LAB_GW1_IP" \
	"$LAB_PASSWORD_FILE" --non-inter
"$lab" gw-stop 1 --prefix "$prefix"
expect_fail "gateway stopped" 'Connection refused' "$LAB_GW1_IP" "$LAB_PASSWORD_FILE" --cafile "$LAB_CA"
"${P[@]}" ping -c 1 -W 1 "$LAB_GW1_IP" >/dev/null || fail "gateway ping with ocserv stopped"
"$lab" gw-start 1 --prefix "$prefix"
"$lab" gw-link-down 2 --prefix "$prefix"
"${P[@]}" ping -c 1 -W 1 "$LAB_GW2_IP" >/dev/null 2>&1 && fail "gw-link-down"
"$lab" gw-link-up 2 --prefix "$prefix"
"${P[@]}" ping -c 1 -W 1 "$LAB_GW2_IP" >/dev/null || fail "gw-link-up"
ok "gw-link-down / gw-link-up"
"$lab" status --prefix "$prefix" >/dev/null || fail "status after restarts"

"$lab" down --prefix "$prefix" >/dev/null
ip netns list | grep -q "^$prefix-" && fail "namespaces left after down"
[ -e "/etc/netns/$prefix-probe" ] && fail "/etc/netns/$prefix-probe left"
[ -e "/run/epmon-lab/$prefix" ] && fail "state dir left"
ok "down removed namespaces, /etc/netns entry and state"
echo "PASS"
