#!/usr/bin/env bash
# contrib/systemd/epmon.service: `systemd-analyze verify` accepts it (ExecStart pointed at the
# binary under test, the man pages of Documentation= from doc/), and it keeps what the VPN
# clients need: Type=notify with a watchdog, Restart=on-failure, StateDirectory= and
# RuntimeDirectory=epmon, the capabilities the clients were seen to need (tests/systemd/
# try-hardening.sh: CAP_NET_ADMIN, CAP_NET_RAW, CAP_NET_BIND_SERVICE for charon, CAP_KILL,
# CAP_SETUID/SETGID and CAP_SYS_CHROOT for the web process, CAP_SYS_ADMIN for netns
# isolation), /dev/net/tun and the ptys allowed, ProtectSystem=strict with the writable
# places the clients need (private /tmp for openvpn, /run/wireguard, /run/vpnc), mount,
# chroot and seccomp (the web process's own filter) in the system call filter, network and mount namespaces allowed, none of the
# options doc/systemd.md rejects (ProtectKernelTunables, ProcSubset, PrivateDevices, ...),
# KillMode=mixed; and `systemd-analyze security` rates it at most 4.0 (3.7 when written).
# The options themselves are tried with a real systemd by tests/systemd/try-hardening.sh;
# the sd_notify protocol by test_sdnotify.sh. No root needed; skipped without systemd-analyze.
set -u
E2E_PREFIX=${E2E_PREFIX:-report$$s}
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"

require_cmd systemd-analyze
[ -x "${EPMON:-}" ] || fail "EPMON (the epmon binary) not set or not executable: '${EPMON:-}'"
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
UNIT=$ROOT/contrib/systemd/epmon.service
[ -f "$UNIT" ] || fail "no $UNIT"
e2e_tmpdir TMP
mkdir -p "$TMP/man/man8" "$TMP/man/man5"
cp "$ROOT/doc/epmon.8" "$TMP/man/man8/"
cp "$ROOT/doc/epmon.yml.5" "$TMP/man/man5/"
sed "s|^ExecStart=/usr/local/sbin/epmon |ExecStart=$EPMON |" "$UNIT" >"$TMP/epmon.service"
grep -q "^ExecStart=$EPMON run" "$TMP/epmon.service" || fail "no ExecStart=/usr/local/sbin/epmon run in the unit"

MANPATH=$TMP/man systemd-analyze verify "$TMP/epmon.service" >"$TMP/out" 2>&1 ||
	fail "systemd-analyze verify: $(cat "$TMP/out")"
[ -s "$TMP/out" ] && fail "systemd-analyze verify complained: $(cat "$TMP/out")"
e2e_log "ok: systemd-analyze verify"

# value KEY: the unit's value(s) of KEY, one per line
value() { sed -n "s/^$1=//p" "$UNIT"; }
assert_eq notify "$(value Type)" "Type"
assert_eq on-failure "$(value Restart)" "Restart"
assert_eq epmon "$(value StateDirectory)" "StateDirectory"
assert_eq mixed "$(value KillMode)" "KillMode"
assert_match '^[0-9]+(min|s)$' "$(value WatchdogSec)" "WatchdogSec"
assert_eq epmon "$(value RuntimeDirectory)" "RuntimeDirectory"
assert_eq strict "$(value ProtectSystem)" "ProtectSystem"
assert_eq yes "$(value PrivateTmp)" "PrivateTmp (openvpn's --tmp-dir under ProtectSystem=strict)"
for d in /run/wireguard /run/vpnc; do
	value TemporaryFileSystem | tr ' ' '\n' | grep -qx "$d" || fail "TemporaryFileSystem= lacks $d"
done
for cap in CAP_NET_ADMIN CAP_NET_RAW CAP_NET_BIND_SERVICE CAP_KILL CAP_SETUID CAP_SETGID CAP_SYS_ADMIN CAP_SYS_CHROOT; do
	value CapabilityBoundingSet | tr ' ' '\n' | grep -qx "$cap" || fail "$cap not in CapabilityBoundingSet"
done
for dev in "/dev/net/tun rw" "/dev/ptmx rw" "char-pts rw"; do
	value DeviceAllow | grep -qx "$dev" || fail "DeviceAllow=$dev missing"
done
for call in mount chroot seccomp; do
	value SystemCallFilter | tr ' ' '\n' | grep -qx "$call" || fail "SystemCallFilter= lacks $call"
done
for ns in net mnt; do
	value RestrictNamespaces | tr ' ' '\n' | grep -qx "$ns" || fail "RestrictNamespaces= lacks $ns"
done
value RestrictAddressFamilies | tr ' ' '\n' | grep -qx AF_NETLINK || fail "RestrictAddressFamilies= lacks AF_NETLINK"
for opt in PrivateDevices PrivateNetwork PrivateUsers ProtectKernelTunables ProcSubset User DynamicUser; do
	[ -z "$(value "$opt")" ] || fail "$opt= set: doc/systemd.md says why it cannot be"
done
e2e_log "ok: the unit keeps what VPN clients need"
score=$(systemd-analyze security --offline=yes "$TMP/epmon.service" 2>/dev/null | tail -1)
e2e_log "$score"
# --threshold is the exposure times ten: 40 = 4.0
systemd-analyze security --offline=yes --threshold=40 "$TMP/epmon.service" >/dev/null 2>&1 ||
	fail "systemd-analyze security: exposure above 4.0: $score"
e2e_log "ok: exposure at most 4.0"
exit 0
# SPDX-License-Identifier: MIT
