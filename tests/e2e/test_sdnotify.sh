#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# systemd notifications of `epmon run` (Type=notify, WatchdogSec=), with a small Python
# datagram listener standing in for systemd as NOTIFY_SOCKET:
#   1. a socket path, WATCHDOG_USEC=1000000: READY=1 after start-up, STATUS= after each
#      cycle ("last cycle: N sites, M failed, X s"), WATCHDOG=1 from READY to the end
#      (through sleeps and concurrent site tests) never as far apart as the 1 s watchdog,
#      RELOADING=1 then READY=1 on SIGHUP, STOPPING=1 on SIGTERM, exit 0;
#   2. an abstract socket ("@name"): the same READY=1 and WATCHDOG=1;
#   3. WATCHDOG_PID of another process: no WATCHDOG=1 at all.
# epmon runs in a namespace of its own, pinging 127.0.0.1 there (no VPN).
set -u
E2E_PREFIX=${E2E_PREFIX:-report$$n}
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"

require_root_netns
require_cmd python3
[ -x "${EPMON:-}" ] || fail "EPMON (the epmon binary) not set or not executable: '${EPMON:-}'"
P=$E2E_PREFIX-probe
netns_create "$P"
e2e_tmpdir TMP
mkdir -p "$TMP/results" "$TMP/state"
cat >"$TMP/config.yml" <<EOF
frequency: 3
results: {directory: $TMP/results}
state_directory: $TMP/state
# a cycle of about 1.8 s (two pings of 0.9 s, the sites at once): longer than the watchdog
ping: {count: 4, interval: 0.3, timeout: 0.5}
sites:
  - {name: lo-a, external_ip: 127.0.0.1, internal_ip: 127.0.0.1}
  - {name: lo-b, external_ip: 127.0.0.1}
EOF
chmod 600 "$TMP/config.yml"

# The listener: one line per datagram, "MONOTONIC_S MESSAGE", until killed.
cat >"$TMP/listen.py" <<'EOF'
import os, socket, sys, time
addr, out = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind("\0" + addr[1:] if addr.startswith("@") else addr)
with open(out, "w", buffering=1) as f:
    f.write("%.6f LISTENING\n" % time.monotonic())
    while True:
        msg = s.recv(4096).decode(errors="replace")
        for line in msg.split("\n"):
            if line:
                f.write("%.6f %s\n" % (time.monotonic(), line))
EOF

# listen ADDR LOG: start the listener in the namespace (abstract names are per namespace).
listen() {
	ip netns exec "$P" python3 "$TMP/listen.py" "$1" "$2" &
	register_pid $!
	wait_log "$2" LISTENING 5 || fail "the listener did not start"
}

# start NAME ENV...: `epmon run` in the namespace with ENV, its pid in $PID.
start() {
	local name=$1
	shift
	env "$@" ip netns exec "$P" "$EPMON" run -c "$TMP/config.yml" 2>"$TMP/$name.err" &
	PID=$!
	register_pid "$PID"
}

# stop NAME: SIGTERM, wait, exit status 0, no sanitizer report.
stop() {
	kill -TERM "$PID"
	wait "$PID"
	assert_eq 0 "$?" "$1: exit status after SIGTERM"
	assert_no_sanitizer "$TMP/$1.err"
}

# ---- 1. a socket path, watchdog 1 s ----
listen "$TMP/notify.sock" "$TMP/n1"
start n1 NOTIFY_SOCKET="$TMP/notify.sock" WATCHDOG_USEC=1000000
wait_log "$TMP/n1" READY=1 10 || fail "no READY=1: $(cat "$TMP/n1" "$TMP/n1.err")"
wait_log "$TMP/n1" "STATUS=last cycle" 10 || fail "no STATUS after a cycle: $(cat "$TMP/n1")"
wait_log "$TMP/n1.err" "cycle 2: " 10 || fail "no second cycle: $(cat "$TMP/n1.err")"
kill -HUP "$PID"
wait_log "$TMP/n1" RELOADING=1 5 || fail "no RELOADING=1 on SIGHUP: $(cat "$TMP/n1")"
wait_log "$TMP/n1.err" "cycle 3: " 10 || fail "no third cycle after SIGHUP: $(cat "$TMP/n1.err")"
sleep 1.3
stop n1
wait_log "$TMP/n1" STOPPING=1 5 || fail "no STOPPING=1 on SIGTERM: $(cat "$TMP/n1")"
sed 's/^/    | /' "$TMP/n1" | awk '!/WATCHDOG/ || ++n <= 3' >&2

