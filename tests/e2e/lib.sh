# shellcheck shell=bash
# Helpers for e2e tests (bash; `source "$(dirname "$0")/lib.sh"`).
#
# Everything a test creates through these helpers (namespaces, links,
# background processes, temp dirs) is registered and removed by an EXIT trap,
# also when the test fails half-way. Names start with $E2E_PREFIX, unique per
# run (set E2E_PREFIX before sourcing to choose it; default "e2e$$").
# Exit codes, as tests/run.sh expects: 0 pass, 77 skip, anything else fail.

E2E_PREFIX=${E2E_PREFIX:-e2e$$}
E2E_NETNS=()     # namespaces to delete
E2E_LINKS=()     # "NS IF" links to delete (NS "-" = this namespace)
E2E_PIDS=()      # processes to end, by pid only
E2E_DIRS=()      # temp dirs to remove

# e2e_log MSG...: a line on stderr, tagged with the test's name.
e2e_log() { echo "[$(basename "$0" .sh)] $*" >&2; }

# fail MSG...: report a failure and exit 1 (the EXIT trap cleans up).
fail() { echo "FAIL: $*" >&2; exit 1; }

# skip MSG...: exit 77 (skip), or fail under CI=true where skips are not allowed.
skip() {
	if [ "${CI:-}" = "true" ]; then
		fail "$* (CI=true: this test must run)"
	fi
	echo "SKIP: $*"
	exit 77
}

# assert_eq EXPECTED GOT WHAT: fail unless the two strings are equal.
assert_eq() {
	[ "$1" = "$2" ] || fail "$3: expected '$1', got '$2'"
	e2e_log "ok: $3 = '$2'"
}

# assert_match REGEX GOT WHAT: fail unless GOT matches the extended regex.
assert_match() {
	[[ $2 =~ $1 ]] || fail "$3: expected a match of /$1/, got '$2'"
	e2e_log "ok: $3 = '$2'"
}

# assert_near EXPECTED GOT TOLERANCE WHAT: fail unless |GOT - EXPECTED| < TOLERANCE (numbers).
assert_near() {
	awk -v e="$1" -v g="$2" -v t="$3" 'BEGIN { d = g - e; if (d < 0) d = -d;
		exit !(g ~ /^-?[0-9.]+([eE][-+]?[0-9]+)?$/ && d < t) }' ||
		fail "$4: expected $1 +- $3, got '$2'"
	e2e_log "ok: $4 = $2 (expected $1 +- $3)"
}

# e2e_cleanup: the EXIT trap; ends registered processes, deletes namespaces, links, dirs.
e2e_cleanup() {
	local rc=$? pid i ns ifname
	trap - EXIT INT TERM
	for pid in "${E2E_PIDS[@]}"; do
		kill -TERM "$pid" 2>/dev/null
	done
	for pid in "${E2E_PIDS[@]}"; do
		for i in $(seq 20); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	done
	for i in "${E2E_LINKS[@]}"; do
		read -r ns ifname <<<"$i"
		if [ "$ns" = "-" ]; then
			ip link del "$ifname" 2>/dev/null
		else
			ip -n "$ns" link del "$ifname" 2>/dev/null
		fi
	done
	for ns in "${E2E_NETNS[@]}"; do
		ip netns del "$ns" 2>/dev/null
	done
	for i in "${E2E_DIRS[@]}"; do
		rm -rf -- "$i"
	done
	exit "$rc"
}
trap e2e_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# require_root_netns: skip (77) unless root and able to create network namespaces; exit 1 under CI=true.
require_root_netns() {
	local probe="$E2E_PREFIX-chk"
	[ "$(id -u)" -eq 0 ] || skip "needs root for network namespaces"
	command -v ip >/dev/null 2>&1 || skip "needs iproute2 (ip)"
	ip netns add "$probe" 2>/dev/null || skip "cannot create network namespaces (ip netns add)"
	ip netns del "$probe"
}

# require_cmd CMD...: skip (77; fail under CI=true) when a command is missing.
require_cmd() {
	local c
	for c in "$@"; do
		command -v "$c" >/dev/null 2>&1 || skip "needs $c"
	done
}

