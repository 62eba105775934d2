#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# `make deb`: the Debian package builds in a scratch directory (nothing left in the tree),
# lintian finds no error in it, and unpacked into an empty tree (dpkg -x) it holds what a
# user expects: /usr/sbin/epmon that runs (--version, check-config), the systemd unit
# (systemd-analyze verify accepts it) enabled by postinst and starting only once
# /etc/epmon/config.yml exists, both man pages, the example config, the copyright, and no
# /etc at all (no config with a password). Its sysusers file creates the user "epmon" (run
# by systemd-sysusers into that tree, as the postinst does into /). Depends names the
# package of every library epmon loads with dlopen (the sonames in the binary that are not
# in its NEEDED list). Runs without root; skipped only without root when the build tools
# are missing.
set -u
E2E_PREFIX=${E2E_PREFIX:-deb$$}
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"

[ -x "${EPMON:-}" ] || fail "EPMON (the epmon binary) not set or not executable: '${EPMON:-}'"
for c in dpkg-buildpackage dh lintian dpkg-deb systemd-sysusers systemd-analyze objdump make; do
	command -v "$c" >/dev/null 2>&1 && continue
	[ "$(id -u)" -eq 0 ] && fail "needs $c: \`make deps\` installs it"
	skip "needs $c (\`make deps\`, as root, installs it)"
done
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
e2e_tmpdir TMP

# What a build in the tree would leave (debhelper's work files, the .deb beside the tree):
# none of them may appear. Compared with before, so a leftover of someone else is not ours.
leftovers() {
	local f
	for f in "$ROOT"/debian/{epmon,.debhelper,files,debhelper-build-stamp,*.substvars,*.debhelper*} \
		"$ROOT"/../epmon_*; do
		[ -e "$f" ] && echo "$f"
	done
}
before=$(leftovers)

# 1. make deb, into a build directory of the test's own
t0=$(date +%s%N)
make -C "$ROOT" deb BUILD="$TMP/build" >"$TMP/build.log" 2>&1 ||
	{ tail -40 "$TMP/build.log" >&2; fail "make deb failed"; }
took=$((($(date +%s%N) - t0) / 100000000))
e2e_log "make deb (dpkg-buildpackage -b): $((took / 10)).$((took % 10)) s"
assert_eq "$before" "$(leftovers)" "debhelper files in the source tree after make deb"
debs=("$TMP"/build/deb/epmon_*_*.deb)
if [ "${#debs[@]}" -ne 1 ] || [ ! -f "${debs[0]}" ]; then
	fail "not one epmon_*.deb in $TMP/build/deb: ${debs[*]}"
fi
DEB=${debs[0]}
e2e_log "built $(basename "$DEB"), $(stat -c %s "$DEB") bytes"

# 2. lintian: no error (warnings and infos are shown, not failed on)
lintian --fail-on error "$DEB" >"$TMP/lintian" 2>&1
rc=$?
grep -v '^running with root privileges' "$TMP/lintian" | sed 's/^/    lintian: /' >&2
e2e_log "lintian: $(grep -c '^W:' "$TMP/lintian") warnings, $(grep -c '^E:' "$TMP/lintian") errors"
grep -q '^E:' "$TMP/lintian" && fail "lintian reports errors"
assert_eq 0 "$rc" "lintian exit status"

# 3. the package's version is the binary's
version=$(dpkg-deb -f "$DEB" Version)
assert_eq "epmon $version" "$("$EPMON" --version)" "package version vs epmon --version"

# 4. unpacked into an empty tree: the files a user expects
R=$TMP/root
dpkg -x "$DEB" "$R" || fail "dpkg -x $DEB"
for f in usr/sbin/epmon lib/systemd/system/epmon.service usr/share/man/man8/epmon.8.gz \
	usr/share/man/man5/epmon.yml.5.gz usr/share/doc/epmon/config.example.yml \
	usr/share/doc/epmon/copyright usr/share/doc/epmon/changelog.gz \
	usr/lib/sysusers.d/epmon.conf; do
	[ -s "$R/$f" ] || fail "$f missing or empty in the package"
done
[ -x "$R/usr/sbin/epmon" ] || fail "usr/sbin/epmon not executable"
e2e_log "ok: binary, unit, man pages, example config, copyright, sysusers file"
[ -e "$R/etc" ] && fail "the package installs under /etc: $(cd "$R" && find etc)"
zcat "$R/usr/share/man/man8/epmon.8.gz" | grep -q '^\.TH' || fail "epmon.8.gz is not a man page"
zcat "$R/usr/share/man/man5/epmon.yml.5.gz" | grep -q '^\.TH' || fail "epmon.yml.5.gz is not a man page"

