#!/usr/bin/env bash
# The WireGuard private key and preshared key never leave epmon except over wireguard-go's
# control socket: while two tunnels run against the lab's peer (lab.sh up 1 --wireguard;
# isolation netns; client1, and client2 with its preshared key; 8 pings keep them up), no
# process of the probe namespace or of a site namespace (epmon, wireguard-go, ...) has a
# key, in base64 (as in the key files) or in hex (as the control socket takes it), in
# /proc/PID/cmdline or /proc/PID/environ; and no key is in epmon's outputs (stdout, stderr
# at -v, CSV, state). A watcher samples every few ms and must see wireguard-go running.
set -u
E2E_PREFIX=${E2E_PREFIX:-wgsc$$}
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"

wg_test_setup
ONE=wgsone$$ TWO=wgstwo$$
E2E_CONFIG_EXTRA="concurrency: 2"
write_config "$TMP/config.yml" 60 "{count: 8, interval: 0.1, timeout: 1}" <<YAML
$(lab_wireguard_site "$ONE")
$(lab_wireguard_site "$TWO" private_key_file="$LAB_WG_CLIENT2_KEY" preshared_key_file="$LAB_WG_CLIENT2_PSK" address="$LAB_WG_CLIENT2_IP/32")
YAML
probe_snapshot "$TMP"
# every secret in both spellings: base64 (the files) and hex (the UAPI)
for f in "$LAB_WG_CLIENT1_KEY" "$LAB_WG_CLIENT2_KEY" "$LAB_WG_CLIENT2_PSK"; do
	k=$(head -1 "$f")
	echo "$k"
	printf '%s' "$k" | base64 -d | od -An -tx1 -v | tr -d ' \n'
	echo
done >"$TMP/secrets"
chmod 600 "$TMP/secrets"

# The watcher: every process whose network namespace is the probe's or a new one (not in
# use at probe_snapshot, not named in /run/netns: the lab's peer is left out). It writes
# $TMP/watch.ready after its first sample and stops when $TMP/stop exists.
python3 - "/run/netns/$LAB_NS_PROBE" "$TMP/stop" "$TMP/netns.before" "$TMP/watch.ready" \
	"$TMP/secrets" >"$TMP/watch.out" 2>&1 <<'PY' &
import os, sys, time
ns_path, stop, before, ready, secfile = sys.argv[1:6]
secrets = [l.encode() for l in open(secfile).read().split()]
ns = os.stat(ns_path)
known = set(open(before).read().split())
seen, hits, samples = {}, [], 0
while not os.path.exists(stop):
    samples += 1
    named = set()
    for name in os.listdir("/run/netns"):
        try:
            named.add(str(os.stat("/run/netns/" + name).st_ino))
        except OSError:
            pass
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            st = os.stat("/proc/%s/ns/net" % pid)
            in_probe = (st.st_ino, st.st_dev) == (ns.st_ino, ns.st_dev)
            if not in_probe and (str(st.st_ino) in known or str(st.st_ino) in named):
                continue
            comm = open("/proc/%s/comm" % pid).read().strip()
            data = {w: open("/proc/%s/%s" % (pid, w), "rb").read() for w in ("cmdline", "environ")}
        except OSError:
            continue
        seen[comm] = seen.get(comm, 0) + 1
        for what, blob in data.items():
            for i, s in enumerate(secrets):
                if s in blob or s.upper() in blob:
                    hits.append("%s %s: %s has secret #%d" % (pid, comm, what, i))
    if samples == 1:
        open(ready, "w").write("ready\n")
    time.sleep(0.003)
print("samples %d" % samples)
for comm, n in sorted(seen.items()):
    print("seen %s %d" % (comm, n))
for h in sorted(set(hits)):
    print("HIT " + h)
PY
WATCH=$!
register_pid "$WATCH"
wait_log "$TMP/watch.ready" ready 10 || fail "the watcher did not start: $(cat "$TMP/watch.out")"
probe_epmon once -v once -c "$TMP/config.yml"
touch "$TMP/stop"
wait "$WATCH"
sed 's/^/    watch| /' "$TMP/watch.out" >&2
assert_eq 0 "$EPMON_RC" "exit status of once (both OK)"
CSV=$(results_file "$TMP/results")
assert_eq OK "$(csv_get "$CSV" "$ONE" result)" "$ONE: result"
assert_eq OK "$(csv_get "$CSV" "$TWO" result)" "$TWO: result (with the preshared key)"

grep -q '^HIT' "$TMP/watch.out" && fail "a key in a process's cmdline or environ (above)"
grep -q '^seen wireguard-go' "$TMP/watch.out" || fail "the watcher never saw wireguard-go"
grep -q '^seen epmon' "$TMP/watch.out" || fail "the watcher never saw epmon"
e2e_log "ok: no key in cmdline/environ of any probe or site process ($(grep '^seen' "$TMP/watch.out" | tr '\n' ' '))"
while read -r s; do
	for f in "$TMP/once.out" "$TMP/once.err" "$CSV" "$TMP/state"/*; do
		[ -f "$f" ] || continue
		grep -qiF -- "$s" "$f" && fail "a key is in $f"
	done
done <"$TMP/secrets"
e2e_log "ok: no key (base64 or hex) in stdout, stderr (-v), the CSV or the state directory"
wg_assert_no_socket epmon0
probe_assert_clean "$TMP"
e2e_log "PASS"
