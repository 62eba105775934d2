#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# A good openconnect login against the lab (ocserv gateway 1): `epmon once` in the probe
# namespace writes one OK row with every figure (login_ms > 0, internal ping through the
# tunnel) and leaves the probe as it found it: no client process, no tun device, the same
# routes, resolv.conf byte-identical.
set -u
E2E_PREFIX=${E2E_PREFIX:-vpnok$$}
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"

vpn_test_setup 1
write_config "$TMP/config.yml" <<YAML
$(lab_openconnect_site good 1)
YAML
probe_snapshot "$TMP"

probe_epmon once -v once -c "$TMP/config.yml"
assert_eq 0 "$EPMON_RC" "exit status of once (all OK)"
assert_match '^good +OK ' "$(grep '^good ' "$TMP/once.out")" "table row"

CSV=$(results_file "$TMP/results")
assert_eq 1 "$(csv_count "$TMP/results")" "rows written"
get() { csv_get "$CSV" good "$1"; }
assert_match '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}[+-][0-9]{2}:[0-9]{2}$' \
	"$(get timestamp)" "timestamp"
assert_eq OK "$(get result)" "result"
assert_eq "" "$(get failed_step)" "failed_step"
assert_positive "$(get external_rtt_ms)" "external_rtt_ms"
assert_eq 0.0 "$(get external_loss_pct)" "external_loss_pct"
assert_positive "$(get login_ms)" "login_ms"
assert_near 5000 "$(get login_ms)" 5000 "login_ms (0..10 s)"
assert_positive "$(get internal_rtt_ms)" "internal_rtt_ms"
assert_eq 0.0 "$(get internal_loss_pct)" "internal_loss_pct"
assert_positive "$(get teardown_ms)" "teardown_ms"
assert_eq "" "$(get detail)" "detail"
# the tunnel really carried the ping: openconnect said so, and the gateway saw the session
grep -q 'Configured as 10\.20\.1\.' "$TMP/once.err" || fail "no 'Configured as' from the client in -v output"
grep -q 'tunnel up on epmon0' "$TMP/once.err" || fail "no 'tunnel up on epmon0' in the log"

probe_assert_clean "$TMP"
e2e_log "PASS"
