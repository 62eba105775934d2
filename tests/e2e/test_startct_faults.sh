#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# epmon's startct profile (src/vpn/profiles.c: the "Password:" step, startct_failed and
# startct_why) against a client that misbehaves. SonicWall's startct is proprietary and not
# installable here, so each site runs the FAKE tests/lab/fake-startct (`client: startct`,
# `command` its path, `args` startct's own -m GATEWAY -u USER plus the fake's mode and a
# directory where it leaves its pid, its arguments, its /proc cmdline and environ, and the
# line it read at the prompt). Lab gateway 1 answers the external ping; isolation netns (the
# default); the sites of one `epmon once` run at the same time. After the password:
#   stall   the fake says "Authenticating ..." and hangs: vpn_login fails at login_timeout
#           ("no tunnel after 3 s", its last line quoted); the fake's pid is gone afterwards.
#   fail    "Login failed: ..." and then hangs: "bad credentials" at once (well before its
#           login_timeout of 20 s), the line quoted; "Access denied ..." likewise gives
#           "access denied" (the meaning of each pattern, not of the first).
#   exit    "Negotiating ..." then exit status 1: "client exited with status 1".
#   flood   5 MiB of output with no newline, then hangs: epmon reads it all (the fake gets
#           to its end), stays bounded (read from /proc while the fake hangs: its VmRSS and
#           VmHWM under 64 MiB, and its VmRSS grown by less than half the flood since just
#           before it) and fails the login at login_timeout.
# The password: every fake read exactly the password file's first line on its pty, and it
# is in no fake's /proc cmdline or environ, nor in epmon's stdout, stderr or the CSV.
# Every fake is gone afterwards, each stopped by SIGINT (an escalation would add a note to
# the detail: the patterns end with the reason), no site namespace, veth or nftables table
# is left and the probe is as it was.
set -u
E2E_PREFIX=${E2E_PREFIX:-stctf$$}
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"

vpn_test_setup 1
lab_fake FAKE fake-startct   # (fails here, not inside the YAML, when it is missing)
STALL=ststall$$ FAIL=stfail$$ DENY=stdeny$$ EXIT=stexit$$ FLOOD=stflood$$
SITES="$STALL $FAIL $DENY $EXIT $FLOOD"
RSS_MAX_KB=65536
# vm_kb PID FIELD: a memory figure (kB) of /proc/PID/status; fails when there is none.
vm_kb() {
	local v
	v=$(awk -v f="$2:" '$1 == f {print $2}' "/proc/$1/status" 2>/dev/null)
	[[ $v =~ ^[0-9]+$ ]] || fail "no $2 of pid $1"
	echo "$v"
}
E2E_CONFIG_EXTRA="concurrency: 5"
write_config "$TMP/config.yml" <<YAML
$(lab_startct_fake_site "$STALL" "$TMP/$STALL" stall login_timeout=3)
$(lab_startct_fake_site "$FAIL" "$TMP/$FAIL" fail login_timeout=20)
$(lab_startct_fake_site "$DENY" "$TMP/$DENY" fail login_timeout=20 \
	-- --fake-say "Access denied by the gateway's policy")
$(lab_startct_fake_site "$EXIT" "$TMP/$EXIT" exit login_timeout=20)
$(lab_startct_fake_site "$FLOOD" "$TMP/$FLOOD" flood login_timeout=8 -- --fake-go "$TMP/flood.go")
YAML
probe_snapshot "$TMP"

probe_epmon_bg once once -c "$TMP/config.yml"
# the flooding fake read its password and waits for the go: epmon's memory before the flood
wait_file "$TMP/$FLOOD/ready" 15 || fail "the flooding fake got no password in 15 s"
rss0=$(vm_kb "$EPMON_PID" VmRSS)
t0=$(now_ms)
touch "$TMP/flood.go"
# the flood is over once the fake got past its last byte: epmon read it all (a pty holds
# a few KiB); the fake now hangs until epmon's login_timeout
wait_file "$TMP/$FLOOD/flooded" 8 ||
	fail "the flooding fake did not get its 5 MiB out before its login_timeout (8 s; epmon not reading?)"
lab_alive "$EPMON_PID" || fail "epmon exited before the flood site's login_timeout"
rss=$(vm_kb "$EPMON_PID" VmRSS)
hwm=$(vm_kb "$EPMON_PID" VmHWM)
e2e_log "epmon read 5 MiB in $(($(now_ms) - t0)) ms: VmRSS $rss0 -> $rss kB, VmHWM $hwm kB"
[ "$rss" -lt "$RSS_MAX_KB" ] || fail "epmon's VmRSS $rss kB (bound $RSS_MAX_KB kB)"
[ "$hwm" -lt "$RSS_MAX_KB" ] || fail "epmon's VmHWM $hwm kB (bound $RSS_MAX_KB kB)"
# had epmon kept the flood, it would have grown by 5 MiB
[ $((rss - rss0)) -lt 2560 ] || fail "epmon's VmRSS grew by $((rss - rss0)) kB during the 5 MiB flood"
wait_gone "$EPMON_PID" 60 || fail "epmon once still running 60 s after its start"
wait "$EPMON_PID"
EPMON_RC=$?
sed 's/^/    out| /' "$TMP/once.out" >&2
sed 's/^/    err| /' "$TMP/once.err" >&2
assert_no_sanitizer "$TMP/once.err"
assert_eq 1 "$EPMON_RC" "exit status of once (the sites failed)"

