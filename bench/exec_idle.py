"""`smartrestart exec` idle: its memory and CPU over a minute, beside a shell health loop.

A plain program (a Python HTTP server on a loopback port) runs for SECONDS
(default 60) under two supervisors at the same time, each pinging a watchdog
only while a 1 s TCP health check passes:

* ``smartrestart exec --health tcp:... --health-interval 1s`` with
  ``WATCHDOG_USEC=2s`` and a notify socket of ours (no systemd needed);
* what a user would write instead without exec: a bash loop,
  ``while :; do (exec 3<>/dev/tcp/HOST/PORT) && systemd-notify WATCHDOG=1; sleep 1; done``
  (``systemd-notify --fork`` and ``--exec`` do not exist on systemd 252).

Reported per supervisor, the program itself excluded: RSS at the end
(VmRSS), CPU time over the run (its own plus every child it reaped: bash's
subshells, sleeps and systemd-notify), and the notify messages received.
Also the floor: the RSS of ``python3 -c 'import time; time.sleep(60)'``.

    python bench/exec_idle.py [--seconds 60]
"""

from __future__ import annotations

import argparse
import os
import resource
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

SRC = Path(__file__).resolve().parent.parent / "src"
SERVER = [sys.executable, "-m", "http.server", "--bind", "127.0.0.1"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def own_cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12]) + int(fields[13]) + int(fields[14])) / ticks


def count_messages(sock: socket.socket, counts: dict[str, int], stop: threading.Event) -> None:
    sock.settimeout(0.2)
    while not stop.is_set():
        try:
            message = sock.recv(4096)
        except TimeoutError:
            continue
        counts["messages"] += 1
        counts["pings"] += message.count(b"WATCHDOG=1")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    args = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="exec-idle-"))
    results: list[tuple[str, int, float, int]] = []
    floor = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(3600)"])
    runs = []
    for name in ("exec", "bash loop"):
        port = free_port()
        notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        notify.bind(str(scratch / f"notify-{port}"))
        counts = {"messages": 0, "pings": 0}
        stop = threading.Event()
        threading.Thread(target=count_messages, args=(notify, counts, stop), daemon=True).start()
        env = {
            **os.environ,
            "PYTHONPATH": str(SRC),
            "NOTIFY_SOCKET": str(scratch / f"notify-{port}"),
            "WATCHDOG_USEC": "2000000",
        }
        if name == "exec":
            argv = [
                sys.executable, "-m", "smartrestart", "exec",
                "--ready", f"tcp:127.0.0.1:{port}",
                "--health", f"tcp:127.0.0.1:{port}", "--health-interval", "1s",
                "--", *SERVER, str(port),
            ]  # fmt: skip
        else:
            loop = (
                f"{' '.join(SERVER)} {port} >/dev/null 2>&1 & "
                f"while :; do (exec 3<>/dev/tcp/127.0.0.1/{port}) 2>/dev/null "
                "&& systemd-notify WATCHDOG=1; sleep 1; done"
            )
            argv = ["bash", "-c", loop]
        process = subprocess.Popen(
            argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        runs.append((name, process, counts, stop, notify))
    time.sleep(args.seconds)
    floor_rss = rss_kib(floor.pid)
    floor.kill()
    floor.wait()
    for name, process, counts, stop, notify in runs:
        rss = rss_kib(process.pid)
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu_self = own_cpu(process.pid)
        # The program (the HTTP server) is the supervisor's child: end it first,
        # so its CPU is not counted; then the supervisor, whose children we reap.
        server = subprocess.run(
            ["pgrep", "-P", str(process.pid), "-f", "http.server"],
            capture_output=True,
            text=True,
            check=False,
        ).stdout.split()
        server_cpu = sum(own_cpu(int(pid)) for pid in server)
        process.kill()
        process.wait()
        for pid in server:
            os.kill(int(pid), 9)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        reaped = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
        cpu = max(cpu_self, reaped) - server_cpu if name == "bash loop" else cpu_self
        stop.set()
        notify.close()
        results.append((name, rss, cpu, counts["pings"]))
    print(f"idle {args.seconds:g} s, health probe every 1 s, watchdog every 1 s (WATCHDOG_USEC=2s)")
    print(f"{'supervisor':<12} {'RSS MiB':>8} {'CPU s':>7} {'CPU %':>6} {'pings':>6}")
    for name, rss, cpu, pings in results:
        print(
            f"{name:<12} {rss / 1024:>8.1f} {cpu:>7.3f} {100 * cpu / args.seconds:>6.2f} {pings:>6}"
        )
    print(f"floor: a bare sleeping python3 has RSS {floor_rss / 1024:.1f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
