#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The HTTP server runs in a process of its own without privileges (src/web/server.h):
#   1. `epmon run` with http: has one child "epmon-web": not root (the epmon user or
#      nobody), no capabilities, no_new_privs, a seccomp filter in every thread (mode 2:
#      src/web/sandbox.c), not dumpable, chrooted in an empty
#      directory, an empty environment, and no byte of a password epmon holds in its
#      environment anywhere in its memory (read from /proc/PID/mem); epmon itself is not
#      dumpable;
#   2. it serves /metrics (the pages come from the root process);
#   3. kill -9 of the web process: epmon logs it, starts a new one, serves again, and its
#      cycles never stopped;
#   4. SIGTERM: epmon exits 0 and no web process is left.
set -u
E2E_PREFIX=${E2E_PREFIX:-httpps$$}
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=tests/e2e/http_lib.sh
. "$(dirname "$0")/http_lib.sh"

http_require
http_topology
CFG=$TMP/config.yml
BASE=http://127.0.0.1:$HTTP_PORT
# a secret epmon holds in its environment (as a VPN site's password_env would)
TOKEN=privsep-$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')

# web_pid: the pid of epmon's child named epmon-web ("" when none)
web_pid() {
	local c
	for c in $(cat "/proc/$EPMON_PID/task/"*/children 2>/dev/null); do
		[ "$(cat "/proc/$c/comm" 2>/dev/null)" = epmon-web ] && { echo "$c"; return; }
	done
}

wait_web_pid() { # NOT_PID: a web process other than NOT_PID, in 10 s
	local i w
	for i in $(seq 200); do
		w=$(web_pid)
		[ -n "$w" ] && [ "$w" != "${1:-}" ] && { echo "$w"; return 0; }
		sleep 0.05
	done
	return 1
}

http_config "$CFG" 1 "{listen: \"127.0.0.1:$HTTP_PORT\"}" "$SITES_UP_DOWN"
ip netns exec "$P" env EPMON_PRIVSEP_PW="$TOKEN" "$EPMON" run -c "$CFG" 2>"$TMP/run.err" &
EPMON_PID=$!
register_pid "$EPMON_PID"
wait_cycles 1 10 || fail "no cycle served in 10 s: $(cat "$TMP/run.err")"

# ---- 1. the web process ----
W=$(wait_web_pid) || fail "no epmon-web child of epmon"
e2e_log "web process $W of epmon $EPMON_PID"
status() { awk -v k="$2:" '$1 == k { $1 = ""; print substr($0, 2) }' "/proc/$1/status"; }
uid=$(status "$W" Uid | awk '{ print $1 }')
[ "$uid" != 0 ] || fail "the web process runs as root"
assert_eq "$uid $uid $uid $uid" "$(status "$W" Uid | tr -s '\t ' ' ')" "web: real, effective, saved, fs uid"
assert_eq 0000000000000000 "$(status "$W" CapEff)" "web: effective capabilities"
assert_eq 0000000000000000 "$(status "$W" CapPrm)" "web: permitted capabilities"
assert_eq 1 "$(status "$W" NoNewPrivs)" "web: no_new_privs"
for t in /proc/"$W"/task/*; do
	assert_eq 2 "$(awk '$1 == "Seccomp:" { print $2 }' "$t/status")" \
		"web: seccomp filter mode of thread ${t##*/}"
done
assert_eq "$EPMON_PID" "$(status "$W" PPid)" "web: parent"
root=$(readlink "/proc/$W/root")
assert_eq /run/epmon/web "$root" "web: root directory"
assert_eq "" "$(find /run/epmon/web -mindepth 1 | head -3)" "web: its root is empty"
[ -z "$(tr -d '\0' <"/proc/$W/environ")" ] || fail "web: environment not empty"
grep -q "EPMON_PRIVSEP_PW=$TOKEN" "/proc/$EPMON_PID/environ" ||
	fail "test setup: epmon does not have the token in its environment"
/usr/bin/python3 - "$W" "$TOKEN" <<'EOF' || fail "the web process holds epmon's secret"
import re, sys
pid, token = sys.argv[1], sys.argv[2].encode()
found = scanned = 0
with open("/proc/%s/maps" % pid) as maps, open("/proc/%s/mem" % pid, "rb", 0) as mem:
    for line in maps:
        m = re.match(r"([0-9a-f]+)-([0-9a-f]+) r", line)
        if not m:
            continue
        a, b = int(m.group(1), 16), int(m.group(2), 16)
        if b - a > (1 << 30):
            continue    # a sanitizer's shadow memory: reserved, never a copy of anything
        tail = b""
        for at in range(a, b, 1 << 20):
            try:
                mem.seek(at)
                chunk = mem.read(min(1 << 20, b - at))
            except (OSError, ValueError, OverflowError):
                break
            scanned += len(chunk)
            found += (tail + chunk).count(token)
            tail = chunk[-(len(token) - 1):]
print("scanned %d MB of the web process: %d copies of the secret" % (scanned >> 20, found),
      file=sys.stderr)
# the sanitizers' runtime reads /proc/self/environ into a buffer of its own at start
# (sanitizer_common's GetEnv): a copy in a sanitizer build only, nothing epmon keeps
asan = "libasan" in open("/proc/%s/maps" % pid).read()
if asan and found:
    print("sanitizer build: copies not counted", file=sys.stderr)
    found = 0
sys.exit(1 if found or scanned == 0 else 0)
EOF
assert_eq 0 "$(status "$EPMON_PID" "TracerPid")" "epmon: not traced"
# not dumpable: /proc/PID/mem of epmon is root's only through CAP_SYS_PTRACE; its
# files are owned by root and its core limit is 0
assert_eq "0 0" "$(awk '/^Max core file size/ { print $5, $6 }' "/proc/$EPMON_PID/limits")" \
	"epmon: core file size limit"

# ---- 2. it serves ----
pcurl -o "$TMP/m1" "$BASE/metrics" || fail "GET /metrics"
grep -q '^epmon_cycles_total{' "$TMP/m1" || fail "/metrics without epmon_cycles_total"

# ---- 3. kill -9 of the web process ----
rows=$(csv_count "$TMP/results" alpha)
kill -KILL "$W"
wait_log "$TMP/run.err" "http: the web process $W was killed by signal 9" 10 ||
	fail "the death of the web process not logged: $(tail -5 "$TMP/run.err")"
W2=$(wait_web_pid "$W") || fail "no new web process after kill -9"
wait_log "$TMP/run.err" "web process $W2" 10 || fail "the new web process not logged"
n=$(ip netns exec "$P" curl -s --max-time 2 "$BASE/metrics" | awk '$1 ~ /^epmon_cycles_total/ { print $2 }')
wait_cycles $((n + 1)) 10 || fail "no cycle served by the new web process"
[ "$(csv_count "$TMP/results" alpha)" -gt "$rows" ] || fail "cycles stopped while the web process was down"
e2e_log "ok: web process $W killed, $W2 serves; rows of alpha $rows -> $(csv_count "$TMP/results" alpha)"

# ---- 4. SIGTERM ----
epmon_stop run
[ -e "/proc/$W2" ] && [ "$(cat "/proc/$W2/comm" 2>/dev/null)" = epmon-web ] &&
	fail "web process $W2 left after epmon stopped"
echo "PASS: the web process is unprivileged, holds no secret of epmon's, is restarted, and goes with epmon"
