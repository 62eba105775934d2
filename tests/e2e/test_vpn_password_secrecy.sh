#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The password never leaves epmon except on the client's pty or stdin: while the clients
# run, no process in the probe namespace (epmon included) has it in /proc/PID/cmdline or
# /proc/PID/environ, and it is in none of epmon's outputs (stdout, stderr at -v, CSV).
# Sites: the real openconnect (--passwd-on-stdin, good password), the same with the wrong
# password (openconnect re-prompts), and the FAKE client tests/lab/fake-client-hang
# (client: custom, answers its "Password:" prompt, then hangs until epmon gives up) with
# password_file and with password_env (the variable must not reach the client either).
# A watcher (tests/e2e/secrecy_watch.py) samples every process of the probe namespace and
# of the site namespaces (isolation netns, the default: every client in a namespace of its
# own) every few ms during the run.
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

# The watcher (secrecy_watch.py): the probe namespace's processes and the sites' (their
# mount of epmon's private resolv.conf of this probe, or a namespace new since the
# snapshot); the secrets come from files (never argv); password_env's variable may only be
# in epmon's own environment (epmon in the probe namespace, and its child between fork and
# exec; its `tunnel-setup` helper in a site namespace is the client's child and must not
# have it), nowhere else.
secrecy_watch_start --secrets "$LAB_PASSWORD_FILE" --secrets "$LAB_WRONG_PASSWORD_FILE" \
	--secrets "$TMP/env-password" --epmon "$EPMON" --own-env EPMON_E2E_SECRET
EPMON_E2E_SECRET=$ENV_PW probe_epmon once -v once -c "$TMP/config.yml"
secrecy_watch_stop
assert_eq 1 "$EPMON_RC" "exit status of once (some sites fail)"
CSV=$(results_file "$TMP/results")
assert_eq 4 "$(csv_count "$TMP/results")" "rows written"
assert_eq OK "$(csv_get "$CSV" oc result)" "oc: result (the good password worked)"
assert_match "^failed in auth after [0-9.]+ m?s: bad credentials" "$(csv_get "$CSV" ocwrong detail)" "ocwrong: detail"
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
