# SPDX-License-Identifier: MIT
# shellcheck shell=bash
# A throw-away systemd (252 here) as PID 1 of a box: its own pid, mount, uts, ipc and cgroup
# namespaces (a child cgroup of the host's cgroup2 hierarchy), inside a network namespace
# given by the caller, its units from a directory of the caller's only (no host unit, no
# generator: nothing of the host's boot runs). The host's PID 1 need not be systemd. What
# systemd-nspawn would do, with the host's own file system as the box's (read-only /usr
# etc. is then the services' business: ProtectSystem= and friends act as on a real host).
# Root only. Source it; end with box_stop (also on failure: the caller's EXIT trap).
#
#   box_start DIR NETNS RESOLV [KEEP_DIR...]  start it: DIR (under /run) holds units/ (the
#                          caller's units; sdbox.target is started) and console.log (systemd's
#                          own log); RESOLV is bound onto the box's /etc/resolv.conf;
#                          KEEP_DIRs (under /run, DIR among them) stay visible in the box's
#                          fresh /run. Sets BOX_PID (systemd's pid, as the host sees it).
#   box_ctl ARGS...        systemctl ARGS in the box
#   box_run CMD...         CMD inside the box (all its namespaces)
#   box_root               the box's root as the host can read it (/proc/BOX_PID/root)
#   box_stop               `systemctl exit` (units stopped in order), SIGKILL after 30 s,
#                          then the box's cgroups removed

SDBOX_INIT=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/sdbox-init
BOX_PID=
BOX_CG=
BOX_SCRIPT_PID=

# box_cgroup_root: the host's cgroup2 mount (hybrid: /sys/fs/cgroup/unified).
box_cgroup_root() {
	local d
	for d in /sys/fs/cgroup/unified /sys/fs/cgroup; do
		[ "$(stat -f -c %T "$d" 2>/dev/null)" = cgroup2fs ] && { echo "$d"; return 0; }
	done
	return 1
}

# box_units DIR: the units every box needs in DIR: the targets systemd pulls in by default
# dependencies (empty here), sdbox.target (started at boot), and exit.target with
# systemd-exit.service (box_stop: `systemctl exit`).
box_units() {
	local d=$1 t
	mkdir -p "$d"
	for t in sysinit basic shutdown umount final sdbox; do
		printf '[Unit]\nDescription=sdbox %s.target\nDefaultDependencies=no\n' "$t" >"$d/$t.target"
	done
	cp /lib/systemd/system/exit.target /lib/systemd/system/systemd-exit.service "$d/"
}

box_start() {
	local dir=$1 ns=$2 resolv=$3 root st
	shift 3
	[ -x /lib/systemd/systemd ] || { echo "sdbox: no /lib/systemd/systemd" >&2; return 1; }
	root=$(box_cgroup_root) || { echo "sdbox: no cgroup2 hierarchy mounted" >&2; return 1; }
	box_units "$dir/units"
	BOX_CG=$root/epmon-sdbox-$$
	mkdir "$BOX_CG" || return 1
	: >"$dir/console.log"
	# script(1) gives the box a terminal for /dev/console (systemd logs only to a tty);
	# its shell moves itself into the box's cgroup, then becomes the box's unshare.
	script -qfec "echo \$\$ >$BOX_CG/cgroup.procs && exec nsenter --net=/run/netns/$ns \
unshare --pid --fork --mount --uts --ipc --cgroup --propagation private --kill-child \
$SDBOX_INIT $dir/units $resolv \$(tty) $*" "$dir/console.log" </dev/null >/dev/null 2>&1 &
	BOX_SCRIPT_PID=$!
	for _ in $(seq 200); do
		BOX_PID=$(head -1 "$BOX_CG/init.scope/cgroup.procs" 2>/dev/null)
		[ -n "$BOX_PID" ] && break
		kill -0 "$BOX_SCRIPT_PID" 2>/dev/null || break
		sleep 0.1
	done
	[ -n "$BOX_PID" ] || { echo "sdbox: systemd did not start:" >&2; cat "$dir/console.log" >&2; return 1; }
	for _ in $(seq 300); do
		st=$(box_ctl is-system-running 2>/dev/null)
		case $st in running | degraded) return 0 ;; esac
		sleep 0.1
	done
	echo "sdbox: systemd not running after 30 s (state '$st'):" >&2
	cat "$dir/console.log" >&2
	return 1
}

box_ctl() { nsenter -t "$BOX_PID" -a -- systemctl --no-pager "$@"; }
box_run() { nsenter -t "$BOX_PID" -a -- "$@"; }
box_root() { [ -n "$BOX_PID" ] && echo "/proc/$BOX_PID/root"; }

# box_alive: true while the box's systemd lives (a zombie counts as gone).
box_alive() {
	local st
	[ -n "$BOX_PID" ] || return 1
	st=$(awk '/^State:/ {print $2}' "/proc/$BOX_PID/status" 2>/dev/null)
	[ -n "$st" ] && [ "$st" != Z ]
}

box_stop() {
	if box_alive; then
		box_ctl --no-block exit >/dev/null 2>&1
		for _ in $(seq 300); do box_alive || break; sleep 0.1; done
		box_alive && kill -KILL "$BOX_PID" 2>/dev/null
	fi
	if [ -n "$BOX_SCRIPT_PID" ]; then
		for _ in $(seq 100); do kill -0 "$BOX_SCRIPT_PID" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$BOX_SCRIPT_PID" 2>/dev/null
		wait "$BOX_SCRIPT_PID" 2>/dev/null
	fi
	if [ -n "$BOX_CG" ] && [ -d "$BOX_CG" ]; then
		# every process of the box died with its PID 1; the host's init may reap late
		for _ in $(seq 100); do
			find "$BOX_CG" -depth -type d -exec rmdir {} + 2>/dev/null
			[ -d "$BOX_CG" ] || break
			sleep 0.1
		done
		[ -d "$BOX_CG" ] && echo "sdbox: cannot remove $BOX_CG" >&2
	fi
	BOX_PID='' BOX_CG='' BOX_SCRIPT_PID=''
}
