"""Scan files on both cores: one fork after the walk, results back through a memfd.

``multiprocessing`` would cost more to start (imports, pickling, a manager
process) than the whole scan of a mid-sized tree. The walk is fast next to the
scan, so it runs first; then one fork splits the files to scan by bytes, half
each. The child describes its files completely (module name and dependencies,
not just raw import records), writes one ``marshal`` blob to an anonymous
in-memory file and exits; the parent never blocks on a pipe while it works,
and reads the blob once it has finished its own half.

It stays in-process for few files, on one CPU, and when threads are running
(``fork`` would copy their locks in whatever state they happen to be). A child
that fails is reported in the statistics, and its files are scanned in the
parent: slower, never wrong.
"""

from __future__ import annotations

import marshal
import os
import threading
from collections.abc import Callable, Sequence
from typing import Any

from smartrestart.regularfile import read_regular

FORK_AT_FILES = 64
# Larger sources are not read (generated code, data in disguise): conservative instead.
MAX_SOURCE_BYTES = 32 * 1024 * 1024

# What a scan of one file becomes: (problem or None, module, is_package,
# runtime dependencies, dependencies under TYPE_CHECKING only).
Described = tuple[str | None, str, bool, tuple[str, ...], tuple[str, ...]]
Describe = Callable[[str, Any, str | None], Described]


def scan_file(path: str) -> tuple[Any, str | None]:
    """Import records of one file, and a problem when they could not be read with certainty."""
    from smartrestart.importgraph.scanner import scan_source  # only when something is scanned

    try:
        source = read_regular(path, MAX_SOURCE_BYTES)
    except OSError as exc:
        reason = getattr(exc, "reason", None)
        return (), f"cannot read: {reason or exc.strerror or exc}"
    return scan_source(source)


def parallel_allowed() -> bool:
    return (os.cpu_count() or 1) >= 2 and threading.active_count() == 1


class ScanOutcome:
    """The described files, in the order asked, and who did the work."""

    __slots__ = ("by_child", "child_failed", "described")

    def __init__(self, described: list[Described], by_child: int, child_failed: bool) -> None:
        self.described = described
        self.by_child = by_child
        self.child_failed = child_failed


def scan_all(
    paths: Sequence[str],
    sizes: Sequence[int],
    describe: Describe,
    *,
    parallel: bool | None = None,
) -> ScanOutcome:
    """Scan and describe ``paths`` (absolute), on two processes when worth it."""
    use_fork = (parallel_allowed() if parallel is None else parallel) and len(
        paths
    ) >= FORK_AT_FILES
    if not use_fork:
        return ScanOutcome([_describe_one(p, describe) for p in paths], 0, False)
    mine, theirs = _split_by_bytes(sizes)
    memfd = os.memfd_create("smartrestart-scan", os.MFD_CLOEXEC)
    pid = os.fork()
    if pid == 0:  # the child: its half, one blob, and out without the parent's cleanup
        status = 1
        try:
            blob = marshal.dumps([_describe_one(paths[i], describe) for i in theirs])
            view = memoryview(blob)
            while view:
                view = view[os.write(memfd, view) :]
            status = 0
        finally:
            os._exit(status)
    described: list[Described | None] = [None] * len(paths)
    for i in mine:
        described[i] = _describe_one(paths[i], describe)
    _, status = os.waitpid(pid, 0)
    child_failed = status != 0
    results: Any = None
    if not child_failed:
        try:
            results = marshal.loads(_read_all(memfd))
        except (EOFError, ValueError, TypeError):
            child_failed = True
    os.close(memfd)
    if child_failed or not isinstance(results, list) or len(results) != len(theirs):
        child_failed = True
        results = [_describe_one(paths[i], describe) for i in theirs]
    for position, i in enumerate(theirs):
        described[i] = results[position]
    return ScanOutcome(
        [d for d in described if d is not None], 0 if child_failed else len(theirs), child_failed
    )


def _describe_one(path: str, describe: Describe) -> Described:
    records, problem = scan_file(path)
    return describe(path, records, problem)


def _split_by_bytes(sizes: Sequence[int]) -> tuple[list[int], list[int]]:
    """Indexes for the parent and the child, each about half of the bytes to read."""
    mine: list[int] = []
    theirs: list[int] = []
    my_bytes = their_bytes = 0
    for index in sorted(range(len(sizes)), key=sizes.__getitem__, reverse=True):
        if my_bytes <= their_bytes:
            mine.append(index)
            my_bytes += sizes[index] + 512  # a file costs something even when empty
        else:
            theirs.append(index)
            their_bytes += sizes[index] + 512
    mine.sort()
    theirs.sort()
    return mine, theirs


def _read_all(fd: int) -> bytes:
    os.lseek(fd, 0, os.SEEK_SET)
    chunks: list[bytes] = []
    while chunk := os.read(fd, 1 << 22):
        chunks.append(chunk)
    return b"".join(chunks)
