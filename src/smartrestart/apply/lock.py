"""One apply at a time per host: an ``flock`` on ``/run/lock/smartrestart.lock``.

The holder writes its PID, start time and command line into the file after
taking the lock, so a second apply can say who holds it. The lock dies with
the process (the kernel drops it when the descriptor closes), so a crashed
apply never leaves a stale lock behind.
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

DEFAULT_LOCK_FILE = Path("/run/lock/smartrestart.lock")
POLL_SECONDS = 0.1


class HostLock:
    """Context manager holding the apply lock; waits up to ``wait_seconds`` for it."""

    def __init__(self, path: Path = DEFAULT_LOCK_FILE, wait_seconds: float = 0.0) -> None:
        self.path = path
        self.wait_seconds = wait_seconds
        self._fd: int | None = None

    def __enter__(self) -> HostLock:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
        except OSError as exc:
            raise UsageError(f"cannot open lock file {self.path}: {exc.strerror}") from None
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
