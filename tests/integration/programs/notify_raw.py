"""Test service: sends raw sd_notify datagrams, bypassing smartrestart.notify, then idles.

Measures what systemd itself accepts, so it must not use the library whose
limits it checks. Standard library only, so it runs on both beds' system Python.

Usage: notify_raw.py MESSAGE...   each MESSAGE is one datagram, sent in order:
  status:N     b"STATUS=" padded with "x" to exactly N bytes
  ready:N      b"READY=1\\nSTATUS=" padded with "x" to exactly N bytes
  nul          b"STATUS=nul\\0inside" (an embedded NUL)
  TEXT         TEXT itself, UTF-8, with "\\n" standing for a newline
"""

import os
import socket
import sys
import time


def datagram(spec: str) -> bytes:
    for prefix, head in (("status:", b"STATUS="), ("ready:", b"READY=1\nSTATUS=")):
        if spec.startswith(prefix):
            size = int(spec.removeprefix(prefix))
            return head + b"x" * (size - len(head))
    if spec == "nul":
        return b"STATUS=nul\0inside"
    return spec.replace("\\n", "\n").encode()


address = os.environ["NOTIFY_SOCKET"]
if address.startswith("@"):
    address = "\0" + address[1:]
with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
    for spec in sys.argv[1:]:
        message = datagram(spec)
        sent = sock.sendto(message, address)
        print(f"sent {spec.split(':')[0]} of {len(message)} bytes ({sent} sent)", flush=True)
while True:
    time.sleep(3600)
