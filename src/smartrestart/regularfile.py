"""Reading input files that can neither block nor grow without bound.

Rules files, fragments, changed sources, scanned sources and drop-ins are all
read through :func:`read_regular`: opened with ``O_NONBLOCK`` (a FIFO opens at
once instead of waiting for a writer), checked with ``fstat`` on the open
descriptor to be a regular file (not a FIFO, a device such as ``/dev/zero``, a
socket or a directory), and read up to a size limit. Standard library only:
the notify library shares :mod:`smartrestart.atomicfile`, which uses it.
"""

from __future__ import annotations

import os
import stat

_KINDS = (
    (stat.S_ISFIFO, "a FIFO"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISDIR, "a directory"),
)


class NotReadable(OSError):
    """The file is not a regular file, or larger than the limit: ``reason`` says which."""

    def __init__(self, reason: str, path: str = "") -> None:
        super().__init__(reason)
        self.reason = reason
        self.path = path
        self.strerror = reason
        self.filename = path or None

    def __str__(self) -> str:
        return self.reason


def kind_of(mode: int) -> str:
    """What a file of this ``st_mode`` is, in words."""
    return next((name for test, name in _KINDS if test(mode)), "not a regular file")


def read_regular(
    path: str | os.PathLike[str],
    limit: int,
    *,
    dir_fd: int | None = None,
    follow_symlinks: bool = True,
) -> bytes:
    """The content of a regular file of at most ``limit`` bytes.

    Raises :class:`NotReadable` for anything else, and OSError (with its
    ``strerror``) when the file cannot be opened at all. With
    ``follow_symlinks=False`` a symlink fails with ``ELOOP``.
    """
    return read_regular_stat(path, limit, dir_fd=dir_fd, follow_symlinks=follow_symlinks)[0]


def read_regular_stat(
    path: str | os.PathLike[str],
    limit: int,
    *,
    dir_fd: int | None = None,
    follow_symlinks: bool = True,
) -> tuple[bytes, os.stat_result]:
    """:func:`read_regular`, and the file's status taken before it was read.

    The import cache records that status with what the content said: the
    ``fstat`` the check needs anyway saves a ``stat`` per file of a tree.
    """
    flags = os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC | os.O_NOCTTY
    if not follow_symlinks:
        flags |= os.O_NOFOLLOW
    fd = os.open(path, flags, dir_fd=dir_fd)
    try:
        status = os.fstat(fd)
        mode = status.st_mode
        if not stat.S_ISREG(mode):
            raise NotReadable(f"not a regular file ({kind_of(mode)})", os.fspath(path))
        chunks: list[bytes] = []
        size = 0
        # As much as fstat says and a byte more, then one byte to see the end:
        # no megabyte buffer to allocate and give back for each small file.
        request = min(status.st_size, limit) + 1
        while size <= limit:
            chunk = os.read(fd, request)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
            request = 1 if len(chunk) < request else min(1 << 20, limit + 1 - size)
        if size > limit:
            raise NotReadable(f"larger than {limit} bytes", os.fspath(path))
        return b"".join(chunks), status
    finally:
        os.close(fd)
