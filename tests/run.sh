#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Test runner: cmocka unit tests and end-to-end scripts.
#   tests/run.sh unit BUILD            the layout check and the unit tests of one build
#   tests/run.sh e2e BUILD             e2e scripts against BUILD/epmon
#   tests/run.sh all BUILD ASAN_BUILD  unit tests of both builds, e2e against both binaries
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

run_e2e() { # build
	local b=$1 t log rc t0 took
	for t in tests/e2e/test_*.sh; do
		[ -f "$t" ] || continue
		log=$(mktemp)
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
	run_e2e "$build"
	[ -n "$asan" ] && run_e2e "$asan"
	;;
*) echo "usage: $0 unit|e2e|all BUILD [ASAN_BUILD]" >&2; exit 2 ;;
esac

[ ${#failures[@]} -gt 0 ] && printf 'failed: %s\n' "${failures[@]}"
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
