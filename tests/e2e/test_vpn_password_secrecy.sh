#!/usr/bin/env bash
# The password never leaves epmon except on the client's pty or stdin: while the clients
# run, no process in the probe namespace (epmon included) has it in /proc/PID/cmdline or
# /proc/PID/environ, and it is in none of epmon's outputs (stdout, stderr at -v, CSV).
# Sites: the real openconnect (--passwd-on-stdin, good password), the same with the wrong
# password (openconnect re-prompts), and the FAKE client tests/lab/fake-client-hang
# (client: custom, answers its "Password:" prompt, then hangs until epmon gives up) with
# password_file and with password_env (the variable must not reach the client either).
# A watcher samples every process of the probe namespace and of the site namespaces
# (isolation netns, the default: every client in a namespace of its own, made after the
# snapshot and not named in /run/netns) every few ms during the run.
set -u
E2E_PREFIX=${E2E_PREFIX:-vpnsc$$}
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"

vpn_test_setup 1
lab_fake FAKE fake-client-hang
# the env password: random, only in epmon's environment (and in a 0600 file for the watcher)
ENV_PW=envpw$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
(umask 077; printf '%s\n' "$ENV_PW" >"$TMP/env-password")
write_config "$TMP/config.yml" <<YAML
$(lab_openconnect_site oc 1)
$(lab_openconnect_site ocwrong 1 password_file="$LAB_WRONG_PASSWORD_FILE" teardown_timeout=1)
$(lab_fake_site fakefile 1 "$FAKE" login_timeout=1.5 teardown_timeout=0.5)
$(lab_fake_site fakeenv 1 "$FAKE" password_file= password_env=EPMON_E2E_SECRET login_timeout=1.5 teardown_timeout=0.5)
YAML
probe_snapshot "$TMP"

# The watcher: every process whose network namespace is the probe's or a site's (not in
# use at probe_snapshot, not named in /run/netns); the secrets come from files (never
# argv); the last one, password_env's, may only be in epmon's own environment (epmon in
# the probe namespace, and its child between fork and exec; its `tunnel-setup` helper
# in a site namespace is the client's child and must not have it). It stops when
# $TMP/stop exists.
python3 - "/run/netns/$LAB_NS_PROBE" "$TMP/stop" "$EPMON" "$TMP/netns.before" "$LAB_PASSWORD_FILE" \
	"$LAB_WRONG_PASSWORD_FILE" "$TMP/env-password" >"$TMP/watch.out" 2>&1 <<'PY' &
import os, sys, time
ns_path, stop, epmon, before = sys.argv[1:5]
secrets = [open(f, "rb").read().splitlines()[0] for f in sys.argv[5:]]
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
        # epmon itself: also its child between fork and the exec of the client (the same
        # memory, already in the site namespace), and `ip netns exec PROBE epmon ...` an
        # instant before its exec; not epmon's tunnel-setup helper (the client's child)
        args = data["cmdline"].split(b"\0")
        own = (comm == "epmon" and b"tunnel-setup" not in args) or \
              (in_probe and comm == "ip" and epmon.encode() in args)
        for what, blob in data.items():
            for i, s in enumerate(secrets):
                # password_env: epmon's own environment is where the operator put it
                if own and what == "environ" and i == len(secrets) - 1:
                    continue
                if s in blob:
                    hits.append("%s %s: %s has secret #%d" % (pid, comm, what, i))
                if b"EPMON_E2E_SECRET" in blob and not own:
                    hits.append("%s %s: %s has the password_env variable" % (pid, comm, what))
    time.sleep(0.003)
print("samples %d" % samples)
for comm, n in sorted(seen.items()):
    print("seen %s %d" % (comm, n))
for h in sorted(set(hits)):
    print("HIT " + h)
PY
WATCH=$!
register_pid "$WATCH"
sleep 0.3

EPMON_E2E_SECRET=$ENV_PW probe_epmon once -v once -c "$TMP/config.yml"
touch "$TMP/stop"
wait "$WATCH"
sed 's/^/    watch| /' "$TMP/watch.out" >&2
assert_eq 1 "$EPMON_RC" "exit status of once (some sites fail)"
CSV=$(results_file "$TMP/results")
assert_eq 4 "$(csv_count "$TMP/results")" "rows written"
assert_eq OK "$(csv_get "$CSV" oc result)" "oc: result (the good password worked)"
assert_match "^bad credentials" "$(csv_get "$CSV" ocwrong detail)" "ocwrong: detail"
for site in fakefile fakeenv; do
	assert_eq vpn_login "$(csv_get "$CSV" $site failed_step)" "$site: failed_step (the fake has no tunnel)"
done
# the fakes really got a password: the expect step answered their prompt
assert_eq 2 "$(grep -c "step 1: sent '\*\*\*\*\*\*\*\*'" "$TMP/once.err")" "fakes answered (masked in the log)"

grep -q '^HIT' "$TMP/watch.out" && fail "a secret in a process's cmdline or environ (above)"
grep -q '^seen openconnect' "$TMP/watch.out" || fail "the watcher never saw openconnect"
grep -q '^seen fake-client-han' "$TMP/watch.out" || fail "the watcher never saw the fake client"
grep -q '^seen epmon' "$TMP/watch.out" || fail "the watcher never saw epmon"
e2e_log "ok: no secret in cmdline/environ of any probe process ($(grep '^seen' "$TMP/watch.out" | tr '\n' ' '))"
for f in "$TMP/once.out" "$TMP/once.err" "$CSV" "$TMP/state"/*; do
	for s in "$(head -1 "$LAB_PASSWORD_FILE")" "$(head -1 "$LAB_WRONG_PASSWORD_FILE")" "$ENV_PW"; do
		grep -qF -- "$s" "$f" && fail "a password is in $f"
	done
done
e2e_log "ok: no password in stdout, stderr (-v), the CSV or the state directory"
probe_assert_clean "$TMP"
e2e_log "PASS"