python3 - "$TMP/n1" <<'EOF' || fail "notifications (above)"
import sys
lines = [l.rstrip("\n").split(" ", 1) for l in open(sys.argv[1])]
msgs = [m for _, m in lines]
t = {m: float(ts) for ts, m in reversed(lines)}           # first time of each message
ready = [i for i, m in enumerate(msgs) if m == "READY=1"]
assert ready, "no READY=1"
stop = msgs.index("STOPPING=1")
assert "RELOADING=1" in msgs and any(i > msgs.index("RELOADING=1") for i in ready), \
    "RELOADING=1 must be followed by READY=1"
status = [m for m in msgs if m.startswith("STATUS=last cycle: ")]
assert len(status) >= 3, status
assert status[0].startswith("STATUS=last cycle: 2 sites, 0 failed, "), status[0]
assert status[0].endswith(" s"), status[0]
# watchdog: from READY=1 to STOPPING=1, never as long as WATCHDOG_USEC without WATCHDOG=1
# (epmon aims at 0.45 s asleep and 0.3 s during a cycle; a busy machine adds its delays)
times = [float(ts) for ts, m in lines[ready[0]:stop + 1] if m == "WATCHDOG=1"]
edges = [float(lines[ready[0]][0])] + times + [float(lines[stop][0])]
gaps = [b - a for a, b in zip(edges, edges[1:])]
print("watchdog: %d pings over %.2f s, largest gap %.3f s" % (len(times), edges[-1] - edges[0], max(gaps)))
# (no rate asserted beyond that: a busy machine stretches each gap a little)
assert max(gaps) < 1.0, "a gap of %.3f s between watchdog pings" % max(gaps)
EOF
e2e_log "ok: path socket: READY, STATUS, WATCHDOG never 1 s apart, RELOADING/READY, STOPPING"

# ---- 2. an abstract socket ----
listen "@$E2E_PREFIX-notify" "$TMP/n2"
start n2 NOTIFY_SOCKET="@$E2E_PREFIX-notify" WATCHDOG_USEC=1000000
wait_log "$TMP/n2" READY=1 10 || fail "abstract socket: no READY=1: $(cat "$TMP/n2" "$TMP/n2.err")"
wait_log "$TMP/n2" WATCHDOG=1 5 || fail "abstract socket: no WATCHDOG=1"
stop n2
wait_log "$TMP/n2" STOPPING=1 5 || fail "abstract socket: no STOPPING=1"
e2e_log "ok: abstract socket: READY, WATCHDOG, STOPPING"

# ---- 3. a watchdog meant for another process ----
listen "$TMP/notify3.sock" "$TMP/n3"
start n3 NOTIFY_SOCKET="$TMP/notify3.sock" WATCHDOG_USEC=1000000 WATCHDOG_PID=1
wait_log "$TMP/n3" "STATUS=last cycle" 10 || fail "WATCHDOG_PID: no cycle: $(cat "$TMP/n3")"
stop n3
wait_log "$TMP/n3" STOPPING=1 5 || fail "WATCHDOG_PID: no STOPPING=1"
assert_eq 0 "$(grep -c WATCHDOG=1 "$TMP/n3")" "WATCHDOG=1 with WATCHDOG_PID of another process"

# ---- without NOTIFY_SOCKET: nothing changes (epmon run as before) ----
start n4
wait_log "$TMP/n4.err" "cycle 1: " 10 || fail "without NOTIFY_SOCKET: no cycle: $(cat "$TMP/n4.err")"
stop n4
e2e_log "all sd_notify checks passed"
