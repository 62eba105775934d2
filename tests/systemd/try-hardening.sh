#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Tries the hardening options of contrib/systemd/epmon.service with a real systemd, one by
# one, against real VPN logins: a throw-away systemd 252 as PID 1 of a box in the lab's probe
# network namespace (tests/systemd/sdbox.sh: works where the host's PID 1 is not systemd)
# runs the unit as shipped (Type=notify, `epmon run`; only ExecStart=, the config path and the
# log file changed by a drop-in) over a lab of one ocserv gateway, the OpenVPN server, the
# WireGuard peer and the IKEv2 responder, with six sites: openconnect (epmon tunnel-setup),
# openconnect with vpnc-script, openvpn (password), openvpn (certificate, `user nobody`),
# wireguard, ipsec; and the web process on 127.0.0.1:9877. A trial passes when `systemctl start` returns (READY=1), every site has an
# OK row in /var/lib/epmon, /metrics answers, `systemctl stop` ends with Result=success and
# /run/epmon is gone.
# Trials: the shipped unit; each of its hardening options alone on the unit stripped of all
# of them; the shipped unit without each capability of its bounding set; the shipped unit
# plus each option it leaves out (which must fail, or the doc is wrong); isolation mode none
# with the shipped unit and with the drop-in of doc/systemd.md. Also which paths the
# sandbox leaves writable (a oneshot unit with the same options; access(2), nothing written).
# Prints one line a trial, then a table; exit 0 when every trial turned out as
# doc/systemd.md says (shipped and single options work, rejected options fail), else 1.
#   EPMON=build/epmon tests/systemd/try-hardening.sh [-k] [TRIAL-REGEX]
# -k: keep going and print the table also when the shipped unit fails. SDTRY_LOGS=DIR: keep
# each trial's epmon log and CSV, systemd's console log and the config there.
# Root only; about 3-5 s a trial. Not part of `make check`.
set -u
E2E_PREFIX=${E2E_PREFIX:-sdtry$$}
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
# shellcheck source=tests/e2e/lib.sh
. "$ROOT/tests/e2e/lib.sh"
# shellcheck source=tests/systemd/sdbox.sh
. "$HERE/sdbox.sh"

KEEP_GOING=0
[ "${1:-}" = -k ] && { KEEP_GOING=1; shift; }
ONLY=${1:-}
UNIT=$ROOT/contrib/systemd/epmon.service
PORT=9877
NSITES=6

# The unit's hardening keys: the "bare" unit has none of them; each trial of one option puts
# back the lines of one key and of its companions (COMPANION[key]).
HARDENING_KEYS="CapabilityBoundingSet NoNewPrivileges ProtectSystem ReadWritePaths
ReadOnlyPaths TemporaryFileSystem ProtectHome PrivateTmp PrivateMounts PrivateIPC DevicePolicy DeviceAllow
RestrictAddressFamilies ProtectKernelModules ProtectKernelLogs ProtectKernelTunables
ProtectControlGroups ProtectClock ProtectHostname ProtectProc ProcSubset RestrictNamespaces
RestrictRealtime RestrictSUIDSGID LockPersonality MemoryDenyWriteExecute
SystemCallArchitectures SystemCallFilter SystemCallErrorNumber UMask"
# (ProtectSystem=strict makes /tmp read-only, where openvpn wants its --tmp-dir: PrivateTmp=)
declare -A COMPANION=([ProtectSystem]="ReadWritePaths ReadOnlyPaths TemporaryFileSystem PrivateTmp"
	[DevicePolicy]="DeviceAllow" [SystemCallFilter]="SystemCallErrorNumber")
declare -A IS_COMPANION=([ReadWritePaths]=1 [ReadOnlyPaths]=1 [TemporaryFileSystem]=1 [DeviceAllow]=1
	[SystemCallErrorNumber]=1)

