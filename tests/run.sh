#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Test runner: cmocka unit tests and end-to-end scripts.
#   tests/run.sh unit BUILD            the layout check and the unit tests of one build
#   tests/run.sh e2e BUILD             e2e scripts against BUILD/epmon
#   tests/run.sh all BUILD ASAN_BUILD  unit tests of both builds; every e2e script against the
#                                      ASan+UBSan binary (it catches what the plain one would
#                                      only show as a wrong figure), then the plain-build smoke
#                                      list PLAIN_E2E against the optimised binary
# An e2e script exits 0 (pass), 77 (skip: no root / namespaces) or anything else (fail).
# Under CI=true a skip counts as a failure. Ends with "N passed, N failed".
set -u
cd "$(dirname "$0")/.."
mode=${1:-all}; build=${2:-build}; asan=${3:-}
passed=0; failed=0; skipped=0; failures=()
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

record() { # name rc log [seconds]
	local name=$1 rc=$2 log=$3 took=${4:+ (${4} s)}
	if [ "$rc" -eq 0 ]; then
		passed=$((passed + 1)); echo "PASS $name$took"
	elif [ "$rc" -eq 77 ] && [ "${CI:-}" != "true" ]; then
		skipped=$((skipped + 1)); echo "SKIP $name: $(tail -1 "$log")"
	else
		failed=$((failed + 1)); failures+=("$name"); echo "FAIL $name (exit $rc)$took"
		sed 's/^/    | /' "$log" | tail -60
	fi
}

run_unit() { # build
	local b=$1 t log rc
	for t in "$b"/tests/test_*; do
		[ -x "$t" ] || continue
		log=$(mktemp); "$t" >"$log" 2>&1; rc=$?
		record "unit($b)/$(basename "$t")" "$rc" "$log"; rm -f "$log"
	done
}

# The optimised binary's e2e smoke list: one login per tunnel family, the daemon loop, the
# namespaces in parallel and the web page (about a minute); the full list runs under ASan.
PLAIN_E2E="test_cli_once test_cli_run test_vpn_login_ok test_openvpn_login_ok
	test_wireguard_login_ok test_ipsec_login_ok test_netns_concurrent test_http_status"

run_e2e() { # build [NAME...]: every script, or only those named
	local b=$1 t log rc t0 took list=()
	shift
	if [ $# -gt 0 ]; then
		for t in "$@"; do list+=("tests/e2e/$t.sh"); done
	else
		list=(tests/e2e/test_*.sh)
	fi
	for t in "${list[@]}"; do
		log=$(mktemp)
		if [ ! -f "$t" ]; then # a name in PLAIN_E2E that no script has
			echo "no such script: $t" >"$log"
			record "e2e($b)/$(basename "$t" .sh)" 1 "$log"; rm -f "$log"; continue
		fi
		t0=$(date +%s%N)
		EPMON="$PWD/$b/epmon" TOOLS="$PWD/build/tools" timeout 600 bash "$t" >"$log" 2>&1; rc=$?
		took=$((($(date +%s%N) - t0) / 100000000))
		record "e2e($b)/$(basename "$t" .sh)" "$rc" "$log" "$((took / 10)).$((took % 10))"; rm -f "$log"
	done
}

run_layout() { # the include order of src/ (tests/check_layout.sh)
	local log rc
	log=$(mktemp); tests/check_layout.sh >"$log" 2>&1; rc=$?
	record "layout/check_layout" "$rc" "$log"; rm -f "$log"
}

case $mode in
unit) run_layout; run_unit "$build" ;;
e2e) run_e2e "$build" ;;
all)
	run_layout
	run_unit "$build"
	[ -n "$asan" ] && run_unit "$asan"
	if [ -n "$asan" ]; then
		run_e2e "$asan"
		# shellcheck disable=SC2086 # a list of names
		run_e2e "$build" $PLAIN_E2E
	else
		run_e2e "$build"
	fi
	;;
*) echo "usage: $0 unit|e2e|all BUILD [ASAN_BUILD]" >&2; exit 2 ;;
esac

[ ${#failures[@]} -gt 0 ] && printf 'failed: %s\n' "${failures[@]}"
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
