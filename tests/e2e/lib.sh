# SPDX-License-Identifier: MIT
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

# ---- VPN lab helpers (tests/e2e/test_vpn_*.sh; added by the vpn e2e tests) ----
# The lab (tests/lab/README.md) runs ocserv gateways in namespaces; a test brings up its
# own under a fresh prefix and takes it down at exit, after the registered processes.

LAB_SH=$(cd "$(dirname "${BASH_SOURCE[0]}")/../lab" && pwd)/lab.sh
LAB_P=

# (assert_no_sanitizer, csv_count DIR [SITE], wait_csv_rows and wait_log above serve them too.)

# lab_exit: the EXIT trap once lab_start ran: end registered processes (TERM, then KILL
# after 5 s) and anything still in the probe namespace, take the lab down, then the rest
# of e2e_cleanup. Keeps the test's exit status.
lab_exit() {
	local rc=$? pid i left
	trap - EXIT INT TERM
	for pid in "${E2E_PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null; done
	for pid in "${E2E_PIDS[@]}"; do
		for i in $(seq 50); do lab_alive "$pid" || break; sleep 0.1; done
		kill -KILL "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	done
	# All ended: e2e_cleanup would wait 2 s for each one a late init leaves a zombie.
	E2E_PIDS=()
	if [ -n "$LAB_P" ] && [ -n "${LAB_NS_PROBE:-}" ]; then
		# Left behind by a failing test: the namespace is the test's, so are they.
		left=$(probe_procs | awk '{print $1}')
		for pid in $left; do
			echo "lab_exit: killing leftover $(cat "/proc/$pid/comm" 2>/dev/null) $pid in $LAB_NS_PROBE" >&2
			kill -KILL "$pid" 2>/dev/null
		done
		# Clients left in site namespaces (netns isolation) by a failing test.
		if [ -n "${TMP:-}" ] && [ -f "$TMP/netns.before" ]; then
			netns_procs "$TMP/netns.before" 2>/dev/null | while read -r pid _ comm rest; do
				echo "lab_exit: killing leftover $comm $pid in a site namespace: $rest" >&2
				kill -KILL "$pid" 2>/dev/null
			done
		fi
	fi
	if [ -n "$LAB_P" ]; then
		"$LAB_SH" down --prefix "$LAB_P" >/dev/null 2>&1 ||
			echo "lab_exit: lab.sh down --prefix $LAB_P failed" >&2
	fi
	trap e2e_cleanup EXIT
	(exit "$rc")
	e2e_cleanup
}

# lab_start N [UP_OPTION...]: bring up a lab with N gateways under a fresh prefix (v + 5
# digits; options of lab.sh up such as --same-pool), import its LAB_* variables (lab.sh
# env) and take it down at exit.
lab_start() {
	local n=$1 i p
	shift
	require_cmd ocserv ocpasswd certtool openconnect ss python3
	[ -c /dev/net/tun ] || skip "needs /dev/net/tun"
	for i in $(seq 20); do
		p=v$(((RANDOM * 32768 + RANDOM + $$) % 100000))
		[ -e "/run/epmon-lab/$p" ] || [ -e "/run/netns/$p-probe" ] || break
	done
	LAB_P=$p
	trap lab_exit EXIT
	# A second `up` finishes a failed one: under load lab.sh may call a just spawned
	# ocserv "exited" while it is still `ip netns exec` (reported to the lab's owner).
	"$LAB_SH" up "$n" "$@" --prefix "$p" >&2 || "$LAB_SH" up "$n" "$@" --prefix "$p" >&2 ||
		fail "lab.sh up $n $* --prefix $p failed"
	eval "$("$LAB_SH" env --prefix "$p")" || fail "lab.sh env --prefix $p failed"
	e2e_log "lab $p up: $n gateway(s), probe $LAB_NS_PROBE"
}

# lab_cmd ARGS...: tests/lab/lab.sh ARGS --prefix (this test's lab).
lab_cmd() { "$LAB_SH" "$@" --prefix "$LAB_P" >&2 || fail "lab.sh $* failed"; }

# lab_alive PID: true while PID exists and is not a zombie (init may reap late).
lab_alive() {
	local st
	st=$(awk '/^State:/ {print $2}' "/proc/$1/status" 2>/dev/null)
	[ -n "$st" ] && [ "$st" != Z ]
}

# probe_procs: "PID COMM" of every live process in the lab's probe namespace.
probe_procs() {
	local pid
	for pid in $(ip netns pids "$LAB_NS_PROBE" 2>/dev/null); do
		lab_alive "$pid" && echo "$pid $(cat "/proc/$pid/comm" 2>/dev/null)"
	done
}

# probe_state: what a site test must leave as it found it in the probe namespace: its
# links, IPv4 and IPv6 routes (all tables) and rules.
probe_state() {
	echo "# links"
	ip -n "$LAB_NS_PROBE" -o link show | awk -F': ' '{ sub(/@.*/, "", $2); print $2 }' | sort
	echo "# ipv4 routes"
	ip -n "$LAB_NS_PROBE" -4 route show table all
	echo "# ipv6 routes"
	ip -n "$LAB_NS_PROBE" -6 route show table all
	echo "# rules"
	ip -n "$LAB_NS_PROBE" rule show
	# epmon's netns isolation turns forwarding on while it runs and must restore it
	echo "# net.ipv4.ip_forward"
	ip netns exec "$LAB_NS_PROBE" cat /proc/sys/net/ipv4/ip_forward
}

# probe_settle: wait (5 s) until the probe's IPv6 link-local address left duplicate
# address detection: it adds a local route, which would show as a change.
probe_settle() {
	local i
	for i in $(seq 100); do
		if ip -n "$LAB_NS_PROBE" -6 -o addr show dev "$LAB_PROBE_IF" scope link | grep -q fe80 &&
			! ip -n "$LAB_NS_PROBE" -6 -o addr show tentative | grep -q .; then
			return 0
		fi
		sleep 0.05
	done
	fail "IPv6 addresses of $LAB_NS_PROBE still tentative after 5 s"
}

