#!/usr/bin/env bash
# Config errors through the real binary: every error printed as FILE:LINE:COL: message (all of
# them, not only the first), exit 2 from check-config, once and run, nothing tested, nothing
# written (no results or state directory created, nothing on stdout). A missing config file:
# a clear message, exit 2. A config readable by others: a warning, and epmon runs (once, in a
# namespace of its own, against 127.0.0.1 there).
set -u
E2E_PREFIX=${E2E_PREFIX:-clibench$$e}
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"

require_root_netns
[ -x "${EPMON:-}" ] || fail "EPMON (the epmon binary) not set or not executable: '${EPMON:-}'"

P=$E2E_PREFIX-probe
netns_create "$P"
e2e_tmpdir TMP

# epmon ARGS...: run epmon in the namespace, in $TMP/cwd; stdout in $TMP/out, stderr in
# $TMP/err (checked for sanitizer reports), exit status in $rc. Bounded: a `run` that
# wrongly starts is ended (and then exits 0, not 2).
mkdir -p "$TMP/cwd"
epmon() {
	(cd "$TMP/cwd" && exec timeout 20 ip netns exec "$P" "$EPMON" "$@") >"$TMP/out" 2>"$TMP/err"
	rc=$?
	assert_no_sanitizer "$TMP/err"
}

# cfg NAME: write stdin to $TMP/NAME.yml, mode 0600; its path in $F.
cfg() {
	F=$TMP/$1.yml
	cat >"$F"
	chmod 600 "$F"
}

# The head of a config whose results and state directories must never come to exist.
HEAD="results: {directory: $TMP/results}
state_directory: $TMP/state"

# expect_errors WHAT LINE...: every command fails with exactly these stderr lines (each a
# "FILE:LINE:COL: message" prefix, matched as a fixed string at the start of its line, in
# order), exit 2, empty stdout, nothing written.
expect_errors() {
	local what=$1 cmd i line got
	shift
	for cmd in check-config once run; do
		epmon "$cmd" -c "$F"
		assert_eq 2 "$rc" "$what: $cmd exit"
		assert_eq "" "$(cat "$TMP/out")" "$what: $cmd stdout"
		assert_eq "$#" "$(wc -l <"$TMP/err")" "$what: $cmd: number of lines on stderr"
		i=0
		for line in "$@"; do
			i=$((i + 1))
			got=$(sed -n "${i}p" "$TMP/err")
			case $got in
			"$line"*) ;;
			*) cat "$TMP/err" >&2; fail "$what: $cmd: line $i: expected '$line...', got '$got'" ;;
			esac
			[[ $got =~ ^[^:]+:[0-9]+:[0-9]+:\ [^\ ] ]] ||
				fail "$what: $cmd: line $i is not FILE:LINE:COL: message: '$got'"
		done
		e2e_log "ok: $what: $cmd: $# error line(s) as expected"
		[ ! -e "$TMP/results" ] || fail "$what: $cmd created the results directory"
		[ ! -e "$TMP/state" ] || fail "$what: $cmd created the state directory"
	done
}

cfg unknown <<EOF
frequency: 10
$HEAD
ping: {count: 2, intervall: 0.1}
sites:
  - name: a
    external_ip: 127.0.0.1
    colour: red
EOF
expect_errors "unknown keys" \
	"$F:4:18: unknown key 'intervall' in ping (known: count, interval" \
	"$F:8:5: unknown key 'colour' in site 'a' (known: name, external_ip"

cfg badip <<EOF
frequency: 10
$HEAD
sites:
  - {name: a, external_ip: 127.0.0.256}
  - {name: b, external_ip: 127.0.0.1, internal_ip: localhost}
EOF
expect_errors "bad IP" \
	"$F:5:28: site 'a': external_ip: '127.0.0.256' is not a numeric IPv4 or IPv6 address" \
	"$F:6:52: site 'b': internal_ip: 'localhost' is not a numeric IPv4 or IPv6 address"