# Options the unit leaves out, each tried on top of the shipped unit: "LINE|why it cannot be
# used" (doc/systemd.md has the same list). Lines separated by \n form one trial.
REJECTED=(
	"ProtectKernelTunables=yes|netns isolation turns on net.ipv4.ip_forward in the probe namespace"
	"ProcSubset=pid|hides /proc/sys: no ip_forward either"
	"PrivateDevices=yes|hides /dev/net/tun"
	"PrivateNetwork=yes|the gateways are on the network"
	"PrivateUsers=yes|capabilities only inside a user namespace: no tun, routes, netns"
	"RestrictNamespaces=yes|netns isolation creates network and mount namespaces"
	"RestrictAddressFamilies=\nRestrictAddressFamilies=AF_UNIX AF_INET AF_INET6|routes, links, nftables are netlink"
	"SystemCallFilter=\nSystemCallFilter=@system-service chroot seccomp|mount: private resolv.conf and charon's /run are bind mounts"
	"SystemCallFilter=\nSystemCallFilter=@system-service mount seccomp|chroot: the web process chroots into /run/epmon/web"
	"SystemCallFilter=\nSystemCallFilter=@system-service mount chroot|seccomp: the web process loads its own filter"
	"TemporaryFileSystem=|ProtectSystem=strict, ReadOnlyPaths=/run: /run/wireguard must be writable"
	"PrivateTmp=no|ProtectSystem=strict: openvpn wants a writable /tmp"
	"User=nobody|the clients need root (tun, routes, namespaces)"
)
# Options that work with these clients but stay out of the shipped unit: "LINE|why".
WORKS_BUT_LEFT_OUT=(
	"MemoryDenyWriteExecute=yes|custom clients with a JIT runtime (a Java VM) need W+X memory"
)

require_root_netns
require_epmon
require_cmd nsenter unshare script curl openvpn wireguard-go wg swanctl
[ -x /usr/lib/ipsec/charon ] || skip "needs /usr/lib/ipsec/charon"
[ -x /usr/share/vpnc-scripts/vpnc-script ] || skip "needs vpnc-script"
[ -x /lib/systemd/systemd ] || skip "needs systemd (/lib/systemd/systemd)"
[ -f "$UNIT" ] || fail "no $UNIT"
EPMON=$(realpath "$EPMON")

lab_start 1 --openvpn --wireguard --ipsec
# shellcheck disable=SC2317 # the EXIT trap
sdtry_exit() {
	local rc=$?
	box_stop
	if [ -n "${SDTRY_LOGS:-}" ] && [ -n "${W:-}" ]; then
		mkdir -p "$SDTRY_LOGS" && cp -r "$W/logs" "$W/console.log" "$W/config.yml" "$SDTRY_LOGS/"
	fi
	(exit "$rc")
	lab_exit
}
trap sdtry_exit EXIT
# The box sees only /run directories given to it: the work dir must be under /run.
W=$(mktemp -d "/run/epmon-sdtry.XXXXXX") || fail "mktemp in /run"
E2E_DIRS+=("$W")
TMP=$W
mkdir -p "$W/units/epmon.service.d" "$W/units/epmon-view.service.d" "$W/logs"

ovpn_client_conf "$W/client.ovpn" "auth-user-pass"
# a client that drops root after connecting, as openvpn users often have it
ovpn_client_conf "$W/client-nobody.ovpn" "cert $LAB_OVPN_CLIENT_CERT" "key $LAB_OVPN_CLIENT_KEY" \
	"user nobody" "group nogroup" "persist-key" "persist-tun"
