#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# An upgrade replaces the epmon binary under a running daemon (make install, a package
# upgrade: a new file, the old inode still running). With isolation, openconnect's
# --script is epmon itself (`tunnel-setup`): it must still be found, so every login after
# the replacement is as good as before. `epmon run` of a copy of $EPMON in the test's
# temp dir; after its first row the copy is replaced (new inode, same path); the next
# rows are OK and the probe is left clean.
set -u
E2E_PREFIX=${E2E_PREFIX:-nsbin$$}
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"

vpn_test_setup 1
cp "$EPMON" "$TMP/epmon" || fail "cannot copy $EPMON"
write_config "$TMP/config.yml" 3 "{count: 1, interval: 0.1, timeout: 0.5}" <<YAML
$(lab_openconnect_site good 1 login_timeout=2)
YAML
probe_snapshot "$TMP"
ip netns exec "$LAB_NS_PROBE" "$TMP/epmon" -v run -c "$TMP/config.yml" 2>"$TMP/run.err" &
PID=$!
register_pid "$PID"
wait_csv_rows "$TMP/results" good 1 20 || fail "no first row: $(tail -5 "$TMP/run.err")"
# what make and apt do: a new file renamed over the old one
cp "$TMP/epmon" "$TMP/epmon.new" && mv -f "$TMP/epmon.new" "$TMP/epmon" || fail "cannot replace"
case $(readlink "/proc/$PID/exe") in
*" (deleted)") e2e_log "ok: the running binary's file is gone: $(readlink "/proc/$PID/exe")" ;;
*) fail "the binary was not replaced: $(readlink "/proc/$PID/exe")" ;;
esac
wait_csv_rows "$TMP/results" good 3 30 || fail "no 3 rows: $(tail -5 "$TMP/run.err")"
kill -TERM "$PID"
wait "$PID"
assert_eq 0 "$?" "exit status after SIGTERM"
CSV=$(results_file "$TMP/results")
assert_eq "OK OK OK" "$(awk -F, 'NR > 1 && NR <= 4 { printf "%s%s", (NR > 2 ? " " : ""), $3 }' "$CSV")" \
	"the first three rows (the 2nd and 3rd after the replacement)"
assert_no_sanitizer "$TMP/run.err"
probe_assert_clean "$TMP"
e2e_log "PASS"
