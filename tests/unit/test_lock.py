from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from smartrestart.apply.lock import HostLock
from smartrestart.errors import ExitCode, LockBusy, UsageError

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


def test_the_default_lock_is_in_a_directory_only_root_can_write(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from smartrestart.apply.lock import ROOT_LOCK_FILE, default_lock_file

    monkeypatch.setattr("os.geteuid", lambda: 0)
    assert default_lock_file() == ROOT_LOCK_FILE == Path("/run/smartrestart/apply.lock")
    monkeypatch.setattr("os.geteuid", lambda: 1000)
    monkeypatch.setenv("XDG_RUNTIME_DIR", "/run/user/1000")
    assert default_lock_file() == Path("/run/user/1000/smartrestart/apply.lock")


def test_a_lock_directory_others_may_write_is_refused(tmp_path: Path) -> None:
    (tmp_path / "locks").mkdir(mode=0o777)
    (tmp_path / "locks").chmod(0o777)
    with (
        pytest.raises(UsageError, match="refusing the lock directory"),
        HostLock(tmp_path / "locks/apply.lock"),
    ):
        pass


@pytest.mark.skipif(os.geteuid() != 0, reason="giving a file away needs root")
def test_a_lock_file_another_user_created_is_refused(tmp_path: Path) -> None:
    """In /run/lock (1777) anyone may create the file first and hold it forever."""
    shared = tmp_path / "lock"
    shared.mkdir()
    shared.chmod(0o1777)
    planted = shared / "apply.lock"
    planted.write_text("")
    os.chown(planted, 65534, 65534)
    with (
        pytest.raises(UsageError, match=r"another user \(uid 65534\) created it"),
        HostLock(planted),
    ):
        pass