# write_box_config FILE [TOP-LEVEL-LINE...]: the trials' config: six sites, the web process
write_box_config() {
	local f=$1
	shift
	{
		echo "frequency: 600"
		echo "ping: {count: 2, interval: 0.1, timeout: 1}"
		echo "http: {listen: \"127.0.0.1:$PORT\"}"
		[ $# -eq 0 ] || printf '%s\n' "$@"
		echo "sites:"
		lab_openconnect_site oc 1
		lab_openconnect_site ocvpnc 1 script=/usr/share/vpnc-scripts/vpnc-script
		lab_openvpn_site ovpn "$W/client.ovpn" username="$LAB_USER" password_file="$LAB_PASSWORD_FILE"
		lab_openvpn_site ovpnuser "$W/client-nobody.ovpn"
		lab_wireguard_site wg
		lab_ipsec_site ike
	} >"$f" || fail "cannot write $f"
	chmod 600 "$f"
}
write_box_config "$W/config.yml" "concurrency: 6"
write_box_config "$W/config-none.yml" "concurrency: 1" "isolation: {mode: none}"
CONFIG=$W/config.yml

box_start "$W" "$LAB_NS_PROBE" "$LAB_RESOLV_CONF" "$W" "$LAB_STATE" || fail "cannot start the systemd box"
BOXROOT=$(box_root) || fail "no systemd box"
e2e_log "systemd box up: pid $BOX_PID ($(box_ctl --version | head -1))"

# ---- unit texts ----

# unit_del TEXT KEY...: TEXT without the lines of each KEY
unit_del() {
	local text=$1 k
	shift
	for k in "$@"; do text=$(grep -v "^$k=" <<<"$text"); done
	printf '%s\n' "$text"
}

# unit_add TEXT LINES: TEXT with LINES (\n-separated) added at the end of [Service]
unit_add() {
	local text=$1 lines
	lines=$(printf '%b' "$2")
	awk -v add="$lines" '/^\[Install\]/ && !done { print add; print ""; done = 1 } { print }
		END { if (!done) print add }' <<<"$text"
}

# unit_lines TEXT KEY...: the lines of each KEY in TEXT
unit_lines() {
	local text=$1 k
	shift
	for k in "$@"; do grep "^$k=" <<<"$text"; done
}

SHIPPED=$(cat "$UNIT")
# shellcheck disable=SC2086
BARE=$(unit_del "$SHIPPED" $HARDENING_KEYS)

# ---- one trial ----

# box_clean: what a trial may leave behind, so that none depends on an earlier one: the
# state dir, the probe's ip_forward (a SIGKILLed epmon cannot put it back), the mount points
# TemporaryFileSystem= made in the box's /run (all in the box, never the host's)
box_clean() {
	rm -rf "${BOXROOT:?}/var/lib/epmon" "${BOXROOT:?}/run/wireguard" "${BOXROOT:?}/run/vpnc"
	ip netns exec "$LAB_NS_PROBE" sysctl -qw net.ipv4.ip_forward=0 || fail "ip_forward=0 in $LAB_NS_PROBE"
}

RESULTS=()      # "NAME|works|error"
UNEXPECTED=0

# trial_error: why the current trial failed, from systemd and epmon
trial_error() {
	local show log
	show=$(box_ctl show -p Result -p ExecMainCode -p ExecMainStatus epmon.service 2>/dev/null | tr '\n' ' ')
	log=$(tail -c +"$CONSOLE_AT" "$W/console.log" | tr -d '\r' |
		grep -E 'epmon\.service: .*(Failed|failed|error|denied|No such)' |
		grep -v "journal socket\|Failed with result" | head -2 | tr '\n' ' ')
	echo "$show${log:+; systemd: $log}; epmon: $( (grep -vE '^<[4-7]>|^Job for|^See ' "$1"; grep '^<4>' "$1") | head -1)"
}

# csv_rows_ok: "SITE RESULT FAILED_STEP DETAIL" of each site's last row in the box's state dir
csv_rows_ok() {
	python3 - "${BOXROOT:?}/var/lib/epmon" <<'PYEOF'
import csv, glob, sys
last = {}
for p in sorted(glob.glob(sys.argv[1] + "/results-*.csv")):
    for r in csv.DictReader(open(p, newline="")):
        last[r["site"]] = r
for s, r in sorted(last.items()):
    print(s, r["result"], r["failed_step"] or "-", r["detail"][:120].replace("\n", " "))
PYEOF
}

# trial NAME EXPECT UNIT_TEXT: run the unit; EXPECT ok|fail; records the outcome
trial() {
	local name=$1 expect=$2 text=$3 err='' rows bad n i works log t0
	if [ -n "$ONLY" ] && ! [[ $name =~ $ONLY ]]; then return 0; fi
	log=$W/logs/$(tr -c 'A-Za-z0-9_=-' _ <<<"$name").log
	: >"$log"
	printf '%s\n' "$text" >"$W/units/epmon.service"
	cat >"$W/units/epmon.service.d/sdtry.conf" <<EOF
[Unit]
ConditionPathExists=
ConditionPathExists=$CONFIG
[Service]
ExecStart=
ExecStart=$EPMON run -c $CONFIG
StandardOutput=append:$log
StandardError=inherit
EOF
	box_ctl daemon-reload || fail "daemon-reload"
	box_ctl reset-failed epmon.service 2>/dev/null
	box_clean
	CONSOLE_AT=$(($(stat -c %s "$W/console.log") + 1))
	t0=$(date +%s%N)
	if ! timeout 120 nsenter -t "$BOX_PID" -a -- systemctl start epmon.service 2>>"$log"; then
		err="start failed: $(trial_error "$log")"
	else
		for i in $(seq 600); do
			n=$(csv_rows_ok 2>/dev/null | wc -l)
			[ "$n" -ge "$NSITES" ] && break
			[ "$(box_ctl is-active epmon.service)" = active ] || break
			sleep 0.1
		done
		rows=$(csv_rows_ok 2>&1)
		if [ "$(wc -l <<<"$rows")" -lt "$NSITES" ] || [ -z "$rows" ]; then
			err="no row for every site in 60 s ($(box_ctl is-active epmon.service)): $(trial_error "$log")"
		else
			bad=$(awk '$2 != "OK"' <<<"$rows" | head -2 | tr '\n' ';')
			[ -z "$bad" ] || err="site failed: $bad"
		fi
		if [ -z "$err" ] && ! nsenter --net="/run/netns/$LAB_NS_PROBE" curl -sf -m 10 \
			"http://127.0.0.1:$PORT/metrics" 2>/dev/null | grep -q '^epmon_'; then
			err="no /metrics on 127.0.0.1:$PORT: $(grep -iE 'web|http' "$log" | tail -1)"
		fi
		if ! timeout 120 nsenter -t "$BOX_PID" -a -- systemctl stop epmon.service 2>>"$log"; then
			err=${err:-"stop failed"}
		elif [ "$(box_ctl show -p Result --value epmon.service)" != success ]; then
			err=${err:-"stop: $(trial_error "$log")"}
		fi
		[ -e "${BOXROOT:?}/run/epmon" ] && err=${err:-"/run/epmon left after stop"}
	fi
	box_ctl stop epmon.service >/dev/null 2>&1
	err=$(printf '%s' "$err" | tr -s ' \t\n' ' ' | sed 's/^ //; s/ $//' | cut -c1-300)
	works=yes
	[ -z "$err" ] || works=no
	cp "${BOXROOT:?}"/var/lib/epmon/results-*.csv "${log%.log}.csv" 2>/dev/null
	RESULTS+=("$name|$works|$err")
	if { [ "$expect" = ok ] && [ "$works" = no ]; } || { [ "$expect" = fail ] && [ "$works" = yes ]; }; then
		UNEXPECTED=$((UNEXPECTED + 1))
		e2e_log "UNEXPECTED: $name: works=$works (expected $expect) $err ($(( ($(date +%s%N) - t0) / 1000000 )) ms)"
	else
		e2e_log "$name: works=$works${err:+ ($err)} ($(( ($(date +%s%N) - t0) / 1000000 )) ms)"
	fi
	[ "$works" = yes ]
}

# trial_label LINES: LINES (\n-separated) for the table: "KEY=" alone (a reset) is "no KEY"
# unless a later line sets KEY again
trial_label() {
	printf '%b\n' "$1" | awk '{ l[NR] = $0 } END {
		for (i = 1; i <= NR; i++) {
			if (l[i] ~ /=$/) {
				k = l[i]; again = 0
				for (j = i + 1; j <= NR; j++) if (index(l[j], k) == 1) again = 1
				if (again) continue
				out = out sep "no " substr(k, 1, length(k) - 1)
			} else out = out sep l[i]
			sep = ", "
		}
		print out }'
}

