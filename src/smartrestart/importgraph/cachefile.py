"""The import cache's file format: framing, versions, and the root a file belongs to.

A cache file is a prefix (magic, header length, CRC-32 of the header, length
of the root path), the root path, the header (one ``marshal`` blob), then the
dependency entries the header gives offsets for. A delta file has the same
frame with another magic and no root. The magic names the framing version:
a file of another framing is another version's, rebuilt without a word; a
file of this framing that does not check out is damaged, and said so.
"""

from __future__ import annotations

import marshal
import os
import stat
import sys
import zlib
from typing import Any

from smartrestart.importgraph.index import DamagedCache

# Bump when the scanner reads any file differently, so old caches are not reused.
SCANNER_EPOCH = 4
# The first number is the header's: 9 since every importer array is kept in
# ascending order (8 appended a changed file's edges at the end).
CACHE_FORMAT = (9, SCANNER_EPOCH, sys.version_info[:2])
MAGIC = b"SRG8"
DELTA_MAGIC = b"SRD8"
OUR_FILES = b"SR"  # the start of every magic smartrestart ever wrote
# Magic, header length (8 bytes), CRC-32 of the header (4 bytes), length of
# the root path that follows (4 bytes; 0 in a delta), then the header.
PREFIX_BYTES = 20
MAX_ROOT_BYTES = 4096
MAX_CACHE_BYTES = 1024 * 1024 * 1024
MAX_DELTA_BYTES = 64 * 1024 * 1024


def open_regular(path: str, limit: int) -> tuple[int, int]:
    """A descriptor and the size of a regular file no larger than ``limit``."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC | os.O_NOFOLLOW)
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or info.st_size > limit:
            raise DamagedCache("not a regular file, or too large")
    except BaseException:
        os.close(fd)
        raise
    return fd, info.st_size


class OtherVersion(Exception):
    """A cache file another version of smartrestart wrote: rebuilt, nothing to report."""


def read_header(fd: int, size: int, magic: bytes) -> tuple[Any, int]:
    """The header's data, and where the file's next part starts."""
    prefix = os.pread(fd, PREFIX_BYTES, 0)
    if prefix[:4] != magic and prefix[:2] == OUR_FILES and len(prefix) == PREFIX_BYTES:
        raise OtherVersion
    if len(prefix) != PREFIX_BYTES or prefix[:4] != magic:
        raise DamagedCache("not a cache file of smartrestart")
    length = int.from_bytes(prefix[4:12], "little")
    start = PREFIX_BYTES + int.from_bytes(prefix[16:20], "little")
    if start - PREFIX_BYTES > MAX_ROOT_BYTES or length > size - start:
        raise DamagedCache("cache file cut short")
    header = os.pread(fd, length, start)
    if len(header) != length or zlib.crc32(header) != int.from_bytes(prefix[12:16], "little"):
        raise DamagedCache("checksum mismatch")
    try:
        return marshal.loads(header), start + length
    except (EOFError, ValueError, TypeError) as exc:
        raise DamagedCache(str(exc)) from None


def framed(magic: bytes, header: bytes, root: str = "") -> bytes:
    encoded = os.fsencode(root)
    return b"".join(
        (
            magic,
            len(header).to_bytes(8, "little"),
            zlib.crc32(header).to_bytes(4, "little"),
            len(encoded).to_bytes(4, "little"),
            encoded,
            header,
        )
    )


def root_of(path: str) -> str | None:
    """The source root a cache file was written for; None when it is not one of ours."""
    try:
        fd, size = open_regular(path, MAX_CACHE_BYTES)
    except (OSError, DamagedCache):
        return None
    try:
        prefix = os.pread(fd, PREFIX_BYTES, 0)
        if len(prefix) != PREFIX_BYTES or prefix[:4] != MAGIC:
            return None
        length = int.from_bytes(prefix[16:20], "little")
        if not 0 < length <= min(MAX_ROOT_BYTES, size - PREFIX_BYTES):
            return None
        return os.fsdecode(os.pread(fd, length, PREFIX_BYTES))
    finally:
        os.close(fd)
