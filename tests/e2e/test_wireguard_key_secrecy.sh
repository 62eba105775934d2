#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The WireGuard private key and preshared key never leave epmon except over wireguard-go's
# control socket: while two tunnels run against the lab's peer (lab.sh up 1 --wireguard;
# isolation netns; client1, and client2 with its preshared key; 8 pings keep them up), no
# process of the probe namespace or of a site namespace (epmon, wireguard-go, ...) has a
# key, in base64 (as in the key files) or in hex (as the control socket takes it), in
# /proc/PID/cmdline or /proc/PID/environ; and no key is in epmon's outputs (stdout, stderr
# at -v, CSV, state). A watcher (tests/e2e/secrecy_watch.py) samples every few ms and
# must see wireguard-go running.
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

# The watcher (secrecy_watch.py): the probe namespace's processes and the sites' (their
# mount of epmon's private resolv.conf of this probe, or a namespace new since the
# snapshot; the lab's peer is left out); each key as written and in upper case.
secrecy_watch_start --secrets "$TMP/secrets" --variants asis,upper
probe_epmon once -v once -c "$TMP/config.yml"
secrecy_watch_stop
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
