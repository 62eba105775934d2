#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# `epmon test-email` against each kind of SMTP server (aiosmtpd in a private namespace):
# plain; STARTTLS + AUTH LOGIN (default security on port 587); implicit TLS + AUTH PLAIN
# (default on 465); wrong password; an untrusted certificate; 550; a hung server; no server;
# no logging section; an invalid config. Exit 0 only when the server accepted the mail; the
# conversation is printed, the password (or its base64) never.
set -u
E2E_PREFIX=${E2E_PREFIX:-alert$$t}
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=tests/e2e/alert_lib.sh
. "$(dirname "$0")/alert_lib.sh"

alert_require
P=$E2E_PREFIX-probe
netns_create "$P"
e2e_tmpdir TMP
make_certs "$TMP"
PASS='s3cret pass/word'
(umask 077; echo "$PASS" >"$TMP/pw"; echo nope >"$TMP/badpw")
mkdir -p "$TMP/other"
(cd "$TMP/other" && make_certs "$TMP/other") # a second CA, not trusted by epmon

smtpd_start plain 2525 plain
smtpd_start st 587 starttls --cert "$TMP/cert.pem" --key "$TMP/key.pem" \
	--auth-user monitor --auth-password-file "$TMP/pw" --auth-mech LOGIN
smtpd_start tls 465 tls --cert "$TMP/cert.pem" --key "$TMP/key.pem" \
	--auth-user monitor --auth-password-file "$TMP/pw" --auth-mech PLAIN
smtpd_start untrusted 2587 starttls --cert "$TMP/other/cert.pem" --key "$TMP/other/key.pem"
smtpd_start reject 2550 reject
smtpd_start hang 2599 hang

# cfg NAME PORT EXTRA: a config with a logging map for 127.0.0.1:PORT.
cfg() {
	cat >"$TMP/$1.yml" <<EOF
frequency: 60
state_directory: $TMP/state
logging:
  smtp_server: 127.0.0.1
  smtp_port: $2
  sender: "epmon <epmon@probe.test>"
  recipients: [noc@example.com]
$3
sites:
  - {name: a, external_ip: 192.0.2.1}
EOF
	chmod 600 "$TMP/$1.yml"
}
AUTH="  username: monitor
  password_file: $TMP/pw
  ca_file: $TMP/ca.pem"

# test_email NAME: run it in $P; output in $TMP/NAME.out (+ stderr), exit in $rc, seconds in $took.
test_email() {
	local t0 t1
	t0=$(date +%s%N)
	ip netns exec "$P" "$EPMON" test-email -c "$TMP/$1.yml" >"$TMP/$1.out" 2>"$TMP/$1.err"
	rc=$?
	t1=$(date +%s%N)
	took=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", (b - a) / 1e9 }')
	sed 's/^/    out| /' "$TMP/$1.out" >&2
	sed 's/^/    err| /' "$TMP/$1.err" >&2
	assert_no_sanitizer "$TMP/$1.err"
	e2e_log "test-email $1: exit $rc in $took s"
}

# out_has NAME REGEX WHAT
out_has() {
	grep -qE -- "$2" "$TMP/$1.out" || fail "$3: no /$2/ in the output of $1"
	e2e_log "ok: $3"
}

# received NAME: the one message server NAME got; checks its headers.
received() {
	assert_eq 1 "$(mail_count "$TMP/$1.mail")" "$1: messages received"
	local f=$TMP/$1.mail/msg-0001.eml
	assert_match '^\[epmon\] test mail from ' "$(mail_header "$f" Subject)" "$1: subject"
	assert_eq 'epmon <epmon@probe.test>' "$(mail_header "$f" From)" "$1: From"
	assert_eq 'noc@example.com' "$(mail_header "$f" To)" "$1: To"
	grep -q $'^Content-Type: text/plain; charset=UTF-8\r$' "$f" || fail "$1: no Content-Type line"
	assert_match '^<epmon\.test\.[0-9]{8}T[0-9]{6}Z\.[0-9a-f]{12}@' "$(mail_header "$f" Message-ID)" "$1: Message-ID"
	out_has "$1" "^sending a test mail $(mail_header "$f" Message-ID) from" "$1: Message-ID printed"
}

cfg plain 2525 ""
test_email plain
assert_eq 0 "$rc" "plain: exit"
out_has plain '^< 220 ' "plain: greeting shown"
out_has plain '^> MAIL FROM:<epmon@probe.test>$' "plain: MAIL FROM shown"
out_has plain '^OK: the server accepted the test mail: 250 2\.0\.0 OK saved as msg-0001$' "plain: outcome"
received plain

