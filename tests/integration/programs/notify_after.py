"""Test service: sends READY=1 (and a STATUS) after a delay, then sleeps.

Standard library only, so it runs on both beds' system Python.
Usage: notify_after.py SECONDS [STATUS]
"""

import os
import socket
import sys
import time


def notify(message: str) -> None:
    address = os.environ["NOTIFY_SOCKET"]
    if address.startswith("@"):
        address = "\0" + address[1:]
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.sendto(message.encode(), address)


time.sleep(float(sys.argv[1]))
status = sys.argv[2] if len(sys.argv) > 2 else "ready"
notify(f"READY=1\nSTATUS={status}")
while True:
    time.sleep(3600)