CSV=$(results_file "$TMP/results")
assert_eq 5 "$(csv_count "$TMP/results")" "rows written"
for site in $SITES; do
	assert_eq FAIL "$(csv_get "$CSV" "$site" result)" "$site: result"
	assert_eq vpn_login "$(csv_get "$CSV" "$site" failed_step)" "$site: failed_step"
	assert_positive "$(csv_get "$CSV" "$site" external_rtt_ms)" "$site: external_rtt_ms"
	assert_fields_empty "$CSV" "$site" login_ms internal_rtt_ms internal_loss_pct
	assert_positive "$(csv_get "$CSV" "$site" teardown_ms)" "$site: teardown_ms (the client was stopped)"
	assert_match "^$site +FAIL +vpn_login " "$(grep "^$site " "$TMP/once.out")" "$site: table row"
done
# (a) stalled after the password: the login_timeout, with its last line
assert_match "^failed in auth after [0-9.]+ s: no tunnel after 3 s \(last output: 'Authenticating $LAB_USER \.\.\.'\)$" \
	"$(csv_get "$CSV" "$STALL" detail)" "$STALL: detail"
# (b) the failure words, each with its own meaning, at once (not at login_timeout)
assert_match "^failed in auth after ([0-9.]+ ms|[0-9]\.[0-9] s): bad credentials \(login failed: client said 'Login failed: invalid user name or password'\)$" \
	"$(csv_get "$CSV" "$FAIL" detail)" "$FAIL: detail"
assert_match "^failed in auth after ([0-9.]+ ms|[0-9]\.[0-9] s): access denied \(login failed: client said 'Access denied by the gateway's policy'\)$" \
	"$(csv_get "$CSV" "$DENY" detail)" "$DENY: detail"
# (c) exited mid-dialogue
assert_match "^failed in auth after ([0-9.]+ ms|[0-9]\.[0-9] s): client exited with status 1 \(last output: 'Negotiating tunnel parameters \.\.\.'\)$" \
	"$(csv_get "$CSV" "$EXIT" detail)" "$EXIT: detail"
# (d) flooded, then hung: the login_timeout, the end of the flood quoted (cut)
assert_match "^failed in auth after [0-9.]+ s: no tunnel after 8 s \(last output: 'x+'\)$" \
	"$(csv_get "$CSV" "$FLOOD" detail)" "$FLOOD: detail"

# every fake ran as startct is run (-m GATEWAY -u USER), and is gone
for site in $SITES; do
	d=$TMP/$site
	assert_eq "-m $LAB_GW1_IP -u $LAB_USER" "$(head -4 "$d/argv" | tr '\n' ' ' | sed 's/ $//')" \
		"$site: the fake's first arguments"
	pid=$(cat "$d/pid") || fail "$site: no pid file of the fake"
	lab_alive "$pid" && fail "$site: the fake $pid is still alive: $(tr '\0' ' ' <"/proc/$pid/cmdline")"
	e2e_log "ok: $site: the fake $pid is gone"
done

# (e) the password: on the pty only
PW=$(head -1 "$LAB_PASSWORD_FILE")
[ -n "$PW" ] || fail "empty lab password"
for site in $SITES; do
	d=$TMP/$site
	cmp -s <(printf '%s\n' "$PW") "$d/got" || fail "$site: the fake did not read the password on its pty"
	if [ ! -s "$d/cmdline" ] || [ ! -s "$d/environ" ]; then fail "$site: the fake left no cmdline/environ copy"; fi
	grep -qaF -- "$PW" "$d/cmdline" && fail "$site: the password is in the fake's argv"
	grep -qaF -- "$PW" "$d/environ" && fail "$site: the password is in the fake's environment"
	grep -qaF -- "$PW" "$d/argv" && fail "$site: the password is in the fake's arguments"
done
e2e_log "ok: every fake read the password on its pty; none had it in argv or environ"
for f in "$TMP/once.out" "$TMP/once.err" "$CSV"; do
	grep -qF -- "$PW" "$f" && fail "the password is in $f"
done
e2e_log "ok: no password in epmon's stdout, stderr or the CSV"
probe_assert_clean "$TMP"
e2e_log "PASS"
