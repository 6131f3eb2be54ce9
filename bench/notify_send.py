"""Microseconds per WATCHDOG=1 datagram: smartrestart.notify, sdnotify, a bare sendto.

A receiver process drains the socket on the other core. Sends go in small
batches, below the kernel's datagram queue limit (net.unix.max_dgram_qlen,
10 on this machine kind), and the receiver acknowledges each batch once it
has read all of it, so every batch starts on an empty queue and no variant
ever meets a full one (on a busy machine a pause alone did not ensure that:
the non-blocking sends then failed with EAGAIN). Only the time spent sending
is counted.

Target: smartrestart.notify within 1.5x of the bare send.
"""

from __future__ import annotations

import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

BATCH = 8
BATCHES = 3000
RECEIVER = """
import socket, sys
sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
sock.bind(sys.argv[1])
print("ready", flush=True)
batch = int(sys.argv[2])
while True:
    for _ in range(batch):
        sock.recv(64)
    sys.stdout.buffer.write(b".")
    sys.stdout.buffer.flush()
"""


def measure(send: Callable[[], object], drained: Callable[[], object]) -> float:
    """Median microseconds per send over the batches."""
    per_send: list[float] = []
    for _ in range(BATCHES):
        started = time.perf_counter_ns()
        for _ in range(BATCH):
            send()
        per_send.append((time.perf_counter_ns() - started) / BATCH / 1000)
        drained()  # the receiver read the whole batch: the next starts on an empty queue
    return statistics.median(per_send)


def main() -> None:
    with tempfile.TemporaryDirectory() as work:
        address = str(Path(work) / "notify.sock")
        receiver = subprocess.Popen(
            [sys.executable, "-c", RECEIVER, address, str(BATCH)], stdout=subprocess.PIPE
        )
        try:
            acks = receiver.stdout
            assert acks is not None and acks.readline() == b"ready\n"

            def drained() -> None:
                assert acks.read(1) == b".", "the receiver stopped"

            os.environ["NOTIFY_SOCKET"] = address
            import sdnotify

            from smartrestart import notify

            bare = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
            connected = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
            connected.connect(address)
            plain = sdnotify.SystemdNotifier()
            watchdog = notify.Watchdog(interval=1.0)
            variants = {
                "bare socket.sendto (baseline)": lambda: bare.sendto(b"WATCHDOG=1", address),
                "bare connected socket.send": lambda: connected.send(b"WATCHDOG=1"),
                "sdnotify SystemdNotifier.notify": lambda: plain.notify("WATCHDOG=1"),
                "smartrestart.notify.watchdog()": notify.watchdog,
                "smartrestart.notify.Watchdog.ping()": watchdog.ping,
            }
            # Two rounds, the first one discarded: whichever ran first would
            # otherwise pay for warming caches and the receiver up.
            for _ in range(2):
                results = {name: measure(send, drained) for name, send in variants.items()}
            assert notify.default_notifier().last_error is None, (
                notify.default_notifier().last_error
            )
        finally:
            receiver.kill()
            receiver.wait()
    baseline = results["bare socket.sendto (baseline)"]
    print(f"µs per WATCHDOG=1 send, median of {BATCHES} batches of {BATCH}")
    for name, value in results.items():
        print(f"{name:40} {value:6.2f} µs  {value / baseline:5.2f}x")
    print("target: smartrestart.notify.watchdog() within 1.5x of the bare send")


if __name__ == "__main__":
    main()
