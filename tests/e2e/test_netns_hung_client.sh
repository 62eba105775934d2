#!/usr/bin/env bash
# A hung client holds only its own worker: `epmon once` with 6 sites at concurrency 6
# (isolation netns, the default). Site "hang" (first in the config) runs the FAKE client
# tests/lab/fake-client-hang (client: custom; it answers nothing after "Configured as"
# and ignores SIGINT/SIGTERM) with login_timeout 12; sites ok1..ok5 are the real
# openconnect against gateways 1..5. The five OK rows are in the CSV while the hung site
# still waits (long before its 12 s), then its row comes last: FAIL at vpn_login after
# 12 s, the fake SIGKILLed. The once table keeps config order; the probe is left clean.
set -u
E2E_PREFIX=${E2E_PREFIX:-nshng$$}
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"

netns_test_setup 6
lab_fake FAKE fake-client-hang
E2E_CONFIG_EXTRA="concurrency: 6"
write_config "$TMP/config.yml" <<YAML
$(lab_fake_site hang 6 "$FAKE" login_timeout=12 teardown_timeout=1)
$(for k in 1 2 3 4 5; do lab_openconnect_site "ok$k" "$k"; done)
YAML
probe_snapshot "$TMP"

t0=$(now_ms)
probe_epmon_bg once -v once -c "$TMP/config.yml"
# the five real sites finish while the hung one waits for its tunnel
wait_csv_rows "$TMP/results" "" 5 11 || fail "no 5 rows in 11 s: $(csv_count "$TMP/results") rows"
t5=$(($(now_ms) - t0))
lab_alive "$EPMON_PID" || fail "epmon exited before the hung site's login_timeout"
CSV=$(results_file "$TMP/results")
assert_eq 0 "$(csv_count "$TMP/results" hang)" "rows of the hung site after the 5 others ($t5 ms)"
e2e_log "ok: 5 rows after $t5 ms, the hung site still running"

wait_gone "$EPMON_PID" 40 || fail "epmon once still running after 40 s"
wait "$EPMON_PID"
rc=$?
total=$(($(now_ms) - t0))
sed 's/^/    out| /' "$TMP/once.out" >&2
sed 's/^/    err| /' "$TMP/once.err" >&2
assert_no_sanitizer "$TMP/once.err"
e2e_log "once took $total ms"
assert_eq 1 "$rc" "exit status of once (one site failed)"
assert_eq 6 "$(csv_count "$TMP/results")" "rows written"

csv_rows "$CSV" >"$TMP/rows"
sed 's/^/    row| /' "$TMP/rows" >&2
assert_match '^(ok[1-5] OK - [0-9.]+ [^ ]+ ){5}$' "$(head -5 "$TMP/rows" | tr '\n' ' ')" "first 5 rows: the real sites, OK"
assert_eq "ok1 ok2 ok3 ok4 ok5" "$(head -5 "$TMP/rows" | awk '{print $1}' | sort | tr '\n' ' ' | sed 's/ $//')" "the 5 real sites"
assert_match '^hang FAIL vpn_login - ' "$(sed -n 6p "$TMP/rows")" "last row: the hung site"
assert_match "no usable tunnel after 12 s" "$(csv_get "$CSV" hang detail)" "hang: detail (login)"
assert_match "SIGKILL" "$(csv_get "$CSV" hang detail)" "hang: detail (escalation)"
[ "$total" -ge 12000 ] || fail "once took $total ms, less than the hung site's login_timeout"
order=$(awk '$1 ~ /^(hang|ok[1-5])$/ {printf "%s ", $1}' "$TMP/once.out")
assert_eq "hang ok1 ok2 ok3 ok4 ok5 " "$order" "once table in config order"

pid=$(sed -n 's/.*\[hang\].*started .* (pid \([0-9]*\)).*/\1/p' "$TMP/once.err" | head -1)
[ -n "$pid" ] || fail "no pid of the fake client in the log"
lab_alive "$pid" && fail "the fake client $pid is still alive"
e2e_log "ok: the fake client $pid is gone"
probe_assert_clean "$TMP"
e2e_log "PASS"
# SPDX-License-Identifier: MIT