# probe_snapshot DIR: save probe_state, resolv.conf and the network namespaces in use
# (netns_inventory) into DIR (before a test).
probe_snapshot() {
	probe_settle
	probe_state >"$1/probe.before" || fail "probe_state failed"
	netns_inventory >"$1/netns.before" || fail "netns_inventory failed"
	cp "$LAB_RESOLV_CONF" "$1/resolv.before" || fail "cannot copy $LAB_RESOLV_CONF"
	[ -z "$(probe_procs)" ] || fail "processes in $LAB_NS_PROBE before the test: $(probe_procs)"
}

# probe_assert_clean DIR: fail unless the probe namespace is as probe_snapshot saved it:
# no process in it, the same links (no tun device, no epmon-v* veth) and routes, the same
# ip_forward, resolv.conf byte-identical; and nothing of epmon's netns isolation is left
# (isolation_assert_clean).
probe_assert_clean() {
	local left
	left=$(probe_procs)
	[ -z "$left" ] || fail "processes left in $LAB_NS_PROBE: $left"
	isolation_assert_clean "$1"
	probe_state >"$1/probe.after"
	diff -u "$1/probe.before" "$1/probe.after" >&2 ||
		fail "links/routes of $LAB_NS_PROBE changed (diff above)"
	ip -n "$LAB_NS_PROBE" -o link show type tun | grep -q . &&
		fail "tun device left in $LAB_NS_PROBE: $(ip -n "$LAB_NS_PROBE" -o link show type tun)"
	cmp -s "$1/resolv.before" "$LAB_RESOLV_CONF" ||
		fail "$LAB_RESOLV_CONF changed: $(cat "$LAB_RESOLV_CONF")"
	e2e_log "ok: probe clean (no process, links/routes/ip_forward as before, resolv.conf identical)"
}

# assert_positive GOT WHAT: fail unless GOT is a number > 0.
assert_positive() {
	awk -v g="$1" 'BEGIN { exit !(g ~ /^[0-9]+(\.[0-9]+)?$/ && g + 0 > 0) }' ||
		fail "$2: expected a number > 0, got '$1'"
	e2e_log "ok: $2 = $1 (> 0)"
}

# probe_epmon NAME ARGS...: run $EPMON ARGS in the probe namespace; stdout in $TMP/NAME.out,
# stderr in $TMP/NAME.err (both echoed to the test's stderr, checked for sanitizer
# reports); exit status in EPMON_RC.
probe_epmon() {
	local name=$1; shift
	ip netns exec "$LAB_NS_PROBE" "$EPMON" "$@" >"$TMP/$name.out" 2>"$TMP/$name.err"
	EPMON_RC=$?
	e2e_log "epmon $* -> exit $EPMON_RC"
	sed 's/^/    out| /' "$TMP/$name.out" >&2
	sed 's/^/    err| /' "$TMP/$name.err" >&2
	assert_no_sanitizer "$TMP/$name.err"
}

# ---- shared setup of the VPN lab tests (test_vpn_*.sh) ----

# require_epmon: fail unless $EPMON is an executable (the epmon binary under test).
require_epmon() {
	[ -x "${EPMON:-}" ] || fail "EPMON (the epmon binary) not set or not executable: '${EPMON:-}'"
}

# vpn_test_setup N [UP_OPTION...]: the start of a VPN lab test: root and namespaces (else
# skip), $EPMON, a lab of N gateways (lab_start N UP_OPTION...), and a temp dir in TMP with
# results/ and state/.
vpn_test_setup() {
	require_root_netns
	require_epmon
	lab_start "$@"
	e2e_tmpdir TMP
	mkdir -p "$TMP/results" "$TMP/state" || fail "mkdir in $TMP"
}

# lab_fake VAR NAME: store in VAR the path of the FAKE client tests/lab/NAME; fail unless
# it is executable.
lab_fake() {
	local f
	f=$(dirname "$LAB_SH")/$2
	[ -x "$f" ] || fail "no executable $f"
	printf -v "$1" '%s' "$f"
}

# write_config FILE [FREQUENCY [PING]] <SITES: write an epmon config to FILE (mode 0600):
# frequency (default 60), results and state_directory in $TMP, ping (a YAML mapping,
# default {count: 3, interval: 0.1, timeout: 1}; "" for none), the top-level YAML lines in
# $E2E_CONFIG_EXTRA (e.g. "$(isolation_none_yaml)" or "concurrency: 12"; default none),
# then "sites:" and the site entries read from stdin (lab_site ... output, or YAML text).
E2E_CONFIG_EXTRA=${E2E_CONFIG_EXTRA:-}
write_config() {
	local file=$1 freq=${2:-60} ping=${3-"{count: 3, interval: 0.1, timeout: 1}"} sites
	sites=$(cat)
	[[ $sites == *"- name:"* ]] || fail "write_config $file: no site on stdin"
	{
		echo "frequency: $freq"
		echo "results: {directory: $TMP/results}"
		echo "state_directory: $TMP/state"
		[ -z "$ping" ] || echo "ping: $ping"
		[ -z "$E2E_CONFIG_EXTRA" ] || printf '%s\n' "$E2E_CONFIG_EXTRA"
		echo "sites:"
		printf '%s\n' "$sites"
	} >"$file" || fail "cannot write $file"
	chmod 600 "$file" || fail "chmod 600 $file"
}

# lab_site NAME K KEY=VALUE...: print the YAML of site NAME on lab gateway K (external_ip
# its address, internal_ip its intranet host), its vpn mapping made of the KEY=VALUE
# pairs in order; a later KEY replaces an earlier one, an empty VALUE removes it.
lab_site() {
	local name=$1 ext=LAB_GW$2_IP int=LAB_GW$2_INTRANET_IP
	shift 2
	site_yaml "$name" "${!ext}" "${!int}" "$@"
}

