"""On-disk cache of scan results, so a warm run re-reads only files that changed.

One file per source root under ``$XDG_CACHE_HOME/smartrestart`` (as root:
``/var/cache/smartrestart``, whatever the environment says; or
``--cache-dir``). A file is reused while its size, mtime and inode are
unchanged; files modified within the last
:data:`~smartrestart.importgraph.walk.RACY_SECONDS` are never trusted.

Loading is most of a warm run, so the layout is built to be read in parts:

- a fixed prefix (magic, header length, CRC-32 of the header);
- the header, one ``marshal`` blob (the fastest loader the standard library
  has): paths relative to the root, the three stat numbers of every file in
  one integer array, directory mtimes apart from the directory listings
  (which stay packed until the tree changed), and the importer index as sorted
  module names plus integer arrays of file positions, sliced only for the
  modules a run looks up;
- the files' dependency lists, one packed entry per file at offsets the header
  gives: only a run that saw a change reads them, and only the changed files'.

A run that rescanned a few files in place writes their entries to a small
*delta* file next to the cache (``<cache>.delta``) instead of rewriting it:
touching one file of a 13k-file tree costs a few kilobytes, not 16 MB. The
delta names the cache it applies to by a random token; a delta grown past
:func:`delta_limit` entries, or a change in the list of files, rewrites the
cache whole.

A cache that cannot be read or written is ignored: it only ever costs speed.
A cache another user could write is ignored too (see :func:`untrusted`): a
poisoned graph hides importers, so a unit would silently not restart.
"""

from __future__ import annotations

import contextlib
import marshal
import os
import stat
import sys
import zlib
from array import array
from pathlib import Path
from typing import TYPE_CHECKING, Any

from smartrestart.importgraph.index import (
    DamagedCache,
    Dependencies,
    PackedIndex,
    edited_index,
)
from smartrestart.importgraph.walk import DirListing

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

# Bump when the scanner reads any file differently, so old caches are not reused.
SCANNER_EPOCH = 4
CACHE_FORMAT = (8, SCANNER_EPOCH, sys.version_info[:2])
# The magic names the framing too: another framing is another version's file,
# rebuilt without a word, not a damaged one.
MAGIC = b"SRG8"
DELTA_MAGIC = b"SRD8"
OUR_FILES = b"SR"
# Magic, header length (8 bytes), CRC-32 of the header (4 bytes), length of
# the root path that follows (4 bytes; 0 in a delta), then the header.
PREFIX_BYTES = 20
MAX_ROOT_BYTES = 4096
# Caches of another format (another version, another Python) are removed when
# nothing has written them for this long; temporary files of an interrupted write sooner.
STALE_FOREIGN_SECONDS = 30 * 86400
STALE_TEMPORARY_SECONDS = 86400
MAX_CACHE_BYTES = 1024 * 1024 * 1024
MAX_DELTA_BYTES = 64 * 1024 * 1024
ROOT_CACHE_DIR = Path("/var/cache/smartrestart")
# A stat triple that matches no file: an entry to scan again next time.
UNTRUSTED = -1


