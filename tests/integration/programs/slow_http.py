"""A program that cannot speak sd_notify: it serves HTTP on a port after a delay.

    slow_http.py PORT DELAY [EXIT_AFTER_READY|never] [MARKER]

Listens on 127.0.0.1:PORT DELAY seconds after it starts (a negative DELAY:
exits with status 3 after -DELAY seconds without ever listening); answers
every GET with 200 "ok"; exits with EXIT_AFTER_READY half a second after it
listens, when given a number; on SIGTERM writes "TERM" to MARKER and exits 0.
"""

from __future__ import annotations

import signal
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from types import FrameType


class Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"ok\n")

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: one line per probe would flood the journal."""


def main() -> None:
    port, delay = int(sys.argv[1]), float(sys.argv[2])
    exit_after = sys.argv[3] if len(sys.argv) > 3 else "never"
    marker = Path(sys.argv[4]) if len(sys.argv) > 4 else None

    def on_term(number: int, frame: FrameType | None) -> None:
        if marker is not None:
            marker.write_text("TERM")
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, on_term)
    print(f"starting, listening in {delay} s", flush=True)
    if delay < 0:
        time.sleep(-delay)
        print("giving up before listening", flush=True)
        raise SystemExit(3)
    time.sleep(delay)
    server = HTTPServer(("127.0.0.1", port), Handler)
    print(f"listening on {port}", flush=True)
    if exit_after != "never":
        time.sleep(0.5)
        raise SystemExit(int(exit_after))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    while True:
        time.sleep(3600)


if __name__ == "__main__":
    main()