# site_yaml NAME EXTERNAL_IP INTERNAL_IP KEY=VALUE...: the YAML of site NAME, its vpn mapping
# made of the KEY=VALUE pairs as lab_site does.
site_yaml() {
	local name=$1 ext=$2 int=$3 kv key vpn=
	local -a keys=()
	local -A val=()
	shift 3
	for kv in "$@"; do
		key=${kv%%=*}
		[ -n "${val[$key]+set}" ] || keys+=("$key")
		val[$key]=${kv#*=}
	done
	for key in "${keys[@]}"; do
		[ -n "${val[$key]}" ] && vpn+="${vpn:+, }$key: ${val[$key]}"
	done
	printf '  - name: %s\n    external_ip: %s\n    internal_ip: %s\n    vpn: {%s}\n' \
		"$name" "$ext" "$int" "$vpn"
}

# lab_openconnect_site NAME K [KEY=VALUE...]: lab_site with openconnect to gateway K as
# $LAB_USER, the good password file, the lab CA and login_timeout 20; KEY=VALUE pairs
# change or add keys (password_file=$LAB_WRONG_PASSWORD_FILE, ca_file= for none, ...).
lab_openconnect_site() {
	local name=$1 gw=LAB_GW$2_IP k=$2
	shift 2
	lab_site "$name" "$k" client=openconnect gateway="${!gw}" username="$LAB_USER" \
		password_file="$LAB_PASSWORD_FILE" ca_file="$LAB_CA" login_timeout=20 "$@"
}

# lab_fake_site NAME K COMMAND [KEY=VALUE...]: lab_site with a custom client COMMAND (a
# FAKE client) that is sent the good password at "Password:" and counts as connected at
# "Configured as"; KEY=VALUE pairs add keys (login_timeout, teardown_timeout, ...).
lab_fake_site() {
	local name=$1 k=$2 cmd=$3
	shift 3
	lab_site "$name" "$k" client=custom command="$cmd" password_file="$LAB_PASSWORD_FILE" \
		'expect=[{expect: "Password:", send: "{password}"}]' 'connected="Configured as"' "$@"
}

# ping_alongside NAME CONFIG SITE ADDRESS COUNT INTERVAL: `epmon -v once -c CONFIG` in the
# probe namespace (stdout/stderr $TMP/NAME.out/.err) and, as soon as SITE's first echo
# through its new tunnel is done, iputils ping of ADDRESS through the same tunnel: in the
# client's network namespace (nsenter), bound to the tunnel interface, COUNT echoes
# INTERVAL s apart, while epmon's steady internal ping runs (give that one more echoes
# than ping). Waits for epmon; sets
# EPMON_RC, PING_AVG, PING_MDEV (ms, iputils' own figures), PING_MEDIAN and PING_N (of its
# replies), and EPMON_MEDIAN, EPMON_MDEV (epmon's steady internal ping, from its -v log);
# fails when ping got nothing.
ping_alongside() {
	local name=$1 cfg=$2 site=$3 addr=$4 count=$5 interval=$6 pid ifname line
	probe_epmon_bg "$name" -v once -c "$cfg"
	wait_log "$TMP/$name.err" "\\[$site\\] first echo through the tunnel" 30 ||
		{ sed 's/^/    err| /' "$TMP/$name.err" >&2; fail "$name: no first echo through $site's tunnel in 30 s"; }
	pid=$(sed -n "s/.*\\[$site\\] started .* (pid \\([0-9]*\\)).*/\\1/p" "$TMP/$name.err" | head -1)
	ifname=$(sed -n "s/.*\\[$site\\] tunnel up on \\([^ ]*\\) after.*/\\1/p" "$TMP/$name.err" | head -1)
	[ -n "$pid" ] && [ -n "$ifname" ] || fail "$name: no client pid or interface of $site in the log"
	nsenter -t "$pid" -n ping -n -c "$count" -i "$interval" -I "$ifname" "$addr" \
		>"$TMP/$name.ping" 2>&1
	wait "$EPMON_PID"
	EPMON_RC=$?
	grep -v ' time=' "$TMP/$name.ping" | sed 's/^/    ping| /' >&2
	assert_no_sanitizer "$TMP/$name.err"
	line=$(grep -E '^rtt min/avg/max/mdev = ' "$TMP/$name.ping") ||
		fail "$name: no reply to iputils ping through $site's tunnel"
	IFS=/ read -r _ PING_AVG _ PING_MDEV <<<"${line#*= }"
	PING_MDEV=${PING_MDEV% ms}
	read -r PING_N PING_MEDIAN < <(sed -n 's/.* time=\([0-9.]*\) ms.*/\1/p' "$TMP/$name.ping" |
		sort -g | awk '{ v[NR] = $1 } END { m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
			printf "%d %.3f\n", NR, m }')
	line=$(grep -E "\\[$site\\] internal ping .*min/avg/max/mdev/median" "$TMP/$name.err" | tail -1)
	line=${line% ms}
	IFS=/ read -r _ _ _ EPMON_MDEV EPMON_MEDIAN <<<"${line##* }"
}

# assert_fields_empty CSV SITE COLUMN...: fail unless every COLUMN of SITE's last row in
# CSV is empty (steps that did not run, or gave no figure).
assert_fields_empty() {
	local csv=$1 site=$2 col
	shift 2
	for col in "$@"; do
		assert_eq "" "$(csv_get "$csv" "$site" "$col")" "$site: $col (empty)"
	done
}

# make_certs DIR: a CA (DIR/ca.pem) and a server certificate for 127.0.0.1 and ::1 signed
# by it (DIR/cert.pem, DIR/key.pem), made with certtool as tests/lab/lab.sh does.
make_certs() {
	local d=$1
	require_cmd certtool
	cat >"$d/ca.tmpl" <<-EOF
		cn = "epmon test CA"
		serial = 1
		expiration_days = 2
		ca
		signing_key
		cert_signing_key
	EOF
	cat >"$d/srv.tmpl" <<-EOF
		cn = "127.0.0.1"
		ip_address = "127.0.0.1"
		ip_address = "::1"
		dns_name = "localhost"
		expiration_days = 2
		signing_key
		encryption_key
		tls_www_server
	EOF
	(umask 077
	 certtool --generate-privkey --key-type=ecdsa --curve=secp256r1 --outfile "$d/ca-key.pem" &&
	 certtool --generate-self-signed --load-privkey "$d/ca-key.pem" --template "$d/ca.tmpl" \
		--outfile "$d/ca.pem" &&
	 certtool --generate-privkey --key-type=ecdsa --curve=secp256r1 --outfile "$d/key.pem" &&
	 certtool --generate-certificate --load-privkey "$d/key.pem" --load-ca-certificate "$d/ca.pem" \
		--load-ca-privkey "$d/ca-key.pem" --template "$d/srv.tmpl" --outfile "$d/cert.pem"
	) >"$d/certtool.log" 2>&1 || { cat "$d/certtool.log" >&2; fail "certtool failed"; }
	chmod 644 "$d/ca.pem"
}

# ---- netns isolation (issue 9): test_netns_*.sh, and the checks of probe_assert_clean ----
# With `isolation: {mode: netns}` (the default) epmon runs each site's client in a network
# namespace of its own, linked to the probe's by a veth (epmon-v<slot> on the probe's side),
# with an nftables table `inet epmon` in the probe's namespace and run state in
# /run/epmon/isolation/<probe netns inode>/ (slot-N files while a slot is in use).

# isolation_none_yaml: the top-level config lines of the old behaviour (the client in the
# probe's own namespace, one site at a time); for E2E_CONFIG_EXTRA, in tests of what only
# mode none does (stale client kill, resolv.conf repair, the client in the probe namespace).
isolation_none_yaml() { printf 'concurrency: 1\nisolation: {mode: none}\n'; }

# netns_procs [BEFORE]: "PID NETNS_INODE COMM CMDLINE" of every live process (zombies left
# out). With BEFORE (a netns_inventory file: see probe_snapshot) only this test's processes
# in site namespaces: those in a network namespace not in BEFORE and not named in
# /run/netns (another lab's), that are this test's: their mounts show epmon's private
# resolv.conf of this probe namespace (/run/epmon/isolation/<probe inode>/slot-N.resolv)
# or their command line names this test's lab (openconnect --cafile) or temp dir. (So a
# second epmon or lab running on the machine at the same time is left out.)
netns_procs() {
	local ino=
	[ -z "${1:-}" ] || ino=$(probe_netns_inode 2>/dev/null)
	python3 - "${1:-}" "$ino" "${LAB_P:-}" "${TMP:-}" <<'PYEOF' || fail "netns_procs failed"
import os, sys
before, probe_ino, lab, tmp = sys.argv[1:5]
known = None
if before:
    known = set(open(before).read().split())
    for name in os.listdir("/run/netns") if os.path.isdir("/run/netns") else []:
        try:
            known.add(str(os.stat("/run/netns/" + name).st_ino))
        except OSError:
            pass
marks = [m for m in ("/epmon/isolation/%s/" % probe_ino if probe_ino else "",
                     "/epmon-lab/%s/" % lab if lab else "", tmp + "/" if tmp else "") if m]
iso = marks[0] if probe_ino else None
for pid in filter(str.isdigit, os.listdir("/proc")):
    try:
        ino = str(os.stat("/proc/%s/ns/net" % pid).st_ino)
        with open("/proc/%s/stat" % pid) as f:
            if f.read().rsplit(")", 1)[1].split()[0] == "Z":
                continue
        with open("/proc/%s/comm" % pid) as f:
            comm = f.read().strip()
        with open("/proc/%s/cmdline" % pid, "rb") as f:
            cmd = f.read().replace(b"\0", b" ").decode(errors="replace").strip()
        if known is not None:
            with open("/proc/%s/mountinfo" % pid) as f:
                mounts = f.read()
            # namespace inodes are reused (lowest free first): a namespace
            # made after BEFORE may carry the number of one gone since, so
            # epmon's private resolv.conf of this probe proves a site process
            if ino in known and not (iso and iso in mounts):
                continue
            if not any(m in mounts or m in cmd for m in marks):
                continue
    except (OSError, IndexError):
        continue
    print(pid, ino, comm, cmd)
PYEOF
}

# netns_inventory: the network namespaces in use (the inode of every live process's
# namespace and of every /run/netns/NAME), one a line, sorted.
netns_inventory() {
	{
		netns_procs | awk '{print $2}'
		for f in /run/netns/*; do [ -e "$f" ] && stat -L -c %i "$f"; done
	} | sort -u
}

# new_netns_procs DIR: netns_procs of this test's live processes in network namespaces
# that were not in use when probe_snapshot DIR ran (DIR/netns.before): site namespaces.
new_netns_procs() { netns_procs "$1/netns.before"; }

# probe_netns_inode: the inode of the lab's probe namespace (names epmon's run state dir).
probe_netns_inode() { stat -L -c %i "/run/netns/$LAB_NS_PROBE"; }

# isolation_state_dir: epmon's run state dir for the probe namespace.
isolation_state_dir() { echo "/run/epmon/isolation/$(probe_netns_inode)"; }

# isolation_assert_clean DIR: fail if anything of epmon's netns isolation is left (after
# epmon exited): an epmon-v* link in the probe namespace, the nftables table inet epmon
# there, a process of this test in a network namespace that was not in use at
# probe_snapshot DIR (new_netns_procs; a SIGKILLed one may take a moment to go: 3 s), a
# slot-* file in the run state dir.
isolation_assert_clean() {
	local dir=$1 left i links
	links=$(ip -n "$LAB_NS_PROBE" -o link show | awk -F': ' '{ sub(/@.*/, "", $2); print $2 }' | grep '^epmon-v')
	[ -z "$links" ] || fail "veth left in $LAB_NS_PROBE: $links"
	if command -v nft >/dev/null 2>&1; then
		if ip netns exec "$LAB_NS_PROBE" nft list table inet epmon >"$dir/nft.left" 2>&1; then
			sed 's/^/    nft| /' "$dir/nft.left" >&2
			fail "nftables table inet epmon left in $LAB_NS_PROBE"
		fi
	fi
	for i in $(seq 60); do
		left=$(new_netns_procs "$dir")
		[ -z "$left" ] && break
		sleep 0.05
	done
	[ -z "$left" ] || fail "processes left in site namespaces (made after the snapshot):
$left"
	[ "$i" -eq 1 ] || e2e_log "note: processes in new namespaces took $((i * 50)) ms to go"
	left=$(ls -d "$(isolation_state_dir)"/slot-* 2>/dev/null)
	[ -z "$left" ] || fail "slot files left: $left"
}

