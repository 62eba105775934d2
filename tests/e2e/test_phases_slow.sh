#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Where a slow gateway's time shows, openconnect against the lab's ocserv and openvpn
# against its OpenVPN 2.6 server, one `epmon once`:
#   slowauth  gateway 1 checks passwords through PAM, a script that sleeps 4 s first
#             (lab.sh gw-auth-delay: a slow RADIUS/LDAP behind the gateway): the 4 s are in
#             login_auth_ms, and not in connect, tls or tunnel;
#   ovslow    the OpenVPN server's password check (auth-user-pass-verify) sleeps 4 s first
#             (lab.sh ovpn-auth-delay): the same, in auth;
#   slowtls   gateway 2 behind a TCP relay whose first answer (the ServerHello) is 4 s late
#             (lab.sh gw-relay: a slow TLS start): the 4 s are in login_tls_ms, and not in
#             auth or tunnel (the TCP connect itself is quick);
#   ref       gateway 2 directly: no phase near a second.
# Every row's phases add up to its login_ms within 1 ms. "Not there" is "under 2 s":
# openconnect alone sometimes waits up to 1 s for DTLS before "Configured as" (tunnel).
set -u
E2E_PREFIX=${E2E_PREFIX:-phsl$$}
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"

DELAY=4000
require_cmd openvpn
vpn_test_setup 2 --openvpn
lab_cmd gw-auth-delay 1 "$DELAY"
lab_cmd gw-relay 2 "$DELAY"
lab_cmd ovpn-auth-delay "$DELAY"
eval "$("$LAB_SH" env --prefix "$LAB_P")"
[ -n "$LAB_GW2_RELAY" ] || fail "no relay in front of gateway 2"
ovpn_client_conf "$TMP/pw.ovpn" "auth-user-pass"
write_config "$TMP/config.yml" <<YAML
$(lab_openconnect_site slowauth 1)
$(lab_openvpn_site ovslow "$TMP/pw.ovpn" username="$LAB_USER" password_file="$LAB_PASSWORD_FILE")
$(lab_openconnect_site slowtls 2 gateway="\"$LAB_GW2_RELAY\"")
$(lab_openconnect_site ref 2)
YAML
probe_snapshot "$TMP"
probe_epmon once once -c "$TMP/config.yml"
assert_eq 0 "$EPMON_RC" "exit status of once (every site OK)"
CSV=$(results_file "$TMP/results")
python3 - "$CSV" "$DELAY" <<'EOF' || fail "where the delay shows (above)"
import csv, sys
rows = {r["site"]: r for r in csv.DictReader(open(sys.argv[1], newline=""))}
delay = float(sys.argv[2])
PH = ("connect", "tls", "auth", "tunnel")
bad = []
for site, slow in (("slowauth", "auth"), ("ovslow", "auth"), ("slowtls", "tls"), ("ref", None)):
    r = rows[site]
    ph = {p: float(r["login_%s_ms" % p]) for p in PH}
    print("%s: login %s = %s" % (site, r["login_ms"], ", ".join("%s %.1f" % (p, ph[p]) for p in PH)),
          file=sys.stderr)
    if abs(sum(ph.values()) - float(r["login_ms"])) > 1.0:
        bad.append("%s: the phases add up to %.1f, login_ms %s" % (site, sum(ph.values()), r["login_ms"]))
    for p in PH:
        if p == slow and ph[p] < delay - 10:
            bad.append("%s: %s %.1f ms, not the %g ms delay" % (site, p, ph[p], delay))
        if p != slow and ph[p] >= delay / 2:
            bad.append("%s: %s %.1f ms: the delay landed there" % (site, p, ph[p]))
for b in bad:
    print("FAIL: " + b, file=sys.stderr)
sys.exit(1 if bad else 0)
EOF
e2e_log "ok: a slow password check shows in auth, a slow TLS start in tls, nowhere else"
lab_cmd gw-relay 2 off
lab_cmd gw-auth-delay 1 0
lab_cmd ovpn-auth-delay 0
grep -q '^auth = "plain' "$LAB_GW1_OCSERV_CONF" || fail "gateway 1 not back to plain auth"
[ ! -e "/etc/netns/$LAB_GW1_NS" ] || fail "/etc/netns/$LAB_GW1_NS left after gw-auth-delay 1 0"
probe_assert_clean "$TMP"
echo "PASS: a slow auth and a slow TLS start show in their phases"
