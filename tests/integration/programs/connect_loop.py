"""Connect to 127.0.0.1:PORT in a loop until STOP_FILE exists; print made, refused, lost, servers.

Standard library only. Each successful connection must also get a reply
(the serving process's PID), so the count of distinct replies says how many
server processes answered.
"""

import socket
import sys
import time
from pathlib import Path

port, stop_file = int(sys.argv[1]), Path(sys.argv[2])
made = refused = lost = 0
pids = set()
deadline = time.monotonic() + 120
while not stop_file.exists() and time.monotonic() < deadline:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=30) as conn:
            made += 1
            reply = conn.makefile().readline().strip()
            if reply:
                pids.add(reply)
            else:
                lost += 1  # accepted, then closed unanswered
    except ConnectionRefusedError:
        refused += 1
    time.sleep(0.005)
print(made, refused, lost, len(pids))
