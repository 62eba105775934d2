#!/usr/bin/env bash
# epmon test lab: SSL-VPN gateways (ocserv) in network namespaces.
#
#   lab.sh up N [--same-pool] [--openvpn] [--wireguard] [--ipsec] [--prefix P]
#                                   build or repair a lab with N gateways (idempotent);
#                                   --same-pool: every gateway gives the same tunnel range;
#                                   --openvpn: also an OpenVPN 2.6 server (198.18.100.2);
#                                   --wireguard: also a WireGuard peer (198.18.101.2);
#                                   --ipsec: also a strongSwan IKEv2 responder (198.18.102.2,
#                                            EAP-MD5 on 198.18.102.3)
#   lab.sh down [--prefix P]        remove everything `up` made (also after a failed up)
#   lab.sh status [--prefix P]      what exists; exit 0 only when the lab is complete
#   lab.sh env [--prefix P]         shell assignments for tests: eval "$(lab.sh env)"
#   lab.sh gw-stop K | gw-start K   stop / start ocserv of gateway K (ping still answers)
#   lab.sh gw-link-down K | gw-link-up K      cut / restore gateway K's external link
#   lab.sh intranet-down K [link] | intranet-up K
#                                   intranet host K stops answering ping (default: ignores
#                                   echo requests; "link": its interface goes down)
#   lab.sh intranet-delay K MS [COLD_MS]
#                                   intranet host K answers ping after MS ms (echo_responder);
#                                   the first echo from an address after 1 s of silence after
#                                   COLD_MS ms (a gateway's first forwarding: ARP, session)
#   lab.sh gw-auth-delay K MS       gateway K checks passwords through PAM, a script that
#                                   sleeps MS ms first (a slow RADIUS/LDAP); 0: plain again
#   lab.sh gw-relay K MS            a TCP relay on 198.18.K.2:8443 in front of gateway K's
#                                   ocserv, its first answer MS ms late (a slow TLS start);
#                                   off: stopped
#   lab.sh ovpn-stop | ovpn-start   stop / start the OpenVPN server (ping still answers)
#   lab.sh ovpn-pause | ovpn-resume the OpenVPN server hangs (SIGSTOP) / goes on (SIGCONT)
#   lab.sh ovpn-auth-delay MS       the OpenVPN server's password check sleeps MS ms first;
#                                   0: no more
#   lab.sh wg-stop | wg-start       stop / start the WireGuard peer (ping still answers)
#   lab.sh ike-stop | ike-start     stop / start the IKEv2 responder (ping still answers)
#
# Topology and addresses: tests/lab/README.md. Must run as root.
set -euo pipefail

PREFIX=${EPMON_LAB_PREFIX:-eplab}
LAB_ROOT=/run/epmon-lab
USER_NAME=monitor
MAX_GW=50

die() { echo "lab.sh: $*" >&2; exit 1; }
say() { echo "lab.sh: $*" >&2; }

usage() {
	sed -n '2,25p' "$0" | sed 's/^# \{0,1\}//' >&2
	exit 2
}

# ---- names and addresses (one place, so README, env and up agree) ----
ns_probe() { echo "$PREFIX-probe"; }
ns_router() { echo "$PREFIX-rtr"; }
ns_gw() { echo "$PREFIX-gw$1"; }
ns_in() { echo "$PREFIX-in$1"; }
# Interface names carry the prefix; the longest is PREFIX-g99e = 11 chars (IFNAMSIZ 15).
if_probe() { echo "$PREFIX-pr"; }     # probe side of probe<->router
if_rtr_p() { echo "$PREFIX-rp"; }     # router side of probe<->router
if_rtr_g() { echo "$PREFIX-r$1"; }    # router side of router<->gateway K
if_gw_ext() { echo "$PREFIX-g$1e"; }  # gateway K external side
if_gw_int() { echo "$PREFIX-g$1i"; }  # gateway K intranet side
if_in() { echo "$PREFIX-i$1"; }       # intranet host K
PROBE_IP=198.18.0.2
ROUTER_IP=198.18.0.1
gw_ip() { echo "198.18.$1.2"; }
rtr_gw_ip() { echo "198.18.$1.1"; }
gw_int_ip() { echo "10.10.$1.1"; }
in_ip() { echo "10.10.$1.10"; }
# The tunnel range: gateway K's own 10.20.K.0/24, or with `up --same-pool` one range for all.
SAME_POOL_NET=10.99.0.0
pool_net() { if same_pool; then echo "$SAME_POOL_NET"; else echo "10.20.$1.0"; fi; }
own_pool_net() { echo "10.20.$1.0"; }
# The address user monitor gets (predictable-ips: derived from the user name, not the gateway).
tunnel_ip() { local n; n=$(pool_net "$1"); echo "${n%.0}.223"; }
dns_ip() { echo "10.10.$1.53"; }

state() { echo "$LAB_ROOT/$PREFIX"; }
gw_dir() { echo "$(state)/gw$1"; }
netns_etc() { echo "/etc/netns/$(ns_probe)"; }