# sandbox_view NAME UNIT_TEXT: which paths the unit's processes may write (access(2) W_OK,
# which also says EROFS for a read-only mount; nothing is written), as a row of the table
SANDBOX_PATHS="/etc /usr /var/lib/epmon /var/tmp /tmp /home /run /run/epmon /run/wireguard /run/vpnc /run/lock /proc/sys/net/ipv4/ip_forward"
sandbox_view() {
	local name=$1 out
	printf '%s\n' "$2" >"$W/units/epmon-view.service"
	cat >"$W/units/epmon-view.service.d/sdtry.conf" <<EOF
[Unit]
ConditionPathExists=
[Service]
Type=oneshot
ExecStart=
ExecStart=/bin/sh -c 'for p in $SANDBOX_PATHS; do if [ -w \$\$p ]; then echo rw:\$\$p; else echo ro:\$\$p; fi; done'
StandardOutput=truncate:$W/logs/view.out
StandardError=inherit
EOF
	box_ctl daemon-reload || fail "daemon-reload"
	box_clean
	box_ctl start epmon-view.service || fail "$name: epmon-view.service did not run"
	out="writable: $(sed -n 's/^rw://p' "$W/logs/view.out" | tr '\n' ' ')"
	RESULTS+=("$name|-|$out")
	e2e_log "$name: $out"
}