# e2e_tmpdir VAR: make a temp dir, removed at exit, and store its path in VAR.
e2e_tmpdir() {
	local d
	d=$(mktemp -d "/tmp/$E2E_PREFIX.XXXXXX") || fail "mktemp failed"
	E2E_DIRS+=("$d")
	printf -v "$1" '%s' "$d"
}

# netns_create NAME: create namespace NAME (use "$E2E_PREFIX-..." names) with lo up and
# IPv6 duplicate address detection off (else addresses stay tentative for seconds).
netns_create() {
	ip netns add "$1" || fail "ip netns add $1"
	E2E_NETNS+=("$1")
	ip -n "$1" link set lo up || fail "lo up in $1"
	ip netns exec "$1" sysctl -qw net.ipv6.conf.all.accept_dad=0 \
		net.ipv6.conf.default.accept_dad=0 >/dev/null 2>&1
}

# ns_sysctl NS KEY=VALUE...: set sysctls inside namespace NS.
ns_sysctl() {
	local ns=$1; shift
	ip netns exec "$ns" sysctl -qw "$@" >/dev/null || fail "sysctl $* in $ns"
}

# netns_addrs NS IF ADDRS: add comma-separated ADDRS (CIDR; "-" none) to IF in NS, set it up.
netns_addrs() {
	local ns=$1 ifname=$2 a
	local IFS=,
	ip netns exec "$ns" sysctl -qw "net.ipv6.conf.$ifname.accept_dad=0" >/dev/null 2>&1
	for a in $3; do
		[ "$a" = "-" ] && continue
		if [[ $a == *:* ]]; then
			ip -n "$ns" addr add "$a" dev "$ifname" nodad || fail "addr $a on $ns/$ifname"
		else
			ip -n "$ns" addr add "$a" dev "$ifname" || fail "addr $a on $ns/$ifname"
		fi
	done
	ip -n "$ns" link set "$ifname" up || fail "link up $ns/$ifname"
}

