"""Scan files on both cores: one fork, files claimed from both ends of the list.

``multiprocessing`` would cost more to start (imports, pickling, a manager
process) than the whole scan of a mid-sized tree. A cold build forks as soon
as its walk has found :data:`FORK_AT_FILES` files: the child imports the
scanner and starts on those while the parent walks on and streams it every
further path through a pipe. Once the walk is done, the parent scans from the
end of the list while the child goes on from its start, until they meet, so
both finish together however the work was spread (no estimate by size; the
walk's cost counted in). A list known in advance (files changed since the
cache) is shared the same way, forked with the whole list.

Meeting in the middle needs two counters in shared memory, each written by
one process only and never decreasing: ``child_next`` (the child has
committed to every file before it) and ``parent_low`` (the parent has taken
every file from it on). The child commits to file ``i`` only while it reads
``parent_low > i``, and scans every file it committed to; the parent writes
``parent_low = j`` first, then gives ``j`` up only when it reads
``child_next > j``. A stale read can only make both scan the same file (the
same result twice), never leave one out: a process stops only on a value the
other wrote after committing.

The child describes its files completely (module name and dependencies, not
just raw import records), writes one ``marshal`` blob to an anonymous
in-memory file, says so on a pipe and exits; the parent reads the blob once
it has finished its own part, and reaps the child only when the build is
done (an exit takes a while). Every file's status comes from the ``fstat`` of
the descriptor it was read from, before reading: no ``stat`` pass of its own.

It stays in-process for few files, on one CPU (the CPUs this process may run
on: CPUAffinity= and taskset leave ``os.cpu_count()`` as it is), and when
threads are running (``fork`` would copy their locks in whatever state they
happen to be). A child that fails is reported in the statistics, and its
files are scanned in the parent: slower, never wrong.
"""

from __future__ import annotations

import marshal
import os
import sys
from collections.abc import Callable, Sequence
from typing import Any

from smartrestart.forking import fork_allowed, write_all
from smartrestart.regularfile import read_regular_stat

FORK_AT_FILES = 64
# Larger sources are not read (generated code, data in disguise): conservative instead.
MAX_SOURCE_BYTES = 32 * 1024 * 1024

# What a scan of one file becomes: (problem or None, module, is_package,
# runtime dependencies, dependencies under TYPE_CHECKING only).
Described = tuple[str | None, str, bool, tuple[str, ...], tuple[str, ...]]
Describe = Callable[[str, Any, str | None], Described]
# size, mtime_ns, inode of the file as read; None when it is gone.
FileStat = tuple[int, int, int] | None
Scanned = tuple[FileStat, Described]

_CHILD_NEXT, _PARENT_LOW = 0, 1  # the shared counters
_NOTHING_TAKEN = 2**31 - 1
_READ_EVERY = 16  # files the child scans between two reads of the pipe of paths
_FS_ENCODING, _FS_ERRORS = sys.getfilesystemencoding(), sys.getfilesystemencodeerrors()


def scan_file(path: str) -> tuple[FileStat, Any, str | None]:
    """Status and import records of one file, and a problem when they cannot be read for sure."""
    from smartrestart.importgraph.scanner import scan_source  # only when something is scanned

    try:
        source, status = read_regular_stat(path, MAX_SOURCE_BYTES)
    except OSError as exc:
        reason = getattr(exc, "reason", None)
        return _status_of(path), (), f"cannot read: {reason or exc.strerror or exc}"
    records, problem = scan_source(source)
    return (status.st_size, status.st_mtime_ns, status.st_ino), records, problem


def _status_of(path: str) -> FileStat:
    try:
        status = os.stat(path)
    except OSError:
        return None
    return status.st_size, status.st_mtime_ns, status.st_ino


