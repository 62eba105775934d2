#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""A real SMTP server for epmon's alert tests (python3-aiosmtpd; run it with
/usr/bin/python3). Every message it accepts is saved in --dir as
msg-NNNN.eml (the raw bytes received after DATA) and msg-NNNN.json (envelope:
mail_from, rcpt_tos, auth_user, tls), written to a temp name and renamed so a
test never reads half a file.

Modes:
  plain     SMTP, no TLS
  starttls  STARTTLS offered and required before MAIL (--cert/--key)
  tls       TLS from the first byte, like port 465 (--cert/--key)
  reject    like plain, but every message gets --reject-code after DATA
  hang      accepts TCP connections and never says a word

--auth-user U --auth-password-file F: AUTH required, checked against the
first line of F; --auth-mech LOGIN|PLAIN offers only that mechanism.
--pidfile F is written once the server accepts connections. SIGTERM stops it.
"""
import argparse
import json
import os
import signal
import socket
import ssl
import sys
import threading

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


def log(msg):
    print("smtpd[%d]: %s" % (os.getpid(), msg), file=sys.stderr, flush=True)


class Saver:
    """aiosmtpd handler: stores each message, or rejects it."""

    def __init__(self, directory, reject_code):
        self.directory = directory
        self.reject_code = reject_code
        self.lock = threading.Lock()

    def next_name(self):
        names = [n for n in os.listdir(self.directory)
                 if n.startswith("msg-") and n.endswith(".eml")]
        return "msg-%04d" % (len(names) + 1)

    def write(self, path, data):
        tmp = os.path.join(self.directory, ".tmp-" + os.path.basename(path))
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.rename(tmp, path)

    async def handle_DATA(self, server, session, envelope):
        if self.reject_code:
            log("rejecting a message from %s with %d" %
                (envelope.mail_from, self.reject_code))
            return "%d 5.7.1 message refused by the test server" % self.reject_code
        with self.lock:
            name = self.next_name()
            meta = {
                "mail_from": envelope.mail_from,
                "rcpt_tos": list(envelope.rcpt_tos),
                "auth_user": (session.auth_data.login.decode()
                              if isinstance(session.auth_data, LoginPassword)
                              else None),
                "tls": session.ssl is not None,
            }
            # The .json first: once the .eml exists, both do.
            self.write(os.path.join(self.directory, name + ".json"),
                       json.dumps(meta).encode())
            self.write(os.path.join(self.directory, name + ".eml"),
                       envelope.original_content)
        log("saved %s from %s to %s" % (name, envelope.mail_from,
                                        ",".join(envelope.rcpt_tos)))
        return "250 2.0.0 OK saved as %s" % name


def authenticator(user, password):
    def check(server, session, envelope, mechanism, auth_data):
        ok = (isinstance(auth_data, LoginPassword) and
              auth_data.login == user.encode() and
              auth_data.password == password.encode())
        log("AUTH %s as %r: %s" % (mechanism, getattr(auth_data, "login", b""),
                                   "accepted" if ok else "refused"))
        return AuthResult(success=ok, handled=False, auth_data=auth_data)
    return check


def tls_context(args):
    if not args.cert or not args.key:
        sys.exit("smtpd.py: --cert and --key are needed for mode %s" % args.mode)
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(args.cert, args.key)
    return ctx


def hang_server(args, stop):
    """Accepts connections and keeps them open, silent, until stopped."""
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind((args.host, args.port))
    srv.listen(16)
    srv.settimeout(0.2)
    conns = []
    write_pidfile(args)
    log("hang mode on %s:%d" % (args.host, args.port))
    while not stop.is_set():
        try:
            conn, peer = srv.accept()
            conns.append(conn)
            log("accepted %s:%d, saying nothing" % peer)
        except socket.timeout:
            pass
    for c in conns:
        c.close()
    srv.close()


def write_pidfile(args):
    if args.pidfile:
        tmp = args.pidfile + ".tmp"
        with open(tmp, "w") as f:
            f.write("%d\n" % os.getpid())
        os.rename(tmp, args.pidfile)


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--dir", required=True, help="where messages are saved")
    p.add_argument("--mode", default="plain",
                   choices=["plain", "starttls", "tls", "reject", "hang"])
    p.add_argument("--cert")
    p.add_argument("--key")
    p.add_argument("--auth-user")
    p.add_argument("--auth-password-file")
    p.add_argument("--auth-mech", choices=["LOGIN", "PLAIN"])
    p.add_argument("--reject-code", type=int, default=550)
    p.add_argument("--pidfile")
    args = p.parse_args()
    os.makedirs(args.dir, exist_ok=True)

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    if args.mode == "hang":
        hang_server(args, stop)
        return

    kwargs = {"hostname": args.host, "port": args.port,
              "server_hostname": "smtpd.test", "ident": "epmon-test-smtpd"}
    if args.mode == "starttls":
        kwargs["tls_context"] = tls_context(args)
        kwargs["require_starttls"] = True
    elif args.mode == "tls":
        kwargs["ssl_context"] = tls_context(args)
    if args.auth_user:
        with open(args.auth_password_file) as f:
            password = f.readline().rstrip("\r\n")
        kwargs["authenticator"] = authenticator(args.auth_user, password)
        kwargs["auth_required"] = True
        # Implicit TLS is TLS too, though aiosmtpd only counts STARTTLS.
        kwargs["auth_require_tls"] = args.mode == "starttls"
        if args.auth_mech:
            kwargs["auth_exclude_mechanism"] = [
                m for m in ("LOGIN", "PLAIN") if m != args.auth_mech]
    handler = Saver(args.dir, args.reject_code if args.mode == "reject" else 0)
    controller = Controller(handler, **kwargs)
    controller.start()
    write_pidfile(args)
    log("%s mode on %s:%d%s" % (args.mode, args.host, args.port,
                                ", AUTH as %s" % args.auth_user if args.auth_user else ""))
    while not stop.wait(0.2):
        pass
    controller.stop()
    log("stopped")


if __name__ == "__main__":
    main()
