#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The EAP password of an IPsec site never leaves epmon except through the 0600 swanctl.conf
# in charon's private directory (read by swanctl, sent over the VICI socket): while two
# tunnels run (one after the other) against the lab's responder (lab.sh up 1 --ipsec;
# isolation netns; one with password_file, one with password_env; 8 pings keep them up), no
# process of the probe namespace or of a site namespace (epmon, charon, swanctl) has the
# password, as it is or in base64 (as swanctl.conf holds it), in /proc/PID/cmdline or
# /proc/PID/environ (epmon's own environ, and that of the test's `ip netns exec` starting
# it, hold password_env's variable: set by the test, not by epmon, and left out; no other
# process has the variable); the swanctl.conf files are 0600 while they exist; and the
# password is in none of epmon's outputs (stdout, stderr at -v, CSV, state). A watcher
# (tests/e2e/secrecy_watch.py) samples every few ms and must see charon running.
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

# The watcher (secrecy_watch.py): the probe namespace's processes and the sites' (their
# mount of epmon's private resolv.conf of this probe, or a namespace new since the
# snapshot; the lab's responder is left out), the password as is and in base64;
# EPMON_IKE_TEST_PW only in epmon's own environment (and its `ip netns exec`'s); and the
# mode of the sites' swanctl.conf files under /run/epmon (other tests' are left out).
secrecy_watch_start --secrets "$LAB_PASSWORD_FILE" --variants asis,base64 --epmon "$EPMON" \
	--own-env EPMON_IKE_TEST_PW --mode-0600 "/run/epmon/$ONE.*/swanctl.conf" \
	--mode-0600 "/run/epmon/$TWO.*/swanctl.conf"
EPMON_IKE_TEST_PW=$pw probe_epmon once -v once -c "$TMP/config.yml"
secrecy_watch_stop
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
