#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Concurrent cycles through the real binary, without VPN (sites without `vpn:` need no
# namespace of their own): a probe namespace and two targets,
#   alive   10.215.1.10..13   the kernel answers
#   silent  10.215.2.10..13   echo_ignore_all=1: nobody answers (each such site takes its
#                             whole ping timeout, 1 s)
# `epmon once` with concurrency 8 over 4 silent and 4 alive sites, interleaved in the config:
#   - every site started before the first silent site could have ended (they ran at the
#     same time: each silent site's start is within its own 1 s of every other start);
#   - the CSV has 8 whole rows, the alive sites' rows before the silent ones' (written as
#     each site ends), while the `once` table keeps config order;
#   - concurrency 1 runs the same sites one after another (starts >= 1 s apart).
set -u
E2E_PREFIX=${E2E_PREFIX:-cliconc$$}
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"

require_root_netns
require_cmd python3
[ -x "${EPMON:-}" ] || fail "EPMON (the epmon binary) not set or not executable: '${EPMON:-}'"

P=$E2E_PREFIX-probe
A=$E2E_PREFIX-alive
S=$E2E_PREFIX-silent
for ns in "$P" "$A" "$S"; do netns_create "$ns"; done
veth_pair "$P" p1 10.215.1.2/24 "$A" a0 10.215.1.10/24,10.215.1.11/24,10.215.1.12/24,10.215.1.13/24
veth_pair "$P" p2 10.215.2.2/24 "$S" s0 10.215.2.10/24,10.215.2.11/24,10.215.2.12/24,10.215.2.13/24
ns_sysctl "$S" net.ipv4.icmp_echo_ignore_all=1
netns_settle 5
e2e_tmpdir TMP

# config FILE CONCURRENCY RESULTS: silent0 alive0 silent1 alive1 ... in this order
config() {
	{
		echo "frequency: 30"
		echo "concurrency: $2"
		echo "results: {directory: $3}"
		echo "state_directory: $TMP/state"
		echo "ping: {count: 1, interval: 0.1, timeout: 1}"
		echo "sites:"
		for i in 0 1 2 3; do
			echo "  - {name: silent$i, external_ip: 10.215.2.1$i}"
			echo "  - {name: alive$i, external_ip: 10.215.1.1$i}"
		done
	} >"$1"
	chmod 600 "$1"
}

# starts DIR: the sites' start times (s since the epoch) in CSV order, "SITE START" lines
starts() {
	python3 - "$(results_file "$1")" <<'EOF'
import csv, datetime, sys
for r in csv.DictReader(open(sys.argv[1], newline="")):
    print(r["site"], datetime.datetime.fromisoformat(r["timestamp"]).timestamp())
EOF
}

# ---- concurrency 8 ----
config "$TMP/c8.yml" 8 "$TMP/r8"
ip netns exec "$P" "$EPMON" once -c "$TMP/c8.yml" >"$TMP/c8.out" 2>"$TMP/c8.err"
rc=$?
sed 's/^/    out| /' "$TMP/c8.out" >&2
assert_no_sanitizer "$TMP/c8.err"
assert_eq 1 "$rc" "once exit status (the silent sites fail)"
assert_eq "silent0 alive0 silent1 alive1 silent2 alive2 silent3 alive3" \
	"$(awk 'NR > 1 && $2 ~ /^(OK|FAIL)$/ { printf "%s%s", sep, $1; sep = " " }' "$TMP/c8.out")" \
	"the once table keeps config order"
assert_match '^8 site\(s\), 4 failed' "$(tail -1 "$TMP/c8.out")" "once summary"
assert_eq 8 "$(csv_count "$TMP/r8")" "CSV rows"
CSV=$(results_file "$TMP/r8")
# every line is a whole row: 11 fields, the site's own name, a known result
python3 - "$CSV" <<'EOF' || fail "CSV rows are not whole lines"
import csv, sys
rows = list(csv.reader(open(sys.argv[1], newline="")))
assert rows[0][:2] == ["timestamp", "site"], rows[0]
for r in rows[1:]:
    assert len(r) == len(rows[0]), r
    assert r[2] in ("OK", "FAIL"), r
    assert (r[2] == "OK") == r[1].startswith("alive"), r
EOF
e2e_log "ok: 8 whole CSV rows"
order=$(starts "$TMP/r8" | awk '{ printf "%s%s", sep, substr($1, 1, 5); sep = " " }')
assert_eq "alive alive alive alive silen silen silen silen" "$order" \
	"CSV rows written as sites end (the alive sites first)"
spread=$(starts "$TMP/r8" | awk 'NR == 1 || $2 < lo { lo = $2 } NR == 1 || $2 > hi { hi = $2 }
	END { printf "%.3f", hi - lo }')
awk -v s="$spread" 'BEGIN { exit !(s < 1.0) }' ||
	fail "the 8 sites did not run at the same time: starts spread over $spread s (a silent site alone takes 1 s)"
e2e_log "ok: all 8 sites started within $spread s"

# ---- concurrency 1: the seed's way ----
config "$TMP/c1.yml" 1 "$TMP/r1"
ip netns exec "$P" "$EPMON" once -c "$TMP/c1.yml" >"$TMP/c1.out" 2>"$TMP/c1.err"
assert_no_sanitizer "$TMP/c1.err"
assert_eq "silent0 alive0 silent1 alive1 silent2 alive2 silent3 alive3" \
	"$(starts "$TMP/r1" | awk '{ printf "%s%s", sep, $1; sep = " " }')" \
	"concurrency 1: rows in config order"
gaps=$(starts "$TMP/r1" | awk '$1 ~ /^silent/ { if (prev) { g = $2 - prev; if (!min || g < min) min = g } prev = $2 }
	END { printf "%.3f", min }')
awk -v g="$gaps" 'BEGIN { exit !(g >= 0.99) }' ||
	fail "concurrency 1: silent sites started $gaps s apart, expected one after another (>= 1 s)"
e2e_log "ok: concurrency 1: silent sites started >= $gaps s apart"
e2e_log "PASS"