class ScanOutcome:
    """The scanned files, in the order asked, and who did the work."""

    __slots__ = ("by_child", "child_failed", "scanned")

    def __init__(self, scanned: list[Scanned], by_child: int, child_failed: bool) -> None:
        self.scanned = scanned
        self.by_child = by_child
        self.child_failed = child_failed


def scan_all(
    prefix: str, files: Sequence[str], describe: Describe, *, parallel: bool | None = None
) -> ScanOutcome:
    """Scan and describe ``files`` (relative to ``prefix``), on two processes when worth it."""
    with ScanPool(prefix, describe, parallel=parallel) as pool:
        return pool.finish(files)


class ScanPool:
    """Scanning a list of files that may still grow, shared with a forked child.

    :meth:`publish` is given the list as it grows (by the walk); it forks
    once the list is long enough and streams the child what it has not seen.
    :meth:`finish` is given the final list and returns every file's scan as
    soon as the child says it is done; leaving the ``with`` block waits for the
    child to be gone (its exit takes a while: the parent has work meanwhile).
    """

    def __init__(self, prefix: str, describe: Describe, *, parallel: bool | None = None) -> None:
        self.prefix = prefix
        self.describe = describe
        self.allowed = fork_allowed() if parallel is None else parallel
        self.pid = 0
        self.sent = 0  # files the child knows of
        self.stream = -1  # write end of the pipe of paths; -1: closed
        self.done = -1  # read end of the pipe the child says it is done on
        self.memfd = -1
        self.shared: Any = None  # the mmap holding the counters
        self.counters: Any = None  # memoryview of two C ints over it

    def __enter__(self) -> ScanPool:
        return self

    def __exit__(self, kind: object, *_: object) -> None:
        if self.pid > 0:
            if kind is not None:  # interrupted: its work is of no use
                import signal  # its enums cost more to build than a small scan

                os.kill(self.pid, signal.SIGKILL)
            os.waitpid(self.pid, 0)
            self.pid = -1
        self._release()

    def publish(self, files: Sequence[str]) -> None:
        """The files found so far: fork once they are enough, else stream the new ones."""
        if not self.pid:
            if self.allowed and len(files) >= FORK_AT_FILES:
                self._fork(files, streaming=True)
            return
        if self.stream < 0 or len(files) == self.sent:
            return
        new = "\0".join(files[self.sent :]) + "\0"
        self.sent = len(files)
        try:  # os.fsencode, all at once
            write_all(self.stream, new.encode(_FS_ENCODING, _FS_ERRORS))
        except OSError:  # the child is gone: the parent scans what it would have
            self._close(self.stream)
            self.stream = -1

    def finish(self, files: Sequence[str]) -> ScanOutcome:
        """Every file of ``files`` (the whole list :meth:`publish` saw) scanned and described."""
        if not self.pid and self.allowed and len(files) >= FORK_AT_FILES:
            self._fork(files, streaming=False)
        if self.pid <= 0:
            return ScanOutcome([self._scan(name) for name in files], 0, False)
        self.publish(files)
        self._close(self.stream)
        self.stream = -1
        counters = self.counters
        mine: list[Scanned] = []
        low = len(files)
        while low > 0:
            counters[_PARENT_LOW] = low - 1
            if counters[_CHILD_NEXT] >= low:
                break  # the child committed to this one
            low -= 1
            mine.append(self._scan(files[low]))
        mine.reverse()
        theirs = self._results()
        if theirs is None or len(theirs) < low:
            return ScanOutcome([*(self._scan(files[i]) for i in range(low)), *mine], 0, True)
        return ScanOutcome([*theirs[:low], *mine], low, False)

    def _scan(self, name: str) -> Scanned:
        path = self.prefix + name
        status, records, problem = scan_file(path)
        return status, self.describe(path, records, problem)

    def _fork(self, files: Sequence[str], *, streaming: bool) -> None:
        import mmap

        paths = done = -1
        try:
            self.memfd = os.memfd_create("smartrestart-scan", os.MFD_CLOEXEC)
            self.done, done = os.pipe()
            if streaming:
                paths, self.stream = os.pipe()
            self.shared = mmap.mmap(-1, 8)  # MAP_SHARED: both processes see it
            self.counters = memoryview(self.shared).cast("i")
            self.counters[_CHILD_NEXT] = 0
            self.counters[_PARENT_LOW] = _NOTHING_TAKEN
            self.pid = os.fork()
        except OSError:  # no fork today: scanned in-process
            self.allowed = False
            self._release()
            self._close(paths)
            self._close(done)
            return
        if self.pid == 0:
            _child(self, list(files), paths, done)  # never returns
        self.sent = len(files)
        self._close(paths)
        self._close(done)

    def _results(self) -> list[Scanned] | None:
        """The child's scans once it says it is done, or None when it failed."""
        try:
            finished = os.read(self.done, 1) == b"\1"
            results: Any = marshal.loads(_read_all(self.memfd)) if finished else None
        except (OSError, EOFError, ValueError, TypeError):
            results = None
        return results if isinstance(results, list) else None

    def _release(self) -> None:
        if self.counters is not None:
            self.counters.release()
            self.counters = None
        if self.shared is not None:
            self.shared.close()
            self.shared = None
        for fd in (self.memfd, self.stream, self.done):
            self._close(fd)
        self.memfd = self.stream = self.done = -1

    @staticmethod
    def _close(fd: int) -> None:
        if fd >= 0:
            os.close(fd)