# epmon_knows_isolation: fail unless `epmon check-config` accepts `concurrency` and
# `isolation` (the engine of issue 9); run in the probe namespace.
epmon_knows_isolation() {
	local out rc
	{
		echo "frequency: 60"
		echo "concurrency: 2"
		echo "isolation: {mode: netns}"
		echo "results: {directory: $TMP/results}"
		echo "state_directory: $TMP/state"
		echo "sites:"
		lab_openconnect_site probe-check 1
	} >"$TMP/isolation-check.yml"
	chmod 600 "$TMP/isolation-check.yml"
	out=$(ip netns exec "$LAB_NS_PROBE" "$EPMON" check-config -c "$TMP/isolation-check.yml" 2>&1)
	rc=$?
	[ "$rc" -eq 0 ] || fail "epmon check-config does not accept concurrency/isolation (exit $rc): $out"
}

# netns_test_setup N [UP_OPTION...]: vpn_test_setup for the tests of netns isolation; also
# needs nft (to check the table) and an epmon that knows `concurrency` and `isolation`
# (else a failure: that is the feature under test).
netns_test_setup() {
	require_root_netns
	require_cmd nft
	vpn_test_setup "$@"
	epmon_knows_isolation
}

# now_ms: CLOCK_REALTIME in ms.
now_ms() { echo $(($(date +%s%N) / 1000000)); }

