"""Atomic, idempotent file writes that never follow a symlink out of their directory.

Standard library only: the notify library (used inside services) shares it.
Paths are strings or path objects alike; no pathlib import: the import
cache writes through here on ``decide``'s path (:mod:`smartrestart.pathnames`).

The directory is opened once with ``O_NOFOLLOW`` and every later operation is
relative to that descriptor (``dir_fd``), so a symlink planted in place of the
file or swapped in for the directory mid-way cannot redirect the write. The
content goes to a temporary file in the same directory, is fsync'ed, and is
renamed over the target: readers see the old or the new file, never half.
"""

from __future__ import annotations

import contextlib
import errno
import os
from enum import StrEnum

from smartrestart import pathnames
from smartrestart.regularfile import read_regular

# Files written atomically here are small: drop-ins, state, caches.
MAX_READ_BYTES = 64 * 1024 * 1024


class WriteOutcome(StrEnum):
    WRITTEN = "written"
    UNCHANGED = "unchanged"


class UnsafePathError(OSError):
    """The target or its directory is a symlink; we refuse to follow it."""


def open_directory(
    directory: str | os.PathLike[str], *, create: bool = False, mode: int = 0o755
) -> int:
    """A descriptor of ``directory`` opened without following a final symlink."""
    path = pathnames.join(os.fspath(directory))
    if create:
        # As Path.mkdir(parents=True): only the last directory gets ``mode``.
        os.makedirs(path, mode, exist_ok=True)
    try:
        return os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.ENOTDIR) and pathnames.is_symlink(path):
            raise UnsafePathError(
                exc.errno, "refusing to follow a symlinked directory", path
            ) from None
        raise


def read_in(dir_fd: int, name: str, limit: int = MAX_READ_BYTES) -> bytes | None:
    """Content of ``name`` in the directory, None when absent.

    Refuses symlinks (:class:`UnsafePathError`), and anything but a regular
    file of at most ``limit`` bytes (:class:`~smartrestart.regularfile.NotReadable`):
    a FIFO in place of a drop-in or a state file must not block the reader.
    """
    try:
        return read_regular(name, limit, dir_fd=dir_fd, follow_symlinks=False)
    except FileNotFoundError:
        return None
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise UnsafePathError(exc.errno, "refusing to follow a symlink", name) from None
        raise


def write_in(
    dir_fd: int,
    name: str,
    content: bytes,
    *,
    mode: int = 0o644,
    durable: bool = True,
    compare: bool = True,
) -> WriteOutcome:
    """Atomically replace ``name`` with ``content`` unless it already holds exactly that.

    ``durable=False`` skips the fsyncs: for caches, where losing the new
    content in a power cut only costs a rebuild, the rename alone still keeps
    readers from ever seeing half a file. ``compare=False`` skips reading the
    old content first: for large files known to differ (a cache never seen in
    full, which may exceed the read limit).
    """
    if compare and read_in(dir_fd, name) == content:
        return WriteOutcome.UNCHANGED
    temporary = f".{name}.{os.urandom(6).hex()}.tmp"
    fd = os.open(
        temporary,
        os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC,
        mode,
        dir_fd=dir_fd,
    )
    try:
        with os.fdopen(fd, "wb") as stream:
            stream.write(content)
            stream.flush()
            if durable:
                os.fsync(stream.fileno())
        os.rename(temporary, name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary, dir_fd=dir_fd)
        raise
    if durable:
        os.fsync(dir_fd)
    return WriteOutcome.WRITTEN


def write_file(
    path: str | os.PathLike[str],
    content: bytes,
    *,
    mode: int = 0o644,
    create_dirs: bool = False,
    dir_mode: int = 0o755,
    durable: bool = True,
    compare: bool = True,
) -> WriteOutcome:
    """:func:`write_in` for a path: opens its directory safely first."""
    spelled = pathnames.join(os.fspath(path))
    dir_fd = open_directory(pathnames.parent(spelled), create=create_dirs, mode=dir_mode)
    try:
        name = pathnames.name(spelled)
        return write_in(dir_fd, name, content, mode=mode, durable=durable, compare=compare)
    finally:
        os.close(dir_fd)