need_tools() {
	local t missing=()
	for t in ip ocserv ocpasswd certtool openconnect ping ss; do
		command -v "$t" >/dev/null 2>&1 || missing+=("$t")
	done
	[ ${#missing[@]} -eq 0 ] || die "missing: ${missing[*]} (run: sudo make deps)"
	[ "$(id -u)" -eq 0 ] || die "must run as root (network namespaces)"
	[ -c /dev/net/tun ] || die "/dev/net/tun missing (ocserv and openconnect need it)"
}

check_prefix() {
	[[ $PREFIX =~ ^[a-z][a-z0-9]{0,5}$ ]] ||
		die "prefix '$PREFIX': 1-6 chars, [a-z][a-z0-9]* (interface names must stay <= 15 chars)"
}

check_k() { # K
	[[ ${1:-} =~ ^[1-9][0-9]*$ ]] && [ "$1" -le "$(gw_count)" ] ||
		die "gateway '${1:-}' does not exist (lab has $(gw_count))"
}

ns_exists() { [ -e "/run/netns/$1" ]; }
inns() { local ns=$1; shift; ip netns exec "$ns" "$@"; }

gw_count() { cat "$(state)/count" 2>/dev/null || echo 0; }
# The pool mode of the lab: "same" when `up --same-pool` made it (state file same-pool).
same_pool() { [ -e "$(state)/same-pool" ]; }

# ---- network ----
ensure_ns() { # NAME
	ns_exists "$1" || ip netns add "$1" || die "ip netns add $1 failed"
	ip -n "$1" link set lo up
}

# Creates the veth pair directly inside both namespaces, so no name ever lives in the
# root namespace and deleting either namespace removes the pair.
ensure_veth() { # NS_A IF_A NS_B IF_B
	local a=$1 ia=$2 b=$3 ib=$4
	if ip -n "$a" link show "$ia" >/dev/null 2>&1 && ip -n "$b" link show "$ib" >/dev/null 2>&1; then
		return 0
	fi
	ip -n "$a" link del "$ia" >/dev/null 2>&1 || true
	ip -n "$b" link del "$ib" >/dev/null 2>&1 || true
	ip -n "$a" link add "$ia" type veth peer name "$ib" netns "$b" ||
		die "cannot create veth $a/$ia <-> $b/$ib"
}

ensure_addr() { # NS IF ADDR/LEN
	ip -n "$1" addr replace "$3" dev "$2" || die "ip -n $1 addr replace $3 dev $2 failed"
	ip -n "$1" link set "$2" up || die "ip -n $1 link set $2 up failed"
}

set_forward() { # NS
	inns "$1" sysctl -qw net.ipv4.ip_forward=1 || die "cannot enable forwarding in $1"
}

net_up_core() {
	local p r
	p=$(ns_probe); r=$(ns_router)
	ensure_ns "$p"; ensure_ns "$r"
	ensure_veth "$p" "$(if_probe)" "$r" "$(if_rtr_p)"
	ensure_addr "$p" "$(if_probe)" "$PROBE_IP/24"
	ensure_addr "$r" "$(if_rtr_p)" "$ROUTER_IP/24"
	# Only the benchmark range goes via the router: 10.10.0.0/16 has no route at all in
	# the probe, so an intranet host is reachable through a VPN tunnel or not at all.
	ip -n "$p" route replace 198.18.0.0/15 via "$ROUTER_IP" || die "probe route failed"
	set_forward "$r"
}

net_up_gw() { # K
	local k=$1 r g i
	r=$(ns_router); g=$(ns_gw "$k"); i=$(ns_in "$k")
	ensure_ns "$g"; ensure_ns "$i"
	ensure_veth "$r" "$(if_rtr_g "$k")" "$g" "$(if_gw_ext "$k")"
	ensure_veth "$g" "$(if_gw_int "$k")" "$i" "$(if_in "$k")"
	ensure_addr "$r" "$(if_rtr_g "$k")" "$(rtr_gw_ip "$k")/24"
	ensure_addr "$g" "$(if_gw_ext "$k")" "$(gw_ip "$k")/24"
	ensure_addr "$g" "$(if_gw_int "$k")" "$(gw_int_ip "$k")/24"
	ensure_addr "$i" "$(if_in "$k")" "$(in_ip "$k")/24"
	ip -n "$g" route replace default via "$(rtr_gw_ip "$k")" || die "gw$k default route failed"
	# Replies to VPN clients go back through the gateway that owns the pool (the pool
	# mode may have changed since the last up: the other range's route goes).
	ip -n "$i" route replace "$(pool_net "$k")/24" via "$(gw_int_ip "$k")" ||
		die "intranet$k route failed"
	local other=$SAME_POOL_NET
	same_pool && other=$(own_pool_net "$k")
	ip -n "$i" route del "$other/24" 2>/dev/null || true
	set_forward "$g"
	# With a delay responder running (intranet-delay), the kernel must stay silent.
	if [ -n "$(responder_pid "$k")" ]; then
		inns "$i" sysctl -qw net.ipv4.icmp_echo_ignore_all=1
	else
		inns "$i" sysctl -qw net.ipv4.icmp_echo_ignore_all=0 net.ipv6.icmp.echo_ignore_all=0
	fi
	# After a link-down test the neighbours are FAILED and the first ping would error.
	ip -n "$r" neigh flush dev "$(if_rtr_g "$k")" 2>/dev/null || true
	ip -n "$g" neigh flush dev "$(if_gw_ext "$k")" 2>/dev/null || true
	ip -n "$g" neigh flush dev "$(if_gw_int "$k")" 2>/dev/null || true
	ip -n "$i" neigh flush dev "$(if_in "$k")" 2>/dev/null || true
}

wait_carrier() { # NS IF: a veth end reports LOWER_UP shortly after both ends are up
	local i
	for ((i = 0; i < 40; i++)); do
		[ "$(ip -n "$1" -br link show "$2" 2>/dev/null | awk '{print $2}')" = UP ] && return 0
		sleep 0.05
	done
	die "$1/$2 has no carrier after 2 s"
}

ensure_resolv_conf() {
	local d f
	d=$(netns_etc); f="$d/resolv.conf"
	mkdir -p "$d"
	# Rewritten only when absent or different, so a test may watch its inode.
	if ! printf 'nameserver %s\n# epmon lab baseline\n' "$ROUTER_IP" | cmp -s - "$f"; then
		printf 'nameserver %s\n# epmon lab baseline\n' "$ROUTER_IP" >"$f"
	fi
}

# ---- secrets and certificates ----
random_secret() { head -c 24 /dev/urandom | base64 | tr -d '/+=\n' | head -c 24; }

ensure_secret_file() { # PATH
	[ -s "$1" ] && return 0
	(umask 077; random_secret >"$1.tmp" && echo >>"$1.tmp" && mv "$1.tmp" "$1") ||
		die "cannot write $1"
}

ensure_ca() {
	local s; s=$(state)
	[ -s "$s/ca.pem" ] && [ -s "$s/ca-key.pem" ] && return 0
	cat >"$s/ca.tmpl" <<-EOF
		cn = "epmon lab CA $PREFIX"
		organization = "epmon test lab"
		serial = 1
		expiration_days = 3650
		ca
		signing_key
		cert_signing_key
		crl_signing_key
	EOF
	(umask 077; certtool --generate-privkey --key-type=ecdsa --curve=secp256r1 \
		--outfile "$s/ca-key.pem" 2>"$s/certtool.log") || die "certtool CA key failed: see $s/certtool.log"
	certtool --generate-self-signed --load-privkey "$s/ca-key.pem" --template "$s/ca.tmpl" \
		--outfile "$s/ca.pem.tmp" 2>>"$s/certtool.log" >/dev/null ||
		die "certtool CA cert failed: see $s/certtool.log"
	mv "$s/ca.pem.tmp" "$s/ca.pem"
}

ensure_gw_cert() { # K
	local k=$1 s d
	s=$(state); d=$(gw_dir "$k")
	[ -s "$d/server-cert.pem" ] && [ -s "$d/server-key.pem" ] && return 0
	# CN and SAN are the IP, so `openconnect --cafile` validates the gateway by address.
	cat >"$d/server.tmpl" <<-EOF
		cn = "$(gw_ip "$k")"
		ip_address = "$(gw_ip "$k")"
		organization = "epmon test lab"
		expiration_days = 3650
		signing_key
		encryption_key
		tls_www_server
	EOF
	(umask 077; certtool --generate-privkey --key-type=ecdsa --curve=secp256r1 \
		--outfile "$d/server-key.pem" 2>>"$s/certtool.log") || die "certtool gw$k key failed"
	certtool --generate-certificate --load-privkey "$d/server-key.pem" \
		--load-ca-certificate "$s/ca.pem" --load-ca-privkey "$s/ca-key.pem" \
		--template "$d/server.tmpl" --outfile "$d/server-cert.pem.tmp" \
		2>>"$s/certtool.log" >/dev/null || die "certtool gw$k cert failed: see $s/certtool.log"
	mv "$d/server-cert.pem.tmp" "$d/server-cert.pem"
}

ensure_passwd() { # K: ocserv's hashed password file, built from the shared secret
	local k=$1 d; d=$(gw_dir "$k")
	[ -s "$d/passwd" ] && return 0
	# With stdin not a tty, ocpasswd reads the password once (no confirmation line).
	(umask 077; ocpasswd -c "$d/passwd.tmp" "$USER_NAME" <"$(state)/password") \
		>"$d/ocpasswd.log" 2>&1 ||
		die "ocpasswd failed for gw$k: $(cat "$d/ocpasswd.log")"
	mv "$d/passwd.tmp" "$d/passwd"
}

# gw-auth-delay K MS: ocserv authenticates through PAM (service ocserv), whose config in
# /etc/netns/P-gwK/pam.d/ (bound onto /etc/pam.d by `ip netns exec`, for that gateway's
# processes only) runs a script that sleeps, then checks the user and the lab password.
gw_etc() { echo "/etc/netns/$(ns_gw "$1")"; }
auth_delay() { cat "$(gw_dir "$1")/auth-delay" 2>/dev/null; }   # K: ms, empty when off

write_slow_auth() { # K MS
	local k=$1 ms=$2 d e; d=$(gw_dir "$k"); e=$(gw_etc "$k")
	(umask 077; cat >"$d/slow-auth" <<-EOF
		#!/bin/bash
		# epmon lab gateway $k: pam_exec's password check, $ms ms late (generated by lab.sh)
		IFS= read -r -d '' pw
		sleep $(awk -v m="$ms" 'BEGIN { printf "%.3f", m / 1000 }')
		[ "\$PAM_USER" = $USER_NAME ] && [ "\$pw" = "\$(head -1 $(state)/password)" ]
	EOF
	)
	chmod 0700 "$d/slow-auth"
	mkdir -p "$e/pam.d"
	cat >"$e/pam.d/ocserv" <<-EOF
		# epmon lab gateway $k (generated by tests/lab/lab.sh): a slow password check
		auth     required pam_exec.so expose_authtok quiet $d/slow-auth
		account  required pam_permit.so
		session  required pam_permit.so
	EOF
	echo "$ms" >"$d/auth-delay"
}

cmd_gw_auth_delay() { # K MS
	local k=$1 ms=${2:-}
	[[ $ms =~ ^[0-9]+$ ]] && [ "$ms" -le 60000 ] || die "gw-auth-delay K MS: MS must be 0..60000"
	if [ "$ms" -gt 0 ]; then
		write_slow_auth "$k" "$ms"
	else
		rm -f "$(gw_dir "$k")/auth-delay" "$(gw_dir "$k")/slow-auth"
		rm -rf "$(gw_etc "$k")"
	fi
	CONF_CHANGED=()
	write_ocserv_conf "$k"
	# ocserv reads its config once; the script's delay is read at each login
	[ ${#CONF_CHANGED[@]} -eq 0 ] || ocserv_stop "$k"
	ocserv_spawn "$k"
	ocserv_wait "$k"
}

write_ocserv_conf() { # K
	local k=$1 d auth; d=$(gw_dir "$k")
	auth="plain[passwd=$d/passwd]"
	[ -z "$(auth_delay "$k")" ] || auth=pam
	cat >"$d/ocserv.conf.tmp" <<-EOF
		# epmon lab gateway $k (generated by tests/lab/lab.sh)
		auth = "$auth"
		tcp-port = 443
		udp-port = 443
		run-as-user = nobody
		run-as-group = nogroup
		socket-file = $d/ocserv.sock
		occtl-socket-file = $d/occtl.sock
		use-occtl = true
		pid-file = $d/ocserv.pid
		server-cert = $d/server-cert.pem
		server-key = $d/server-key.pem
		# seccomp worker isolation fails in some containers; the lab does not need it.
		isolate-workers = false
		max-clients = 64
		max-same-clients = 0
		# Tests log in and fail on purpose many times: no rate limit, no ban.
		rate-limit-ms = 0
		max-ban-score = 0
		server-stats-reset-time = 604800
		keepalive = 300
		dpd = 60
		mobile-dpd = 300
		switch-to-tcp-timeout = 25
		try-mtu-discovery = false
		tls-priorities = "NORMAL:%SERVER_PRECEDENCE:%COMPAT:-VERS-SSL3.0:-VERS-TLS1.0:-VERS-TLS1.1"
		auth-timeout = 60
		min-reauth-time = 0
		cookie-timeout = 60
		deny-roaming = false
		rekey-time = 172800
		rekey-method = ssl
		log-level = 2
		device = vpns
		predictable-ips = true
		ipv4-network = $(pool_net "$k")
		ipv4-netmask = 255.255.255.0
		dns = $(dns_ip "$k")
		route = 10.10.$k.0/255.255.255.0
		ping-leases = false
		cisco-client-compat = true
		dtls-legacy = true
	EOF
	# Unchanged: keep the file (and the running ocserv). Changed (e.g. the pool mode): a
	# running ocserv still has the old one, so it is named for a restart.
	if cmp -s "$d/ocserv.conf.tmp" "$d/ocserv.conf"; then
		rm -f "$d/ocserv.conf.tmp"
		return 0
	fi
	mv "$d/ocserv.conf.tmp" "$d/ocserv.conf"
	[ -z "$(ocserv_pid "$k")" ] || CONF_CHANGED+=("$k")
}

# ---- ocserv processes ----
# kill -0 is not enough: an orphan stays a zombie until init reaps it, and some inits
# (containers, VMs) reap late.
alive() { # PID
	local st
	st=$(awk '/^State:/ {print $2}' "/proc/$1/status" 2>/dev/null) || return 1
	[ -n "$st" ] && [ "$st" != Z ]
}

# Prints the recorded pid of gateway K's ocserv when that pid is alive, is ocserv and
# lives in gateway K's namespace; nothing otherwise (a stale pid file is never trusted).
ocserv_pid() { # K
	local k=$1 pid comm
	pid=$(cat "$(gw_dir "$k")/ocserv.pid" 2>/dev/null) || return 0
	[[ $pid =~ ^[0-9]+$ ]] || return 0
	comm=$(cat "/proc/$pid/comm" 2>/dev/null) || return 0
	case $comm in ocserv*) ;; *) return 0 ;; esac
	alive "$pid" || return 0
	[ "$(ip netns identify "$pid" 2>/dev/null)" = "$(ns_gw "$k")" ] || return 0
	echo "$pid"
}

ocserv_listening() { # K
	inns "$(ns_gw "$1")" ss -Htln "sport = :443" 2>/dev/null | grep -q .
}

ocserv_spawn() { # K: start without waiting
	local k=$1 d; d=$(gw_dir "$k")
	[ -n "$(ocserv_pid "$k")" ] && return 0
	rm -f "$d/ocserv.pid"
	# Foreground mode so its log goes to a file; setsid detaches it from the caller's
	# terminal and process group. `ip netns exec` execs, so $! is ocserv itself.
	setsid ip netns exec "$(ns_gw "$k")" ocserv -f -c "$d/ocserv.conf" \
		</dev/null >>"$d/ocserv.log" 2>&1 &
	echo $! >"$d/ocserv.pid"
}

ocserv_wait() { # K...: until every listed ocserv accepts TCP on 443 (5 s)
	local k tries=0 pending
	while :; do
		pending=()
		for k in "$@"; do
			# right after the spawn the recorded pid may still be setsid/ip netns
			# exec on its way to exec ocserv: alive counts as starting
			if [ -z "$(ocserv_pid "$k")" ]; then
				local pid
				pid=$(cat "$(gw_dir "$k")/ocserv.pid" 2>/dev/null)
				if ! [[ $pid =~ ^[0-9]+$ ]] || ! alive "$pid" || [ "$tries" -ge 40 ]; then
					die "ocserv gw$k exited; log: $(gw_dir "$k")/ocserv.log
$(tail -5 "$(gw_dir "$k")/ocserv.log" 2>/dev/null)"
				fi
				pending+=("$k")
				continue
			fi
			ocserv_listening "$k" || pending+=("$k")
		done
		[ ${#pending[@]} -eq 0 ] && return 0
		tries=$((tries + 1))
		[ "$tries" -le 100 ] || die "ocserv not listening on gw ${pending[*]} after 5 s; see $(state)/gw*/ocserv.log"
		sleep 0.05
	done
}

ocserv_stop() { # K...: SIGTERM all at once (ocserv takes ~1 s to exit), SIGKILL after 3 s
	local k pid i pids=()
	for k in "$@"; do
		pid=$(ocserv_pid "$k")
		[ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null && pids+=("$pid")
		rm -f "$(gw_dir "$k")/ocserv.pid"
	done
	for pid in "${pids[@]}"; do
		for ((i = 0; i < 60; i++)); do
			alive "$pid" || break
			sleep 0.05
		done
		if alive "$pid"; then
			say "ocserv $pid ignored SIGTERM for 3 s, sending SIGKILL"
			kill -KILL "$pid" 2>/dev/null || true
		fi
	done
}

# ---- intranet delay: echo_responder in intranet host K's namespace ----
# Built by `make` (tests/tools/echo_responder.c); $TOOLS is where tests/run.sh says the
# tools are; EPMON_ECHO_RESPONDER names the binary itself.
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
ECHO_RESPONDER=${EPMON_ECHO_RESPONDER:-${TOOLS:-$REPO/build/tools}/echo_responder}
responder_pidfile() { echo "$(gw_dir "$1")/echo_responder.pid"; }

# Prints the recorded pid of intranet host K's echo_responder when that pid is alive, is
# echo_responder and lives in intranet K's namespace; nothing otherwise.
responder_pid() { # K
	local k=$1 pid comm
	pid=$(cat "$(responder_pidfile "$k")" 2>/dev/null) || return 0
	[[ $pid =~ ^[0-9]+$ ]] || return 0
	comm=$(cat "/proc/$pid/comm" 2>/dev/null) || return 0
	[ "$comm" = echo_responder ] || return 0
	alive "$pid" || return 0
	[ "$(ip netns identify "$pid" 2>/dev/null)" = "$(ns_in "$k")" ] || return 0
	echo "$pid"
}

responder_stop() { # K: SIGTERM the recorded responder, SIGKILL after 2 s; echo stays ignored
	local k=$1 pid i
	pid=$(responder_pid "$k")
	rm -f "$(responder_pidfile "$k")" "$(gw_dir "$k")/echo_responder.delay"
	[ -n "$pid" ] || return 0
	kill -TERM "$pid" 2>/dev/null || return 0
	for ((i = 0; i < 40; i++)); do
		alive "$pid" || return 0
		sleep 0.05
	done
	say "echo_responder $pid (intranet $k) ignored SIGTERM for 2 s, sending SIGKILL"
	kill -KILL "$pid" 2>/dev/null || true
}

cmd_intranet_delay() { # K MS [COLD_MS]
	local k=$1 ms=${2:-} cold=${3:-} i d pf pid
	local -a opt=()
	if ! [[ $ms =~ ^[0-9]+$ ]] || [ "$ms" -gt 10000 ]; then
		die "intranet-delay K MS [COLD_MS]: MS must be 0..10000"
	fi
	if [ -n "$cold" ]; then
		[[ $cold =~ ^[0-9]+$ ]] && [ "$cold" -le 10000 ] ||
			die "intranet-delay K MS [COLD_MS]: COLD_MS must be 0..10000"
		opt=(--cold-delay-ms "$cold" --cold-after-ms 1000)
	fi
	[ -x "$ECHO_RESPONDER" ] || die "no $ECHO_RESPONDER (run make, or set TOOLS or EPMON_ECHO_RESPONDER)"
	d=$(gw_dir "$k"); pf=$(responder_pidfile "$k")
	responder_stop "$k"
	# The kernel must not answer too (a reply at once would hide the delay).
	inns "$(ns_in "$k")" sysctl -qw net.ipv4.icmp_echo_ignore_all=1 net.ipv6.icmp.echo_ignore_all=1 ||
		die "cannot silence the kernel's echo in $(ns_in "$k")"
	setsid ip netns exec "$(ns_in "$k")" "$ECHO_RESPONDER" --delay-ms "$ms" "${opt[@]}" \
		--pidfile "$pf" </dev/null >>"$d/echo_responder.log" 2>&1 &
	# The responder writes the pid file once its sockets are open: then it answers.
	for ((i = 0; i < 100; i++)); do
		pid=$(responder_pid "$k")
		[ -n "$pid" ] && break
		sleep 0.05
	done
	[ -n "$pid" ] || die "echo_responder for intranet $k did not start in 5 s; log: $d/echo_responder.log
$(tail -5 "$d/echo_responder.log" 2>/dev/null)"
	echo "$ms" >"$d/echo_responder.delay"
}

# ---- a slow TLS start: tests/tools/delay_relay.py in gateway K's namespace ----
RELAY_PORT=8443
DELAY_RELAY=${EPMON_DELAY_RELAY:-$REPO/tests/tools/delay_relay.py}
relay_pidfile() { echo "$(gw_dir "$1")/delay_relay.pid"; }

# Prints the recorded pid of gateway K's relay when it is alive, runs delay_relay.py and
# lives in gateway K's namespace; nothing otherwise.
relay_pid() { # K
	local k=$1 pid
	pid=$(cat "$(relay_pidfile "$k")" 2>/dev/null) || return 0
	[[ $pid =~ ^[0-9]+$ ]] || return 0
	alive "$pid" || return 0
	tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q 'delay_relay\.py' || return 0
	[ "$(ip netns identify "$pid" 2>/dev/null)" = "$(ns_gw "$k")" ] || return 0
	echo "$pid"
}

relay_stop() { # K: SIGTERM the recorded relay, SIGKILL after 2 s
	local k=$1 pid i
	pid=$(relay_pid "$k")
	rm -f "$(relay_pidfile "$k")" "$(gw_dir "$k")/delay_relay.delay"
	[ -n "$pid" ] || return 0
	kill -TERM "$pid" 2>/dev/null || return 0
	for ((i = 0; i < 40; i++)); do
		alive "$pid" || return 0
		sleep 0.05
	done
	say "delay_relay $pid (gw$k) ignored SIGTERM for 2 s, sending SIGKILL"
	kill -KILL "$pid" 2>/dev/null || true
}

cmd_gw_relay() { # K MS|off
	local k=$1 ms=${2:-} d pf pid i
	relay_stop "$k"
	[ "$ms" = off ] && return 0
	[[ $ms =~ ^[0-9]+$ ]] && [ "$ms" -le 60000 ] || die "gw-relay K MS|off: MS must be 0..60000"
	[ -r "$DELAY_RELAY" ] || die "no $DELAY_RELAY"
	d=$(gw_dir "$k"); pf=$(relay_pidfile "$k")
	setsid ip netns exec "$(ns_gw "$k")" python3 "$DELAY_RELAY" --listen "$(gw_ip "$k"):$RELAY_PORT" \
		--to "$(gw_ip "$k"):443" --first-delay-ms "$ms" --pidfile "$pf" \
		</dev/null >>"$d/delay_relay.log" 2>&1 &
	for ((i = 0; i < 100; i++)); do
		pid=$(relay_pid "$k")
		[ -n "$pid" ] && break
		sleep 0.05
	done
	[ -n "$pid" ] || die "delay_relay for gw$k did not start in 5 s; log: $d/delay_relay.log
$(tail -5 "$d/delay_relay.log" 2>/dev/null)"
	echo "$ms" >"$d/delay_relay.delay"
}

# ---- OpenVPN server (up N --openvpn) ----
# One openvpn 2.6 server in namespace P-ovpn, reached like a gateway through the router at
# 198.18.100.2 (udp 1194), with its own intranet host 10.30.0.10 (P-ovin) and its own CA.
# Clients log in with a password (auth-user-pass-verify via-file, ovpn/verify-user), with a
# client certificate, or both; an expired client certificate is made for the tests.
OVPN_NET=100                                    # 198.18.100.0/24 (gateways use 1..MAX_GW)
ovpn_ip() { echo "198.18.$OVPN_NET.2"; }
ovpn_rtr_ip() { echo "198.18.$OVPN_NET.1"; }
OVPN_PORT=1194
OVPN_INT_IP=10.30.0.1
OVPN_IN_IP=10.30.0.10
OVPN_POOL=10.31.0.0                             # /24; the server itself is 10.31.0.1
ns_ovpn() { echo "$PREFIX-ovpn"; }
ns_ovin() { echo "$PREFIX-ovin"; }
if_rtr_ov() { echo "$PREFIX-rov"; }             # router side of router<->openvpn server
if_ov_ext() { echo "$PREFIX-ove"; }             # server external side
if_ov_int() { echo "$PREFIX-ovi"; }             # server intranet side
if_ovin() { echo "$PREFIX-oin"; }               # its intranet host
ovpn_dir() { echo "$(state)/ovpn"; }
# The mode of the lab: present after `up N --openvpn` (state file openvpn).
has_ovpn() { [ -e "$(state)/openvpn" ]; }

net_up_ovpn() {
	local r o i
	r=$(ns_router); o=$(ns_ovpn); i=$(ns_ovin)
	ensure_ns "$o"; ensure_ns "$i"
	ensure_veth "$r" "$(if_rtr_ov)" "$o" "$(if_ov_ext)"
	ensure_veth "$o" "$(if_ov_int)" "$i" "$(if_ovin)"
	ensure_addr "$r" "$(if_rtr_ov)" "$(ovpn_rtr_ip)/24"
	ensure_addr "$o" "$(if_ov_ext)" "$(ovpn_ip)/24"
	ensure_addr "$o" "$(if_ov_int)" "$OVPN_INT_IP/24"
	ensure_addr "$i" "$(if_ovin)" "$OVPN_IN_IP/24"
	ip -n "$o" route replace default via "$(ovpn_rtr_ip)" || die "openvpn default route failed"
	ip -n "$i" route replace "$OVPN_POOL/24" via "$OVPN_INT_IP" || die "openvpn intranet route failed"
	set_forward "$o"
	inns "$i" sysctl -qw net.ipv4.icmp_echo_ignore_all=0
}

# certtool with a template; $1 = what (for errors), the rest its arguments
ovpn_certtool() {
	local what=$1; shift
	certtool "$@" 2>>"$(ovpn_dir)/certtool.log" >/dev/null ||
		die "certtool $what failed: see $(ovpn_dir)/certtool.log"
}

ovpn_key() { # FILE
	(umask 077; certtool --generate-privkey --key-type=ecdsa --curve=secp256r1 \
		--outfile "$1.tmp" 2>>"$(ovpn_dir)/certtool.log") ||
		die "certtool key $1 failed: see $(ovpn_dir)/certtool.log"
	mv "$1.tmp" "$1"
}

ovpn_cert() { # NAME TEMPLATE_TEXT: NAME-cert.pem / NAME-key.pem signed by the openvpn CA
	local d n=$1; d=$(ovpn_dir)
	[ -s "$d/$n-cert.pem" ] && [ -s "$d/$n-key.pem" ] && return 0
	printf '%s\n' "$2" >"$d/$n.tmpl"
	ovpn_key "$d/$n-key.pem"
	ovpn_certtool "$n cert" --generate-certificate --load-privkey "$d/$n-key.pem" \
		--load-ca-certificate "$d/ca.pem" --load-ca-privkey "$d/ca-key.pem" \
		--template "$d/$n.tmpl" --outfile "$d/$n-cert.pem.tmp"
	mv "$d/$n-cert.pem.tmp" "$d/$n-cert.pem"
	chmod 0644 "$d/$n-cert.pem"
}

ensure_ovpn_certs() {
	local d; d=$(ovpn_dir)
	if ! [ -s "$d/ca.pem" ] || ! [ -s "$d/ca-key.pem" ]; then
		# a CA of its own: a client certificate of this lab's ocserv CA is no key here
		printf '%s\n' "cn = \"epmon lab OpenVPN CA $PREFIX\"" 'organization = "epmon test lab"' \
			'serial = 1' 'expiration_days = 3650' ca signing_key cert_signing_key \
			crl_signing_key >"$d/ca.tmpl"
		ovpn_key "$d/ca-key.pem"
		ovpn_certtool "openvpn CA" --generate-self-signed --load-privkey "$d/ca-key.pem" \
			--template "$d/ca.tmpl" --outfile "$d/ca.pem.tmp"
		mv "$d/ca.pem.tmp" "$d/ca.pem"
		chmod 0644 "$d/ca.pem"
	fi
	ovpn_cert server "cn = \"$(ovpn_ip)\"
ip_address = \"$(ovpn_ip)\"
organization = \"epmon test lab\"
serial = 2
expiration_days = 3650
signing_key
tls_www_server"
	ovpn_cert client "cn = \"$USER_NAME\"
organization = \"epmon test lab\"
serial = 3
expiration_days = 3650
signing_key
tls_www_client"
	# valid in 2020 only: the server rejects it (the client only warns)
	ovpn_cert expired "cn = \"$USER_NAME-expired\"
organization = \"epmon test lab\"
serial = 4
activation_date = \"2020-01-01 00:00:00\"
expiration_date = \"2020-12-31 23:59:59\"
signing_key
tls_www_client"
}

# The password check: openvpn writes the user name and password the client sent into a
# temporary file (tmp-dir, 0600) and runs this with its path; only shell builtins see the
# password. No user name and no password (auth-user-pass-optional): a client that logs in
# with its certificate alone; TLS has verified it, the script only checks that there is one.
write_ovpn_verify() {
	local d; d=$(ovpn_dir)
	cat >"$d/verify-user.tmp" <<-EOF
		#!/bin/sh
		# epmon lab: openvpn auth-user-pass-verify via-file (generated by tests/lab/lab.sh)
		{ IFS= read -r user; IFS= read -r pass; } <"\$1" || exit 1
		if [ -z "\$user" ] && [ -z "\$pass" ]; then
		    [ -n "\${tls_serial_0:-}" ] && exit 0
		    echo "epmon-lab verify-user: no password and no client certificate" >&2
		    exit 1
		fi
		# ovpn-auth-delay: a slow password check (the seconds in auth-delay, when there)
		[ ! -s "$d/auth-delay" ] || sleep "\$(cat "$d/auth-delay")"
		IFS= read -r good <"$(state)/password" || exit 1
		[ "\$user" = "$USER_NAME" ] && [ "\$pass" = "\$good" ] && exit 0
		echo "epmon-lab verify-user: bad password for '\$user'" >&2
		exit 1
	EOF
	chmod 0755 "$d/verify-user.tmp"
	if cmp -s "$d/verify-user.tmp" "$d/verify-user"; then
		rm -f "$d/verify-user.tmp"
	else
		mv "$d/verify-user.tmp" "$d/verify-user"
	fi
}

write_ovpn_conf() {
	local d; d=$(ovpn_dir)
	mkdir -p "$d/tmp" && chmod 0700 "$d/tmp"
	cat >"$d/server.conf.tmp" <<-EOF
		# epmon lab OpenVPN server (generated by tests/lab/lab.sh)
		local $(ovpn_ip)
		port $OVPN_PORT
		proto udp4
		dev ovpns0
		dev-type tun
		disable-dco
		topology subnet
		server $OVPN_POOL 255.255.255.0
		push "route 10.30.0.0 255.255.255.0"
		ca $d/ca.pem
		cert $d/server-cert.pem
		key $d/server-key.pem
		dh none
		# a password, a client certificate, or both (verify-user decides)
		verify-client-cert optional
		auth-user-pass-optional
		script-security 2
		auth-user-pass-verify $d/verify-user via-file
		tmp-dir $d/tmp
		duplicate-cn
		max-clients 64
		keepalive 10 60
		verb 3
		mute-replay-warnings
	EOF
	if cmp -s "$d/server.conf.tmp" "$d/server.conf"; then
		rm -f "$d/server.conf.tmp"
		return 0
	fi
	mv "$d/server.conf.tmp" "$d/server.conf"
	[ -z "$(ovpn_pid)" ] || OVPN_CONF_CHANGED=1
}

# Prints the recorded pid of the openvpn server when that pid is alive, is openvpn and lives
# in its namespace; nothing otherwise.
ovpn_pid() {
	local pid comm
	pid=$(cat "$(ovpn_dir)/openvpn.pid" 2>/dev/null) || return 0
	[[ $pid =~ ^[0-9]+$ ]] || return 0
	comm=$(cat "/proc/$pid/comm" 2>/dev/null) || return 0
	[ "$comm" = openvpn ] || return 0
	alive "$pid" || return 0
	[ "$(ip netns identify "$pid" 2>/dev/null)" = "$(ns_ovpn)" ] || return 0
	echo "$pid"
}

ovpn_spawn() {
	local d; d=$(ovpn_dir)
	[ -n "$(ovpn_pid)" ] && return 0
	rm -f "$d/openvpn.pid"
	# Foreground like ocserv, its log into a file; it is ready when it logs "Initialization
	# Sequence Completed" after this start's marker line (ovpn_wait).
	echo "==== lab.sh start $(date +%s%N)" >>"$d/openvpn.log"
	wc -l <"$d/openvpn.log" >"$d/log.mark"
	setsid ip netns exec "$(ns_ovpn)" openvpn --config "$d/server.conf" \
		</dev/null >>"$d/openvpn.log" 2>&1 &
	echo $! >"$d/openvpn.pid"
}

ovpn_wait() { # until the server says "Initialization Sequence Completed" (5 s)
	local d i pid mark; d=$(ovpn_dir)
	mark=$(cat "$d/log.mark" 2>/dev/null || echo 0)
	for ((i = 0; i < 100; i++)); do
		if [ -n "$(ovpn_pid)" ]; then
			tail -n "+$((mark + 1))" "$d/openvpn.log" | grep -q 'Initialization Sequence Completed' &&
				return 0
		else
			# right after the spawn it may still be setsid/ip netns exec: alive = starting
			pid=$(cat "$d/openvpn.pid" 2>/dev/null)
			if ! [[ $pid =~ ^[0-9]+$ ]] || ! alive "$pid" || [ "$i" -ge 40 ]; then
				die "openvpn server exited; log: $d/openvpn.log
$(tail -5 "$d/openvpn.log" 2>/dev/null)"
			fi
		fi
		sleep 0.05
	done
	die "openvpn server not ready after 5 s; log: $d/openvpn.log
$(tail -5 "$d/openvpn.log" 2>/dev/null)"
}

ovpn_stop() { # SIGTERM the recorded server, SIGKILL after 3 s
	local pid i
	pid=$(ovpn_pid)
	rm -f "$(ovpn_dir)/openvpn.pid"
	[ -n "$pid" ] || return 0
	kill -TERM "$pid" 2>/dev/null || return 0
	kill -CONT "$pid" 2>/dev/null || true # paused (ovpn-pause): SIGTERM waits for it
	for ((i = 0; i < 60; i++)); do
		alive "$pid" || return 0
		sleep 0.05
	done
	say "openvpn $pid ignored SIGTERM for 3 s, sending SIGKILL"
	kill -KILL "$pid" 2>/dev/null || true
}

ovpn_up() {
	local d; d=$(ovpn_dir)
	command -v openvpn >/dev/null 2>&1 || die "missing: openvpn (run: sudo make deps)"
	mkdir -p "$d" && chmod 0700 "$d"
	net_up_ovpn
	ensure_ovpn_certs
	write_ovpn_verify
	OVPN_CONF_CHANGED=0
	write_ovpn_conf
	if [ "$OVPN_CONF_CHANGED" = 1 ]; then
		say "up: openvpn config changed, restarting the openvpn server"
		ovpn_stop
	fi
	# repair: a paused server (ovpn-pause) goes on
	local pid; pid=$(ovpn_pid)
	if [ -n "$pid" ] && ovpn_paused "$pid"; then kill -CONT "$pid" 2>/dev/null || true; fi
	ovpn_spawn
}

# ovpn-pause: the server hangs (SIGSTOP): its port stays open, nothing answers, no ICMP.
ovpn_signal() { # SIGNAL
	local pid; pid=$(ovpn_pid)
	[ -n "$pid" ] || die "the openvpn server is not running"
	kill "-$1" "$pid" || die "kill -$1 $pid failed"
}

ovpn_paused() { [ "$(awk '/^State:/ {print $2}' "/proc/$1/status" 2>/dev/null)" = T ]; }

remove_ovpn() {
	ovpn_stop
	del_ns "$(ns_ovin)"
	del_ns "$(ns_ovpn)"
	# (deleting the namespace took its veth; a half-made one may be left in the router)
	if ns_exists "$(ns_router)"; then ip -n "$(ns_router)" link del "$(if_rtr_ov)" 2>/dev/null || true; fi
	rm -rf "$(ovpn_dir)" "$(state)/openvpn"
}

# ---- WireGuard peer (issue 10) ----
# wireguard-go in namespace P-wg, reached like a gateway through the router at 198.18.101.2
# (udp 51820), with its own intranet host 10.40.0.10 (P-wgin). Its interface is named
# P-wg: wireguard-go's control socket is /var/run/wireguard/IFNAME.sock, a directory every
# namespace shares, so the name must be unique across labs. It knows two clients: client1
# (10.41.0.2) and client2 (10.41.0.3, with a preshared key); "wrong" is a key it does not
# know. Keys from `wg genkey` in wg/ (0600); the peer is configured with `wg set`.
WG_NET=101                                      # 198.18.101.0/24
wg_ip() { echo "198.18.$WG_NET.2"; }
wg_rtr_ip() { echo "198.18.$WG_NET.1"; }
WG_PORT=51820
WG_INT_IP=10.40.0.1
WG_IN_IP=10.40.0.10
WG_TUN_IP=10.41.0.1                             # the peer's tunnel address (/24)
wg_client_ip() { echo "10.41.0.$(($1 + 1))"; }  # client1 10.41.0.2, client2 10.41.0.3
ns_wg() { echo "$PREFIX-wg"; }
ns_wgin() { echo "$PREFIX-wgin"; }
if_wg() { echo "$PREFIX-wg"; }                  # the peer's WireGuard interface
if_rtr_wg() { echo "$PREFIX-rwg"; }             # router side of router<->peer
if_wg_ext() { echo "$PREFIX-wge"; }             # peer external side
if_wg_int() { echo "$PREFIX-wgi"; }             # peer intranet side
if_wgin() { echo "$PREFIX-win"; }               # its intranet host
wg_dir() { echo "$(state)/wg"; }
has_wg() { [ -e "$(state)/wireguard" ]; }

net_up_wg() {
	local r w i
	r=$(ns_router); w=$(ns_wg); i=$(ns_wgin)
	ensure_ns "$w"; ensure_ns "$i"
	ensure_veth "$r" "$(if_rtr_wg)" "$w" "$(if_wg_ext)"
	ensure_veth "$w" "$(if_wg_int)" "$i" "$(if_wgin)"
	ensure_addr "$r" "$(if_rtr_wg)" "$(wg_rtr_ip)/24"
	ensure_addr "$w" "$(if_wg_ext)" "$(wg_ip)/24"
	ensure_addr "$w" "$(if_wg_int)" "$WG_INT_IP/24"
	ensure_addr "$i" "$(if_wgin)" "$WG_IN_IP/24"
	ip -n "$w" route replace default via "$(wg_rtr_ip)" || die "wireguard default route failed"
	ip -n "$i" route replace "${WG_TUN_IP%.1}.0/24" via "$WG_INT_IP" || die "wireguard intranet route failed"
	set_forward "$w"
	inns "$i" sysctl -qw net.ipv4.icmp_echo_ignore_all=0
}

ensure_wg_key() { # NAME: NAME.key (0600) and NAME.pub
	local d; d=$(wg_dir)
	if ! [ -s "$d/$1.key" ]; then
		(umask 077; wg genkey >"$d/$1.key.tmp") || die "wg genkey failed"
		mv "$d/$1.key.tmp" "$d/$1.key"
	fi
	[ -s "$d/$1.pub" ] || wg pubkey <"$d/$1.key" >"$d/$1.pub" || die "wg pubkey failed"
}

ensure_wg_keys() {
	local d; d=$(wg_dir)
	ensure_wg_key peer; ensure_wg_key client1; ensure_wg_key client2; ensure_wg_key wrong
	if ! [ -s "$d/client2.psk" ]; then
		(umask 077; wg genpsk >"$d/client2.psk.tmp") || die "wg genpsk failed"
		mv "$d/client2.psk.tmp" "$d/client2.psk"
	fi
}

# Prints the recorded pid of the peer's wireguard-go when that pid is alive, is wireguard-go
# and lives in its namespace; nothing otherwise.
wg_pid() {
	local pid comm
	pid=$(cat "$(wg_dir)/wireguard-go.pid" 2>/dev/null) || return 0
	[[ $pid =~ ^[0-9]+$ ]] || return 0
	comm=$(cat "/proc/$pid/comm" 2>/dev/null) || return 0
	[ "$comm" = wireguard-go ] || return 0
	alive "$pid" || return 0
	[ "$(ip netns identify "$pid" 2>/dev/null)" = "$(ns_wg)" ] || return 0
	echo "$pid"
}

# Starts wireguard-go (foreground, its log into a file) unless it runs, waits for its
# control socket, then (re)configures it: keys, peers, address, link up. Idempotent.
wg_start() {
	local d i pid w; d=$(wg_dir); w=$(ns_wg)
	if [ -z "$(wg_pid)" ]; then
		rm -f "$d/wireguard-go.pid"
		# `ip netns exec` and env exec: $! is wireguard-go itself
		setsid ip netns exec "$w" env LOG_LEVEL=verbose wireguard-go -f "$(if_wg)" \
			</dev/null >>"$d/wireguard-go.log" 2>&1 &
		echo $! >"$d/wireguard-go.pid"
	fi
	for ((i = 0; i < 100; i++)); do
		inns "$w" wg show "$(if_wg)" >/dev/null 2>&1 && break
		pid=$(cat "$d/wireguard-go.pid" 2>/dev/null)
		alive "$pid" || die "wireguard-go exited; log: $d/wireguard-go.log
$(tail -5 "$d/wireguard-go.log" 2>/dev/null)"
		sleep 0.05
	done
	[ "$i" -lt 100 ] || die "wireguard-go control socket not ready after 5 s; log: $d/wireguard-go.log"
	inns "$w" wg set "$(if_wg)" listen-port "$WG_PORT" private-key "$d/peer.key" \
		peer "$(cat "$d/client1.pub")" allowed-ips "$(wg_client_ip 1)/32" \
		peer "$(cat "$d/client2.pub")" preshared-key "$d/client2.psk" allowed-ips "$(wg_client_ip 2)/32" ||
		die "wg set $(if_wg) failed"
	ip -n "$w" addr replace "$WG_TUN_IP/24" dev "$(if_wg)" || die "wireguard peer address failed"
	ip -n "$w" link set "$(if_wg)" up || die "wireguard peer link up failed"
}

wg_stop() { # SIGTERM the recorded wireguard-go, SIGKILL after 3 s
	local pid i
	pid=$(wg_pid)
	rm -f "$(wg_dir)/wireguard-go.pid"
	[ -n "$pid" ] || return 0
	kill -TERM "$pid" 2>/dev/null || return 0
	for ((i = 0; i < 60; i++)); do
		alive "$pid" || return 0
		sleep 0.05
	done
	say "wireguard-go $pid ignored SIGTERM for 3 s, sending SIGKILL"
	kill -KILL "$pid" 2>/dev/null || true
}

wg_up() {
	local d; d=$(wg_dir)
	command -v wireguard-go >/dev/null 2>&1 && command -v wg >/dev/null 2>&1 ||
		die "missing: wireguard-go and wg (run: sudo make deps)"
	mkdir -p "$d" && chmod 0700 "$d"
	net_up_wg
	ensure_wg_keys
	wg_start
}

remove_wg() {
	wg_stop
	del_ns "$(ns_wgin)"
	del_ns "$(ns_wg)"
	if ns_exists "$(ns_router)"; then ip -n "$(ns_router)" link del "$(if_rtr_wg)" 2>/dev/null || true; fi
	rm -rf "$(wg_dir)" "$(state)/wireguard"
}

# ---- strongSwan IKEv2 responder (issue 10) ----
# charon (kernel-libipsec: userspace ESP over its TUN device ipsec0, UDP-encapsulated) in
# namespace P-ike, reached like a gateway through the router at 198.18.102.2 (udp 500/4500),
# with its own intranet host 10.50.0.10 (P-ikein), its own CA and a server certificate for
# its addresses. Two connections, one per address of its external side: rw on 198.18.102.2
# asks for EAP-MSCHAPv2, rw-md5 on 198.18.102.3 for EAP-MD5 (same certificate, pool and
# child); users monitor with the lab password and monitor2 with its own (ike/password2).
# Virtual IPs from 10.51.0.0/24. charon's pid file (/var/run/charon.pid) is fixed at build
# time, so it runs in a mount namespace of its own where ike/run is bound onto /run: its pid
# file, its strongswan.conf and its VICI socket are all in ike/run. Configured with swanctl
# over that socket. Routes: charon installs none (install_routes = no); lab.sh routes the pool into
# ipsec0.
IKE_NET=102                                     # 198.18.102.0/24
ike_ip() { echo "198.18.$IKE_NET.2"; }          # connection rw: EAP-MSCHAPv2
ike_md5_ip() { echo "198.18.$IKE_NET.3"; }      # connection rw-md5: EAP-MD5 (same interface)
IKE_CONN=rw
IKE_MD5_CONN=rw-md5
IKE_USER2=monitor2                              # its password: ike/password2
ike_rtr_ip() { echo "198.18.$IKE_NET.1"; }
IKE_INT_IP=10.50.0.1
IKE_IN_IP=10.50.0.10
IKE_POOL=10.51.0.0                              # /24
CHARON=/usr/lib/ipsec/charon
ns_ike() { echo "$PREFIX-ike"; }
ns_ikein() { echo "$PREFIX-ikein"; }
if_rtr_ike() { echo "$PREFIX-rik"; }            # router side of router<->responder
if_ike_ext() { echo "$PREFIX-ike"; }            # responder external side
if_ike_int() { echo "$PREFIX-iki"; }            # responder intranet side
if_ikein() { echo "$PREFIX-kin"; }              # its intranet host
ike_dir() { echo "$(state)/ike"; }
has_ike() { [ -e "$(state)/ipsec" ]; }

net_up_ike() {
	local r o i
	r=$(ns_router); o=$(ns_ike); i=$(ns_ikein)
	ensure_ns "$o"; ensure_ns "$i"
	ensure_veth "$r" "$(if_rtr_ike)" "$o" "$(if_ike_ext)"
	ensure_veth "$o" "$(if_ike_int)" "$i" "$(if_ikein)"
	ensure_addr "$r" "$(if_rtr_ike)" "$(ike_rtr_ip)/24"
	ensure_addr "$o" "$(if_ike_ext)" "$(ike_ip)/24"
	# the EAP-MD5 address: a second one on the same link (the router's 198.18.102.0/24 is
	# connected there, so the probe reaches it like the first; charon answers from the
	# address it was asked on)
	ensure_addr "$o" "$(if_ike_ext)" "$(ike_md5_ip)/24"
	ensure_addr "$o" "$(if_ike_int)" "$IKE_INT_IP/24"
	ensure_addr "$i" "$(if_ikein)" "$IKE_IN_IP/24"
	ip -n "$o" route replace default via "$(ike_rtr_ip)" || die "ipsec default route failed"
	ip -n "$i" route replace "$IKE_POOL/24" via "$IKE_INT_IP" || die "ipsec intranet route failed"
	set_forward "$o"
	inns "$i" sysctl -qw net.ipv4.icmp_echo_ignore_all=0
}

# ike_conn_conf NAME ADDRESS EAP_METHOD: one swanctl connection of the responder, bound to
# one of its addresses (local_addrs picks it in IKE_SA_INIT), its certificate for that
# address, the pool and the intranet child.
ike_conn_conf() {
	cat <<-EOF2
		    $1 {
		        version = 2
		        local_addrs = $2
		        encap = yes
		        pools = pool
		        send_certreq = no
		        local {
		            auth = pubkey
		            certs = $(ike_dir)/server-cert.pem
		            id = $2
		        }
		        remote {
		            auth = $3
		            eap_id = %any
		        }
		        children {
		            net { local_ts = ${IKE_INT_IP%.1}.0/24 }
		        }
		    }
	EOF2
}

ike_certtool() { # WHAT ARGS...
	local what=$1; shift
	certtool "$@" 2>>"$(ike_dir)/certtool.log" >/dev/null ||
		die "certtool $what failed: see $(ike_dir)/certtool.log"
}

ike_key() { # FILE
	(umask 077; certtool --generate-privkey --key-type=ecdsa --curve=secp256r1 \
		--outfile "$1.tmp" 2>>"$(ike_dir)/certtool.log") ||
		die "certtool key $1 failed: see $(ike_dir)/certtool.log"
	mv "$1.tmp" "$1"
}

ensure_ike_certs() {
	local d; d=$(ike_dir)
	if ! [ -s "$d/ca.pem" ] || ! [ -s "$d/ca-key.pem" ]; then
		printf '%s\n' "cn = \"epmon lab IPsec CA $PREFIX\"" 'organization = "epmon test lab"' \
			'serial = 1' 'expiration_days = 3650' ca signing_key cert_signing_key \
			crl_signing_key >"$d/ca.tmpl"
		ike_key "$d/ca-key.pem"
		ike_certtool "ipsec CA" --generate-self-signed --load-privkey "$d/ca-key.pem" \
			--template "$d/ca.tmpl" --outfile "$d/ca.pem.tmp"
		mv "$d/ca.pem.tmp" "$d/ca.pem"
		chmod 0644 "$d/ca.pem"
	fi
	# One certificate for both addresses (an IP subjectAltName each); remade when the
	# template changed (a lab made before the EAP-MD5 address had only the first).
	printf '%s\n' "cn = \"$(ike_ip)\"" "ip_address = \"$(ike_ip)\"" \
		"ip_address = \"$(ike_md5_ip)\"" 'organization = "epmon test lab"' 'serial = 2' \
		'expiration_days = 3650' signing_key tls_www_server >"$d/server.tmpl.new"
	if ! [ -s "$d/server-cert.pem" ] || ! [ -s "$d/server-key.pem" ] ||
		! cmp -s "$d/server.tmpl.new" "$d/server.tmpl"; then
		mv "$d/server.tmpl.new" "$d/server.tmpl"
		ike_key "$d/server-key.pem"
		ike_certtool "ipsec server cert" --generate-certificate --load-privkey "$d/server-key.pem" \
			--load-ca-certificate "$d/ca.pem" --load-ca-privkey "$d/ca-key.pem" \
			--template "$d/server.tmpl" --outfile "$d/server-cert.pem.tmp"
		mv "$d/server-cert.pem.tmp" "$d/server-cert.pem"
		chmod 0644 "$d/server-cert.pem"
		IKE_RESTART=1 # a new key: start charon afresh with it (not beside the old one)
	fi
	rm -f "$d/server.tmpl.new"
}

# strongswan.conf (run/, read at start: IKE_RESTART=1 when it changed) and swanctl.conf
# (0600: the EAP secrets, base64 so no quoting matters), loaded over VICI by ike_start.
write_ike_conf() {
	local d pw pw2; d=$(ike_dir)
	cat >"$d/run/strongswan.conf.tmp" <<-EOF2
		# epmon lab responder (generated by tests/lab/lab.sh)
		charon {
		    load = random nonce openssl pem pkcs1 pkcs8 x509 pubkey constraints sha1 sha2 hmac kdf aes gcm kernel-libipsec kernel-netlink socket-default vici eap-identity eap-mschapv2 eap-md5 attr
		    # routes through ipsec0 into the main table (not 220 with a rule)
		    routing_table = 254
		    routing_table_prio = 0
		    retransmit_tries = 3
		    # an IKE_SA not established after 5 s goes (default 30 s): a client that rejects
		    # this responder's certificate sends AUTH_FAILED in an INFORMATIONAL, which
		    # charon 5.9 answers without dropping the half-open IKE_SA
		    half_open_timeout = 5
		    plugins {
		        vici { socket = unix:///run/charon.vici }
		        kernel-netlink { fwmark = !0x42 }
		    }
		    filelog {
		        stderr { default = 1 time_format = %H:%M:%S }
		    }
		}
	EOF2
	if cmp -s "$d/run/strongswan.conf.tmp" "$d/run/strongswan.conf"; then
		rm -f "$d/run/strongswan.conf.tmp"
	else
		mv "$d/run/strongswan.conf.tmp" "$d/run/strongswan.conf"
		IKE_RESTART=1
	fi
	pw=$(head -1 "$(state)/password" | tr -d '\n' | base64 -w0)
	pw2=$(head -1 "$d/password2" | tr -d '\n' | base64 -w0)
	(umask 077; cat >"$d/swanctl.conf.tmp" <<-EOF2
		connections {
		$(ike_conn_conf "$IKE_CONN" "$(ike_ip)" eap-mschapv2)
		$(ike_conn_conf "$IKE_MD5_CONN" "$(ike_md5_ip)" eap-md5)
		}
		pools { pool { addrs = $IKE_POOL/24 } }
		secrets {
		    eap-monitor {
		        id = $USER_NAME
		        secret = 0s$pw
		    }
		    eap-monitor2 {
		        id = $IKE_USER2
		        secret = 0s$pw2
		    }
		    private-server { file = $d/server-key.pem }
		}
	EOF2
	) || die "cannot write $d/swanctl.conf"
	mv "$d/swanctl.conf.tmp" "$d/swanctl.conf"
	# swanctl --load-all takes private keys from private/ beside swanctl.conf (PEM only:
	# certtool writes a text dump before it)
	mkdir -p "$d/private" && chmod 0700 "$d/private"
	(umask 077; sed -n '/^-----BEGIN/,/^-----END/p' "$d/server-key.pem" >"$d/private/server-key.pem") ||
		die "cannot write $d/private/server-key.pem"
}

# Prints the recorded pid of the responder's charon when alive, charon, in its namespace.
ike_pid() {
	local pid comm
	pid=$(cat "$(ike_dir)/charon.pid" 2>/dev/null) || return 0
	[[ $pid =~ ^[0-9]+$ ]] || return 0
	comm=$(cat "/proc/$pid/comm" 2>/dev/null) || return 0
	[ "$comm" = charon ] || return 0
	alive "$pid" || return 0
	[ "$(ip netns identify "$pid" 2>/dev/null)" = "$(ns_ike)" ] || return 0
	echo "$pid"
}

ike_swanctl() { swanctl "$@" --uri "unix://$(ike_dir)/run/charon.vici"; }

# ike_has_md5_ip: true when the EAP-MD5 address is on the responder's external side.
ike_has_md5_ip() {
	ip -n "$(ns_ike)" -4 -o addr show dev "$(if_ike_ext)" 2>/dev/null | grep -q " $(ike_md5_ip)/"
}

# Starts charon unless it runs, waits for its VICI socket (5 s), loads the configuration
# and routes the pool into ipsec0. Idempotent.
ike_start() {
	local d i pid; d=$(ike_dir)
	if [ -z "$(ike_pid)" ]; then
		rm -f "$d/charon.pid" "$d/run/charon.pid" "$d/run/charon.vici"
		# `ip netns exec`, unshare, sh and env exec: $! is charon itself
		setsid ip netns exec "$(ns_ike)" unshare -m --propagation private \
			sh -c 'mount --bind "$1" /run && exec env STRONGSWAN_CONF=/run/strongswan.conf "$2"' \
			sh "$d/run" "$CHARON" </dev/null >>"$d/charon.log" 2>&1 &
		echo $! >"$d/charon.pid"
	fi
	for ((i = 0; i < 100; i++)); do
		[ -S "$d/run/charon.vici" ] && ike_swanctl --stats >/dev/null 2>&1 && break
		pid=$(cat "$d/charon.pid" 2>/dev/null)
		alive "$pid" || die "charon exited; log: $d/charon.log
$(tail -5 "$d/charon.log" 2>/dev/null)"
		sleep 0.05
	done
	[ "$i" -lt 100 ] || die "charon's VICI socket not ready after 5 s; log: $d/charon.log"
	ike_swanctl --load-all --noprompt --file "$d/swanctl.conf" >>"$d/swanctl.log" 2>&1 ||
		die "swanctl --load-all failed: see $d/swanctl.log
$(tail -5 "$d/swanctl.log")"
	for ((i = 0; i < 100; i++)); do
		ip -n "$(ns_ike)" link show ipsec0 >/dev/null 2>&1 && break
		sleep 0.05
	done
	ip -n "$(ns_ike)" link set ipsec0 up 2>/dev/null || true
	ip -n "$(ns_ike)" route replace "$IKE_POOL/24" dev ipsec0 ||
		die "cannot route $IKE_POOL/24 into ipsec0 in $(ns_ike)"
}

ike_stop() { # SIGTERM the recorded charon, SIGKILL after 3 s
	local pid i
	pid=$(ike_pid)
	rm -f "$(ike_dir)/charon.pid"
	[ -n "$pid" ] || return 0
	kill -TERM "$pid" 2>/dev/null || return 0
	for ((i = 0; i < 60; i++)); do
		alive "$pid" || return 0
		sleep 0.05
	done
	say "charon $pid ignored SIGTERM for 3 s, sending SIGKILL"
	kill -KILL "$pid" 2>/dev/null || true
}

ike_up() {
	local d; d=$(ike_dir)
	[ -x "$CHARON" ] && command -v swanctl >/dev/null 2>&1 ||
		die "missing: $CHARON and swanctl (run: sudo make deps)"
	mkdir -p "$d/run" && chmod 0700 "$d" "$d/run"
	net_up_ike
	ensure_secret_file "$d/password2"
	IKE_RESTART=0
	ensure_ike_certs
	write_ike_conf
	# charon reads strongswan.conf (its plugins) once: restart it when that changed
	if [ "$IKE_RESTART" = 1 ] && [ -n "$(ike_pid)" ]; then
		say "up: responder config changed, restarting charon"
		ike_stop
	fi
	ike_start
}

remove_ike() {
	ike_stop
	del_ns "$(ns_ikein)"
	del_ns "$(ns_ike)"
	if ns_exists "$(ns_router)"; then ip -n "$(ns_router)" link del "$(if_rtr_ike)" 2>/dev/null || true; fi
	rm -rf "$(ike_dir)" "$(state)/ipsec"
}

# ---- commands ----
cmd_up() { # N [--same-pool] [--openvpn] [--wireguard] [--ipsec]
	local n=${1:-} pool='' ovpn='' wgo='' ike='' opt k old s started=()
	[[ $n =~ ^[1-9][0-9]*$ ]] && [ "$n" -le "$MAX_GW" ] || die "up: N must be 1..$MAX_GW"
	shift || true
	for opt in "$@"; do
		case $opt in
		"") ;;
		--same-pool) pool=$opt ;;
		--openvpn) ovpn=$opt ;;
		--wireguard) wgo=$opt ;;
		--ipsec) ike=$opt ;;
		*) die "up: unknown option '$opt'" ;;
		esac
	done
	s=$(state)
	mkdir -p "$s" || die "cannot create $s"
	chmod 0755 "$LAB_ROOT" "$s"
	old=$(gw_count)
	# Shrinking: remove the gateways beyond N first.
	for ((k = n + 1; k <= old; k++)); do remove_gw "$k"; done
	echo "$n" >"$s/count"
	# The pool mode is what this `up` says (a plain `up` goes back to one range per gateway).
	if [ "$pool" = --same-pool ]; then : >"$s/same-pool"; else rm -f "$s/same-pool"; fi
	# So is the OpenVPN server: a plain `up` removes one an earlier `up --openvpn` made.
	if [ -z "$ovpn" ] && { has_ovpn || [ -d "$(ovpn_dir)" ]; }; then remove_ovpn; fi
	if [ -z "$wgo" ] && { has_wg || [ -d "$(wg_dir)" ]; }; then remove_wg; fi
	if [ -z "$ike" ] && { has_ike || [ -d "$(ike_dir)" ]; }; then remove_ike; fi
	CONF_CHANGED=()
	ensure_secret_file "$s/password"
	ensure_secret_file "$s/wrong-password"
	ensure_ca
	net_up_core
	ensure_resolv_conf
	for ((k = 1; k <= n; k++)); do
		mkdir -p "$(gw_dir "$k")"
		net_up_gw "$k"
		ensure_gw_cert "$k"
		ensure_passwd "$k"
		write_ocserv_conf "$k"
	done
	# ocserv reads its config once: restart those whose config changed (all at once).
	[ ${#CONF_CHANGED[@]} -eq 0 ] || {
		say "up: config changed, restarting ocserv of gw ${CONF_CHANGED[*]}"
		ocserv_stop "${CONF_CHANGED[@]}"
	}
	if [ -n "$ovpn" ]; then
		: >"$s/openvpn"
		ovpn_up # spawned: it starts while the ocserv do
	fi
	if [ -n "$wgo" ]; then
		: >"$s/wireguard"
		wg_up
	fi
	if [ -n "$ike" ]; then
		: >"$s/ipsec"
		ike_up
	fi
	for ((k = 1; k <= n; k++)); do
		ocserv_spawn "$k"
		started+=("$k")
	done
	ocserv_wait "${started[@]}"
	[ -z "$ovpn" ] || ovpn_wait
	say "up: prefix $PREFIX, $n gateway(s)$(same_pool && echo ", same pool $SAME_POOL_NET/24")$(has_ovpn && echo ", openvpn server $(ovpn_ip)")$(has_wg && echo ", wireguard peer $(wg_ip)")$(has_ike && echo ", ipsec responder $(ike_ip) (eap-md5 $(ike_md5_ip))"), state $s"
}

remove_gw() { # K
	local k=$1
	responder_stop "$k"
	relay_stop "$k"
	ocserv_stop "$k"
	del_ns "$(ns_in "$k")"
	del_ns "$(ns_gw "$k")"
	rm -rf "$(gw_dir "$k")" "$(gw_etc "$k")"
}

del_ns() { # NAME
	local left
	ns_exists "$1" || return 0
	left=$(ip netns pids "$1" 2>/dev/null | tr '\n' ' ')
	# Not ours to kill (e.g. a test's openconnect); the namespace lives on until they exit.
	[ -z "$left" ] || say "warning: processes still in $1: $left"
	ip netns del "$1" || say "warning: ip netns del $1 failed"
}

cmd_down() {
	local k n s name d ks=()
	s=$(state)
	n=$(gw_count)
	# Stop every recorded ocserv, even of gateways beyond the recorded count.
	for d in "$s"/gw*; do
		k=${d##*/gw}
		[ -d "$d" ] && [[ $k =~ ^[0-9]+$ ]] && ks+=("$k")
	done
	for k in "${ks[@]}"; do responder_stop "$k"; relay_stop "$k"; done
	ovpn_stop
	wg_stop
	ike_stop
	[ ${#ks[@]} -eq 0 ] || ocserv_stop "${ks[@]}"
	# Every namespace with our prefix and a lab role, whether or not `count` was written.
	for name in $(ip netns list 2>/dev/null | awk '{print $1}'); do
		case $name in
		"$PREFIX-probe" | "$PREFIX-rtr") del_ns "$name" ;;
		"$PREFIX"-gw[0-9]* | "$PREFIX"-in[0-9]*) del_ns "$name" ;;
		"$PREFIX-ovpn" | "$PREFIX-ovin") del_ns "$name" ;;
		"$PREFIX-wg" | "$PREFIX-wgin") del_ns "$name" ;;
		"$PREFIX-ike" | "$PREFIX-ikein") del_ns "$name" ;;
		esac
	done
	rm -rf "$(netns_etc)"
	for d in /etc/netns/"$PREFIX"-gw[0-9]*; do [ -d "$d" ] && rm -rf "$d"; done
	rmdir /etc/netns 2>/dev/null || true
	rm -rf "$s"
	rmdir "$LAB_ROOT" 2>/dev/null || true
	say "down: prefix $PREFIX removed ($n gateway(s))"
}