cfg dup <<EOF
frequency: 10
$HEAD
sites:
  - {name: a, external_ip: 127.0.0.1}
  - {name: a, external_ip: 127.0.0.2}
EOF
expect_errors "duplicate site" \
	"$F:6:12: duplicate site name 'a' (first defined at line 5); site names must be unique"

# one of each, in one file: all reported, in file order
cfg many <<EOF
freqency: 10
$HEAD
ping: {count: 0}
sites:
  - {name: a, external_ip: 10.0.0.1}
  - {name: a, external_ip: 10.0.0.x}
  - {name: "b c", internal_ip: 10.0.0.3}
EOF
expect_errors "many errors" \
	"$F:1:1: unknown key 'freqency' in top level" \
	"$F:1:1: missing required key 'frequency' in top level" \
	"$F:4:15: 'count' in ping must be between 1 and 1000, got 0" \
	"$F:7:12: duplicate site name 'a' (first defined at line 6)" \
	"$F:7:28: site 'a': external_ip: '10.0.0.x' is not a numeric IPv4 or IPv6 address" \
	"$F:8:5: missing required key 'external_ip' in site" \
	"$F:8:12: site name 'b c' is not valid"

cfg syntax <<EOF
frequency: 10
$HEAD
sites:
  - {name: a, external_ip: 127.0.0.1
EOF
expect_errors "YAML syntax" "$F:6:1: YAML syntax error: did not find expected ',' or '}'"

cfg empty </dev/null
expect_errors "empty file" "$F:1:1: the config is empty"

# a missing file: a clear message, exit 2, for every command
for cmd in check-config once run; do
	epmon "$cmd" -c "$TMP/nosuch.yml"
	assert_eq 2 "$rc" "missing file: $cmd exit"
	assert_eq "$TMP/nosuch.yml: cannot open the config: No such file or directory" \
		"$(cat "$TMP/err")" "missing file: $cmd message"
done
# no -c and neither ./config.yml nor /etc/epmon/config.yml: the message names the default
if [ ! -e /etc/epmon/config.yml ]; then
	epmon check-config
	assert_eq 2 "$rc" "no config anywhere: exit"
	assert_match "^/etc/epmon/config.yml: cannot open the config: No such file or directory$" \
		"$(cat "$TMP/err")" "no config anywhere: message"
fi

# readable by others: a warning, but it runs (also found as ./config.yml without -c)
mkdir -p "$TMP/results" "$TMP/state"
cat >"$TMP/cwd/config.yml" <<EOF
frequency: 10
$HEAD
ping: {count: 2, interval: 0.05, timeout: 1}
sites:
  - {name: lo, external_ip: 127.0.0.1, internal_ip: 127.0.0.2}
EOF
chmod 644 "$TMP/cwd/config.yml"
epmon check-config
assert_eq 0 "$rc" "0644 config: check-config exit"
assert_eq "OK: 1 site" "$(cat "$TMP/out")" "0644 config: check-config output"
assert_match "^<4>warning: \./config\.yml: config is readable by group/others; chmod 600 it$" \
	"$(cat "$TMP/err")" "0644 config: warning"
epmon once
cat "$TMP/out" "$TMP/err" >&2
assert_eq 0 "$rc" "0644 config: once exit"
grep -q "config is readable by group/others; chmod 600 it" "$TMP/err" ||
	fail "0644 config: once did not warn"
assert_eq 1 "$(csv_count "$TMP/results" lo)" "0644 config: once wrote its row"
assert_eq OK "$(csv_get "$(results_file "$TMP/results")" lo result)" "0644 config: result"
chmod 600 "$TMP/cwd/config.yml"
epmon check-config
assert_eq "" "$(cat "$TMP/err")" "0600 config: no warning"

echo "PASS: config errors, missing config, readable config through the binary"
# SPDX-License-Identifier: MIT
