"""One apply at a time per host: an ``flock`` on ``/run/smartrestart/apply.lock``.

The holder writes its PID, start time and command line into the file after
taking the lock, so a second apply can say who holds it. The lock dies with
the process (the kernel drops it when the descriptor closes), so a crashed
apply never leaves a stale lock behind.

The lock lives in a directory only root can write: in a world-writable one
(``/run/lock`` is 1777) another user could create the file first and hold it,
and every apply would exit 4 forever. The directory is created with the right
mode and checked; the file is opened without following a symlink.
"""

from __future__ import annotations

import errno
import fcntl
import os
import sys
import time
from pathlib import Path
from types import TracebackType

from smartrestart.errors import LockBusy, UsageError

ROOT_LOCK_FILE = Path("/run/smartrestart/apply.lock")
POLL_SECONDS = 0.1


def default_lock_file() -> Path:
    """Root's lock in /run/smartrestart; another user's in its own runtime directory."""
    if os.geteuid() == 0:
        return ROOT_LOCK_FILE
    runtime = os.environ.get("XDG_RUNTIME_DIR") or f"/run/user/{os.geteuid()}"
    return Path(runtime) / "smartrestart" / "apply.lock"


def _safe_directory(directory: Path) -> None:
    """Create the lock's directory (0755) and refuse one another user could write."""
    from smartrestart.trust import TrustPolicy, untrusted_directory

    try:
        directory.mkdir(parents=True, exist_ok=True, mode=0o755)
    except OSError as exc:
        raise UsageError(f"cannot create the lock directory {directory}: {exc.strerror}") from None
    reason = untrusted_directory(directory, TrustPolicy.for_invoker())
    if reason:
        raise UsageError(f"refusing the lock directory {directory}: {reason}")


class HostLock:
    """Context manager holding the apply lock; waits up to ``wait_seconds`` for it."""

    def __init__(self, path: Path | None = None, wait_seconds: float = 0.0) -> None:
        self.path = path if path is not None else default_lock_file()
        self.wait_seconds = wait_seconds
        self._fd: int | None = None

    def __enter__(self) -> HostLock:
        _safe_directory(self.path.parent)
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
        except OSError as exc:
            raise UsageError(f"cannot open lock file {self.path}: {exc.strerror}") from None
        owner = os.fstat(fd).st_uid
        if owner not in (0, os.geteuid()):
            os.close(fd)
            raise UsageError(
                f"refusing the lock file {self.path}: another user (uid {owner}) created it, "
                "and could hold it to stop every apply",
                hint="use the default lock, in a directory only root can write",
            )
        deadline = time.monotonic() + self.wait_seconds
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError as exc:
                if exc.errno not in (errno.EWOULDBLOCK, errno.EAGAIN):
                    os.close(fd)
                    raise
            if time.monotonic() >= deadline:
                holder = _read_holder(fd)
                os.close(fd)
                waited = f" after waiting {self.wait_seconds:g} s" if self.wait_seconds else ""
                raise LockBusy(
                    f"another smartrestart apply holds {self.path}{waited}: {holder}",
                    hint="wait for it, or pass --wait-lock SECONDS",
                )
            time.sleep(POLL_SECONDS)
        os.ftruncate(fd, 0)
        holder = (
            f"pid {os.getpid()} since {time.strftime('%Y-%m-%d %H:%M:%S')}: {' '.join(sys.argv)}\n"
        )
        os.pwrite(fd, holder.encode("utf-8", "replace"), 0)
        self._fd = fd
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._fd is not None:
            os.ftruncate(self._fd, 0)
            os.close(self._fd)  # releases the flock
            self._fd = None


def _read_holder(fd: int) -> str:
    text = os.pread(fd, 4096, 0).decode("utf-8", "replace").strip()
    return text or "holder unknown"
