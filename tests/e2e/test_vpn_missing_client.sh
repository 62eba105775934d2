#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# A VPN client binary that does not exist is a configuration error, found before anything
# runs: `once`, `run` and `check-config` exit 2 and print FILE:LINE:COL: ... not found for
# every such site (an absolute path, and a bare name not on PATH), and no CSV row, no
# results file and no good copy of resolv.conf are written. Needs no root and no lab.
# As root, also a client that disappears after the config was loaded (in a namespace of
# this test, external_ip 127.0.0.1): the first site's client deletes the second site's
# binary; that row fails at vpn_login with "not found" and nothing runs (concurrency 1:
# the first site's client must run before the second site starts).
set -u
E2E_PREFIX=${E2E_PREFIX:-vpnmc$$}
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"

require_epmon
e2e_tmpdir TMP
mkdir -p "$TMP/results" "$TMP/state"
(umask 077; echo "not-the-real-one" >"$TMP/password")
CFG=$TMP/config.yml
# line numbers matter: the errors must point at lines 13 and 20
cat >"$CFG" <<YAML
frequency: 60
results: {directory: $TMP/results}
state_directory: $TMP/state
sites:
  - name: nobin
    external_ip: 192.0.2.1
    internal_ip: 10.10.1.10
    vpn:
      client: openconnect
      gateway: 192.0.2.1
      username: monitor
      password_file: $TMP/password
      command: /nonexistent/openconnect
  - name: nopath
    external_ip: 192.0.2.2
    internal_ip: 10.10.2.10
    vpn:
      client: custom
      connected: "Configured as"
      command: epmon-no-such-client-$$
YAML
chmod 600 "$CFG"

for cmd in once run check-config; do
	# `run` would loop forever on a valid config: bound it
	timeout 10 "$EPMON" "$cmd" -c "$CFG" >"$TMP/$cmd.out" 2>"$TMP/$cmd.err"
	rc=$?
	sed 's/^/    err| /' "$TMP/$cmd.err" >&2
	assert_no_sanitizer "$TMP/$cmd.err"
	assert_eq 2 "$rc" "$cmd: exit status"
	assert_match "^$CFG:13:16: .*nobin.*'/nonexistent/openconnect' not found" \
		"$(grep -F "$CFG:13:" "$TMP/$cmd.err")" "$cmd: error for the absolute path"
	assert_match "^$CFG:20:16: .*nopath.*'epmon-no-such-client-$$' not found" \
		"$(grep -F "$CFG:20:" "$TMP/$cmd.err")" "$cmd: error for the bare name"
	[ -s "$TMP/$cmd.out" ] && [ "$cmd" != check-config ] && fail "$cmd: printed a table: $(cat "$TMP/$cmd.out")"
done
assert_eq "" "$(ls -A "$TMP/results")" "files in the results directory"
assert_eq "" "$(ls -A "$TMP/state")" "files in the state directory"

if [ "$(id -u)" -ne 0 ] || ! ip netns add "$E2E_PREFIX-chk" 2>/dev/null; then
	e2e_log "not root or no namespaces: the part with a client removed at run time is not run"
	e2e_log "PASS"
	exit 0
fi
ip netns del "$E2E_PREFIX-chk"
NS=$E2E_PREFIX-ns
netns_create "$NS"
cp "$(type -P true)" "$TMP/client2" || fail "no true(1)"
cat >"$TMP/client1" <<SH
#!/bin/sh
# a "client" that removes the next site's client binary and fails
rm -f "$TMP/client2"
echo "client1: giving up"
exit 1
SH
chmod 700 "$TMP/client1"
E2E_CONFIG_EXTRA="concurrency: 1" write_config "$CFG" 60 "{count: 2, interval: 0.1, timeout: 0.5}" <<YAML
  - name: first
    external_ip: 127.0.0.1
    internal_ip: 10.10.1.10
    vpn: {client: custom, command: $TMP/client1, connected: "Configured as", login_timeout: 5}
  - name: vanished
    external_ip: 127.0.0.1
    internal_ip: 10.10.1.10
    vpn: {client: custom, command: $TMP/client2, connected: "Configured as", login_timeout: 5}
YAML
ip netns exec "$NS" "$EPMON" -v once -c "$CFG" >"$TMP/rt.out" 2>"$TMP/rt.err"
rc=$?
sed 's/^/    out| /' "$TMP/rt.out" >&2
sed 's/^/    err| /' "$TMP/rt.err" >&2
assert_no_sanitizer "$TMP/rt.err"
assert_eq 1 "$rc" "run time: exit status of once"
CSV=$(results_file "$TMP/results")
assert_eq 2 "$(csv_count "$TMP/results")" "run time: rows"
assert_eq vpn_login "$(csv_get "$CSV" first failed_step)" "first: failed_step"
assert_match "exit|status 1|giving up" "$(csv_get "$CSV" first detail)" "first: detail"
assert_eq FAIL "$(csv_get "$CSV" vanished result)" "vanished: result"
assert_eq vpn_login "$(csv_get "$CSV" vanished failed_step)" "vanished: failed_step"
assert_fields_empty "$CSV" vanished login_ms internal_loss_pct
assert_match "$TMP/client2.*not found|not found.*$TMP/client2" "$(csv_get "$CSV" vanished detail)" \
	"vanished: detail"
grep -q "\[vanished\] started" "$TMP/rt.err" && fail "vanished: a client was started"
left=$(ip netns pids "$NS")
[ -z "$left" ] || fail "processes left in $NS: $left"
e2e_log "PASS"
