#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# With netns isolation the clients never touch the probe's namespace: during a concurrent
# cycle of 8 sites (concurrency 8, real openconnect, each intranet host answering 300 ms
# late so the tunnels stay up a while), a sampler inside the probe namespace reads every
# ~50 ms /etc/resolv.conf (as the probe namespace sees it: the lab's bind mount; content
# and inode), the host's /etc/resolv.conf (and its path and inode before and after), the
# IPv4 and IPv6 routes of every table and the rules. None of them may ever change. epmon's own veths (epmon-v*, the probe's end of
# each site link) come and go by design: their routes are left out of the comparison and
# counted (also as "ifN" when ip shows a route of a link deleted during its dump), which
# also proves the samples were taken while the sites ran.
# A control run shows the sampler sees what it must: the same site with `isolation: {mode:
# none}` (the client and vpnc-script in the probe's namespace) changes the probe's
# resolv.conf and routes while its tunnel is up.
set -u
E2E_PREFIX=${E2E_PREFIX:-nsunt$$}
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"

N=8
netns_test_setup $N
for k in $(seq $N); do lab_cmd intranet-delay "$k" 300; done
E2E_CONFIG_EXTRA="concurrency: $N"
write_config "$TMP/config.yml" 60 "{count: 3, interval: 0.2, timeout: 2}" <<YAML
$(for k in $(seq $N); do lab_openconnect_site "site$k" "$k"; done)
YAML
probe_snapshot "$TMP"
cp /etc/resolv.conf "$TMP/host-resolv.before" || fail "cannot copy /etc/resolv.conf"
host_inode=$(stat -c %i /etc/resolv.conf)

# sampler_start NAME: the sampler, one process in the probe namespace (so /etc/resolv.conf
# is the probe's view; fd 3 is the host's, opened here), `ip` for routes and rules, a
# sample every ~50 ms; it stops when $TMP/NAME.stop exists, then prints its counts and
# every change it saw into $TMP/NAME.out. SAMPLER is its pid.
sampler_start() {
	local name=$1 i
	ip netns exec "$LAB_NS_PROBE" python3 - "$TMP/$name.stop" "$TMP/$name.ready" \
		>"$TMP/$name.out" 2>&1 3</etc/resolv.conf <<'PY' &
import os, re, subprocess, sys, time
stop, ready = sys.argv[1:3]
# epmon's veths; a route of a link deleted during the dump shows its index ("if12")
VETH = re.compile(r"\bdev (epmon-v[0-9]+|if[0-9]+)\b")

def sample():
    s = {}
    st = os.stat("/etc/resolv.conf")
    s["resolv"] = "inode %d\n" % st.st_ino + open("/etc/resolv.conf").read()
    s["host-resolv"] = os.pread(3, 65536, 0).decode(errors="replace")
    veth = 0
    for name, cmd in (("ipv4", ["ip", "-4", "route", "show", "table", "all"]),
                      ("ipv6", ["ip", "-6", "route", "show", "table", "all"]),
                      ("rules", ["ip", "rule", "show"])):
        out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
        keep = []
        for line in out.splitlines():
            if VETH.search(line):
                veth += 1
            else:
                keep.append(line)
        s[name] = "\n".join(keep)
    return s, veth

base, _ = sample()
open(ready, "w").close()
n, with_veth, changes = 0, 0, []
while not os.path.exists(stop):
    t = time.monotonic()
    s, veth = sample()
    n += 1
    if veth:
        with_veth += 1
    for k in base:
        if s[k] != base[k]:
            changes.append("sample %d: %s changed:\n%s\n--- was:\n%s" % (n, k, s[k], base[k]))
            base[k] = s[k]
    time.sleep(max(0.0, 0.05 - (time.monotonic() - t)))
print("samples %d with_veth %d" % (n, with_veth))
for c in changes:
    print("CHANGE " + c)
PY
	SAMPLER=$!
	register_pid "$SAMPLER"
	for i in $(seq 200); do [ -e "$TMP/$name.ready" ] && break; sleep 0.05; done
	[ -e "$TMP/$name.ready" ] || { cat "$TMP/$name.out" >&2; fail "the sampler did not start in 10 s"; }
}

# sampler_stop NAME: stop the sampler, show its output; SAMPLES and WITH_VETH its counts
sampler_stop() {
	touch "$TMP/$1.stop"
	wait_gone "$SAMPLER" 10 || fail "the sampler did not stop in 10 s"
	wait "$SAMPLER"
	sed "s/^/    $1| /" "$TMP/$1.out" >&2
	read -r SAMPLES WITH_VETH < <(awk '/^samples/ {print $2, $4}' "$TMP/$1.out")
	[ "${SAMPLES:-0}" -ge 10 ] || fail "$1: only ${SAMPLES:-0} samples"
}

sampler_start sampler
probe_epmon once once -c "$TMP/config.yml"
sampler_stop sampler
assert_eq 0 "$EPMON_RC" "exit status of once (all OK)"
assert_eq $N "$(csv_count "$TMP/results")" "rows written"
grep -q '^CHANGE' "$TMP/sampler.out" && fail "the probe's resolv.conf, routes or rules changed during the cycle (above)"
[ "${WITH_VETH:-0}" -ge 1 ] || fail "no sample saw a site link (epmon-v*): not sampled during the cycle?"
e2e_log "ok: $SAMPLES samples ($WITH_VETH while site links existed), no change"
cmp -s "$TMP/host-resolv.before" /etc/resolv.conf || fail "the host's /etc/resolv.conf changed"
assert_eq "$host_inode" "$(stat -c %i /etc/resolv.conf)" "inode of the host's /etc/resolv.conf"
probe_assert_clean "$TMP"

# the control: one site in mode none, vpnc-script rewrites the probe's resolv.conf and
# routes while its tunnel is up (and puts them back after)
E2E_CONFIG_EXTRA=$(isolation_none_yaml) write_config "$TMP/none.yml" 60 "{count: 3, interval: 0.2, timeout: 2}" <<YAML
$(lab_openconnect_site control 1)
YAML
sampler_start control
probe_epmon none once -c "$TMP/none.yml"
sampler_stop control
assert_eq 0 "$EPMON_RC" "control: exit status of once (mode none)"
grep -q '^CHANGE.*resolv changed' "$TMP/control.out" || fail "control: the sampler saw no resolv.conf change"
grep -q '^CHANGE.*ipv4 changed' "$TMP/control.out" || fail "control: the sampler saw no route change"
e2e_log "ok: control (mode none): the sampler saw the probe's resolv.conf and routes change"
probe_assert_clean "$TMP"
e2e_log "PASS"
