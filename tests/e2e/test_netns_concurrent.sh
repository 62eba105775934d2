#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# 12 sites on 12 lab gateways at concurrency 12 (isolation: netns, the default): `epmon once`
# writes 12 complete OK rows, and each row's figures are its own site's: intranet host K
# answers ping K*40 ms late (lab.sh intranet-delay, echo_responder), so each row's
# internal_rtt_ms must be K*40 ms, -0.5 to +39.5 ms: never less than its host's delay, and
# less than the next host's. (While 12 clients log in on 2 cores the tunnel adds to the
# average of 3 pings 0.3-3 ms with the plain build and up to 20 ms with the ASan build:
# a spacing of a few ms would not tell the sites apart every time.) The cycle, run
# concurrently, takes well under the serial sum of the sites' own durations (a loose
# bound: < 60 %; the real figures are `make bench`'s). The probe is left as it was.
set -u
E2E_PREFIX=${E2E_PREFIX:-nsccr$$}
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"

N=12
STEP_MS=40
netns_test_setup $N
for k in $(seq $N); do lab_cmd intranet-delay "$k" $((k * STEP_MS)); done
E2E_CONFIG_EXTRA="concurrency: $N"
write_config "$TMP/config.yml" 60 "{count: 3, interval: 0.1, timeout: 1}" <<YAML
$(for k in $(seq $N); do lab_openconnect_site "site$k" "$k"; done)
YAML
probe_snapshot "$TMP"

t0=$(now_ms)
probe_epmon once once -c "$TMP/config.yml"
wall=$(($(now_ms) - t0))
assert_eq 0 "$EPMON_RC" "exit status of once (all OK)"
CSV=$(results_file "$TMP/results")
assert_eq $N "$(csv_count "$TMP/results")" "rows written"
assert_eq $N "$(grep -c 'tunnel up on epmon0' "$TMP/once.err")" "'tunnel up on epmon0' lines"

# every row: OK, complete, its own intranet's RTT; the once table in config order
python3 - "$CSV" $N $STEP_MS >"$TMP/rows.out" 2>&1 <<'PY'
import csv, sys
path, n, step = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
rows = {r["site"]: r for r in csv.DictReader(open(path, newline=""))}
need = ["timestamp", "external_rtt_ms", "external_loss_pct", "login_ms", "internal_rtt_ms",
        "internal_loss_pct", "teardown_ms"]
bad, serial = [], 0.0
for k in range(1, n + 1):
    r = rows.get("site%d" % k)
    if r is None:
        bad.append("site%d: no row" % k); continue
    if r["result"] != "OK" or r["failed_step"] or r["detail"]:
        bad.append("site%d: %s %s %r" % (k, r["result"], r["failed_step"], r["detail"]))
    empty = [c for c in need if not r[c]]
    if empty:
        bad.append("site%d: empty %s" % (k, ",".join(empty))); continue
    if float(r["internal_loss_pct"]) != 0 or float(r["external_loss_pct"]) != 0:
        bad.append("site%d: loss %s/%s" % (k, r["external_loss_pct"], r["internal_loss_pct"]))
    rtt, want = float(r["internal_rtt_ms"]), k * step
    ok = want - 0.5 <= rtt < want + step - 0.5
    print("site%d internal_rtt_ms %.3f (intranet delay %g ms, +%.3f) %s" % (k, rtt, want, rtt - want, "ok" if ok else "WRONG"))
    if not ok:
        bad.append("site%d: internal_rtt_ms %.3f, its intranet answers after %g ms" % (k, rtt, want))
    # the site's own duration: two pings of 3 requests 0.1 s apart, login, teardown
    serial += 2 * 200 + float(r["external_rtt_ms"]) + float(r["login_ms"]) + rtt + float(r["teardown_ms"])
print("serial_ms %d" % serial)
for b in bad:
    print("BAD " + b)
PY
sed 's/^/    rows| /' "$TMP/rows.out" >&2
grep -q '^BAD' "$TMP/rows.out" && fail "rows (BAD lines above)"
e2e_log "ok: $N complete OK rows, each with its own intranet's RTT"

order=$(awk '$1 ~ /^site[0-9]+$/ {printf "%s ", $1}' "$TMP/once.out")
assert_eq "$(for k in $(seq $N); do printf 'site%d ' "$k"; done)" "$order" "once table in config order"

serial=$(awk '/^serial_ms/ {print $2}' "$TMP/rows.out")
e2e_log "cycle took $wall ms (epmon once, wall); the sites' own durations add up to $serial ms"
[ "$wall" -lt $((serial * 6 / 10)) ] ||
	fail "the cycle ($wall ms) is not shorter than 60 % of the serial sum ($serial ms): not concurrent?"
e2e_log "ok: cycle $wall ms < 60 % of $serial ms"

probe_assert_clean "$TMP"
e2e_log "PASS"