# probe_epmon_bg NAME ARGS...: start $EPMON ARGS in the background in the probe namespace
# (stdout $TMP/NAME.out, stderr $TMP/NAME.err); its pid (epmon's own: ip netns exec execs)
# in EPMON_PID, registered.
probe_epmon_bg() {
	local name=$1
	shift
	ip netns exec "$LAB_NS_PROBE" "$EPMON" "$@" >"$TMP/$name.out" 2>"$TMP/$name.err" &
	EPMON_PID=$!
	register_pid "$EPMON_PID"
	e2e_log "started epmon $* (pid $EPMON_PID)"
}

# wait_gone PID SECONDS: wait until PID is gone (a zombie counts as gone); 0 when it went,
# 1 after SECONDS.
wait_gone() {
	local end=$(($(date +%s%N) + $2 * 1000000000))
	while lab_alive "$1"; do
		[ "$(date +%s%N)" -lt "$end" ] || return 1
		sleep 0.02
	done
}

# wait_log_count FILE REGEX N SECONDS: wait until at least N lines of FILE match REGEX;
# 0 when they did, 1 after SECONDS.
wait_log_count() {
	local f=$1 re=$2 n=$3 end=$(($(date +%s%N) + $4 * 1000000000))
	while [ "$(grep -cE -- "$re" "$f" 2>/dev/null)" -lt "$n" ]; do
		[ "$(date +%s%N)" -lt "$end" ] || return 1
		sleep 0.05
	done
}

# csv_rows FILE: the rows of an epmon results CSV in file order, one a line, as
# "site result failed_step internal_rtt_ms timestamp" (empty fields as "-").
csv_rows() {
	python3 - "$1" <<'PYEOF' || fail "csv_rows $1"
import csv, sys
for r in csv.DictReader(open(sys.argv[1], newline="")):
    print(" ".join(r.get(k) or "-" for k in ("site", "result", "failed_step", "internal_rtt_ms", "timestamp")))
PYEOF
}

# ---- OpenVPN (issue 10): test_openvpn_*.sh against the lab's OpenVPN 2.6 server ----
# `lab.sh up N --openvpn` adds one openvpn server (udp, its own CA) at $LAB_OVPN_IP with its
# intranet host $LAB_OVPN_INTRANET_IP; it takes user $LAB_USER with the lab's password, a
# client certificate, or both (tests/lab/README.md).

# ovpn_test_setup: vpn_test_setup with one ocserv gateway and the OpenVPN server; openvpn
# missing is a skip (a failure under CI=true).
ovpn_test_setup() {
	require_root_netns
	require_cmd openvpn
	vpn_test_setup 1 --openvpn
	[ "${LAB_OVPN:-0}" = 1 ] || fail "lab.sh env: no openvpn server (LAB_OVPN=${LAB_OVPN:-})"
}

