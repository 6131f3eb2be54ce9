"""`smartrestart watch`: from a file write to the restart, beside watchfiles' own run_process.

Median (and spread) of N writes (default 20) of a module that the program
imports, each time from the write to:

* process mode, ``smartrestart watch --debounce 50ms -- python3 app/main.py``:
  the program receiving SIGTERM (it records ``time.monotonic()`` in its handler);
* watchfiles' ``run_process(tree, target="python3 app/main.py")`` with its
  defaults (step 50 ms, debounce 1600 ms): the program receiving SIGINT;
* units mode, in a systemd 252 test bed (root; ``--no-bed`` skips it):
  ``smartrestart watch --debounce 50ms`` run as a service, against the unit's
  ``ActiveExitTimestampMonotonic``: the moment systemd began the restart job
  that watch submitted (the bed shares the host's monotonic clock).

Both watchers settle a batch after 50 ms without a change; run_process then
restarts on any change, while watch first builds the import graph (cached)
to see whether the entry imports what changed, and in units mode decides and
applies. The next write waits until the program (or unit) is up again.

    python bench/watch_latency.py [--writes 20] [--no-bed]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
SRC = ROOT / "src"

PROGRAM = """\
import os, signal, sys, time
from app import helper
MARK = {mark!r}

def stop(number, frame):
    with open(MARK + ".signalled", "w") as out:
        out.write(repr(time.monotonic()))
    sys.exit(0)

signal.signal(signal.SIGTERM, stop)
signal.signal(signal.SIGINT, stop)
with open(MARK + ".pid", "w") as out:
    out.write(str(os.getpid()))
while True:
    time.sleep(1)
"""


def make_tree(base: Path) -> Path:
    tree = base / "tree"
    (tree / "app").mkdir(parents=True)
    (tree / "app/__init__.py").write_text("")
    (tree / "app/helper.py").write_text("VALUE = 0\n")
    (tree / "app/main.py").write_text(PROGRAM.format(mark=str(base / "mark")))
    return tree


def wait_for(predicate: Callable[[], bool], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError("no restart within 20 s")
        time.sleep(0.002)


def read(path: Path) -> str:
    try:
        return path.read_text()
    except FileNotFoundError:
        return ""


def measure_process(argv: list[str], writes: int) -> list[float]:
    base = Path(tempfile.mkdtemp(prefix="watch-latency-"))
    tree = make_tree(base)
    pid_file, signalled = base / "mark.pid", base / "mark.signalled"
    env = {**os.environ, "PYTHONPATH": f"{SRC}:{tree}"}
    watcher = subprocess.Popen(
        argv, cwd=tree, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    latencies = []
    try:
        wait_for(lambda: read(pid_file) != "")
        time.sleep(1.0)  # let the watcher settle in
        for number in range(1, writes + 1):
            pid, before = read(pid_file), read(signalled)
            written = time.monotonic()
            (tree / "app/helper.py").write_text(f"VALUE = {number}\n")
            wait_for(lambda before=before: read(signalled) not in ("", before))  # type: ignore[misc]
            latencies.append(float(read(signalled)) - written)
            wait_for(lambda pid=pid: read(pid_file) not in ("", pid))  # type: ignore[misc]
            time.sleep(0.3)
    finally:
        watcher.terminate()
        watcher.wait(20)
        shutil.rmtree(base, ignore_errors=True)
    return latencies


def measure_units(writes: int) -> tuple[int, list[float]]:
    from tests import testbed

    bed = testbed.boot("debian12")
    try:
        app, unit = "/srv/bench", "bench-app.service"
        bed.write(
            f"{app}/restart-rules.yaml",
            f"actions:\n  a: {{units: [{unit}]}}\n"
            "rules:\n  - {pattern: 'app/**', actions: [a]}\n",
        )
        bed.write(f"{app}/app/__init__.py", "")
        bed.write(f"{app}/app/main.py", "from app import helper\n")
        bed.write(f"{app}/app/helper.py", "VALUE = 0\n")
        program = testbed.BED_PROJECT / "tests/integration/programs/notify_after.py"
        bed.install_unit(
            unit, f"[Service]\nType=notify\nExecStart=/usr/bin/python3 {program} 0\n", reload=False
        )
        bed.install_unit(
            "bench-watch.service",
            textwrap.dedent(
                f"""\
                [Service]
                WorkingDirectory={app}
                Environment=PYTHONPATH={testbed.BED_PROJECT / "src"}
                ExecStart={bed.python} -m smartrestart watch --config-root /nonexistent \
--root . --debounce 50ms
                """
            ),
        )
        bed.systemctl("start", unit, "bench-watch.service")
        bed.wait_for(lambda: "watching" in bed.journal("-u", "bench-watch.service"), timeout=30)
        time.sleep(1.0)

        def exit_stamp() -> str:
            return bed.show(unit, "ActiveExitTimestampMonotonic")["ActiveExitTimestampMonotonic"]

        latencies = []
        for number in range(1, writes + 1):
            before = exit_stamp()
            written = time.monotonic()
            bed.path(f"{app}/app/helper.py").write_text(f"VALUE = {number}\n")
            bed.wait_for(lambda before=before: exit_stamp() != before, timeout=20, interval=0.01)
            latencies.append(int(exit_stamp()) / 1e6 - written)
            bed.wait_for(lambda: bed.show(unit, "ActiveState")["ActiveState"] == "active")
            time.sleep(0.3)
        return bed.systemd_version, latencies
    finally:
        bed.stop()


def summary(name: str, latencies: list[float]) -> str:
    ms = sorted(x * 1000 for x in latencies)
    quartiles = statistics.quantiles(ms, n=4)
    return (
        f"{name:<52} {statistics.median(ms):>7.1f} {quartiles[0]:>7.1f} {quartiles[2]:>7.1f} "
        f"{ms[-1]:>7.1f}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--writes", type=int, default=20)
    parser.add_argument("--no-bed", action="store_true", help="skip units mode (needs root)")
    args = parser.parse_args()
    python = sys.executable
    # A cache of its own: the import cache's trust check reads every file in the
    # cache directory, which grows with every project on the machine.
    cache = tempfile.mkdtemp(prefix="watch-latency-cache-")
    ours = [python, "-m", "smartrestart", "watch", "--debounce", "50ms", "--debounce-max",
            "1600ms", "--cache-dir", cache, "--", "python3", "app/main.py"]  # fmt: skip
    theirs = [python, "-c", "import watchfiles; watchfiles.run_process('.', "
              "target='python3 app/main.py', target_type='command')"]  # fmt: skip
    rows = [
        summary("watchfiles run_process (SIGINT sent)", measure_process(theirs, args.writes)),
        summary(
            "smartrestart watch, process mode (SIGTERM sent)", measure_process(ours, args.writes)
        ),
    ]
    if not args.no_bed:
        version, latencies = measure_units(args.writes)
        rows.append(
            summary(f"smartrestart watch, units mode (job began, systemd {version})", latencies)
        )
    print(f"from a write of an imported module to the restart, {args.writes} writes, ms")
    print(f"{'':<52} {'median':>7} {'q1':>7} {'q3':>7} {'max':>7}")
    print("\n".join(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
