"""The import cache's tables in memory: per-file stats, modules, listings, dependency lists.

What :mod:`.cache` loads and stores and :mod:`.build` fills. Dependency lists
stay packed as read from the cache file and are unpacked one file at a time;
directory listings stay packed until the tree changed.
"""

from __future__ import annotations

import contextlib
import marshal
import os
from array import array
from typing import TYPE_CHECKING, Any

from smartrestart.importgraph.index import DamagedCache, Dependencies, PackedIndex
from smartrestart.importgraph.walk import DirListing

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    from smartrestart.importgraph.parallel import Scanned

# A stat triple that matches no file: an entry to scan again next time.
UNTRUSTED = -1


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

    @classmethod
    def scanned(
        cls,
        layout: tuple[str, ...],
        files: Sequence[str],
        scans: Sequence[Scanned],
        racy_after: int,
    ) -> RootCache:
        """The tables of freshly scanned ``files``: those gone since the walk left out.

        A file changed within the racy window (mtime from ``racy_after`` on) is
        scanned again next time.
        """
        tables = cls(layout)
        kept, stats, modules = tables.files, tables.stats, tables.modules
        packages, problems = tables.packages, tables.problems
        deps = tables._deps
        for relative, (status, described) in zip(files, scans, strict=True):
            if status is None:
                continue
            size, mtime, inode = status
            problem, module, is_package, runtime, typing_only = described
            position = len(kept)
            kept.append(relative)
            stats.extend((size, mtime if mtime < racy_after else UNTRUSTED, inode))
            modules.append(module)
            packages.append(1 if is_package else 0)
            if problem is not None:
                problems[position] = problem
            deps[position] = (runtime, typing_only)
        return tables

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