def _child(pool: ScanPool, files: list[str], paths: int, done: int) -> None:
    """The child's whole life: claim from the front, one blob, out without the parent's cleanup."""
    status = 1
    try:
        import gc

        gc.disable()  # it ends with os._exit: nothing to collect for
        pool._close(pool.stream)  # else the pipe never ends
        pool._close(pool.done)
        reader = _PathReader(paths, files)
        counters = pool.counters
        scanned: list[Scanned] = []
        i = 0
        while reader.wait_for(i) and counters[_PARENT_LOW] > i:
            counters[_CHILD_NEXT] = i + 1
            scanned.append(pool._scan(files[i]))
            i += 1
        write_all(pool.memfd, marshal.dumps(scanned))
        os.write(done, b"\1")
        status = 0
    finally:
        os._exit(status)


class _PathReader:
    """The child's end of the stream of paths, appended to ``files`` as they come."""

    def __init__(self, fd: int, files: list[str]) -> None:
        self.fd = fd
        self.files = files
        self.partial = b""
        self.blocking = fd < 0
        if fd >= 0:
            os.set_blocking(fd, False)

    def wait_for(self, i: int) -> bool:
        """Whether file ``i`` exists: read what came, waiting only when there is nothing else.

        The pipe is read every few files (the parent never waits long on a
        full one) and whenever the files known are done.
        """
        files = self.files
        if i < len(files) and (self.fd < 0 or i % _READ_EVERY):
            return True
        while self.fd >= 0:
            try:
                chunk = os.read(self.fd, 1 << 20)
            except BlockingIOError:
                if i < len(files):
                    return True
                os.set_blocking(self.fd, True)
                self.blocking = True
                continue
            if not chunk:
                os.close(self.fd)
                self.fd = -1
                break
            data = self.partial + chunk
            end = data.rfind(b"\0") + 1
            if end:  # os.fsdecode of every name whole so far
                files.extend(data[: end - 1].decode(_FS_ENCODING, _FS_ERRORS).split("\0"))
            self.partial = data[end:]
            if self.blocking:
                os.set_blocking(self.fd, False)
                self.blocking = False
        return i < len(files)


def _read_all(fd: int) -> bytes:
    os.lseek(fd, 0, os.SEEK_SET)
    chunks: list[bytes] = []
    while chunk := os.read(fd, 1 << 22):
        chunks.append(chunk)
    return b"".join(chunks)
