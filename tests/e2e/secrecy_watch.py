#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""secrecy_watch.py: the watcher of the e2e secrecy tests (test_*_secrecy.sh).

While `epmon once` runs, it samples /proc every few ms and reports every relevant process
whose /proc/PID/cmdline or /proc/PID/environ holds a secret; optionally it also checks the
mode of files (0600) and stats the credentials file a client is given in its argv. Started
by secrecy_watch_start (tests/e2e/lib.sh); it writes "ready" to --ready after its first
sample and stops when --stop exists, then prints on stdout:

    samples N                    samples taken
    relevant by probe N, by mark N, by ancestry N, by new netns N
                                 process samples, by the rule (below) that took them
    NAME files seen N            per --mode-0600 glob basename: files found (while they existed)
    seen COMM N                  relevant processes sampled, by comm
    AUTH PATH MODE UID DMODE DUID  per --auth-file: the file and its directory (octal modes)
    HIT WHAT                     each finding (a secret seen, a file not 0600), once

A process is relevant when it is this test's (never one in the watcher's own namespace):
  - in the probe's network namespace ((st_ino, st_dev) of /proc/PID/ns/net equal to those
    of --probe, /run/netns/PROBE: only this test runs processes there), or
  - a site process of this probe: its /proc/PID/mountinfo shows epmon's private
    resolv.conf of this probe namespace (a mount root under /epmon/isolation/<probe netns
    inode>/, i.e. /run/epmon/isolation/<inode>/slot-N.resolv: netns isolation); one with
    another probe's mark is another test's and left out; or
  - the same process (pid and start time) as one found relevant by these rules in an
    earlier sample (epmon itself, once it entered a site's namespace), or a child of one
    (swanctl, which epmon runs there without the private mounts; epmon's child between
    fork and its mounts), or
  - else (a process without a mark nor a known parent, e.g. one reparented): in a network
    namespace not in --before (the netns inventory of probe_snapshot) and not named in
    /run/netns. Only a fallback: the kernel reuses the inode numbers of freed namespaces
    (lowest free first), so a site namespace may carry the number of one in --before; and
    it also takes another test's unmarked processes (its epmon in its site's namespace,
    its swanctl), which hold none of this test's secrets.