cmd_status() {
	local n k ok=0 pid
	n=$(gw_count)
	echo "prefix $PREFIX, state $(state), gateways $n"
	[ "$n" -gt 0 ] || { echo "not up"; return 1; }
	for name in "$(ns_probe)" "$(ns_router)"; do
		if ns_exists "$name"; then echo "ns $name: present"; else echo "ns $name: MISSING"; ok=1; fi
	done
	same_pool && echo "same pool: every gateway gives $SAME_POOL_NET/24"
	for ((k = 1; k <= n; k++)); do
		pid=$(ocserv_pid "$k")
		printf 'gw%d %s ns=%s intranet=%s(%s)%s ocserv=%s' "$k" "$(gw_ip "$k")" \
			"$(ns_exists "$(ns_gw "$k")" && echo ok || echo MISSING)" "$(in_ip "$k")" \
			"$(ns_exists "$(ns_in "$k")" && echo ok || echo MISSING)" \
			"$([ -n "$(responder_pid "$k")" ] && echo " delay=$(cat "$(gw_dir "$k")/echo_responder.delay" 2>/dev/null)ms")" \
			"${pid:-STOPPED}"
		if [ -n "$pid" ] && ocserv_listening "$k"; then echo " listening"; else echo; ok=1; fi
	done
	if has_ovpn; then
		pid=$(ovpn_pid)
		printf 'openvpn %s udp %s ns=%s intranet=%s(%s) openvpn=%s' "$(ovpn_ip)" "$OVPN_PORT" \
			"$(ns_exists "$(ns_ovpn)" && echo ok || echo MISSING)" "$OVPN_IN_IP" \
			"$(ns_exists "$(ns_ovin)" && echo ok || echo MISSING)" \
			"${pid:-STOPPED}$([ -n "$pid" ] && ovpn_paused "$pid" && echo " PAUSED")"
		if [ -n "$pid" ] && inns "$(ns_ovpn)" ss -Huln "sport = :$OVPN_PORT" 2>/dev/null | grep -q .; then
			echo " listening"
		else
			echo; ok=1
		fi
	fi
	if has_wg; then
		pid=$(wg_pid)
		printf 'wireguard %s udp %s ns=%s intranet=%s(%s) wireguard-go=%s' "$(wg_ip)" "$WG_PORT" \
			"$(ns_exists "$(ns_wg)" && echo ok || echo MISSING)" "$WG_IN_IP" \
			"$(ns_exists "$(ns_wgin)" && echo ok || echo MISSING)" "${pid:-STOPPED}"
		if [ -n "$pid" ] && inns "$(ns_wg)" ss -Huln "sport = :$WG_PORT" 2>/dev/null | grep -q .; then
			echo " listening"
		else
			echo; ok=1
		fi
	fi
	if has_ike; then
		pid=$(ike_pid)
		printf 'ipsec %s eap-md5=%s(%s) udp 500/4500 ns=%s intranet=%s(%s) charon=%s' "$(ike_ip)" \
			"$(ike_md5_ip)" "$(ike_has_md5_ip && echo ok || echo MISSING)" \
			"$(ns_exists "$(ns_ike)" && echo ok || echo MISSING)" "$IKE_IN_IP" \
			"$(ns_exists "$(ns_ikein)" && echo ok || echo MISSING)" "${pid:-STOPPED}"
		if [ -n "$pid" ] && ike_has_md5_ip &&
			inns "$(ns_ike)" ss -Huln "sport = :500" 2>/dev/null | grep -q .; then
			echo " listening"
		else
			echo; ok=1
		fi
	fi
	return $ok
}

