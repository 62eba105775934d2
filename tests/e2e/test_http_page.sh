#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The status page (GET /) in headless Chromium. The results directory holds 24 h of
# history written before epmon starts (every 5 min: alpha with login times and RTTs and a
# 40-minute outage, beta up until an hour ago), then `epmon run` (frequency 1) adds live
# results: alpha up, beta down (silent gateway).
#   1. the page's DOM (chromium --dump-dom): one row per site, class up for alpha and down
#      for beta, one <svg> per site, alpha's chart drawn from the CSV history (login line
#      with > 200 points, a failure band for the outage), beta's chart with a failure band,
#      no <script>, nothing loaded from elsewhere, a refresh meta tag;
#   2. no console message at all (Chromium logs them, and CSP violations, as CONSOLE);
#   3. a screenshot (1200x900) shows the green and the red badge (pixels checked); it is
#      copied to $E2E_ARTIFACTS when that is set, to look at.
set -u
E2E_PREFIX=${E2E_PREFIX:-httpp$$}
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=tests/e2e/http_lib.sh
. "$(dirname "$0")/http_lib.sh"

http_require
CHROMIUM=$(command -v chromium || command -v chromium-browser || true)
[ -n "$CHROMIUM" ] || skip "needs chromium (make deps)"
http_topology

# 24 h of history, every 5 min, ending 2 min ago
/usr/bin/python3 - "$TMP/results" <<'EOF' || fail "cannot write the history"
import datetime, math, os, sys
d = sys.argv[1]
now = datetime.datetime.now().astimezone()
t = now - datetime.timedelta(hours=24) + datetime.timedelta(minutes=3)
files = {}
while t < now - datetime.timedelta(minutes=2):
    h = (now - t).total_seconds() / 3600          # hours ago
    ts = t.isoformat(timespec="milliseconds")
    if 10 <= h < 10 + 40 / 60:                  # alpha: an outage 10 h ago
        a = [ts, "alpha", "FAIL", "vpn_login", "21.500", "0.0", "", "", "", "95.0", '"login timed out"']
    else:
        a = [ts, "alpha", "OK", "", "%.3f" % (20 + 5 * math.sin(h)), "0.0",
             "%.1f" % (2500 + 800 * math.sin(h / 4)), "%.3f" % (28 + 4 * math.cos(h)), "0.0", "110.0", '""']
    if h > 1:
        b = [ts, "beta", "OK", "", "%.3f" % (40 + 3 * math.sin(h * 2)), "0.0", "", "", "", "", '""']
    else:
        b = [ts, "beta", "FAIL", "external_ping", "", "100.0", "", "", "", "", '"no reply"']
    day = t.strftime("%Y-%m-%d")
    if day not in files:
        files[day] = open(os.path.join(d, "results-%s.csv" % day), "w")
        files[day].write("timestamp,site,result,failed_step,external_rtt_ms,external_loss_pct,"
                         "login_ms,internal_rtt_ms,internal_loss_pct,teardown_ms,detail\n")
    for row in (a, b):
        files[day].write(",".join(row) + "\n")
    t += datetime.timedelta(minutes=5)
EOF
rows=$(csv_count "$TMP/results")
e2e_log "history: $rows rows"

CFG=$TMP/config.yml
http_config "$CFG" 1 "{listen: \"127.0.0.1:$HTTP_PORT\"}" "$SITES_UP_DOWN"
epmon_start page "$CFG"
wait_csv_rows "$TMP/results" beta $((rows / 2 + 2)) 8 || fail "no 2 live cycles in 8 s"
wait_cycles 2 8 || fail "the monitor has no 2 cycles in 8 s"
grep -q "http: $rows result(s) of the last 7 days loaded" "$TMP/page.err" ||
	fail "the history was not loaded: $(grep 'http:' "$TMP/page.err")"
URL=http://127.0.0.1:$HTTP_PORT/

# chrome ARGS...: headless Chromium inside $P, console messages logged on stderr
chrome() {
	ip netns exec "$P" timeout 40 "$CHROMIUM" --headless --no-sandbox --disable-gpu \
		--disable-quic --no-first-run --disable-background-networking \
		--disable-component-update --disable-sync --disable-extensions \
		--user-data-dir="$(mktemp -d "$TMP/chrome.XXXXXX")" --enable-logging=stderr --v=0 "$@"
}

# ---- 1. the DOM ----
chrome --dump-dom "$URL" >"$TMP/dom.html" 2>"$TMP/dom.err" || fail "chromium --dump-dom failed"
e2e_log "DOM: $(wc -c <"$TMP/dom.html") bytes"
/usr/bin/python3 - "$TMP/dom.html" <<'EOF' || fail "the page's DOM is not right"
import sys
from html.parser import HTMLParser

