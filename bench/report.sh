#!/usr/bin/env bash
# bench (c), `epmon report`: one year of 5-minute results for 50 sites (365 daily files,
# 5 256 000 rows, ~470 MB) written by bench/gen_results.c into a temp dir, then
# `epmon report` over the whole year, 3 runs per format, through bench/rusage.c (wall, CPU,
# max RSS from wait4). The files were just written, so they are read from the page cache:
# this measures epmon, not the disk. No root needed.
# Usage: bench/report.sh EPMON RUSAGE GEN_RESULTS. Prints a table; exit 0 when it measured.
set -u
E2E_PREFIX=${E2E_PREFIX:-clibench$$r}
# shellcheck source=bench/common.sh
. "$(dirname "$0")/common.sh"

EPMON=$1
RUSAGE=$2
GEN=$3
DAYS=365
SITES=50
FREQ=300
RUNS=3
WALL_TARGET_S=5

[ -x "$RUSAGE" ] || fail "no rusage tool at $RUSAGE"
[ -x "$GEN" ] || fail "no generator at $GEN"
e2e_tmpdir TMP
mkdir -p "$TMP/results" "$TMP/state"
avail_mb=$(df -Pm "$TMP" | awk 'NR == 2 { print $4 }')
[ "${avail_mb:-0}" -gt 1024 ] || { echo "bench (c): needs 1 GB free in /tmp, has ${avail_mb} MB" >&2; exit 77; }
cat >"$TMP/config.yml" <<EOF
frequency: $FREQ
results: {directory: $TMP/results}
state_directory: $TMP/state
sites:
  - {name: branch-office-01, external_ip: 192.0.2.1}
EOF
chmod 600 "$TMP/config.yml"

e2e_log "(c) report: generating $DAYS days x $SITES sites every $FREQ s"
t0=$(date +%s.%N)
read -r rows bytes < <("$GEN" "$TMP/results" "$DAYS" "$SITES" "$FREQ") || fail "gen_results failed"
gen_s=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
first=$(ls "$TMP/results" | head -1 | sed 's/results-\(.*\)\.csv/\1/')
last=$(ls "$TMP/results" | tail -1 | sed 's/results-\(.*\)\.csv/\1/')

# run FORMAT [ARGS...]: "WALL_S CPU_MS MAXRSS_KB" of one `epmon report` over the year
run() {
	local format=$1
	shift
	"$RUSAGE" "$EPMON" report -c "$TMP/config.yml" --from "$first" --to "$last" \
		--format "$format" "$@" >"$TMP/out" 2>"$TMP/err" || fail "epmon report: $(cat "$TMP/err")"
	grep -q ' rows' "$TMP/out" || [ "$format" != text ] || fail "no report: $(head -3 "$TMP/out")"
	sed -n 's/.*rusage: wall_s=\([^ ]*\) cpu_ms=\([^ ]*\) .* maxrss_kb=\([^ ]*\) .*/\1 \2 \3/p' "$TMP/err"
}

# best of RUNS, and every run for the record
declare -A best
runs=()
for format in text json; do
	all=""
	for i in $(seq $RUNS); do
		read -r w c m < <(run "$format")
		all="$all $w"
		if [ -z "${best[$format]:-}" ] || awk -v a="$w" -v b="${best[$format]%% *}" 'BEGIN { exit !(a < b) }'; then
			best[$format]="$w $c $m"
		fi
	done
	runs[${#runs[@]}]="$format:$all"
	[ "$format" = text ] && seen_rows=$(head -1 "$TMP/out" | grep -oE '[0-9]+ rows' | cut -d' ' -f1)
done
read -r one_w one_c one_m < <(run text --site branch-office-07)

[ "$seen_rows" = "$rows" ] || fail "the report read $seen_rows rows of $rows"
read -r tw tc tm <<<"${best[text]}"
read -r jw jc jm <<<"${best[json]}"
echo
echo "(c) report: $DAYS daily files, $SITES sites every $FREQ s: $rows rows," \
	"$((bytes / 1000000)) MB (generated in $gen_s s), page cache warm"
bench_line "figure" "measured" "target"
bench_line "epmon report, text: wall (best of $RUNS)" "$(printf '%.3f' "$tw") s" "< $WALL_TARGET_S s" \
	"$(bench_verdict "$tw" "$WALL_TARGET_S" s)"
bench_line "  CPU (user + sys) / max RSS" "$(printf '%.0f' "$tc") ms / $tm kB"
bench_line "  rows per second" "$(awk -v r="$rows" -v w="$tw" 'BEGIN { printf "%.2f M", r / w / 1e6 }')"
bench_line "epmon report, json: wall (best of $RUNS)" "$(printf '%.3f' "$jw") s" "< $WALL_TARGET_S s" \
	"$(bench_verdict "$jw" "$WALL_TARGET_S" s)"
bench_line "  CPU (user + sys) / max RSS" "$(printf '%.0f' "$jc") ms / $jm kB"
bench_line "epmon report --site (1 of $SITES): wall" "$(printf '%.3f' "$one_w") s"
bench_line "  CPU (user + sys) / max RSS" "$(printf '%.0f' "$one_c") ms / $one_m kB"
echo "    every run, wall s: ${runs[*]}"
# SPDX-License-Identifier: MIT
