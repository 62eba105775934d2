#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Alerts end to end with the VPN lab (an ocserv gateway, openconnect): a site with a wrong
# password fails at vpn_login; after 2 cycles exactly one DOWN mail names the step and the
# client's words; the password fixed in the config and SIGHUP -> exactly one UP mail; the
# probe is left clean and no password shows in the mails, logs or CSV.
set -u
E2E_PREFIX=${E2E_PREFIX:-alert$$v}
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=tests/e2e/alert_lib.sh
. "$(dirname "$0")/alert_lib.sh"

alert_require
lab_start 1
P=$LAB_NS_PROBE
e2e_tmpdir TMP
R=$TMP/results
S=$TMP/state
M=$TMP/m.mail
CFG=$TMP/config.yml

# vpn_config PASSWORD_FILE: frequency 6 s fits 2 pings (0.5 s) + login_timeout 5 s.
vpn_config() {
	cat >"$CFG.new" <<YAML
frequency: 6
results: {directory: $R}
state_directory: $S
ping: {count: 1, interval: 0.1, timeout: 0.5}
logging:
  smtp_server: 127.0.0.1
  smtp_port: 2525
  sender: epmon@probe.test
  recipients: noc@example.com
sites:
  - name: gw1
    external_ip: $LAB_GW1_IP
    internal_ip: $LAB_GW1_INTRANET_IP
    vpn: {client: openconnect, gateway: $LAB_GW1_IP, username: $LAB_USER,
          password_file: $1, ca_file: $LAB_CA, login_timeout: 5}
YAML
	chmod 600 "$CFG.new"
	mv -f "$CFG.new" "$CFG"
}

probe_snapshot "$TMP"
smtpd_start m 2525 plain
vpn_config "$LAB_WRONG_PASSWORD_FILE"
epmon_start "$CFG" run
wait_mail "$M" 1 20 || fail "no DOWN mail within 20 s: $(tail -5 "$TMP/run.err")"
assert_eq 2 "$(csv_count "$R" gw1)" "rows when the DOWN mail came"
assert_match "^\[epmon\] DOWN gw1: vpn_login failed 2x \(failed in auth after [0-9.]+ m?s: bad credentials \(login failed: client said 'Login failed\.'\)\)$" \
	"$(mail_header "$M/msg-0001.eml" Subject)" "DOWN subject"
body=$(mail_body "$M/msg-0001.eml")
grep -qxF "Gateway:        $LAB_GW1_IP (openconnect, external address $LAB_GW1_IP)" <<<"$body" ||
	fail "DOWN body: $body"
grep -qxF "Internal host:  $LAB_GW1_INTRANET_IP" <<<"$body" || fail "DOWN body: internal host"
grep -qxF "Failed step:    vpn_login" <<<"$body" || fail "DOWN body: failed step"
e2e_log "ok: DOWN body names the gateway, the internal host and the step"

e2e_log "password fixed, SIGHUP"
vpn_config "$LAB_PASSWORD_FILE"
kill -HUP "$RUN_PID"
wait_mail "$M" 2 20 || fail "no UP mail within 20 s: $(tail -5 "$TMP/run.err")"
assert_match '^\[epmon\] UP gw1 after [0-9]+ s$' "$(mail_header "$M/msg-0002.eml" Subject)" "UP subject"
assert_eq OK "$(csv_get "$(results_file "$R")" gw1 result)" "last row"
n=$(csv_count "$R" gw1)
wait_csv_rows "$R" gw1 $((n + 1)) 10 || fail "no cycle after the UP"
epmon_stop run
assert_eq 0 "$rc" "exit status"
assert_eq 2 "$(mail_count "$M")" "mails in all"
for secret in "$(head -1 "$LAB_PASSWORD_FILE")" "$(head -1 "$LAB_WRONG_PASSWORD_FILE")"; do
	grep -rqF -- "$secret" "$M" "$TMP/run.err" "$R" "$S" && fail "a VPN password leaked"
done
e2e_log "ok: no password in mails, log, CSV or state"
smtpd_stop "$SMTPD_PID"
probe_assert_clean "$TMP"
echo "PASS: VPN lab: wrong password -> one DOWN after 2 cycles; fixed + SIGHUP -> one UP"
