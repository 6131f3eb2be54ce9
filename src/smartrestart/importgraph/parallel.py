"""Scan files on both cores while the tree is still being walked.

``multiprocessing`` would cost more to start (imports, pickling, a manager
process) than the whole scan of a mid-sized tree, so this forks once and talks
over two pipes: file names go to the child as the walk finds them, and the
child sends its scan results back as one ``marshal`` blob at the end. The child
starts working while the parent is still walking, so it takes the larger share.

It stays in-process for small trees, on one CPU, and when threads are running
(``fork`` would copy their locks in whatever state they happen to be).
"""

from __future__ import annotations

import contextlib
import marshal
import os
import threading
from types import TracebackType

from smartrestart.importgraph.scanner import ScanResult, scan_source
from smartrestart.regularfile import read_regular

FORK_AFTER_FILES = 64
# Larger sources are not read (generated code, data in disguise): conservative instead.
MAX_SOURCE_BYTES = 32 * 1024 * 1024
# Of the files found after the fork, the child takes CHILD_SHARE out of SHARE_OF.
CHILD_SHARE, SHARE_OF = 2, 3


def scan_file(path: str) -> ScanResult:
    try:
        source = read_regular(path, MAX_SOURCE_BYTES)
    except OSError as exc:
        reason = getattr(exc, "reason", None)
        return (), f"cannot read: {reason or exc.strerror or exc}"
    return scan_source(source)


def _parallel_allowed() -> bool:
    return (os.cpu_count() or 1) >= 2 and threading.active_count() == 1


class ParallelScanner:
    """Collects files to scan; :meth:`results` returns their scans in submission order."""

    def __init__(self, *, parallel: bool | None = None) -> None:
        self._parallel = _parallel_allowed() if parallel is None else parallel
        self._paths: list[str] = []
        self._mine: list[int] = []  # indexes the parent scans
        self._theirs: list[int] = []  # indexes sent to the child
        self._child: tuple[int, int, int] | None = None  # pid, path pipe, result pipe
        self._counter = 0

    def __enter__(self) -> ParallelScanner:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._child is not None:  # error path: do not leave a child behind
            pid, path_pipe, result_pipe = self._child
            for fd in (path_pipe, result_pipe):
                with contextlib.suppress(OSError):
                    os.close(fd)
            os.waitpid(pid, 0)
            self._child = None

    def submit(self, paths: list[str]) -> None:
        batch: list[str] = []
        for path in paths:
            index = len(self._paths)
            self._paths.append(path)
            if self._child is None and self._parallel and index >= FORK_AFTER_FILES:
                self._fork()
            if self._child is not None and self._counter % SHARE_OF < CHILD_SHARE:
                self._theirs.append(index)
                batch.append(path)
            else:
                self._mine.append(index)
            self._counter += 1
        if batch and self._child is not None:
            _write_all(self._child[1], ("\n".join(batch) + "\n").encode("utf-8", "surrogateescape"))

    def results(self) -> list[ScanResult]:
        merged: list[ScanResult] = [((), None)] * len(self._paths)
        if self._child is not None:
            pid, path_pipe, result_pipe = self._child
            os.close(path_pipe)
        for index in self._mine:
            merged[index] = scan_file(self._paths[index])
        if self._child is not None:
            with os.fdopen(result_pipe, "rb") as stream:
                payload = stream.read()
            _, status = os.waitpid(pid, 0)
            self._child = None
            theirs = marshal.loads(payload) if status == 0 and payload else None
            for position, index in enumerate(self._theirs):
                merged[index] = theirs[position] if theirs else scan_file(self._paths[index])
        return merged

    def _fork(self) -> None:
        path_read, path_write = os.pipe()
        result_read, result_write = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(path_write)
            os.close(result_read)
            _child_main(path_read, result_write)
        os.close(path_read)
        os.close(result_write)
        self._child = (pid, path_write, result_read)
        self._counter = 0


def _child_main(path_pipe: int, result_pipe: int) -> None:
    """Scan every path read from ``path_pipe``; exit without the parent's cleanup."""
    status = 1
    try:
        results: list[ScanResult] = []
        with os.fdopen(path_pipe, "rb") as stream:
            for line in stream:
                results.append(scan_file(line[:-1].decode("utf-8", "surrogateescape")))
        _write_all(result_pipe, marshal.dumps(results))
        status = 0
    finally:
        os._exit(status)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]