def delta_limit(files: int) -> int:
    """How many changed entries a delta may hold before the cache is rewritten whole."""
    return max(64, files // 50)


class PackedDependencies:
    """The dependency entries of a cache file, read from it one at a time.

    The descriptor stays open so that a cache replaced by another run meanwhile
    is still read as it was when loaded.
    """

    __slots__ = ("_fd", "_offsets", "_size", "_start")

    def __init__(self, fd: int, start: int, size: int, offsets: array[int]) -> None:
        self._fd = fd
        self._start = start
        self._size = size
        self._offsets = offsets

    def __del__(self) -> None:
        with contextlib.suppress(OSError):
            os.close(self._fd)

    def raw(self, position: int) -> bytes:
        begin, end = self._offsets[position], self._offsets[position + 1]
        if not 0 <= begin <= end <= self._size:
            raise DamagedCache("damaged dependency offsets")
        data = os.pread(self._fd, end - begin, self._start + begin)
        if len(data) != end - begin:
            raise DamagedCache("cache file cut short")
        return data

    def all_raw(self) -> list[bytes]:
        """Every entry, in one read."""
        offsets = self._offsets
        total = offsets[-1]
        if not 0 <= total <= self._size:
            raise DamagedCache("damaged dependency offsets")
        area = os.pread(self._fd, total, self._start)
        if len(area) != total:
            raise DamagedCache("cache file cut short")
        result = []
        begin = 0
        for end in offsets[1:]:
            if end < begin:
                raise DamagedCache("damaged dependency offsets")
            result.append(area[begin:end])
            begin = end
        return result

    def entry(self, position: int) -> Dependencies:
        return unpacked_dependencies(self.raw(position))


def unpacked_dependencies(raw: bytes) -> Dependencies:
    try:
        data: Any = marshal.loads(raw)
        runtime, typing_only = data
    except (EOFError, TypeError, ValueError) as exc:
        raise DamagedCache(f"damaged dependency lists: {exc}") from None
    if type(runtime) is not tuple or type(typing_only) is not tuple:
        raise DamagedCache("damaged dependency lists")
    return runtime, typing_only


class RootCache:
    """What one root's cache holds; every per-file field in the order of ``files``.

    Dependency lists are kept packed as read (``_packed``, through the map
    ``_packed_at`` when files moved) and unpacked one at a time; ``_deps`` holds
    those unpacked or newly scanned. ``token`` names the cache file this one
    came from and ``delta`` the positions whose entries differ from it, so that
    a small change is stored as a delta.
    """

    __slots__ = (
        "_deps",
        "_dir_mtimes",
        "_dir_names",
        "_listings",
        "_listings_blob",
        "_packed",
        "_packed_at",
        "complete",
        "damaged",
        "delta",
        "files",
        "indexes",
        "layout",
        "listings_in_base",
        "modules",
        "packages",
        "problems",
        "stats",
        "token",
    )

    def __init__(self, layout: tuple[str, ...]) -> None:
        self.layout = layout
        self.files: list[str] = []
        self.stats = array("q")  # size, mtime_ns, inode of each file, flat
        self.modules: list[str] = []  # "" where a file has no module name
        self.packages = bytearray()  # 1 where the file is a package's __init__.py
        self.problems: dict[int, str] = {}
        self.indexes: dict[str, PackedIndex] = {}  # "runtime" or "all" -> index
        # Whether the listings hold every directory of the tree, so an
        # unchanged tree can be confirmed by one stat per directory.
        self.complete = False
        self.damaged = ""  # why a cache file there could not be used
        self.token = b""  # of the cache file read; b"": none
        self.delta: set[int] = set()  # positions differing from that file
        self.listings_in_base = False  # the listings are the cache file's own
        self._listings: dict[str, DirListing] | None = {}
        self._listings_blob = b""  # packed listings, unpacked on first use
        self._dir_names: list[str] = []
        self._dir_mtimes = array("q")
        self._packed: PackedDependencies | None = None
        self._packed_at: array[int] | None = None  # position -> packed entry; None: same
        self._deps: dict[int, Dependencies] = {}

    # -- directory listings ------------------------------------------------

    @property
    def listings(self) -> dict[str, DirListing]:
        if self._listings is None:
            data: Any = marshal.loads(self._listings_blob)
            if type(data) is not dict:
                raise DamagedCache("damaged directory listings")
            self._listings = data
        return self._listings

    def set_listings(self, listings: dict[str, DirListing], complete: bool) -> None:
        self._listings, self.complete, self.listings_in_base = listings, complete, False

    def adopt_listings(self, other: RootCache) -> None:
        """Share ``other``'s listings, packed or not."""
        self._listings, self._listings_blob = other._listings, other._listings_blob
        self._dir_names, self._dir_mtimes = other._dir_names, other._dir_mtimes
        self.complete, self.listings_in_base = other.complete, other.listings_in_base

    def directory_mtimes(self) -> Iterable[tuple[str, int]]:
        """Every listed directory with its mtime, without unpacking the listings."""
        if self._listings is not None:
            return ((name, listing[0]) for name, listing in self._listings.items())
        return zip(self._dir_names, self._dir_mtimes, strict=True)

    def _packed_listings(self) -> tuple[str, bytes, bytes]:
        if self._listings is None:
            return "\0".join(self._dir_names), self._dir_mtimes.tobytes(), self._listings_blob
        names = list(self._listings)
        mtimes = array("q", (self._listings[name][0] for name in names))
        return "\0".join(names), mtimes.tobytes(), marshal.dumps(self._listings)

    # -- dependency lists --------------------------------------------------

    def dependencies_of(self, position: int) -> Dependencies:
        """One file's dependency lists, unpacked alone."""
        found = self._deps.get(position)
        if found is None:
            found = self._deps[position] = self._packed_entry(position, unpack=True)
        return found

    def _packed_entry(self, position: int, *, unpack: bool) -> Any:
        where = position if self._packed_at is None else self._packed_at[position]
        if self._packed is None or where < 0:
            raise DamagedCache(f"no dependency lists for file {position}")
        return self._packed.entry(where) if unpack else self._packed.raw(where)

    @property
    def dependencies(self) -> list[Dependencies]:
        """Every file's, unpacked: only a full rebuild of the index needs them all."""
        return [self.dependencies_of(i) for i in range(len(self.files))]

    def set_dependencies(
        self,
        scanned: dict[int, Dependencies],
        reused_from: Sequence[int] | None = None,
        old: RootCache | None = None,
    ) -> None:
        """New dependency lists: ``scanned`` ones, the rest shared with ``old``.

        ``reused_from[position]`` is the old position of an unchanged file
        (None: every file kept its place), -1 for a scanned one.
        """
        self._deps = scanned
        if old is None:
            return
        self._packed = old._packed
        if reused_from is None:
            self._packed_at = old._packed_at
            for position, deps in old._deps.items():
                scanned.setdefault(position, deps)
            return
        lookup = old._packed_at.__getitem__ if old._packed_at is not None else None
        self._packed_at = array(
            "i", (-1 if j < 0 else (lookup(j) if lookup else j) for j in reused_from)
        )
        for position, j in enumerate(reused_from):
            if j >= 0 and j in old._deps:
                scanned[position] = old._deps[j]

    def packed_dependencies(self) -> list[bytes]:
        """For storing: packed entries, reusing those never unpacked."""
        count = len(self.files)
        raw: list[bytes] | None = None
        if self._packed is not None and len(self._deps) < count:
            everything = self._packed.all_raw()
            at = self._packed_at
            raw = everything if at is None else [everything[j] if j >= 0 else b"" for j in at]
        result = []
        for position in range(count):
            deps = self._deps.get(position)
            if deps is not None:
                result.append(marshal.dumps(deps))
            elif raw is not None and raw[position]:
                result.append(raw[position])
            else:
                raise DamagedCache(f"no dependency lists for file {position}")
        return result


def default_cache_dir() -> Path:
    """Root's cache never follows an environment an unprivileged caller may have set."""
    if os.geteuid() == 0:
        return ROOT_CACHE_DIR
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "smartrestart"


def cache_file(cache_dir: Path, root: str) -> Path:
    """One file per root, named after it (no hashing module to import)."""
    readable = "".join(c if c.isalnum() else "_" for c in root.strip("/"))[-80:]
    checksum = zlib.crc32(root.encode("utf-8", "surrogateescape"))
    return cache_dir / f"graph-{readable}-{checksum:08x}.cache"


def delta_file(path: Path) -> Path:
    return path.with_name(path.name + ".delta")


def untrusted(cache_dir: Path, files: Iterable[Path] = ()) -> str | None:
    """Why the cache under ``cache_dir`` must not be used, or None.

    Only root and this process's own user may be able to write the directory,
    the directories above it, and ``files``, the ones this run would read
    (others in the directory are never read, so never checked: a shared cache
    directory of hundreds of roots costs nothing here).
    """
    from smartrestart.trust import TrustPolicy, untrusted_directory, untrusted_reason

    mine = TrustPolicy.for_invoker()  # no trusted_owners for a cache
    existing = cache_dir
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent  # not made yet: where it would be made must be ours
    reason = untrusted_directory(existing, mine)
    if reason is None:
        for path in files:
            if os.path.lexists(path):
                problem = untrusted_reason(path, mine)
                if problem:
                    return f"{path}: {problem}"
    return reason


# -- reading -----------------------------------------------------------------


def _open_regular(path: Path, limit: int) -> tuple[int, int]:
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


def _read_header(fd: int, size: int, magic: bytes) -> tuple[Any, int]:
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


def load(path: Path, layout: tuple[str, ...]) -> RootCache:
    """The cache at ``path`` (with its delta) if this version wrote it for ``layout``.

    Otherwise an empty one, with ``damaged`` saying why when a file was there.
    """
    try:
        fd, size = _open_regular(path, MAX_CACHE_BYTES)
    except OSError:
        return RootCache(layout)
    except DamagedCache as exc:
        return _damaged(layout, str(exc))
    try:
        header, start = _read_header(fd, size, MAGIC)
        if not isinstance(header, dict) or header.get("format") != CACHE_FORMAT:
            os.close(fd)
            return RootCache(layout)  # another version's: simply rebuilt
        if header.get("layout") != layout:
            os.close(fd)
            return RootCache(layout)
        cache = _from_header(header, fd, start, size)
    except OtherVersion:
        os.close(fd)
        return RootCache(layout)
    except (DamagedCache, KeyError, TypeError, ValueError) as exc:
        os.close(fd)
        return _damaged(layout, str(exc) or type(exc).__name__)
    try:
        _apply_delta(cache, delta_file(path))
    except (DamagedCache, KeyError, TypeError, ValueError, IndexError) as exc:
        return _damaged(layout, f"delta: {exc or type(exc).__name__}")
    return cache


def _damaged(layout: tuple[str, ...], why: str) -> RootCache:
    cache = RootCache(layout)
    cache.damaged = why
    return cache


def _from_header(header: dict[str, Any], fd: int, start: int, size: int) -> RootCache:
    """The header's fields, shape-checked: a foreign writer's data must not reach the graph."""
    cache = RootCache(header["layout"])
    files, modules, packages = header["files"], header["modules"], header["packages"]
    stats = array("q", header["stats"])
    offsets = array("q", header["offsets"])
    count = len(files)
    dir_names = header["dirs"].split("\0") if header["dirs"] else []
    dir_mtimes = array("q", header["dir_mtimes"])
    if not (
        type(files) is list
        and type(modules) is list
        and type(packages) is bytes
        and len(modules) == count
        and len(packages) == count
        and len(stats) == 3 * count
        and len(offsets) == count + 1
        and len(dir_names) == len(dir_mtimes)
        and type(header["listings"]) is bytes
        and type(header["problems"]) is dict
        and type(header["indexes"]) is dict
        and type(header["token"]) is bytes
        and header["token"]
    ):
        raise DamagedCache("fields of the wrong shape")
    cache.token = header["token"]
    cache.files, cache.stats, cache.modules = files, stats, modules
    cache.packages = bytearray(packages)
    cache.problems = header["problems"]
    cache.complete = header["complete"] is True
    cache._listings = None
    cache._listings_blob = header["listings"]
    cache._dir_names, cache._dir_mtimes = dir_names, dir_mtimes
    cache.listings_in_base = True
    for mode, (names, flat, bounds) in header["indexes"].items():
        cache.indexes[mode] = PackedIndex(
            names.split("\0") if names else [], array("i", flat), array("i", bounds), count
        )
    cache._packed = PackedDependencies(fd, start, size - start, offsets)
    return cache


def _apply_delta(cache: RootCache, path: Path) -> None:
    """Bring ``cache`` up to date with the delta written after it, if there is one."""
    try:
        fd, size = _open_regular(path, MAX_DELTA_BYTES)
    except OSError:
        return
    try:
        delta, _ = _read_header(fd, size, DELTA_MAGIC)
    except OtherVersion:
        return
    finally:
        os.close(fd)
    if not isinstance(delta, dict) or delta.get("token") != cache.token:
        return  # written for an earlier cache file: stale
    entries = delta["entries"]
    if type(entries) is not dict:
        raise DamagedCache("damaged delta")
    count = len(cache.files)
    scanned: dict[int, Dependencies] = {}
    base: dict[int, Dependencies] = {}
    for position, entry in entries.items():
        relative, size_, mtime, inode, module, is_package, problem, runtime, typing_only = entry
        if not (type(position) is int and 0 <= position < count):
            raise DamagedCache("damaged delta position")
        if cache.files[position] != relative or type(module) is not str:
            raise DamagedCache("delta for other files")
        if type(runtime) is not tuple or type(typing_only) is not tuple:
            raise DamagedCache("damaged delta dependencies")
        base[position] = cache.dependencies_of(position)
        cache.stats[3 * position : 3 * position + 3] = array("q", (size_, mtime, inode))
        cache.modules[position] = module
        cache.packages[position] = 1 if is_package else 0
        if problem is None:
            cache.problems.pop(position, None)
        else:
            cache.problems[position] = str(problem)
        scanned[position] = (runtime, typing_only)
    cache._deps.update(scanned)
    cache.delta = set(scanned)
    for mode, index in list(cache.indexes.items()):
        cache.indexes[mode] = edited_index(index, mode, base, scanned)
    listings = delta.get("listings")
    if listings is not None:
        names, mtimes, blob, complete = listings
        cache._dir_names = names.split("\0") if names else []
        cache._dir_mtimes = array("q", mtimes)
        if len(cache._dir_names) != len(cache._dir_mtimes) or type(blob) is not bytes:
            raise DamagedCache("damaged delta listings")
        cache._listings, cache._listings_blob = None, blob
        cache.complete, cache.listings_in_base = complete is True, False


# -- writing -----------------------------------------------------------------


def store(path: Path, cache: RootCache, root: str) -> bool:
    """Write the cache of ``root``, as a delta when that is enough; False when it cannot be written.

    Writing a whole cache (a new root, or many changes) also prunes the
    directory: see :func:`prune`.
    """
    try:
        if _delta_is_enough(cache):
            _store_delta(path, cache)
        else:
            _store_whole(path, cache, root)
            prune(path.parent)
    except (OSError, DamagedCache):
        return False
    return True


def _delta_is_enough(cache: RootCache) -> bool:
    return bool(cache.token) and len(cache.delta) <= delta_limit(len(cache.files))


def _framed(magic: bytes, header: bytes, root: str = "") -> bytes:
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


def _write(path: Path, payload: bytes) -> None:
    from smartrestart.atomicfile import write_file  # a warm run with no change never writes

    write_file(
        path, payload, mode=0o600, create_dirs=True, dir_mode=0o700, durable=False, compare=False
    )


def _store_delta(path: Path, cache: RootCache) -> None:
    entries = {}
    for position in sorted(cache.delta):
        runtime, typing_only = cache.dependencies_of(position)
        size, mtime, inode = cache.stats[3 * position : 3 * position + 3]
        entries[position] = (
            cache.files[position],
            size,
            mtime,
            inode,
            cache.modules[position],
            bool(cache.packages[position]),
            cache.problems.get(position),
            runtime,
            typing_only,
        )
    listings = None
    if not cache.listings_in_base:
        listings = (*cache._packed_listings(), cache.complete)
    delta = {"format": CACHE_FORMAT, "token": cache.token, "entries": entries, "listings": listings}
    _write(delta_file(path), _framed(DELTA_MAGIC, marshal.dumps(delta)))


def _store_whole(path: Path, cache: RootCache, root: str) -> None:
    packed = cache.packed_dependencies()
    offsets = array("q", [0])
    total = 0
    for entry in packed:
        total += len(entry)
        offsets.append(total)
    dirs, dir_mtimes, listings = cache._packed_listings()
    fields = {
        "format": CACHE_FORMAT,
        "layout": cache.layout,
        "token": os.urandom(8),
        "dirs": dirs,
        "dir_mtimes": dir_mtimes,
        "listings": listings,
        "complete": cache.complete,
        "files": cache.files,
        "stats": cache.stats.tobytes(),
        "modules": cache.modules,
        "packages": bytes(cache.packages),
        "problems": cache.problems,
        "indexes": {mode: index.packed() for mode, index in cache.indexes.items()},
        "offsets": offsets.tobytes(),
    }
    _write(path, b"".join((_framed(MAGIC, marshal.dumps(fields), root), *packed)))
    with contextlib.suppress(FileNotFoundError):
        os.unlink(delta_file(path))


def root_of(path: Path) -> str | None:
    """The source root a cache file was written for; None when it is not one of ours."""
    try:
        fd, size = _open_regular(path, MAX_CACHE_BYTES)
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


def prune(cache_dir: Path) -> list[str]:
    """Remove what no run will read again; the names removed.

    One cache per root: with releases deployed side by side (``current ->
    releases/N``), every release is a root of its own, and without this the
    directory would grow by a cache per deploy. Removed: caches whose root no
    longer exists, deltas without their cache, caches of another format
    untouched for :data:`STALE_FOREIGN_SECONDS`, temporary files of an
    interrupted write after :data:`STALE_TEMPORARY_SECONDS`.
    """
    import time

    try:
        names = os.listdir(cache_dir)
    except OSError:
        return []
    present = set(names)
    now = time.time()
    removed: list[str] = []
    for name in names:
        path = cache_dir / name
        try:
            if name.startswith("graph-") and name.endswith(".cache"):
                root = root_of(path)
                if root is not None:
                    stale = not os.path.isdir(root)
                else:
                    stale = now - os.lstat(path).st_mtime > STALE_FOREIGN_SECONDS
            elif name.startswith("graph-") and name.endswith(".cache.delta"):
                stale = name.removesuffix(".delta") not in present
            elif name.startswith(".graph-") and name.endswith(".tmp"):
                stale = now - os.lstat(path).st_mtime > STALE_TEMPORARY_SECONDS
            else:
                continue
            if stale:
                os.unlink(path)
                removed.append(name)
                if name.endswith(".cache") and name + ".delta" in present:
                    os.unlink(delta_file(path))
                    removed.append(name + ".delta")
                    present.discard(name + ".delta")
        except OSError:
            continue  # gone meanwhile, or not ours to remove: never an error
    return removed
