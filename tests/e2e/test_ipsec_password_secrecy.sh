#!/usr/bin/env bash
# The EAP password of an IPsec site never leaves epmon except through the 0600 swanctl.conf
# in charon's private directory (read by swanctl, sent over the VICI socket): while two
# tunnels run (one after the other) against the lab's responder (lab.sh up 1 --ipsec; isolation netns; one with
# password_file, one with password_env; 8 pings keep them up), no process of the probe
# namespace or of a site namespace (epmon, charon, swanctl) has the password, as it is or in
# base64 (as swanctl.conf holds it), in /proc/PID/cmdline or /proc/PID/environ (epmon's own
# environ, and that of the test's `ip netns exec` starting it, hold password_env's variable:
# set by the test, not by epmon, and left out); the
# swanctl.conf files are 0600 while they exist; and the password is in none of epmon's
# outputs (stdout, stderr at -v, CSV, state). A watcher samples every few ms and must see
# charon running.
set -u
E2E_PREFIX=${E2E_PREFIX:-iksc$$}
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"

ike_test_setup
ONE=iksone$$ TWO=ikstwo$$
# one after the other: the responder gives one user one virtual IP, so two concurrent logins
# as monitor would share it
E2E_CONFIG_EXTRA="concurrency: 1"
write_config "$TMP/config.yml" 60 "{count: 8, interval: 0.1, timeout: 1}" <<YAML
$(lab_ipsec_site "$ONE")
$(lab_ipsec_site "$TWO" password_file= password_env=EPMON_IKE_TEST_PW)
YAML
probe_snapshot "$TMP"
pw=$(head -1 "$LAB_PASSWORD_FILE")
{ echo "$pw"; printf '%s' "$pw" | base64 -w0; echo; } >"$TMP/secrets"
chmod 600 "$TMP/secrets"

# The watcher: every process whose network namespace is the probe's or a new one (not in
# use at probe_snapshot, not named in /run/netns: the lab's responder is left out), and the
# mode of the sites' swanctl.conf files under /run/epmon (other tests' are left out). It
# writes $TMP/watch.ready after its first sample and stops when $TMP/stop exists.
python3 - "/run/netns/$LAB_NS_PROBE" "$TMP/stop" "$TMP/netns.before" "$TMP/watch.ready" \
	"$TMP/secrets" "$ONE" "$TWO" >"$TMP/watch.out" 2>&1 <<'PY' &
import glob, os, sys, time
ns_path, stop, before, ready, secfile = sys.argv[1:6]
sites = sys.argv[6:8]
secrets = [l.encode() for l in open(secfile).read().split()]
ns = os.stat(ns_path)
known = set(open(before).read().split())
seen, hits, samples, confs = {}, [], 0, set()
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
            if comm in ("epmon", "ip") and what == "environ":
                blob = b"\0".join(v for v in blob.split(b"\0") if not v.startswith(b"EPMON_IKE_TEST_PW="))
            for i, s in enumerate(secrets):
                if s in blob:
                    hits.append("%s %s: %s has secret #%d" % (pid, comm, what, i))
    for f in [f for site in sites for f in glob.glob("/run/epmon/%s.*/swanctl.conf" % site)]:
        try:
            mode = os.stat(f).st_mode & 0o777
        except OSError:
            continue
        confs.add(f)
        if mode != 0o600:
            hits.append("%s is mode %o" % (f, mode))
    if samples == 1:
        open(ready, "w").write("ready\n")
    time.sleep(0.003)
print("samples %d" % samples)
print("swanctl.conf files seen %d" % len(confs))
for comm, n in sorted(seen.items()):
    print("seen %s %d" % (comm, n))
for h in sorted(set(hits)):
    print("HIT " + h)
PY
WATCH=$!
register_pid "$WATCH"
wait_log "$TMP/watch.ready" ready 10 || fail "the watcher did not start: $(cat "$TMP/watch.out")"
EPMON_IKE_TEST_PW=$pw probe_epmon once -v once -c "$TMP/config.yml"
touch "$TMP/stop"
wait "$WATCH"
sed 's/^/    watch| /' "$TMP/watch.out" >&2
assert_eq 0 "$EPMON_RC" "exit status of once (both OK)"
CSV=$(results_file "$TMP/results")
assert_eq OK "$(csv_get "$CSV" "$ONE" result)" "$ONE: result (password_file)"
assert_eq OK "$(csv_get "$CSV" "$TWO" result)" "$TWO: result (password_env)"

grep -q '^HIT' "$TMP/watch.out" && fail "the password in a process's cmdline or environ, or a swanctl.conf not 0600 (above)"
grep -q '^seen charon' "$TMP/watch.out" || fail "the watcher never saw charon"
grep -q '^seen epmon' "$TMP/watch.out" || fail "the watcher never saw epmon"
grep -q '^swanctl.conf files seen [12]$' "$TMP/watch.out" || fail "the watcher saw no swanctl.conf"
e2e_log "ok: no password in cmdline/environ of any probe or site process ($(grep '^seen' "$TMP/watch.out" | tr '\n' ' '))"
while read -r s; do
	for f in "$TMP/once.out" "$TMP/once.err" "$CSV" "$TMP/state"/*; do
		[ -f "$f" ] || continue
		grep -qF -- "$s" "$f" && fail "the password is in $f"
	done
done <"$TMP/secrets"
e2e_log "ok: no password (as is or base64) in stdout, stderr (-v), the CSV or the state directory"
ike_assert_no_dir "$ONE" "$TWO"
probe_assert_clean "$TMP"
e2e_log "PASS"
