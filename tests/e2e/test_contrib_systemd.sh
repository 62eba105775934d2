#!/usr/bin/env bash
# contrib/systemd/epmon.service: `systemd-analyze verify` accepts it (ExecStart pointed at the
# binary under test, the man pages of Documentation= from doc/), and it keeps what the VPN
# clients need: Type=notify with a watchdog, Restart=on-failure, StateDirectory=epmon,
# CAP_NET_ADMIN and CAP_NET_RAW in the bounding set, /dev/net/tun and the ptys allowed, /etc
# writable (ProtectSystem neither full nor strict), KillMode=mixed. The sd_notify protocol
# itself is tested by test_sdnotify.sh. No root needed; skipped without systemd-analyze.
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
assert_match '^(yes|true)$' "$(value ProtectSystem)" "ProtectSystem (not full/strict: /etc/resolv.conf)"
for cap in CAP_NET_ADMIN CAP_NET_RAW CAP_KILL; do
	value CapabilityBoundingSet | tr ' ' '\n' | grep -qx "$cap" || fail "$cap not in CapabilityBoundingSet"
done
for dev in "/dev/net/tun rw" "/dev/ptmx rw" "char-pts rw"; do
	value DeviceAllow | grep -qx "$dev" || fail "DeviceAllow=$dev missing"
done
[ -z "$(value PrivateDevices)" ] || fail "PrivateDevices= would hide /dev/net/tun"
e2e_log "ok: the unit keeps what VPN clients need"
systemd-analyze security --offline=yes "$TMP/epmon.service" 2>/dev/null | tail -1 | sed 's/^/    /' >&2
exit 0
# SPDX-License-Identifier: MIT