# veth_pair NS1 IF1 ADDRS1 NS2 IF2 ADDRS2: a veth between two namespaces, made directly
# inside them (names need only be unique per namespace), with addresses (see netns_addrs).
veth_pair() {
	local ns1=$1 if1=$2 a1=$3 ns2=$4 if2=$5 a2=$6
	if [ ${#if1} -gt 15 ] || [ ${#if2} -gt 15 ]; then
		fail "interface name too long: $if1 / $if2"
	fi
	ip link add "$if1" netns "$ns1" type veth peer name "$if2" netns "$ns2" ||
		fail "veth $ns1/$if1 <-> $ns2/$if2"
	E2E_LINKS+=("$ns1 $if1")
	netns_addrs "$ns1" "$if1" "$a1"
	netns_addrs "$ns2" "$if2" "$a2"
}

# netns_settle [SECONDS]: wait (default 5 s) until every link in the test's namespaces is
# operational (the kernel brings carrier up in batches up to 1 s late) and has its IPv6
# link-local address; call it once after building the topology.
netns_settle() {
	local t=${1:-5} i ns ifname ok
	for i in $(seq $((t * 20))); do
		ok=1
		for ns in "${E2E_NETNS[@]}"; do
			while read -r ifname; do
				[ -n "$ifname" ] || continue
				ip -n "$ns" -o link show dev "$ifname" | grep -q "state UP" || { ok=0; break; }
				[ "$(ip netns exec "$ns" cat "/proc/sys/net/ipv6/conf/$ifname/disable_ipv6" 2>/dev/null)" = 0 ] || continue
				ip -n "$ns" -6 -o addr show dev "$ifname" scope link | grep -v tentative | grep -q fe80 || { ok=0; break; }
			done < <(ip -n "$ns" -o link show up | awk -F': ' '$2 != "lo" { sub(/@.*/, "", $2); print $2 }')
			[ "$ok" = 1 ] || break
		done
		[ "$ok" = 1 ] && return 0
		sleep 0.05
	done
	fail "links not operational after ${t}s"
}

# register_pid PID: end PID (TERM, then KILL after 2 s) at exit.
register_pid() { E2E_PIDS+=("$1"); }

# bg_start NS CMD...: run CMD in the background inside namespace NS ("-": here), registered;
# its pid is in $BG_PID, its output goes to stderr.
bg_start() {
	local ns=$1; shift
	if [ "$ns" = "-" ]; then
		"$@" >&2 &
	else
		ip netns exec "$ns" "$@" >&2 &
	fi
	BG_PID=$!
	register_pid "$BG_PID"
}

# wait_pidfile FILE [SECONDS]: wait (default 5 s) until FILE holds a live pid; register it.
wait_pidfile() {
	local f=$1 t=${2:-5} i pid
	for i in $(seq $((t * 20))); do
		pid=$(cat "$f" 2>/dev/null)
		if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
			register_pid "$pid"
			return 0
		fi
		sleep 0.05
	done
	fail "no live pid in $f after ${t}s"
}

# csv_get FILE SITE COLUMN: print COLUMN of the last row of SITE in an epmon results CSV.
csv_get() {
	python3 - "$1" "$2" "$3" <<'EOF' || fail "csv_get $1 $2 $3"
import csv, sys
path, site, col = sys.argv[1:4]
rows = [r for r in csv.DictReader(open(path, newline="")) if r.get("site") == site]
if not rows or col not in rows[-1]:
    sys.exit("no %s for site %s in %s" % (col, site, path))
print(rows[-1][col])
EOF
}

# results_file DIR: print today's epmon results CSV in DIR (results-YYYY-MM-DD.csv), else
# the latest one there (a run may cross midnight).
results_file() {
	local f c
	f="$1/results-$(date +%F).csv"
	if [ ! -f "$f" ]; then
		f=
		for c in "$1"/results-*.csv; do [ -f "$c" ] && f=$c; done
	fi
	[ -n "$f" ] || fail "no results CSV in $1"
	echo "$f"
}

# ---- helpers of the CLI tests (test_cli_*.sh) ----

# assert_no_sanitizer FILE...: fail when one of the files (epmon's stderr) holds a report of
# AddressSanitizer, LeakSanitizer or UBSan (EPMON may be an ASan+UBSan build).
assert_no_sanitizer() {
	local f
	for f in "$@"; do
		if grep -qE 'AddressSanitizer|LeakSanitizer|runtime error:' "$f" 2>/dev/null; then
			sed 's/^/    | /' "$f" >&2
			fail "sanitizer report in $f"
		fi
	done
}

# csv_count DIR [SITE]: number of rows (of SITE, else all) in the results-*.csv files of
# DIR; 0 when there is none.
csv_count() {
	python3 - "$1" "${2:-}" <<'PYEOF' || fail "csv_count $1 ${2:-}"
import csv, glob, sys
d, site = sys.argv[1:3]
n = 0
for path in sorted(glob.glob(d + "/results-*.csv")):
    n += sum(1 for r in csv.DictReader(open(path, newline=""))
             if not site or r.get("site") == site)
print(n)
PYEOF
}

# wait_csv_rows DIR SITE N SECONDS: wait until DIR holds at least N rows of SITE ("" any);
# 0 when they came, 1 after SECONDS.
wait_csv_rows() {
	local d=$1 site=$2 n=$3 t=$4 end
	end=$(($(date +%s%N) + t * 1000000000))
	while [ "$(date +%s%N)" -lt "$end" ]; do
		[ "$(csv_count "$d" "$site")" -ge "$n" ] && return 0
		sleep 0.05
	done
	return 1
}

# wait_log FILE REGEX SECONDS: wait until a line of FILE matches the extended REGEX;
# 0 when it did, 1 after SECONDS.
wait_log() {
	local f=$1 re=$2 t=$3 i
	for i in $(seq $((t * 20))); do
		grep -qE -- "$re" "$f" 2>/dev/null && return 0
		sleep 0.05
	done
	return 1
}