class Page(HTMLParser):
    def __init__(self):
        super().__init__()
        self.rows, self.svgs, self.paths, self.bands = {}, {}, {}, {}
        self.section, self.scripts, self.external, self.refresh = None, 0, [], None
    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        cls = (a.get("class") or "").split()
        if tag == "tr" and "site" in cls:
            self.rows[a["id"][4:]] = cls
        if tag == "section" and "site" in cls:
            self.section = a["id"][5:]
        if tag == "svg" and self.section:
            self.svgs[self.section] = self.svgs.get(self.section, 0) + 1
        if tag == "path" and self.section and "key" not in cls:
            self.paths.setdefault(self.section, {})[cls[0]] = a.get("d", "")
        if tag == "rect" and self.section and cls == ["fail"]:
            self.bands[self.section] = self.bands.get(self.section, 0) + 1
        if tag == "script":
            self.scripts += 1
        if tag == "meta" and a.get("http-equiv") == "refresh":
            self.refresh = a.get("content")
        for k in ("src", "href", "action", "data"):
            v = a.get(k) or ""
            if v and not (v.startswith("/") or v.startswith("#") or v.startswith("data:")):
                self.external.append((tag, k, v))
    def handle_endtag(self, tag):
        if tag == "section":
            self.section = None

p = Page()
p.feed(open(sys.argv[1]).read())
def check(cond, what):
    if not cond:
        sys.exit("DOM: " + what)
check(list(p.rows) == ["alpha", "beta"], "rows %s" % p.rows)
check("up" in p.rows["alpha"] and "down" in p.rows["beta"], "classes %s" % p.rows)
check(p.svgs == {"alpha": 1, "beta": 1}, "one svg per site: %s" % p.svgs)
check(p.scripts == 0, "scripts: %d" % p.scripts)
check(not p.external, "external references: %s" % p.external)
check(p.refresh == "5", "refresh: %s" % p.refresh)
login = p.paths["alpha"].get("login", "")
check(login.count("L") > 200, "alpha's login line from the history: %d points" % login.count("L"))
check(login.count("M") == 2, "alpha's login line broken once by the outage: %d" % login.count("M"))
check({"external", "internal"} <= set(p.paths["alpha"]), "alpha RTT lines %s" % list(p.paths["alpha"]))
check(p.bands.get("alpha", 0) == 1, "alpha: one failure band (the outage): %s" % p.bands)
check(p.bands.get("beta", 0) == 1, "beta: one failure band (the last hour, live): %s" % p.bands)
check("external" in p.paths["beta"], "beta RTT line %s" % list(p.paths["beta"]))
print("DOM ok: rows %s, svgs %s, alpha login points %d, bands %s" %
      (p.rows, p.svgs, login.count("L") + 1, p.bands), file=sys.stderr)
EOF
e2e_log "ok: the DOM"

# ---- 2. no console messages ----
# ---- 3. the screenshot ----
chrome --screenshot="$TMP/page.png" --window-size=1200,900 --hide-scrollbars "$URL" \
	>"$TMP/shot.out" 2>"$TMP/shot.err" || fail "chromium --screenshot failed"
for f in "$TMP/dom.err" "$TMP/shot.err"; do
	if grep -E ':CONSOLE|Uncaught|Content Security Policy|Refused to' "$f"; then
		fail "console messages in $f (above)"
	fi
done
e2e_log "ok: no console message"
[ -n "${E2E_ARTIFACTS:-}" ] && mkdir -p "$E2E_ARTIFACTS" && cp "$TMP/page.png" "$E2E_ARTIFACTS/status-page.png" &&
	e2e_log "screenshot copied to $E2E_ARTIFACTS/status-page.png"
/usr/bin/python3 - "$TMP/page.png" <<'EOF' || fail "the screenshot does not show the page"
# A minimal PNG reader (8-bit RGB/RGBA, no interlace) to count badge colours.
import struct, sys, zlib
data = open(sys.argv[1], "rb").read()
assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
pos, idat = 8, b""
while pos < len(data):
    n, kind = struct.unpack(">I4s", data[pos:pos + 8])
    body = data[pos + 8:pos + 8 + n]
    if kind == b"IHDR":
        w, h, depth, ctype, _, _, interlace = struct.unpack(">IIBBBBB", body)
    elif kind == b"IDAT":
        idat += body
    pos += 12 + n
assert depth == 8 and ctype in (2, 6) and not interlace, (depth, ctype, interlace)
bpp = 3 if ctype == 2 else 4
raw, stride = zlib.decompress(idat), w * bpp
prev, i, counts = bytearray(stride), 0, {"green": 0, "red": 0, "blue": 0}
want = {(0x1a, 0x8f, 0x3c): "green", (0xc6, 0x28, 0x28): "red", (0x1f, 0x5f, 0xbf): "blue"}
for y in range(h):
    f, line = raw[i], bytearray(raw[i + 1:i + 1 + stride])
    i += 1 + stride
    for x in range(stride):
        a = line[x - bpp] if x >= bpp else 0
        b, c = prev[x], prev[x - bpp] if x >= bpp else 0
        if f == 1: line[x] = (line[x] + a) & 255
        elif f == 2: line[x] = (line[x] + b) & 255
        elif f == 3: line[x] = (line[x] + (a + b) // 2) & 255
        elif f == 4:
            p = a + b - c
            pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
            line[x] = (line[x] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
    for x in range(0, stride, bpp):
        k = want.get(tuple(line[x:x + 3]))
        if k:
            counts[k] += 1
    prev = line
print("screenshot %dx%d: %s pixels" % (w, h, counts), file=sys.stderr)
assert w == 1200 and h == 900, (w, h)
assert counts["green"] > 500 and counts["red"] > 500, "badges not visible: %s" % counts
assert counts["blue"] > 100, "login line not visible: %s" % counts
EOF
e2e_log "ok: the screenshot shows green, red and the login line"
epmon_stop page
echo "PASS: status page: DOM, no console message, screenshot"