Secrets: each non-empty line of each --secrets file, looked for in every --variants
spelling (asis, upper, lower, base64 of the line). --own-env NAME: epmon's own environment
(`epmon`, also its child between fork and exec, but not its `tunnel-setup` helper; and,
in the probe namespace, the `ip netns exec PROBE EPMON ...` starting it, EPMON given by
--epmon) may hold NAME=... entries, which are left out; NAME anywhere else (another
process's environ or any cmdline) is a HIT.
"""
import argparse
import base64
import glob
import os
import re
import stat
import sys
import time

ISO_MARK = re.compile(rb"/epmon/isolation/(\d+)/")


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--probe", required=True, help="/run/netns/PROBE")
    p.add_argument("--before", required=True, help="netns inventory of probe_snapshot")
    p.add_argument("--stop", required=True, help="stop when this file exists")
    p.add_argument("--ready", help="written after the first sample")
    p.add_argument("--secrets", action="append", default=[], help="FILE: a secret a line")
    p.add_argument("--variants", default="asis",
                   help="comma-separated spellings: asis, upper, lower, base64")
    p.add_argument("--epmon", help="the epmon binary (its `ip netns exec` starter is own)")
    p.add_argument("--own-env", action="append", default=[], metavar="NAME",
                   help="a variable allowed in epmon's own environ only")
    p.add_argument("--mode-0600", action="append", default=[], metavar="GLOB",
                   help="files that must be mode 0600 while they exist")
    p.add_argument("--auth-file", action="append", default=[], metavar="COMM:OPTION",
                   help="stat the file after OPTION in the argv of COMM (AUTH lines)")
    p.add_argument("--interval", type=float, default=0.003)
    a = p.parse_args()
    if not a.secrets:
        p.error("no --secrets file")
    return a


def load_secrets(files, variants):
    """[(needle, secret number, variant)]: each spelling of each non-empty line."""
    spell = {"asis": lambda s: s, "upper": bytes.upper, "lower": bytes.lower,
             "base64": base64.b64encode}
    out, n = [], 0
    for f in files:
        with open(f, "rb") as fh:
            for line in filter(None, fh.read().splitlines()):
                needles = set()
                for v in variants:
                    needle = spell[v](line)
                    if needle not in needles:
                        needles.add(needle)
                        out.append((needle, n, v))
                n += 1
    if not out:
        sys.exit("secrecy_watch: no secret in %s" % " ".join(files))
    return out


def read(path):
    with open(path, "rb") as f:
        return f.read()


def stat_fields(pid):
    """/proc/PID/stat after the comm: [state, ppid, ...]."""
    return read("/proc/%s/stat" % pid).rsplit(b")", 1)[1].split()


def starttime(pid):
    return stat_fields(pid)[19]


def descends(pid, tracked):
    """True if PID (or its parent) was seen as this test's before: the same process (pid
    and start time: epmon itself, entered a site's namespace) or its child (swanctl)."""
    f = stat_fields(pid)
    if tracked.get(pid) == f[19]:
        return True
    ppid = f[1].decode()
    return ppid in tracked and tracked[ppid] == starttime(ppid)


def main():
    a = parse_args()
    variants = a.variants.split(",")
    bad = [v for v in variants if v not in ("asis", "upper", "lower", "base64")]
    if bad:
        sys.exit("secrecy_watch: unknown variant(s) %s" % ",".join(bad))
    secrets = load_secrets(a.secrets, variants)
    probe = os.stat(a.probe)
    probe_net = (probe.st_ino, probe.st_dev)
    probe_ino = str(probe.st_ino).encode()
    me = os.stat("/proc/self/ns/net")
    self_net = (me.st_ino, me.st_dev)
    with open(a.before) as f:
        known = set(f.read().split())
    own_env = [n.encode() for n in a.own_env]
    epmon = a.epmon.encode() if a.epmon else None
    auth_opts = [tuple(x.split(":", 1)) for x in a.auth_file]
    seen, hits, auth, confs, samples = {}, [], {}, {}, 0
    by = {"probe": 0, "mark": 0, "ancestry": 0, "new": 0}
    tracked = {}  # pid -> start time of the processes found this test's (not by "new")

    while not os.path.exists(a.stop):
        samples += 1
        named = set()
        try:
            for name in os.listdir("/run/netns"):
                try:
                    named.add(str(os.stat("/run/netns/" + name).st_ino))
                except OSError:
                    pass
        except OSError:
            pass
        marks = {}  # mount namespace inode -> probe inodes of its epmon isolation mounts
        for pid in filter(str.isdigit, os.listdir("/proc")):
            d = "/proc/" + pid
            try:
                st = os.stat(d + "/ns/net")
                net = (st.st_ino, st.st_dev)
                in_probe = net == probe_net
                if net == self_net:
                    continue  # epmon and its clients live in the probe's or a site's
                if in_probe:
                    why = "probe"
                else:
                    mnt = os.stat(d + "/ns/mnt").st_ino
                    m = marks.get(mnt)
                    if m is None:
                        m = set(ISO_MARK.findall(read(d + "/mountinfo")))
                        # cached for this sample only (inodes are reused), and only when
                        # the process did not change mount namespace meanwhile
                        if os.stat(d + "/ns/mnt").st_ino == mnt:
                            marks[mnt] = m
                    if probe_ino in m:
                        why = "mark"
                    elif m:
                        continue  # another probe's site
                    elif descends(pid, tracked):
                        why = "ancestry"
                    elif str(st.st_ino) not in known and str(st.st_ino) not in named:
                        why = "new"
                    else:
                        continue
                if why != "new":
                    tracked[pid] = starttime(pid)
                comm = read(d + "/comm").decode(errors="replace").strip()
                data = {w: read(d + "/" + w) for w in ("cmdline", "environ")}
            except OSError:
                continue
            seen[comm] = seen.get(comm, 0) + 1
            by[why] += 1
            args = data["cmdline"].split(b"\0")
            own = (comm == "epmon" and b"tunnel-setup" not in args) or \
                  (in_probe and comm == "ip" and epmon is not None and epmon in args)
            if own and own_env:
                data["environ"] = b"\0".join(
                    e for e in data["environ"].split(b"\0")
                    if not any(e.startswith(n + b"=") for n in own_env))
            for what, blob in data.items():
                for needle, i, v in secrets:
                    if needle in blob:
                        hits.append("%s %s: %s has secret #%d%s" % (
                            pid, comm, what, i, "" if v == "asis" else " (%s)" % v))
                for n in own_env:
                    if n in blob:
                        hits.append("%s %s: %s has the variable %s" % (
                            pid, comm, what, n.decode()))
            for c, opt in auth_opts:
                if comm != c or opt.encode() not in args:
                    continue
                i = args.index(opt.encode())
                if i + 1 >= len(args):
                    continue
                path = args[i + 1].decode(errors="replace")
                if path in auth:
                    continue
                try:
                    f, dd = os.stat(path), os.stat(os.path.dirname(path))
                    auth[path] = "%o %d %o %d" % (stat.S_IMODE(f.st_mode), f.st_uid,
                                                  stat.S_IMODE(dd.st_mode), dd.st_uid)
                except OSError:
                    pass  # not made yet / already gone: a later sample
        for g in a.mode_0600:
            for f in glob.glob(g):
                try:
                    mode = stat.S_IMODE(os.stat(f).st_mode)
                except OSError:
                    continue
                confs.setdefault(os.path.basename(g), set()).add(f)
                if mode != 0o600:
                    hits.append("%s is mode %o" % (f, mode))
        if samples == 1 and a.ready:
            with open(a.ready, "w") as f:
                f.write("ready\n")
        time.sleep(a.interval)

    print("samples %d" % samples)
    print("relevant by probe %(probe)d, by mark %(mark)d, by ancestry %(ancestry)d, "
          "by new netns %(new)d" % by)
    for name in sorted(set(os.path.basename(g) for g in a.mode_0600)):
        print("%s files seen %d" % (name, len(confs.get(name, ()))))
    for comm, n in sorted(seen.items()):
        print("seen %s %d" % (comm, n))
    for path, how in sorted(auth.items()):
        print("AUTH %s %s" % (path, how))
    for h in sorted(set(hits)):
        print("HIT " + h)


if __name__ == "__main__":
    main()