# 5. the unit: the packaged binary, started only with a config; postinst enables it and
# creates the user
UNIT=$R/lib/systemd/system/epmon.service
grep -qx 'ExecStart=/usr/sbin/epmon run -c /etc/epmon/config.yml' "$UNIT" ||
	fail "unit: no ExecStart=/usr/sbin/epmon run -c /etc/epmon/config.yml"
grep -qx 'ConditionPathExists=/etc/epmon/config.yml' "$UNIT" ||
	fail "unit: no ConditionPathExists=/etc/epmon/config.yml"
# systemd accepts it (ExecStart pointed at the unpacked binary, man pages from the package)
sed "s|^ExecStart=/usr/sbin/epmon |ExecStart=$R/usr/sbin/epmon |" "$UNIT" >"$TMP/epmon.service"
MANPATH=$R/usr/share/man systemd-analyze verify "$TMP/epmon.service" >"$TMP/verify" 2>&1 ||
	fail "systemd-analyze verify: $(cat "$TMP/verify")"
[ -s "$TMP/verify" ] && fail "systemd-analyze verify complained: $(cat "$TMP/verify")"
dpkg-deb -e "$DEB" "$TMP/control" || fail "dpkg-deb -e"
grep -q "deb-systemd-helper enable 'epmon.service'" "$TMP/control/postinst" ||
	fail "postinst does not enable epmon.service"
grep -q 'systemd-sysusers .*epmon.conf' "$TMP/control/postinst" ||
	fail "postinst does not run systemd-sysusers epmon.conf"
e2e_log "ok: unit with /usr/sbin/epmon and the config condition, enabled by postinst"

# 6. the user, created the way the postinst does it, into the unpacked tree
mkdir "$R/etc"
systemd-sysusers --root="$R" epmon.conf >"$TMP/sysusers" 2>&1 ||
	fail "systemd-sysusers: $(cat "$TMP/sysusers")"
assert_match '^epmon:x:[0-9]+:[0-9]+:[^:]*:/nonexistent:/(usr/)?s?bin/(nologin|false)$' \
	"$(grep '^epmon:' "$R/etc/passwd")" "user epmon"
grep -q '^epmon:' "$R/etc/group" || fail "no group epmon"

# 7. the unpacked binary runs: --version, check-config on a small valid config
assert_eq "epmon $version" "$("$R/usr/sbin/epmon" --version 2>&1)" "packaged epmon --version"
cat >"$TMP/config.yml" <<EOF
frequency: 60
results: {directory: $TMP/results}
state_directory: $TMP/state
ping: {count: 2, interval: 0.05, timeout: 1}
sites:
  - {name: lo, external_ip: 127.0.0.1, internal_ip: 127.0.0.2}
EOF
chmod 600 "$TMP/config.yml"
out=$("$R/usr/sbin/epmon" check-config -c "$TMP/config.yml" 2>"$TMP/err")
assert_eq 0 "$?" "packaged epmon check-config exit"
assert_eq "OK: 1 site" "$out" "packaged epmon check-config output"
assert_eq "" "$(cat "$TMP/err")" "packaged epmon check-config stderr"

# 8. Depends names the package of each library epmon loads with dlopen: a soname string in
# the binary that is not NEEDED, mapped to its package on this (build) machine
objdump -p "$R/usr/sbin/epmon" | awk '$1 == "NEEDED" { print $2 }' | sort -u >"$TMP/needed"
grep -aoE 'lib[A-Za-z0-9_+-]+\.so(\.[0-9]+)+' "$R/usr/sbin/epmon" | sort -u |
	comm -23 - "$TMP/needed" >"$TMP/dlopened"
[ -s "$TMP/dlopened" ] || fail "no dlopen'd soname found in the binary (expected libcurl, ...)"
depends=$(dpkg-deb -f "$DEB" Depends)
e2e_log "Depends: $depends"
# the package names in Depends, alternatives included, one a line
awk -F '[,|]' '{ for (i = 1; i <= NF; i++) { split($i, w, " "); if (w[1] != "") print w[1] } }' \
	<<<"$depends" >"$TMP/depends"
while read -r so; do
	pkgs=$(dpkg -S "*/$so" 2>/dev/null | sed 's/: \/.*//' | tr ',' '\n' |
		sed 's/ //g; s/:.*//' | sort -u)
	[ -n "$pkgs" ] || fail "$so (dlopen'd): no installed package holds it"
	for p in $pkgs; do
		grep -qxF "$p" "$TMP/depends" || fail "$so (dlopen'd, in $p): $p not in Depends"
	done
	e2e_log "ok: $so (dlopen) -> $pkgs in Depends"
done <"$TMP/dlopened"
exit 0
