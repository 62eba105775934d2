#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""A TCP relay for the lab: a slow start of the gateway's TLS (epmon's login
phases test). Every connection to --listen is accepted at once and relayed to
--to, both ways, byte for byte; the first bytes the server sends back (its
TLS ServerHello) reach the client --first-delay-ms late, everything after
goes at once. So the client's TCP connect is quick and its TLS handshake is
slow by that much, as with a gateway whose TLS terminator is overloaded.

  delay_relay.py --listen ADDR:PORT --to ADDR:PORT [--first-delay-ms MS]
                 [--pidfile FILE]

--pidfile is written once it listens; SIGTERM or SIGINT ends it.
"""
import argparse
import asyncio
import os
import signal
import sys


def addr(text):
    host, _, port = text.rpartition(":")
    return host.strip("[]"), int(port)


async def pipe(reader, writer, delay_s):
    """Copies reader to writer until EOF; the first chunk delay_s late."""
    first = True
    try:
        while True:
            data = await reader.read(65536)
            if not data:
                break
            if first and delay_s > 0:
                await asyncio.sleep(delay_s)
            first = False
            writer.write(data)
            await writer.drain()
    except (ConnectionError, asyncio.CancelledError):
        pass
    finally:
        try:
            writer.close()
        except Exception:
            pass


async def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--listen", required=True, type=addr)
    ap.add_argument("--to", required=True, type=addr)
    ap.add_argument("--first-delay-ms", type=float, default=0)
    ap.add_argument("--pidfile")
    a = ap.parse_args()
    delay_s = a.first_delay_ms / 1000

    async def on_client(c_reader, c_writer):
        try:
            s_reader, s_writer = await asyncio.open_connection(*a.to)
        except OSError as e:
            print("delay_relay: cannot reach %s:%d: %s" % (a.to + (e,)), file=sys.stderr)
            c_writer.close()
            return
        await asyncio.gather(pipe(c_reader, s_writer, 0), pipe(s_reader, c_writer, delay_s))

    server = await asyncio.start_server(on_client, *a.listen, reuse_address=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    if a.pidfile:
        with open(a.pidfile + ".tmp", "w") as f:
            f.write("%d\n" % os.getpid())
        os.rename(a.pidfile + ".tmp", a.pidfile)
    print("delay_relay: %s:%d -> %s:%d, first answer %g ms late" %
          (a.listen + a.to + (a.first_delay_ms,)), file=sys.stderr)
    await stop.wait()
    server.close()
    if a.pidfile:
        try:
            os.unlink(a.pidfile)
        except OSError:
            pass


if __name__ == "__main__":
    asyncio.run(main())