cmd_env() {
	local n k s
	n=$(gw_count); s=$(state)
	[ "$n" -gt 0 ] || die "env: lab '$PREFIX' is not up (run: lab.sh up N --prefix $PREFIX)"
	kv() { printf '%s=%q\n' "$1" "$2"; }
	kv LAB_PREFIX "$PREFIX"
	kv LAB_STATE "$s"
	kv LAB_N "$n"
	kv LAB_NS_PROBE "$(ns_probe)"
	kv LAB_NS_ROUTER "$(ns_router)"
	kv LAB_PROBE_IP "$PROBE_IP"
	kv LAB_ROUTER_IP "$ROUTER_IP"
	kv LAB_PROBE_IF "$(if_probe)"
	kv LAB_RESOLV_CONF "$(netns_etc)/resolv.conf"
	kv LAB_CA "$s/ca.pem"
	kv LAB_USER "$USER_NAME"
	kv LAB_PASSWORD_FILE "$s/password"
	kv LAB_WRONG_PASSWORD_FILE "$s/wrong-password"
	kv LAB_SAME_POOL "$(same_pool && echo 1 || echo 0)"
	for ((k = 1; k <= n; k++)); do
		kv "LAB_GW${k}_NS" "$(ns_gw "$k")"
		kv "LAB_GW${k}_IP" "$(gw_ip "$k")"
		kv "LAB_GW${k}_POOL" "$(pool_net "$k")/24"
		kv "LAB_GW${k}_TUNNEL_IP" "$(tunnel_ip "$k")"
		kv "LAB_GW${k}_DNS" "$(dns_ip "$k")"
		kv "LAB_GW${k}_INTRANET_NS" "$(ns_in "$k")"
		kv "LAB_GW${k}_INTRANET_IP" "$(in_ip "$k")"
		kv "LAB_GW${k}_INTRANET_DELAY_MS" "$([ -n "$(responder_pid "$k")" ] && cat "$(gw_dir "$k")/echo_responder.delay" 2>/dev/null)"
		kv "LAB_GW${k}_AUTH_DELAY_MS" "$(auth_delay "$k")"
		kv "LAB_GW${k}_RELAY" "$([ -n "$(relay_pid "$k")" ] && echo "$(gw_ip "$k"):$RELAY_PORT")"
		kv "LAB_GW${k}_OCSERV_PID" "$(ocserv_pid "$k")"
		kv "LAB_GW${k}_OCSERV_CONF" "$(gw_dir "$k")/ocserv.conf"
		kv "LAB_GW${k}_OCSERV_LOG" "$(gw_dir "$k")/ocserv.log"
	done
	kv LAB_OVPN "$(has_ovpn && echo 1 || echo 0)"
	kv LAB_WG "$(has_wg && echo 1 || echo 0)"
	if has_wg; then
		local w; w=$(wg_dir)
		kv LAB_WG_NS "$(ns_wg)"
		kv LAB_WG_IP "$(wg_ip)"
		kv LAB_WG_PORT "$WG_PORT"
		kv LAB_WG_ENDPOINT "$(wg_ip):$WG_PORT"
		kv LAB_WG_IF "$(if_wg)"
		kv LAB_WG_PUBLIC_KEY "$(cat "$w/peer.pub")"
		kv LAB_WG_CLIENT1_KEY "$w/client1.key"
		kv LAB_WG_CLIENT1_IP "$(wg_client_ip 1)"
		kv LAB_WG_CLIENT2_KEY "$w/client2.key"
		kv LAB_WG_CLIENT2_PSK "$w/client2.psk"
		kv LAB_WG_CLIENT2_IP "$(wg_client_ip 2)"
		kv LAB_WG_WRONG_KEY "$w/wrong.key"
		kv LAB_WG_INTRANET_NS "$(ns_wgin)"
		kv LAB_WG_INTRANET_IP "$WG_IN_IP"
		kv LAB_WG_PID "$(wg_pid)"
		kv LAB_WG_LOG "$w/wireguard-go.log"
	fi
	kv LAB_IKE "$(has_ike && echo 1 || echo 0)"
	if has_ike; then
		kv LAB_IKE_NS "$(ns_ike)"
		kv LAB_IKE_IP "$(ike_ip)"
		kv LAB_IKE_CA "$(ike_dir)/ca.pem"
		kv LAB_IKE_REMOTE_ID "$(ike_ip)"
		kv LAB_IKE_CONN "$IKE_CONN"
		kv LAB_IKE_MD5_IP "$(ike_md5_ip)"
		kv LAB_IKE_MD5_REMOTE_ID "$(ike_md5_ip)"
		kv LAB_IKE_MD5_CONN "$IKE_MD5_CONN"
		kv LAB_USER2 "$IKE_USER2"
		kv LAB_PASSWORD2_FILE "$(ike_dir)/password2"
		kv LAB_IKE_INTRANET_NS "$(ns_ikein)"
		kv LAB_IKE_INTRANET_IP "$IKE_IN_IP"
		kv LAB_IKE_POOL "$IKE_POOL/24"
		kv LAB_IKE_PID "$(ike_pid)"
		kv LAB_IKE_LOG "$(ike_dir)/charon.log"
		kv LAB_IKE_VICI "unix://$(ike_dir)/run/charon.vici"
	fi
	has_ovpn || return 0
	local d; d=$(ovpn_dir)
	kv LAB_OVPN_NS "$(ns_ovpn)"
	kv LAB_OVPN_IP "$(ovpn_ip)"
	kv LAB_OVPN_PORT "$OVPN_PORT"
	kv LAB_OVPN_PROTO udp4
	kv LAB_OVPN_POOL "$OVPN_POOL/24"
	kv LAB_OVPN_CA "$d/ca.pem"
	kv LAB_OVPN_CLIENT_CERT "$d/client-cert.pem"
	kv LAB_OVPN_CLIENT_KEY "$d/client-key.pem"
	kv LAB_OVPN_EXPIRED_CERT "$d/expired-cert.pem"
	kv LAB_OVPN_EXPIRED_KEY "$d/expired-key.pem"
	kv LAB_OVPN_INTRANET_NS "$(ns_ovin)"
	kv LAB_OVPN_INTRANET_IP "$OVPN_IN_IP"
	kv LAB_OVPN_PID "$(ovpn_pid)"
	kv LAB_OVPN_CONF "$d/server.conf"
	kv LAB_OVPN_LOG "$d/openvpn.log"
	kv LAB_OVPN_AUTH_DELAY_MS "$(awk '{ printf "%d", $1 * 1000 }' "$d/auth-delay" 2>/dev/null)"
}

