from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from smartrestart.apply.lock import HostLock
from smartrestart.errors import ExitCode, LockBusy

HOLD = """
import sys, time
from pathlib import Path
from smartrestart.apply.lock import HostLock
with HostLock(Path(sys.argv[1])):
    print("held", flush=True)
    time.sleep(float(sys.argv[2]))
"""


def test_second_holder_is_refused_and_told_who_holds_it(tmp_path: Path) -> None:
    lock = tmp_path / "apply.lock"
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(lock), "5"], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "held\n"
        with pytest.raises(LockBusy) as caught, HostLock(lock):
            pass
        assert caught.value.exit_code is ExitCode.LOCK_BUSY
        assert f"pid {holder.pid}" in caught.value.message
    finally:
        holder.kill()
        holder.wait()


def test_waiting_gets_the_lock_when_the_holder_ends(tmp_path: Path) -> None:
    lock = tmp_path / "apply.lock"
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(lock), "0.5"], stdout=subprocess.PIPE, text=True
    )
    assert holder.stdout is not None and holder.stdout.readline() == "held\n"
    with HostLock(lock, wait_seconds=10):
        assert lock.read_text().startswith("pid ")
    holder.wait()
    assert lock.read_text() == ""  # released and cleared


def test_lock_file_symlink_is_not_followed(tmp_path: Path) -> None:
    target = tmp_path / "elsewhere"
    target.write_text("precious")
    (tmp_path / "apply.lock").symlink_to(target)
    with pytest.raises(Exception, match="cannot open lock file"), HostLock(tmp_path / "apply.lock"):
        pass
    assert target.read_text() == "precious"
