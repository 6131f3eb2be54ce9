"""watch's process mode on a real tree: restarts for what the program imports, state kept."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src"
APP = """\
import signal, sys, time
from smartrestart import notify
from app import helper

store = notify.StateStore(directory={state!r})
state = store.load({{"starts": 0}})
state["starts"] += 1
print("start", state["starts"], helper.VALUE, flush=True)

def save(number, frame):
    store.save(state)
    sys.exit(0)

signal.signal(signal.SIGTERM, save)
while True:
    time.sleep(1)
"""


def wait_for(predicate: object, timeout: float = 15.0) -> None:
    assert callable(predicate)
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)


def test_restarts_only_for_imported_files_and_keeps_state(tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    (tree / "app").mkdir(parents=True)
    (tree / "app/__init__.py").write_text("")
    (tree / "app/helper.py").write_text("VALUE = 1\n")
    (tree / "app/main.py").write_text(APP.format(state=str(tmp_path / "state")))
    (tree / "unrelated.py").write_text("X = 1\n")
    log = tmp_path / "log"
    with log.open("w") as out:
        watch = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "smartrestart",
                "watch",
                "--debounce",
                "50ms",
                "--no-cache",
                "--",
                sys.executable,
                "-m",
                "app.main",
            ],
            cwd=tree,
            # The program writes __pycache__ (as it would by default), so a
            # stale .pyc could be run: see below.
            env={
                **{k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"},
                "PYTHONPATH": f"{SRC}:{tree}",
            },
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_for(lambda: "start 1 1" in log.read_text())
        (tree / "unrelated.py").write_text("X = 2\n")
        wait_for(lambda: "not imported by app/main.py" in log.read_text())
        # Same size, and the mtime the program compiled from: what a save
        # within the same second looks like to Python's .pyc check.
        helper = tree / "app/helper.py"
        before = helper.stat()
        helper.write_text("VALUE = 2\n")
        os.utime(helper, ns=(before.st_atime_ns, before.st_mtime_ns))
        wait_for(lambda: "start 2 2" in log.read_text())  # state survived the restart
        text = log.read_text()
        assert "app/helper.py changed (imported through app/helper.py -> app/main.py)" in text
        starts = [line for line in text.splitlines() if line.startswith("start ")]
        assert starts == ["start 1 1", "start 2 2"]  # the unrelated file restarted nothing
    finally:
        watch.terminate()
        assert watch.wait(timeout=20) == 0
    assert json.loads((tmp_path / "state/state.json").read_text())["starts"] == 2
    assert "smartrestart watch: stopped" in log.read_text()
