#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# `make fuzz`: runs each libFuzzer harness of DIR (DIR/fuzz_NAME) for SECONDS
# on its seed corpus fuzz/corpus/NAME, new inputs going to DIR/corpus/NAME
# (scratch, never the repository). Any crash, leak, sanitizer report or
# input over 1 s fails; the input is kept as DIR/artifacts/NAME-*. Prints a
# line per harness: runs, execs/s, coverage, corpus size.
# Usage: fuzz/run.sh DIR [SECONDS]
set -u
cd "$(dirname "$0")/.."
dir=${1:?usage: fuzz/run.sh DIR [SECONDS]}
secs=${2:-60}

# the harnesses' scratch files: on a tmpfs, removed at the end
base=/dev/shm; [ -d "$base" ] || base=${TMPDIR:-/tmp}
EPMON_FUZZ_TMP=$(mktemp -d "$base/epmon-fuzz.XXXXXX") || exit 1
export EPMON_FUZZ_TMP
trap 'rm -rf "$EPMON_FUZZ_TMP"' EXIT
# leaks are checked (per input and at exit); UBSan stops at the first report
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

failed=()
for bin in "$dir"/fuzz_*; do
	[ -x "$bin" ] && [ -f "$bin" ] || continue
	case $bin in *.d) continue ;; esac
	name=${bin##*/fuzz_}
	scratch=$dir/corpus/$name
	log=$dir/$name.log
	mkdir -p "$scratch" "$dir/artifacts"
	# the spool's expiry logs an error per message, 10,000 a second: left out
	"$bin" -max_total_time="$secs" -timeout=1 -rss_limit_mb=2048 -detect_leaks=1 \
		-print_final_stats=1 -artifact_prefix="$dir/artifacts/$name-" \
		"$scratch" "fuzz/corpus/$name" 2>&1 |
		grep -av '^<3>error: gave up on alert mail ' >"$log"
	rc=${PIPESTATUS[0]}
	# the last status line: "#N DONE cov: C ft: F corp: K/SIZE ... exec/s: E rss: R"
	last=$(grep -aE '^#[0-9]+' "$log" | tail -n 1)
	field() { sed -n "s/.* $1: *\([^ ]*\).*/\1/p" <<<"$last"; }
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
	eps=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
	rss=$(sed -n 's/^stat::peak_rss_mb: *//p' "$log")
	printf '%-10s %s  %s runs, %s exec/s, cov %s, ft %s, corpus %s, peak rss %s MB\n' \
		"$name" "$([ $rc -eq 0 ] && echo ok || echo FAILED)" "${runs:-?}" "${eps:-?}" \
		"$(field cov)" "$(field ft)" "$(field corp)" "${rss:-?}"
	if [ $rc -ne 0 ]; then
		failed+=("$name")
		echo "--- $name: exit $rc; the report ($log):"
		grep -aE -A14 '==[0-9]+== ?ERROR|runtime error:|^fuzz_' "$log" | head -n 30
		errors=$(grep -a '^<3>' "$log" | tail -n 5)
		[ -z "$errors" ] || printf "%s\n%s\n" "--- epmon's last errors:" "$errors"
		grep -aE 'Test unit written to' "$log"
	fi
done
if [ ${#failed[@]} -gt 0 ]; then
	echo "fuzz: FAILED: ${failed[*]} (reproduce: $dir/fuzz_NAME FILE)"
	exit 1
fi
echo "fuzz: every harness ran ${secs} s without a crash, leak, sanitizer report or timeout"
