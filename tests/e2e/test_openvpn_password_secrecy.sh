#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The openvpn password never leaves epmon except through its private auth file: while the
# clients run against the lab's OpenVPN 2.6 server (lab.sh up 1 --openvpn; isolation
# netns), no process of the probe namespace or of a site namespace (epmon, openvpn, ...)
# has it in /proc/PID/cmdline or /proc/PID/environ (epmon's own environment holds the
# password_env variable the operator gave it, and nothing else of it), and it is in none of
# epmon's outputs (stdout, stderr at -v, CSV, state). The auth file openvpn is given
# (--auth-user-pass AUTH) is seen while it runs: mode 0600 in a 0700 directory of root's,
# both gone afterwards. Sites: good password from password_file (logs in; 8 pings keep it
# up), the same password from password_env (logs in), the wrong password (AUTH_FAILED).
# A watcher (tests/e2e/secrecy_watch.py) samples every few ms.
set -u
E2E_PREFIX=${E2E_PREFIX:-ovpsc$$}
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"

ovpn_test_setup
FILE=ovsfile$$ ENV=ovsenv$$ WRONG=ovswrong$$
OVPN_SITES="$FILE $ENV $WRONG"
ovpn_client_conf "$TMP/client.ovpn" "auth-user-pass"
E2E_CONFIG_EXTRA="concurrency: 3"
write_config "$TMP/config.yml" 60 "{count: 8, interval: 0.1, timeout: 1}" <<YAML
$(lab_openvpn_site "$FILE" "$TMP/client.ovpn" username="$LAB_USER" password_file="$LAB_PASSWORD_FILE")
$(lab_openvpn_site "$ENV" "$TMP/client.ovpn" username="$LAB_USER" password_env=EPMON_E2E_OVPN_SECRET)
$(lab_openvpn_site "$WRONG" "$TMP/client.ovpn" username="$LAB_USER" password_file="$LAB_WRONG_PASSWORD_FILE")
YAML
probe_snapshot "$TMP"

# The watcher (secrecy_watch.py): the probe namespace's processes and the sites' (their
# mount of epmon's private resolv.conf of this probe, or a namespace new since the
# snapshot; the lab's server is left out). epmon's own environment (epmon, also between
# fork and exec; `ip netns exec PROBE epmon` just before its exec) may hold
# EPMON_E2E_OVPN_SECRET=<password>; the variable is nowhere else. For each openvpn, the
# file after --auth-user-pass is stat'ed (AUTH lines).
secrecy_watch_start --secrets "$LAB_PASSWORD_FILE" --secrets "$LAB_WRONG_PASSWORD_FILE" \
	--epmon "$EPMON" --own-env EPMON_E2E_OVPN_SECRET --auth-file openvpn:--auth-user-pass
EPMON_E2E_OVPN_SECRET=$(head -1 "$LAB_PASSWORD_FILE") probe_epmon once -v once -c "$TMP/config.yml"
secrecy_watch_stop
assert_eq 1 "$EPMON_RC" "exit status of once (the wrong password fails)"
CSV=$(results_file "$TMP/results")
assert_eq 3 "$(csv_count "$TMP/results")" "rows written"
assert_eq OK "$(csv_get "$CSV" "$FILE" result)" "$FILE: result (password_file)"
assert_eq OK "$(csv_get "$CSV" "$ENV" result)" "$ENV: result (password_env)"
assert_match "^failed in auth after [0-9.]+ m?s: bad credentials" "$(csv_get "$CSV" "$WRONG" detail)" "$WRONG: detail"

grep -q '^HIT' "$TMP/watch.out" && fail "a secret in a process's cmdline or environ (above)"
grep -q '^seen openvpn' "$TMP/watch.out" || fail "the watcher never saw openvpn"
grep -q '^seen epmon' "$TMP/watch.out" || fail "the watcher never saw epmon"
e2e_log "ok: no secret in cmdline/environ of any probe or site process ($(grep '^seen' "$TMP/watch.out" | tr '\n' ' '))"
# the two good logins live for their 8 pings; the wrong one may end between two samples
for site in $FILE $ENV; do
	grep -q "^AUTH /run/epmon/$site\.[^/]*/auth " "$TMP/watch.out" ||
		fail "the watcher did not see the auth file of $site"
done
awk '/^AUTH / && !($3 == "600" && $4 == 0 && $5 == "700" && $6 == 0) { bad = 1 } END { exit bad }' \
	"$TMP/watch.out" || fail "an auth file is not 0600 in a 0700 directory of root's (above)"
while read -r _ path _; do
	if [ -e "$path" ] || [ -e "${path%/*}" ]; then fail "auth file or its directory left: $path"; fi
done < <(grep '^AUTH ' "$TMP/watch.out")
e2e_log "ok: $(grep -c '^AUTH ' "$TMP/watch.out") auth files seen, each 0600 in a 0700 directory of root's, all gone afterwards"
for f in "$TMP/once.out" "$TMP/once.err" "$CSV" "$TMP/state"/*; do
	for s in "$(head -1 "$LAB_PASSWORD_FILE")" "$(head -1 "$LAB_WRONG_PASSWORD_FILE")"; do
		grep -qF -- "$s" "$f" && fail "a password is in $f"
	done
done
e2e_log "ok: no password in stdout, stderr (-v), the CSV or the state directory"
left=$(ovpn_auth_dirs)
[ -z "$left" ] || fail "openvpn auth dir left: $left"
probe_assert_clean "$TMP"
e2e_log "PASS"