# ovpn_client_conf FILE [LINE...]: an openvpn client config for the lab's server, as a user
# writes one (client, dev tun, the server's CA, name and key usage checked), plus each LINE
# (e.g. "auth-user-pass", "cert $LAB_OVPN_CLIENT_CERT"). epmon adds --dev epmon0 --dev-type
# tun (and --auth-user-pass AUTH --auth-nocache when the site has a password) after it.
ovpn_client_conf() {
	local f=$1
	shift
	{
		echo "# epmon e2e: openvpn client of the lab's server"
		echo "client"
		echo "dev tun"
		echo "proto $LAB_OVPN_PROTO"
		echo "remote $LAB_OVPN_IP $LAB_OVPN_PORT"
		echo "nobind"
		echo "ca $LAB_OVPN_CA"
		echo "remote-cert-tls server"
		echo "verify-x509-name $LAB_OVPN_IP name"
		echo "verb 3"
		[ $# -eq 0 ] || printf '%s\n' "$@"
	} >"$f" || fail "cannot write $f"
}

# lab_openvpn_site NAME CONFIG [KEY=VALUE...]: the YAML of site NAME on the lab's OpenVPN
# server (external_ip its address, internal_ip its intranet host): client openvpn with
# config_file CONFIG and login_timeout 20; KEY=VALUE pairs change or add keys
# (username=$LAB_USER password_file=$LAB_PASSWORD_FILE, login_timeout=5, ...).
lab_openvpn_site() {
	local name=$1 conf=$2
	shift 2
	site_yaml "$name" "$LAB_OVPN_IP" "$LAB_OVPN_INTRANET_IP" client=openvpn \
		config_file="$conf" login_timeout=20 "$@"
}

# ovpn_auth_dirs: epmon's private openvpn auth dirs (/run/epmon/SITE.XXXXXX) of this test's
# sites, named by $OVPN_SITES (site names); one a line.
ovpn_auth_dirs() {
	local site d
	for site in ${OVPN_SITES:-}; do
		for d in /run/epmon/"$site".??????; do [ -e "$d" ] && echo "$d"; done
	done
}

# ---- WireGuard (issue 10): test_wireguard_*.sh against the lab's wireguard-go peer ----
# `lab.sh up N --wireguard` adds one WireGuard peer (wireguard-go, udp) at $LAB_WG_ENDPOINT
# with its intranet host $LAB_WG_INTRANET_IP; it knows client1 ($LAB_WG_CLIENT1_KEY, address
# $LAB_WG_CLIENT1_IP) and client2 ($LAB_WG_CLIENT2_KEY with the preshared key
# $LAB_WG_CLIENT2_PSK, address $LAB_WG_CLIENT2_IP); $LAB_WG_WRONG_KEY is unknown to it.

# wg_test_setup: vpn_test_setup with one ocserv gateway and the WireGuard peer;
# wireguard-go or wg missing is a skip (a failure under CI=true).
wg_test_setup() {
	require_root_netns
	require_cmd wireguard-go wg
	vpn_test_setup 1 --wireguard
	[ "${LAB_WG:-0}" = 1 ] || fail "lab.sh env: no wireguard peer (LAB_WG=${LAB_WG:-})"
}

# lab_wireguard_site NAME [KEY=VALUE...]: the YAML of site NAME on the lab's WireGuard peer
# (external_ip its address, internal_ip its intranet host): client wireguard as client1
# (its key and address) and login_timeout 10; KEY=VALUE pairs change or add keys
# (private_key_file=$LAB_WG_WRONG_KEY, login_timeout=3, ...).
lab_wireguard_site() {
	local name=$1
	shift
	site_yaml "$name" "$LAB_WG_IP" "$LAB_WG_INTRANET_IP" client=wireguard \
		endpoint="\"$LAB_WG_ENDPOINT\"" private_key_file="$LAB_WG_CLIENT1_KEY" \
		peer_public_key="\"$LAB_WG_PUBLIC_KEY\"" address="$LAB_WG_CLIENT1_IP/32" \
		login_timeout=10 "$@"
}

# wg_peer_handshake PUBFILE_KEY: the peer's latest handshake (unix seconds, 0 = never) with
# the client whose private key file is given.
wg_peer_handshake() {
	local pub
	pub=$(wg pubkey <"$1") || fail "wg pubkey <$1"
	ip netns exec "$LAB_WG_NS" wg show "$LAB_WG_IF" latest-handshakes |
		awk -v k="$pub" '$1 == k { print $2; found = 1 } END { if (!found) print 0 }'
}

# wg_assert_no_socket IFNAME: fail if the host's /var/run/wireguard holds IFNAME.sock (the
# client's control socket belongs in its private tmpfs).
wg_assert_no_socket() {
	[ ! -e "/var/run/wireguard/$1.sock" ] ||
		fail "/var/run/wireguard/$1.sock exists on the host (not in the client's private tmpfs)"
}

# ---- IPsec IKEv2 (issue 10): test_ipsec_*.sh against the lab's strongSwan responder ----
# `lab.sh up N --ipsec` adds one responder (charon with kernel-libipsec) at $LAB_IKE_IP with
# its CA $LAB_IKE_CA, identity $LAB_IKE_REMOTE_ID, EAP-MSCHAPv2 (connection $LAB_IKE_CONN),
# and at $LAB_IKE_MD5_IP (identity $LAB_IKE_MD5_REMOTE_ID, connection $LAB_IKE_MD5_CONN)
# EAP-MD5; users $LAB_USER with the lab password and $LAB_USER2 with $LAB_PASSWORD2_FILE;
# virtual IPs from $LAB_IKE_POOL and the intranet host $LAB_IKE_INTRANET_IP. Two sites logged
# in at once need two users: as one user on one address, the second IKE_AUTH carries
# INITIAL_CONTACT and the responder drops the first's IKE_SA; on the two addresses, both
# leave the probe's masquerade from the same address and port 4500, and the pool hands the
# second the first's online lease (one virtual IP, two SAs). tests/lab/README.md.

# ike_test_setup: vpn_test_setup with one ocserv gateway and the responder; charon or
# swanctl missing is a skip (a failure under CI=true).
ike_test_setup() {
	require_root_netns
	require_cmd swanctl
	[ -x /usr/lib/ipsec/charon ] || skip "needs /usr/lib/ipsec/charon (strongswan-charon)"
	vpn_test_setup 1 --ipsec
	[ "${LAB_IKE:-0}" = 1 ] || fail "lab.sh env: no ipsec responder (LAB_IKE=${LAB_IKE:-})"
}

# lab_ipsec_site NAME [KEY=VALUE...]: the YAML of site NAME on the lab's responder: client
# ipsec inline as $LAB_USER with the good password file, the lab's IPsec CA, login_timeout
# 10; KEY=VALUE pairs change or add keys (password_file=$LAB_WRONG_PASSWORD_FILE, ...).
lab_ipsec_site() {
	local name=$1
	shift
	site_yaml "$name" "$LAB_IKE_IP" "$LAB_IKE_INTRANET_IP" client=ipsec \
		gateway="$LAB_IKE_IP" username="$LAB_USER" password_file="$LAB_PASSWORD_FILE" \
		ca_file="$LAB_IKE_CA" remote_id="$LAB_IKE_REMOTE_ID" login_timeout=10 "$@"
}

# lab_ipsec_md5_site NAME [KEY=VALUE...]: lab_ipsec_site on the responder's EAP-MD5 address
# (external_ip, gateway and remote_id $LAB_IKE_MD5_IP).
lab_ipsec_md5_site() {
	local name=$1
	shift
	site_yaml "$name" "$LAB_IKE_MD5_IP" "$LAB_IKE_INTRANET_IP" client=ipsec \
		gateway="$LAB_IKE_MD5_IP" username="$LAB_USER" password_file="$LAB_PASSWORD_FILE" \
		ca_file="$LAB_IKE_CA" remote_id="$LAB_IKE_MD5_REMOTE_ID" login_timeout=10 "$@"
}

# ike_swanctl_file FILE CONNECTION CHILD USER PASSWORD_FILE [LINE...]: write (mode 0600) a
# swanctl.conf fragment as a user of swanctl_file writes one for the lab's responder:
# connection CONNECTION to $LAB_IKE_IP, EAP-MSCHAPv2 as USER, the responder authenticated by
# its certificate ($LAB_IKE_CA, $LAB_IKE_REMOTE_ID), `encap = yes`, `vips = 0.0.0.0`, child
# CHILD asking for 0.0.0.0/0, each LINE added to the connection (e.g. "proposals = ..."),
# and USER's EAP secret (base64, from PASSWORD_FILE: never in argv).
ike_swanctl_file() {
	local f=$1 conn=$2 child=$3 user=$4 pwf=$5 b64
	shift 5
	b64=$(head -1 "$pwf" | tr -d '\n' | base64 -w0) || fail "cannot read $pwf"
	(umask 077
	 {
		echo "# epmon e2e: a swanctl_file connection to the lab's responder"
		echo "connections {"
		echo "    $conn {"
		echo "        version = 2"
		echo "        remote_addrs = $LAB_IKE_IP"
		echo "        vips = 0.0.0.0"
		echo "        encap = yes"
		[ $# -eq 0 ] || printf '        %s\n' "$@"
		echo "        local {"
		echo "            auth = eap-mschapv2"
		echo "            eap_id = $user"
		echo "        }"
		echo "        remote {"
		echo "            auth = pubkey"
		echo "            id = $LAB_IKE_REMOTE_ID"
		echo "            cacerts = $LAB_IKE_CA"
		echo "        }"
		echo "        children {"
		echo "            $child { remote_ts = 0.0.0.0/0 }"
		echo "        }"
		echo "    }"
		echo "}"
		echo "secrets {"
		echo "    eap-$conn {"
		echo "        id = $user"
		echo "        secret = 0s$b64"
		echo "    }"
		echo "}"
	 } >"$f") || fail "cannot write $f"
	chmod 600 "$f" || fail "chmod 600 $f"
}

# ike_responder_sas: the IKE_SAs the lab's responder holds now (swanctl --list-sas lines
# naming an IKE_SA of connection rw or rw-md5, with its state: "rw: #3, ESTABLISHED, ..."),
# one per line.
ike_responder_sas() {
	swanctl --list-sas --uri "$LAB_IKE_VICI" 2>/dev/null |
		grep -E "^(${LAB_IKE_CONN:-rw}|${LAB_IKE_MD5_CONN:-rw-md5}): #[0-9]+" || true
}

# ike_wait_no_sas SECONDS: wait until the responder holds no IKE_SA; 0 when it did, 1 after
# SECONDS. (A half-open IKE_SA goes at the lab's half_open_timeout, 5 s.)
ike_wait_no_sas() {
	local end=$(($(date +%s%N) + $1 * 1000000000))
	while [ -n "$(ike_responder_sas)" ]; do
		[ "$(date +%s%N)" -lt "$end" ] || return 1
		sleep 0.1
	done
}

# ike_site_vip SITE FILE: the virtual IP charon of SITE installed, from epmon's -v stderr
# FILE ("[SITE] client: ..[IKE] installing new virtual IP A.B.C.D"); empty when none.
ike_site_vip() {
	sed -n "s/.*\[$1\] client: .*installing new virtual IP \([0-9.]*\).*/\1/p" "$2" | tail -1
}

# ike_assert_no_dir SITE...: fail if charon's private directory /run/epmon/SITE.XXXXXX of a
# site is left.
ike_assert_no_dir() {
	local s d
	for s in "$@"; do
		for d in /run/epmon/"$s".??????; do
			[ ! -e "$d" ] || fail "charon's directory $d left behind"
		done
	done
}

# ---- SIGTERM mid-login and stale clients per client kind (test_*_interrupt.sh) ----

# run_until_moment NAME CONFIG SITE REGEX: start `epmon -v run -c CONFIG` in the probe
# namespace (probe_epmon_bg NAME: EPMON_PID, stderr in $TMP/NAME.err) and wait (15 s) until
# its log matches REGEX: the moment the caller made certain (SITE's client started and
# waiting for a server that cannot answer). Sets CLIENT_PID (from SITE's "started ... (pid
# N)"), CLIENT_NS (the inode of its network namespace) and NS_PIDS (every process in that
# namespace, when it is not the probe's); fails unless it runs and no row was written yet.
run_until_moment() {
	local name=$1 cfg=$2 site=$3 re=$4
	probe_epmon_bg "$name" -v run -c "$cfg"
	if ! wait_log "$TMP/$name.err" "$re" 15; then
		sed 's/^/    err| /' "$TMP/$name.err" >&2
		fail "$name: no /$re/ in epmon's log in 15 s"
	fi
	CLIENT_PID=$(sed -n "s/.*\[$site\] started .* (pid \([0-9]*\)).*/\1/p" "$TMP/$name.err" | head -1)
	if [ -z "$CLIENT_PID" ] || ! lab_alive "$CLIENT_PID"; then
		sed 's/^/    err| /' "$TMP/$name.err" >&2
		fail "$name: $site's client (pid '$CLIENT_PID') is not running at the moment"
	fi
	CLIENT_NS=$(stat -L -c %i "/proc/$CLIENT_PID/ns/net") || fail "$name: netns of $CLIENT_PID"
	# every process in the client's namespace now (the inode is certainly the site's while
	# its client runs there; once freed the kernel may give it to another test's namespace)
	NS_PIDS=
	[ "$CLIENT_NS" = "$(probe_netns_inode)" ] ||
		NS_PIDS=$(netns_procs | awk -v ns="$CLIENT_NS" '$2 == ns { print $1 }')
	assert_eq 0 "$(csv_count "$TMP/results")" "$name: rows before SIGTERM"
	e2e_log "$name: $site's client $(cat "/proc/$CLIENT_PID/comm") $CLIENT_PID is logging in" \
		"(network namespace $CLIENT_NS; the probe's is $(probe_netns_inode))"
}

# sigterm_assert NAME SITE TEARDOWN_S: after run_until_moment NAME: SIGTERM epmon and assert
# that it exits 0 within TEARDOWN_S + 10 s (TERM_MS: signal to exit), logs "site test
# aborted by signal; no row written" for SITE, wrote no row, has no sanitizer report, that
# its client is gone and, when it had a network namespace of its own (isolation netns),
# every process that was in it (NS_PIDS) too. The caller then resumes its server and checks
# the probe (probe_assert_clean) and its client's own leftovers.
sigterm_assert() {
	local name=$1 site=$2 td=$3 t0 rc pid
	t0=$(now_ms)
	kill -TERM "$EPMON_PID"
	wait_gone "$EPMON_PID" $((td + 20)) || fail "$name: epmon still running $((td + 20)) s after SIGTERM"
	TERM_MS=$(($(now_ms) - t0))
	wait "$EPMON_PID"
	rc=$?
	sed 's/^/    err| /' "$TMP/$name.err" >&2
	assert_no_sanitizer "$TMP/$name.err"
	e2e_log "$name: SIGTERM -> exit $rc after $TERM_MS ms (teardown_timeout $td s)"
	assert_eq 0 "$rc" "$name: exit status of run after SIGTERM"
	[ "$TERM_MS" -lt $(((td + 10) * 1000)) ] ||
		fail "$name: exit took $TERM_MS ms after SIGTERM (teardown_timeout $td s + 10 s)"
	grep -q "\[$site\] site test aborted by signal; no row written" "$TMP/$name.err" ||
		fail "$name: no 'site test aborted by signal; no row written' for $site"
	assert_eq 0 "$(csv_count "$TMP/results")" "$name: rows written for the aborted site"
	if lab_alive "$CLIENT_PID"; then
		fail "$name: client $CLIENT_PID still alive: $(tr '\0' ' ' <"/proc/$CLIENT_PID/cmdline")"
	fi
	if [ -n "$NS_PIDS" ]; then
		for pid in $NS_PIDS; do
			wait_gone "$pid" 3 || fail "$name: $(cat "/proc/$pid/comm") $pid of the site's namespace still alive"
		done
		# epmon keeps no fd or mount of a site's namespace: with them it is gone (anything
		# else of this test in a new namespace: isolation_assert_clean)
		e2e_log "ok: $name: the process(es) of the site's namespace $CLIENT_NS are gone:" \
			"${NS_PIDS//$'\n'/ }"
	else
		e2e_log "ok: $name: client $CLIENT_PID is gone"
	fi
}

# ---- secrecy watcher (test_*_secrecy.sh): tests/e2e/secrecy_watch.py ----
# One watcher for the tests that no secret reaches a process's /proc/PID/cmdline or environ:
# it samples this test's processes (the probe namespace's, and the site namespaces' told
# apart by epmon's private resolv.conf mount of this probe, else by being new since
# probe_snapshot) every few ms; its header comment tells its options and output.

# secrecy_watch_start OPTION...: start secrecy_watch.py OPTION... in the background (output
# in $TMP/watch.out) on this test's probe (after probe_snapshot $TMP) with its stop and
# ready files in $TMP; wait (10 s) for its first sample. OPTIONs: --secrets FILE,
# --variants, --epmon, --own-env NAME, --mode-0600 GLOB, --auth-file COMM:OPTION.
secrecy_watch_start() {
	rm -f "$TMP/watch.stop" "$TMP/watch.ready"
	python3 "$(dirname "${BASH_SOURCE[0]}")/secrecy_watch.py" --probe "/run/netns/$LAB_NS_PROBE" \
		--before "$TMP/netns.before" --stop "$TMP/watch.stop" --ready "$TMP/watch.ready" \
		"$@" >"$TMP/watch.out" 2>&1 &
	WATCH_PID=$!
	register_pid "$WATCH_PID"
	wait_log "$TMP/watch.ready" ready 10 || fail "the watcher did not start: $(cat "$TMP/watch.out")"
}

# secrecy_watch_stop: stop the watcher, show its output (watch| lines); fail if it failed.
secrecy_watch_stop() {
	local rc
	touch "$TMP/watch.stop"
	wait "$WATCH_PID"
	rc=$?
	sed 's/^/    watch| /' "$TMP/watch.out" >&2
	[ "$rc" -eq 0 ] || fail "the watcher failed (exit $rc, above)"
}

# ---- startct (issue 13): test_startct_*.sh with the FAKE tests/lab/fake-startct ----
# SonicWall's startct cannot be installed here: a `client: startct` site runs the fake, which
# speaks the dialogue of epmon's startct profile and then misbehaves (its header says how).

# wait_file FILE SECONDS: wait until FILE exists; 0 when it did, 1 after SECONDS.
wait_file() {
	local end=$(($(date +%s%N) + $2 * 1000000000))
	until [ -e "$1" ]; do
		[ "$(date +%s%N)" -lt "$end" ] || return 1
		sleep 0.05
	done
}

# lab_startct_fake_site NAME DIR MODE [KEY=VALUE...] [-- FAKE_ARG...]: the YAML of site NAME
# on lab gateway 1 with client startct run as the FAKE tests/lab/fake-startct: `command`
# its path, `args` startct's own (-m {gateway} -u {username}) then --fake-mode MODE
# --fake-dir DIR (made here, 0700: the fake's pid, argv, cmdline, environ, got) and each
# FAKE_ARG; as $LAB_USER with the good password file. KEY=VALUE pairs change or add keys
# (login_timeout=3, ...).
lab_startct_fake_site() {
	local name=$1 dir=$2 mode=$3 fake a list kv=()
	shift 3
	lab_fake fake fake-startct
	mkdir -m 0700 "$dir" || fail "mkdir $dir"
	while [ $# -gt 0 ] && [ "$1" != -- ]; do kv+=("$1"); shift; done
	[ $# -eq 0 ] || shift
	list='"-m", "{gateway}", "-u", "{username}", "--fake-mode", "'$mode'", "--fake-dir", "'$dir'"'
	for a in "$@"; do
		a=${a//\\/\\\\}
		list+=", \"${a//\"/\\\"}\""
	done
	lab_site "$name" 1 client=startct command="$fake" gateway="$LAB_GW1_IP" \
		username="$LAB_USER" password_file="$LAB_PASSWORD_FILE" "args=[$list]" "${kv[@]}"
}