# ---- the trials ----

if ! trial "shipped unit (all options)" ok "$SHIPPED" && [ "$KEEP_GOING" = 0 ] && [ -z "$ONLY" ]; then
	# which option breaks it: the shipped unit without each one
	for k in $HARDENING_KEYS; do
		[ -n "${IS_COMPANION[$k]:-}" ] && continue
		[ -n "$(unit_lines "$SHIPPED" "$k")" ] || continue
		# shellcheck disable=SC2086
		trial "shipped without $k" ok "$(unit_del "$SHIPPED" "$k" ${COMPANION[$k]:-})"
	done
	fail "the shipped unit does not work (see above which option breaks it; -k for all trials)"
fi
sandbox_view "sandbox of the shipped unit" "$SHIPPED"
sandbox_view "sandbox without ReadOnlyPaths=/run" "$(unit_del "$SHIPPED" ReadOnlyPaths)"
sandbox_view "sandbox without ReadOnlyPaths, ProtectControlGroups, ProtectProc" \
	"$(unit_del "$SHIPPED" ReadOnlyPaths ProtectControlGroups ProtectProc)"
trial "bare unit (no hardening option)" ok "$BARE"
for k in $HARDENING_KEYS; do
	[ -n "${IS_COMPANION[$k]:-}" ] && continue
	# shellcheck disable=SC2086
	lines=$(unit_lines "$SHIPPED" "$k" ${COMPANION[$k]:-})
	[ -n "$(unit_lines "$SHIPPED" "$k")" ] || continue
	trial "$(head -1 <<<"$lines" | cut -c1-60)$([ "$(wc -l <<<"$lines")" -gt 1 ] && echo " (+$(($(wc -l <<<"$lines") - 1)) lines)")" \
		ok "$(unit_add "$BARE" "$lines")"
done
caps=$(sed -n 's/^CapabilityBoundingSet=//p' <<<"$SHIPPED")
for c in $caps; do
	fewer=$(tr ' ' '\n' <<<"$caps" | grep -vx "$c" | tr '\n' ' ')
	trial "CapabilityBoundingSet without $c" any \
		"$(unit_add "$(unit_del "$SHIPPED" CapabilityBoundingSet)" "CapabilityBoundingSet=$fewer")"
done
trial "SystemCallFilter, no SystemCallErrorNumber (SIGSYS)" ok "$(unit_del "$SHIPPED" SystemCallErrorNumber)"
for r in "${REJECTED[@]}"; do
	add=${r%%|*}
	trial "+ $(trial_label "$add")" fail "$(unit_add "$SHIPPED" "$add")"
done
for r in "${WORKS_BUT_LEFT_OUT[@]}"; do
	add=${r%%|*}
	trial "+ $add" any "$(unit_add "$SHIPPED" "$add")"
done
# isolation mode none: the clients write the probe's /etc/resolv.conf and /run/vpnc, epmon
# repairs resolv.conf by a rename in /etc: the shipped unit is not for it, the drop-in of
# doc/systemd.md is
CONFIG=$W/config-none.yml
trial "isolation none: shipped unit" any "$SHIPPED"
trial "isolation none: + the drop-in of doc/systemd.md" ok \
	"$(unit_add "$SHIPPED" "ReadOnlyPaths=\nTemporaryFileSystem=\nReadWritePaths=/etc /run")"
CONFIG=$W/config.yml

# ---- table ----
echo
printf '%-58s %-5s %s\n' "TRIAL" "WORKS" "ERROR"
for r in "${RESULTS[@]}"; do
	IFS='|' read -r name works err <<<"$r"
	printf '%-58s %-5s %s\n' "$name" "$works" "$err"
done
echo
echo "Left out (doc/systemd.md):"
for r in "${REJECTED[@]}" "${WORKS_BUT_LEFT_OUT[@]}"; do
	printf '  %-50s %s\n' "$(trial_label "${r%%|*}")" "${r#*|}"
done
[ "$UNEXPECTED" -eq 0 ] || fail "$UNEXPECTED trial(s) did not turn out as expected"
e2e_log "every trial as expected (${#RESULTS[@]} trials)"
exit 0
