"""Connect to 127.0.0.1:PORT in a loop for SECONDS; print connections made and refused.

Standard library only. Each successful connection must also get a reply.
"""

import socket
import sys
import time

port, seconds = int(sys.argv[1]), float(sys.argv[2])
made = refused = 0
pids = set()
deadline = time.monotonic() + seconds
while time.monotonic() < deadline:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
            made += 1
            pids.add(conn.makefile().readline().strip())
    except ConnectionRefusedError:
        refused += 1
    time.sleep(0.005)
print(made, refused, len(pids))
