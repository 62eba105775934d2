#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# A client process in ANOTHER network namespace is not stale for epmon: it cannot hold
# the probe's tunnel, routes or resolv.conf, and it may be another monitor's client (a
# site test running in its own namespace, a second lab, a container's VPN). epmon in the
# probe namespace must leave it alone and still find its own stale client:
#   other   FAKE client (tests/lab/fake-client-stale openconnect) in a namespace of
#           this test, outside the lab: must survive the site test;
#   mine    the same FAKE in the probe namespace: must be stopped (detail says 1).
# The stale-client kill is `isolation: {mode: none}`'s (the config says so).
set -u
E2E_PREFIX=${E2E_PREFIX:-vpnon$$}
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"

vpn_test_setup 1
E2E_CONFIG_EXTRA=$(isolation_none_yaml)
lab_fake STALE fake-client-stale
OTHER=$E2E_PREFIX-other
netns_create "$OTHER"
write_config "$TMP/config.yml" <<YAML
$(lab_openconnect_site gw1 1 teardown_timeout=1)
YAML
probe_snapshot "$TMP"

other=$(ip netns exec "$OTHER" "$STALE" openconnect 120) || fail "fake-client-stale (other) failed"
register_pid "$other"
mine=$(ip netns exec "$LAB_NS_PROBE" "$STALE" openconnect 120) || fail "fake-client-stale (mine) failed"
register_pid "$mine"
[ "$(readlink "/proc/$other/ns/net")" != "$(readlink "/proc/$mine/ns/net")" ] ||
	fail "both fakes in the same namespace"
e2e_log "fake 'openconnect' $other in $OTHER, $mine in $LAB_NS_PROBE"

probe_epmon once -v once -c "$TMP/config.yml"
assert_eq 0 "$EPMON_RC" "exit status of once"
CSV=$(results_file "$TMP/results")
assert_eq OK "$(csv_get "$CSV" gw1 result)" "result"
assert_match "stopped 1 stale client process\(es\)" "$(csv_get "$CSV" gw1 detail)" \
	"detail (only the probe's stale client)"
lab_alive "$mine" && fail "the stale client $mine in the probe namespace is still alive"
e2e_log "ok: stale client $mine in the probe namespace is gone"
lab_alive "$other" || fail "epmon killed $other, a client in another network namespace ($OTHER)"
e2e_log "ok: client $other in $OTHER is alive"
probe_assert_clean "$TMP"
e2e_log "PASS"
