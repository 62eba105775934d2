#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The folders of src/ are layers; every include points down (or stays in
# its folder):  util < config < vpn < probe < store < alert < web < report < main
# (src/*.c). An include that must go against that order carries, on its own
# line, a comment saying why: #include "x/y.h" /* layering: ... */
# Also: no include cycle between two files. Exit 0, or 1 listing each offence.
set -u
cd "$(dirname "$0")/.."
order=(util config vpn probe store alert web report)
rank() { # folder -> its place in the order; the top level (main, daemon) is last
	local i
	for i in "${!order[@]}"; do [ "${order[$i]}" = "$1" ] && { echo "$i"; return; }; done
	echo ${#order[@]}
}
bad=0
for f in src/*.[ch] src/*/*.[ch]; do
	dir=${f#src/}; dir=${dir%/*}
	[ "$dir" = "${f#src/}" ] && dir=main
	[ "$dir" = main ] || case " ${order[*]} " in *" $dir "*) ;; *)
		echo "$f: folder $dir is not one of the layers (${order[*]})"; bad=1; continue ;; esac
	from=$(rank "$dir")
	while IFS=: read -r line text; do
		inc=$(sed -n 's/^#include "\([^"]*\)".*/\1/p' <<<"$text")
		[ -n "$inc" ] || continue
		if [ ! -f "src/$inc" ]; then
			echo "$f:$line: includes \"$inc\": not a header under src/ (write includes as \"folder/file.h\")"
			bad=1; continue
		fi
		to_dir=${inc%/*}; [ "$to_dir" = "$inc" ] && to_dir=main
		[ "$to_dir" = "$dir" ] && continue
		to=$(rank "$to_dir")
		if [ "$to" -ge "$from" ] && ! grep -q '/\* layering: ' <<<"$text"; then
			echo "$f:$line: $dir includes $inc: $to_dir is not below $dir (order: ${order[*]} main)"
			bad=1
		fi
	done < <(grep -n '^#include "' "$f")
done
# two files including each other (through their headers): x.c -> y.h and y.c -> x.h
for f in src/*/*.c src/*.c; do
	h=${f%.c}.h; [ -f "$h" ] || continue
	for inc in $(sed -n 's/^#include "\([^"]*\)\.h".*/\1/p' "$f"); do
		other=src/$inc.c
		[ "$other" != "$f" ] && [ -f "$other" ] || continue
		if grep -q "^#include \"${h#src/}\"" "$other"; then
			[[ "$f" < "$other" ]] && { echo "include cycle: $f <-> $other"; bad=1; }
		fi
	done
done
if [ $bad -eq 0 ]; then echo "layout: every include points down"; fi
exit $bad
