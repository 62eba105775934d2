#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Reminders and per-site alert settings, frequency 1 s, both sites on the same silent target:
#   paris: the logging defaults, reminder_interval "3s" -> one DOWN after 2 failures, then a
#          STILL DOWN reminder every >= 3 s, then one UP;
#   lyon:  alert: {failure_threshold: 4, reminder_interval: off, notify_recovery: false}
#          -> one DOWN after 4 failures, no reminder, no UP.
set -u
E2E_PREFIX=${E2E_PREFIX:-alert$$r}
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=tests/e2e/alert_lib.sh
. "$(dirname "$0")/alert_lib.sh"

alert_require
alert_topology
e2e_tmpdir TMP
R=$TMP/results
S=$TMP/state
M=$TMP/m.mail
CFG=$TMP/config.yml

smtpd_start m 2525 plain
alert_config "$CFG" "$R" "$S" "  smtp_server: 127.0.0.1
  smtp_port: 2525
  sender: epmon@probe.test
  recipients: noc@example.com
  reminder_interval: \"3s\"" \
"  - {name: paris, external_ip: $TARGET_IP}
  - name: lyon
    external_ip: $TARGET_IP
    alert: {failure_threshold: 4, reminder_interval: off, notify_recovery: false}"

epmon_start "$CFG" run
wait_csv_rows "$R" lyon 11 16 || fail "no 11 cycles in 16 s"
target_answer 1
n=$(csv_count "$R" lyon)
wait_csv_rows "$R" lyon $((n + 3)) 6 || fail "no 3 good cycles"
wait_log "$TMP/run.err" "sent the up mail of site paris" 10 || fail "the UP mail of paris not sent"
epmon_stop run
assert_eq 0 "$rc" "exit status"

mapfile -t subj < <(subjects "$M")
printf '    subject| %s\n' "${subj[@]}" >&2
paris_down=0 paris_rem=0 paris_up=0 lyon_down=0 other=0
for s in "${subj[@]}"; do
	case $s in
	"[epmon] DOWN paris: external_ping failed 2x (no reply from $TARGET_IP in 0.3 s)") paris_down=$((paris_down + 1)) ;;
	"[epmon] STILL DOWN paris after "*" s: external_ping failed "*"x (no reply from $TARGET_IP in 0.3 s)") paris_rem=$((paris_rem + 1)) ;;
	"[epmon] UP paris after "*" s") paris_up=$((paris_up + 1)) ;;
	"[epmon] DOWN lyon: external_ping failed 4x (no reply from $TARGET_IP in 0.3 s)") lyon_down=$((lyon_down + 1)) ;;
	*) other=$((other + 1)) ;;
	esac
done
assert_eq 1 "$paris_down" "DOWN mails of paris"
assert_eq 1 "$paris_up" "UP mails of paris"
assert_eq 1 "$lyon_down" "DOWN mails of lyon (threshold 4; no reminder, no UP)"
assert_eq 0 "$other" "other mails"
# 11+ failed cycles of ~1 s: DOWN at ~1 s, reminders every >= 3 s after it: 2 or more
# (a slow machine stretches the outage; the spacing is checked below)
assert_match '^([2-9]|[1-9][0-9])$' "$paris_rem" "reminders of paris"
# reminders are >= 3 s apart (their Date headers) and count the failures
/usr/bin/python3 - "$M" <<'EOF' || fail "reminder spacing"
import email, email.policy, email.utils, glob, re, sys
times, counts = [], []
for p in sorted(glob.glob(sys.argv[1] + "/msg-*.eml")):
    m = email.message_from_binary_file(open(p, "rb"), policy=email.policy.default)
    s = str(m["Subject"])
    if re.match(r"\[epmon\] (DOWN|STILL DOWN) paris", s):
        times.append(email.utils.parsedate_to_datetime(str(m["Date"])).timestamp())
        counts.append(int(re.search(r"failed (\d+)x", s).group(1)))
gaps = [b - a for a, b in zip(times, times[1:])]
print("paris DOWN/reminders at failures %s, gaps %s s" % (counts, gaps), file=sys.stderr)
assert all(g >= 3 for g in gaps), gaps
assert counts == sorted(counts) and counts[0] == 2 and all(c >= 5 for c in counts[1:]), counts
EOF
# the reminder's body, and its thread
rem=$(grep -l '^Subject: \[epmon\] STILL DOWN paris' "$M"/msg-*.eml | head -1)
down=$(grep -l '^Subject: \[epmon\] DOWN paris' "$M"/msg-*.eml)
assert_eq "$(mail_header "$down" Message-ID)" "$(mail_header "$rem" In-Reply-To)" \
	"reminder In-Reply-To = DOWN Message-ID"
mail_body "$rem" | grep -qE '^Site paris is still DOWN after [0-9]+ s: external_ping failed in [0-9]+ consecutive cycles\.$' ||
	fail "reminder body: $(mail_body "$rem" | head -3)"
e2e_log "ok: reminder body"
echo "PASS: reminders every >= 3 s, per-site threshold 4 without reminder and recovery mail"