cfg st 587 "$AUTH"
test_email st
assert_eq 0 "$rc" "starttls + AUTH LOGIN: exit"
out_has st 'security starttls, AUTH as monitor$' "starttls: the default on port 587"
out_has st '^> STARTTLS$' "starttls: STARTTLS sent"
out_has st '^> AUTH LOGIN$' "starttls: AUTH LOGIN"
out_has st '^> <credentials hidden>$' "starttls: credentials hidden"
out_has st '^< 235 ' "starttls: authenticated"
received st
assert_match '"auth_user": "monitor", "tls": true' "$(cat "$TMP/st.mail/msg-0001.json")" "starttls: server side"

cfg tls 465 "$AUTH"
test_email tls
assert_eq 0 "$rc" "tls + AUTH PLAIN: exit"
out_has tls 'security tls, AUTH as monitor$' "tls: the default on port 465"
out_has tls '^> AUTH PLAIN( <credentials hidden>)?$' "tls: AUTH PLAIN"
received tls

cfg bad 587 "  username: monitor
  password_file: $TMP/badpw
  ca_file: $TMP/ca.pem"
test_email bad
assert_eq 1 "$rc" "wrong password: exit"
out_has bad "^FAILED \(authentication failed\): SMTP authentication as 'monitor' failed at 127\.0\.0\.1:587: Login denied: 535 5\.7\.8 Authentication credentials invalid; check username and the password \(password_file $TMP/badpw\)$" \
	"wrong password: outcome"

cfg untrusted 2587 "  ca_file: $TMP/ca.pem
  security: starttls"
test_email untrusted
assert_eq 1 "$rc" "untrusted certificate: exit"
out_has untrusted '^FAILED \(temporary failure\): 127\.0\.0\.1:2587 \(starttls\): SSL certificate problem' \
	"untrusted certificate: outcome"
assert_eq 0 "$(mail_count "$TMP/untrusted.mail")" "untrusted: nothing sent"

cfg reject 2550 ""
test_email reject
assert_eq 1 "$rc" "550: exit"
out_has reject '^< 550 5\.7\.1 message refused by the test server$' "550: reply shown"
out_has reject '^FAILED \(rejected\): .*550 5\.7\.1 message refused by the test server$' "550: outcome"

cfg hang 2599 "  connect_timeout: 1.5
  timeout: 3"
test_email hang
assert_eq 1 "$rc" "hung server: exit"
awk -v t="$took" 'BEGIN { exit !(t >= 1.4 && t < 5) }' ||
	fail "hung server: $took s until the 1.5 s connect_timeout"
out_has hang '^FAILED \(temporary failure\): 127\.0\.0\.1:2599 \(none\): .*[Tt]imed out' "hung server: outcome"

# STARTTLS required by the server, security none here: 530 is the config's fault, kept
cfg notls 2587 ""
test_email notls
assert_eq 1 "$rc" "530: exit"
out_has notls '^FAILED \(temporary failure\): 127\.0\.0\.1:2587 \(none\) after MAIL: MAIL failed: 530: 530 Must issue a STARTTLS command first$' \
	"530: outcome with the server's reply"

cfg down 2600 ""
test_email down
assert_eq 1 "$rc" "no server: exit"
out_has down "^FAILED \(temporary failure\): 127\.0\.0\.1:2600 \(none\): Failed to connect" "no server: outcome"

cat >"$TMP/nolog.yml" <<EOF
frequency: 60
sites:
  - {name: a, external_ip: 192.0.2.1}
EOF
chmod 600 "$TMP/nolog.yml"
test_email nolog
assert_eq 1 "$rc" "no logging section: exit"
out_has nolog '^FAILED: .* has no logging: section' "no logging section: outcome"

cfg invalid 2525 "  security: ssl"
test_email invalid
assert_eq 2 "$rc" "invalid config: exit"
grep -qF "$TMP/invalid.yml:8:13: 'security' in logging must be none, starttls or tls, got 'ssl'" "$TMP/invalid.err" ||
	fail "invalid config: message: $(cat "$TMP/invalid.err")"

for secret in "$PASS" "$(printf '%s' "$PASS" | base64)" "$(printf '\0monitor\0%s' "$PASS" | base64)"; do
	grep -rqF -- "$secret" "$TMP"/*.out "$TMP"/*.err && fail "the password leaked into the output"
done
e2e_log "ok: no password in any output"
echo "PASS: test-email against plain, starttls+LOGIN, tls+PLAIN, wrong password, untrusted cert, 550, hang, down"
