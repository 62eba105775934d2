#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# `make bench`: bench/run.sh BUILD. Measures BUILD/epmon and prints figures with their
# targets beside them (figures, not pass/fail):
#   (a) bench/core.sh  5 sites without vpn in network namespaces: overhead per site test over
#                      the network floor, CPU per site test, max RSS
#   (b) bench/vpn.sh   3 openconnect sites against the ocserv lab (tests/lab): overhead per
#                      site test (client spawn and teardown wait included), CPU, max RSS
#   (c) bench/report.sh `epmon report` over one year of 5-minute results for 50 sites
#                      (5.3 M rows written by bench/gen_results.c): wall, CPU, max RSS
#   (d) bench/netns.sh 50 openconnect sites against a 50-gateway lab, isolation netns
#                      (issue 9): cycle at concurrency 1, 8 and 50 against one site alone,
#                      CPU per site test of the whole process tree (epmon's own setup and
#                      vpnc-script), epmon's own peak RSS, fds over 100 cycles, login times
#   (e) bench/clients.sh every client kind against the lab (issue 10): openconnect, openvpn
#                      with a password and with a certificate only, wireguard, ipsec; 20
#                      logins each: login_ms median and p95, CPU per site test of the whole
#                      process tree, epmon's own peak RSS, where the login time goes: p50/p95
#                      of each login phase epmon writes (issue 14), and its steady internal
#                      RTT against iputils ping through the same tunnel (difference in ms)
#   (f) bench/alerting.sh DEGRADED's baseline from 7 days x 50 sites of CSV at start (issue 11),
#                      and the cycle-start gaps with Alertmanager and a webhook hung
# (a), (b), (d), (e) and (f) need root (network namespaces, the lab); (c) does not. Exit 0 when
# something could be measured, 77 when nothing could, 1 when a measurement broke. ~7 min.
set -u
cd "$(dirname "$0")/.." || exit 1
BUILD=${1:-build}
EPMON=$PWD/$BUILD/epmon
[ -x "$EPMON" ] || { echo "bench: no $EPMON (run make first)" >&2; exit 1; }
root=1
if [ "$(id -u)" -ne 0 ]; then
	echo "bench: (a), (b), (d), (e) and (f) cannot be measured: they need root (network namespaces, the VPN lab)" >&2
	root=0
fi

# bench/rusage.c: wait4 figures of `epmon once` as a whole process
RUSAGE=$PWD/$BUILD/bench/rusage
mkdir -p "$(dirname "$RUSAGE")"
if [ ! -x "$RUSAGE" ] || [ bench/rusage.c -nt "$RUSAGE" ]; then
	${CC:-cc} -std=c11 -D_GNU_SOURCE -O2 -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes \
		-Wformat=2 -o "$RUSAGE" bench/rusage.c || { echo "bench: cannot build bench/rusage.c" >&2; exit 1; }
fi
# bench/gen_results.c: the year of results that (c) reports on
GEN=$PWD/$BUILD/bench/gen_results
if [ ! -x "$GEN" ] || [ bench/gen_results.c -nt "$GEN" ]; then
	${CC:-cc} -std=c11 -D_GNU_SOURCE -O2 -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes \
		-Wformat=2 -o "$GEN" bench/gen_results.c || { echo "bench: cannot build bench/gen_results.c" >&2; exit 1; }
fi

echo "epmon benchmark: $("$EPMON" --version), $BUILD/epmon"
echo "host: $(nproc) CPU(s), Linux $(uname -r), $(find /proc -maxdepth 1 -name '[0-9]*' | wc -l)" \
	"processes, epmon links $(ldd "$EPMON" 2>/dev/null | grep -c '=>') shared libraries"
echo "targets: issue 3 (core), issue 4 (vpn), issue 6 (report) and issue 9 (netns); a figure over its target is marked MISSED;"
echo "issue 10 (clients) sets none: (e) prints figures only"

measured=0
broke=0
rc=77
[ "$root" = 1 ] && { bash bench/core.sh "$EPMON" "$RUSAGE" 5; rc=$?; }
case $rc in
0) measured=1 ;;
77) echo; echo "(a) core: not measured (see above)" ;;
*) echo; echo "(a) core: the measurement failed (exit $rc, see above)"; broke=1 ;;
esac
rc=77
[ "$root" = 1 ] && { bash bench/vpn.sh "$EPMON"; rc=$?; }
case $rc in
0) measured=1 ;;
77) echo; echo "(b) vpn: not measured (see above; sudo make deps installs the lab's tools)" ;;
*) echo; echo "(b) vpn: the measurement failed (exit $rc, see above)"; broke=1 ;;
esac
bash bench/report.sh "$EPMON" "$RUSAGE" "$GEN"
rc=$?
case $rc in
0) measured=1 ;;
77) echo; echo "(c) report: not measured (see above)" ;;
*) echo; echo "(c) report: the measurement failed (exit $rc, see above)"; broke=1 ;;
esac
rc=77
[ "$root" = 1 ] && { bash bench/netns.sh "$EPMON" "$RUSAGE"; rc=$?; }
case $rc in
0) measured=1 ;;
77) echo; echo "(d) netns: not measured (see above; sudo make deps installs the lab's tools)" ;;
*) echo; echo "(d) netns: the measurement failed (exit $rc, see above)"; broke=1 ;;
esac
rc=77
[ "$root" = 1 ] && { bash bench/clients.sh "$EPMON" "$RUSAGE"; rc=$?; }
case $rc in
0) measured=1 ;;
77) echo; echo "(e) clients: not measured (see above; sudo make deps installs the clients and the lab's servers)" ;;
*) echo; echo "(e) clients: the measurement failed (exit $rc, see above)"; broke=1 ;;
esac

rc=77
[ "$root" = 1 ] && { bash bench/alerting.sh "$EPMON" "$GEN"; rc=$?; }
case $rc in
0) measured=1 ;;
77) echo; echo "(f) alerting: not measured (see above)" ;;
*) echo; echo "(f) alerting: the measurement failed (exit $rc, see above)"; broke=1 ;;
esac

[ "$broke" = 1 ] && exit 1
[ "$measured" = 1 ] || exit 77
exit 0
