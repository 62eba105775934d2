#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# `sudo make demo`: epmon against the bundled lab, in one command.
#
#   tests/lab/demo.sh EPMON_BINARY
#
# Brings up the lab (prefix "demo": 3 ocserv gateways, each with an intranet host, and a
# probe namespace), writes a config for 3 sites, one of them with a wrong password so the
# demo shows a failure, runs `epmon once` in the probe namespace, prints its table and
# the CSV it wrote, and takes the lab down again (also on Ctrl-C or an error).
# Exit 0 when the demo ran (a failing site is part of it); 1 when the lab could not be
# started or epmon did not run; 2 on bad usage.
# EPMON_DEMO_KEEP=1 keeps the temporary directory (config and CSV) after the demo.
set -u

LAB_SH=$(cd "$(dirname "$0")" && pwd)/lab.sh
PREFIX=demo

die() { echo "demo: $*" >&2; exit 1; }
say() { printf '\n==> %s\n' "$*"; }

[ $# -eq 1 ] || { echo "usage: $0 EPMON_BINARY" >&2; exit 2; }
EPMON=$1
case $EPMON in /*) ;; *) EPMON=$PWD/$EPMON ;; esac
[ -x "$EPMON" ] || { echo "demo: $EPMON is not an executable (run: make)" >&2; exit 2; }
[ "$(id -u)" -eq 0 ] || die "must run as root: the lab uses network namespaces (sudo make demo)"

TMP=
LAB_STARTED=0
# shellcheck disable=SC2317  # the EXIT trap calls it
cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	if [ "$LAB_STARTED" = 1 ]; then
		say "Taking the lab down"
		"$LAB_SH" down --prefix "$PREFIX" || echo "demo: lab.sh down --prefix $PREFIX failed" >&2
	fi
	if [ -n "$TMP" ]; then
		if [ "${EPMON_DEMO_KEEP:-}" = 1 ]; then
			echo "kept $TMP (config and results)"
		else
			rm -rf -- "$TMP"
		fi
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'echo; echo "demo: interrupted" >&2; exit 130' INT
trap 'exit 143' TERM

cat <<EOF
epmon demo
----------
The lab: two SSL-VPN gateways (ocserv, the server side of Cisco AnyConnect), an OpenVPN 2.6
server, a WireGuard peer (wireguard-go) and an IPsec IKEv2 responder (strongSwan), each in
its own network namespace with an intranet host behind it, and a "probe" namespace where
epmon runs. The probe has no route to any intranet: only a VPN tunnel reaches them.

For each site (all five at the same time, each client in a network namespace of its own)
epmon will ping the gateway, log in with the real client (openconnect, openvpn,
wireguard-go, strongSwan's charon) and time the login, ping the intranet host through the
tunnel, then tear the tunnel down and check that nothing is left behind. Site "lyon" is
given a wrong password: it must fail.
EOF

say "Starting the lab (prefix $PREFIX: 2 ocserv gateways, openvpn, wireguard, ipsec)"
LAB_STARTED=1
"$LAB_SH" up 2 --openvpn --wireguard --ipsec --prefix "$PREFIX" ||
	"$LAB_SH" up 2 --openvpn --wireguard --ipsec --prefix "$PREFIX" ||
	die "the lab could not be started (see the messages above; sudo make deps installs what it needs)"
eval "$("$LAB_SH" env --prefix "$PREFIX")" || die "lab.sh env failed"

TMP=$(mktemp -d /tmp/epmon-demo.XXXXXX) || die "mktemp failed"
mkdir -p "$TMP/results" "$TMP/state"
# the openvpn client config a user would write for this server
cat >"$TMP/oslo.ovpn" <<EOF
client
dev tun
proto $LAB_OVPN_PROTO
remote $LAB_OVPN_IP $LAB_OVPN_PORT
nobind
ca $LAB_OVPN_CA
remote-cert-tls server
verify-x509-name $LAB_OVPN_IP name
verb 3
EOF
CFG=$TMP/config.yml
cat >"$CFG" <<EOF
frequency: 60
results: {directory: $TMP/results}
state_directory: $TMP/state
ping: {count: 3, interval: 0.2, timeout: 1}
sites:
  - name: paris         # openconnect (AnyConnect protocol) against ocserv
    external_ip: $LAB_GW1_IP
    internal_ip: $LAB_GW1_INTRANET_IP
    vpn: {client: openconnect, gateway: $LAB_GW1_IP, username: $LAB_USER,
          password_file: $LAB_PASSWORD_FILE, ca_file: $LAB_CA}
  - name: lyon          # wrong password on purpose
    external_ip: $LAB_GW2_IP
    internal_ip: $LAB_GW2_INTRANET_IP
    vpn: {client: openconnect, gateway: $LAB_GW2_IP, username: $LAB_USER,
          password_file: $LAB_WRONG_PASSWORD_FILE, ca_file: $LAB_CA}
  - name: oslo          # openvpn against an OpenVPN 2.6 server
    external_ip: $LAB_OVPN_IP
    internal_ip: $LAB_OVPN_INTRANET_IP
    vpn: {client: openvpn, config_file: $TMP/oslo.ovpn, username: $LAB_USER,
          password_file: $LAB_PASSWORD_FILE}
  - name: rome          # WireGuard: the login is the first handshake
    external_ip: $LAB_WG_IP
    internal_ip: $LAB_WG_INTRANET_IP
    vpn: {client: wireguard, endpoint: "$LAB_WG_ENDPOINT", private_key_file: $LAB_WG_CLIENT1_KEY,
          peer_public_key: "$LAB_WG_PUBLIC_KEY", address: $LAB_WG_CLIENT1_IP/32}
  - name: vienna        # IPsec IKEv2 (EAP-MSCHAPv2) against strongSwan
    external_ip: $LAB_IKE_IP
    internal_ip: $LAB_IKE_INTRANET_IP
    vpn: {client: ipsec, gateway: $LAB_IKE_IP, username: $LAB_USER,
          password_file: $LAB_PASSWORD_FILE, ca_file: $LAB_IKE_CA, remote_id: "$LAB_IKE_REMOTE_ID"}
EOF
chmod 600 "$CFG"
say "Config: $CFG"
sed 's/^/    /' "$CFG"

say "Running: ip netns exec $LAB_NS_PROBE $EPMON once -c $CFG"
ip netns exec "$LAB_NS_PROBE" "$EPMON" once -c "$CFG"
rc=$?
case $rc in
0) echo "(exit 0: every site OK — lyon was expected to fail)" ;;
1) echo "(exit 1: a site failed — lyon, with its wrong password, as expected)" ;;
*) die "epmon once exited with status $rc: the demo did not run" ;;
esac

CSV=
for f in "$TMP"/results/results-*.csv; do [ -f "$f" ] && CSV=$f; done
[ -n "$CSV" ] || die "epmon wrote no results CSV in $TMP/results"
say "Results CSV: $CSV"
cat "$CSV"
[ "${EPMON_DEMO_KEEP:-}" = 1 ] ||
	echo "(removed at the end of the demo; EPMON_DEMO_KEEP=1 keeps it)"
exit 0