main() {
	local args=() cmd SAME_POOL_OPT='' OVPN_OPT='' WG_OPT='' IKE_OPT=''
	while [ $# -gt 0 ]; do
		case $1 in
		--prefix) [ $# -ge 2 ] || usage; PREFIX=$2; shift 2 ;;
		--prefix=*) PREFIX=${1#--prefix=}; shift ;;
		--same-pool) SAME_POOL_OPT=--same-pool; shift ;;
		--openvpn) OVPN_OPT=--openvpn; shift ;;
		--wireguard) WG_OPT=--wireguard; shift ;;
		--ipsec) IKE_OPT=--ipsec; shift ;;
		-h | --help) usage ;;
		*) args+=("$1"); shift ;;
		esac
	done
	[ ${#args[@]} -ge 1 ] || usage
	cmd=${args[0]}
	check_prefix
	case $cmd in
	up) need_tools; cmd_up "${args[1]:-}" "$SAME_POOL_OPT" "$OVPN_OPT" "$WG_OPT" "$IKE_OPT" ;;
	down) [ "$(id -u)" -eq 0 ] || die "must run as root"; cmd_down ;;
	status) cmd_status ;;
	env) cmd_env ;;
	gw-stop) check_k "${args[1]:-}"; ocserv_stop "${args[1]}" ;;
	gw-start)
		check_k "${args[1]:-}"
		ocserv_spawn "${args[1]}"; ocserv_wait "${args[1]}" ;;
	gw-link-down) check_k "${args[1]:-}"; ip -n "$(ns_gw "${args[1]}")" link set "$(if_gw_ext "${args[1]}")" down ;;
	gw-link-up) # link down dropped its routes; net_up_gw restores them
		check_k "${args[1]:-}"; net_up_gw "${args[1]}"
		wait_carrier "$(ns_gw "${args[1]}")" "$(if_gw_ext "${args[1]}")" ;;
	intranet-delay)
		check_k "${args[1]:-}"; cmd_intranet_delay "${args[1]}" "${args[2]:-}" "${args[3]:-}" ;;
	gw-auth-delay) check_k "${args[1]:-}"; cmd_gw_auth_delay "${args[1]}" "${args[2]:-}" ;;
	gw-relay) check_k "${args[1]:-}"; cmd_gw_relay "${args[1]}" "${args[2]:-}" ;;
	intranet-down)
		check_k "${args[1]:-}"
		responder_stop "${args[1]}" # echo stays ignored: pure timeouts
		case ${args[2]:-echo} in
		echo) inns "$(ns_in "${args[1]}")" sysctl -qw net.ipv4.icmp_echo_ignore_all=1 ;;
		link) ip -n "$(ns_in "${args[1]}")" link set "$(if_in "${args[1]}")" down ;;
		*) die "intranet-down K [echo|link]" ;;
		esac ;;
	intranet-up)
		check_k "${args[1]:-}"
		responder_stop "${args[1]}"
		net_up_gw "${args[1]}" # link up, echo answered, the route link down removed
		wait_carrier "$(ns_in "${args[1]}")" "$(if_in "${args[1]}")" ;;
	ovpn-stop) has_ovpn || die "no openvpn server in lab '$PREFIX' (up N --openvpn)"; ovpn_stop ;;
	ovpn-start)
		has_ovpn || die "no openvpn server in lab '$PREFIX' (up N --openvpn)"
		ovpn_spawn; ovpn_wait ;;
	ovpn-auth-delay)
		has_ovpn || die "no openvpn server in lab '$PREFIX' (up N --openvpn)"
		[[ ${args[1]:-} =~ ^[0-9]+$ ]] && [ "${args[1]}" -le 60000 ] ||
			die "ovpn-auth-delay MS: MS must be 0..60000"
		if [ "${args[1]}" -gt 0 ]; then
			awk -v m="${args[1]}" 'BEGIN { printf "%.3f\n", m / 1000 }' >"$(ovpn_dir)/auth-delay"
		else
			rm -f "$(ovpn_dir)/auth-delay"
		fi ;;
	ovpn-pause | ovpn-resume)
		has_ovpn || die "no openvpn server in lab '$PREFIX' (up N --openvpn)"
		if [ "$cmd" = ovpn-pause ]; then ovpn_signal STOP; else ovpn_signal CONT; fi ;;
	wg-stop) has_wg || die "no wireguard peer in lab '$PREFIX' (up N --wireguard)"; wg_stop ;;
	wg-start) has_wg || die "no wireguard peer in lab '$PREFIX' (up N --wireguard)"; wg_start ;;
	ike-stop) has_ike || die "no ipsec responder in lab '$PREFIX' (up N --ipsec)"; ike_stop ;;
	ike-start) has_ike || die "no ipsec responder in lab '$PREFIX' (up N --ipsec)"; ike_start ;;
	*) usage ;;
	esac
}

main "$@"
# SPDX-License-Identifier: MIT
