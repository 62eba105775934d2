#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The config checks of netns isolation that need a real namespace, run in the lab's probe
# namespace (address 198.18.0.2/24 on P-pr, route 198.18.0.0/15 via 198.18.0.1):
#   - isolation.subnet overlapping an address or route of the probe's namespace is
#     refused by check-config and by once (exit 2, FILE:LINE:COL, naming the subnet and
#     the probe's address or route): 198.18.0.0/16 (the probe's address), 198.19.128.0/24
#     (only inside the route 198.18.0.0/15);
#   - a subnet clear of them (and the default) is accepted;
#   - isolation mode none with concurrency 4 is refused (exit 2, FILE:LINE:COL).
# The config unit tests (parsing, defaults, sizes) are tests/unit's.
set -u
E2E_PREFIX=${E2E_PREFIX:-nscfg$$}
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"

vpn_test_setup 1

# check NAME EXTRA_YAML: write $TMP/NAME.yml (EXTRA_YAML at the top level, before sites)
# and run check-config on it in the probe namespace (probe_epmon NAME ...)
check() {
	E2E_CONFIG_EXTRA=$2 write_config "$TMP/$1.yml" <<YAML
$(lab_openconnect_site gw1 1)
YAML
	probe_epmon "$1" check-config -c "$TMP/$1.yml"
}

# line_of FILE REGEX: the number of the first line of FILE matching REGEX
line_of() { grep -nE -- "$2" "$1" | head -1 | cut -d: -f1; }

# assert_refused NAME SUBNET PROBE_REGEX: the config NAME was refused: exit 2, one error
# FILE:LINE:COL on the isolation or subnet line naming SUBNET and a probe address or route
assert_refused() {
	local name=$1 subnet=$2 probe=$3 f=$TMP/$1.yml err
	assert_eq 2 "$EPMON_RC" "$name: exit status of check-config"
	err=$(grep -F "$subnet" "$TMP/$name.err" "$TMP/$name.out" | head -1)
	err=${err#*:} # grep's file name
	assert_match "^$f:($(line_of "$f" '^isolation:')|$(line_of "$f" '^  subnet:')):[0-9]+: " "$err" \
		"$name: error at FILE:LINE:COL of isolation/subnet"
	assert_match "isolation\.subnet.*$subnet" "$err" "$name: error names the subnet"
	assert_match "$probe" "$err" "$name: error names the probe's address or route"
}

# 1. the probe's address 198.18.0.2/24 inside the subnet
check overlap-addr "isolation:
  mode: netns
  subnet: 198.18.0.0/16"
assert_refused overlap-addr 198.18.0.0/16 '198\.18\.0\.(2/24|0/24|0/15)'
# start refuses it too
probe_epmon overlap-once once -c "$TMP/overlap-addr.yml"
assert_eq 2 "$EPMON_RC" "overlap-addr: exit status of once"
grep -q '198\.18\.0\.0/16' "$TMP/overlap-once.err" || fail "overlap-addr: once does not name the subnet"
assert_eq 0 "$(csv_count "$TMP/results")" "rows written by the refused once"

# 2. no address, only the route 198.18.0.0/15 overlaps
check overlap-route "isolation:
  subnet: 198.19.128.0/24"
assert_refused overlap-route 198.19.128.0/24 '198\.18\.0\.0/15'

# 3. accepted: a free subnet, and the default one
check free "concurrency: 4
isolation:
  subnet: 10.200.0.0/16"
assert_eq 0 "$EPMON_RC" "free subnet: exit status of check-config"
assert_match '^OK: 1 site' "$(head -1 "$TMP/free.out")" "free subnet: check-config output"
check default "concurrency: 4"
assert_eq 0 "$EPMON_RC" "default isolation: exit status of check-config"

# 4. mode none needs concurrency 1
check none4 "concurrency: 4
isolation: {mode: none}"
assert_eq 2 "$EPMON_RC" "mode none + concurrency 4: exit status of check-config"
err=$(grep -E "^$TMP/none4\.yml:[0-9]+:[0-9]+: " "$TMP/none4.err" "$TMP/none4.out" | head -1)
err=${err#*:}
[ -n "$err" ] || fail "mode none + concurrency 4: no FILE:LINE:COL error"
assert_match "^$TMP/none4\.yml:($(line_of "$TMP/none4.yml" '^concurrency:')|$(line_of "$TMP/none4.yml" '^isolation:')):[0-9]+: .*concurrency" \
	"$err" "mode none + concurrency 4: error at the concurrency or isolation line"
check none1 "$(isolation_none_yaml)"
assert_eq 0 "$EPMON_RC" "mode none + concurrency 1: exit status of check-config"
e2e_log "PASS"
