"""On-disk cache of scan results, so a warm run re-reads only files that changed.

One file per source root under ``$XDG_CACHE_HOME/smartrestart`` (as root:
``/var/cache/smartrestart``, whatever the environment says; or
``--cache-dir``). A file is reused while its size, mtime and inode are
unchanged; files modified within the last
:data:`~smartrestart.importgraph.walk.RACY_SECONDS` are never trusted.

The layout is compact because loading it is most of a warm run: paths
relative to the root, the three stat numbers of every file in one integer
array, the importer index as module names plus integer arrays of file
positions (sliced only for the modules a run looks up), all in one
``marshal`` blob (the fastest loader the standard library has). The files'
dependency lists, needed only when something changed, follow as a second
blob of one packed entry per file: a run unpacks only the changed files'.

A cache that cannot be read or written is ignored: it only ever costs speed.
A cache another user could write is ignored too (see :func:`untrusted`): a
poisoned graph hides importers, so a unit would silently not restart.
"""

from __future__ import annotations

import marshal
import os
import sys
from array import array
from pathlib import Path
from typing import TYPE_CHECKING, Any

from smartrestart.importgraph.walk import DirListing
from smartrestart.regularfile import read_regular

# Bump when the scanner reads any file differently, so old caches are not reused.
SCANNER_EPOCH = 4
CACHE_FORMAT = (6, SCANNER_EPOCH, sys.version_info[:2])
MAGIC = b"SRIG"
MAX_CACHE_BYTES = 512 * 1024 * 1024
ROOT_CACHE_DIR = Path("/var/cache/smartrestart")
# A stat triple that matches no file: an entry to scan again next time.
UNTRUSTED = -1

if TYPE_CHECKING:
    from collections.abc import Iterator
# Per file: (runtime dependencies, dependencies under TYPE_CHECKING only).
Dependencies = tuple[tuple[str, ...], tuple[str, ...]]


class PackedIndex:
    """The importer index as loaded: names, offsets and positions, sliced on demand.

    Building a dict of arrays for every module costs more than a warm run
    has; a run looks up a few hundred modules at most.
    """

    __slots__ = ("_bounds", "_flat", "_where")

    def __init__(self, names: list[str], flat: array[int], bounds: array[int]) -> None:
        self._where = dict(zip(names, range(len(names)), strict=True))
        self._flat = flat
        self._bounds = bounds

    def get(self, module: str, default: Any = None) -> Any:
        i = self._where.get(module)
        if i is None:
            return default
        return self._flat[self._bounds[i] : self._bounds[i + 1]]

    def __contains__(self, module: object) -> bool:
        return module in self._where

    def __iter__(self) -> Iterator[str]:
        return iter(self._where)

    def __len__(self) -> int:
        return len(self._where)

    def __getitem__(self, module: str) -> array[int]:
        i = self._where[module]
        return self._flat[self._bounds[i] : self._bounds[i + 1]]

    def to_dict(self) -> dict[str, array[int]]:
        return {module: self[module] for module in self._where}


if TYPE_CHECKING:
    # module name -> positions of the files that import it
    Index = dict[str, array[int]] | PackedIndex


class RootCache:
    """What one root's cache holds; every field in the order of ``files``."""

    __slots__ = (
        "_dependencies",
        "_deps_packed",
        "complete",
        "damaged",
        "files",
        "indexes",
        "layout",
        "listings",
        "modules",
        "packages",
        "problems",
        "stats",
    )

    def __init__(self, layout: tuple[str, ...]) -> None:
        self.layout = layout
        self.listings: dict[str, DirListing] = {}
        self.files: list[str] = []
        self.stats = array("q")  # size, mtime_ns, inode of each file, flat
        self.modules: list[str] = []  # "" where a file has no module name
        self.packages = bytearray()  # 1 where the file is a package's __init__.py
        self.problems: dict[int, str] = {}
        self.indexes: dict[str, Index] = {}  # "runtime" or "all" -> index
        # Whether ``listings`` holds every directory of the tree, so an
        # unchanged tree can be confirmed by one stat per directory.
        self.complete = False
        self.damaged = ""  # why a cache file there could not be used
        self._dependencies: list[Dependencies] | None = []
        self._deps_packed: list[bytes] = []  # one marshal blob per file

    def dependencies_of(self, position: int) -> Dependencies:
        """One file's dependency lists, unpacked alone."""
        if self._dependencies is not None:
            return self._dependencies[position]
        try:
            data: Any = marshal.loads(self._deps_packed[position])
            runtime, typing_only = data
        except (EOFError, TypeError, ValueError, IndexError) as exc:
            raise ValueError(f"damaged dependency lists: {exc}") from None
        if type(runtime) is not tuple or type(typing_only) is not tuple:
            raise ValueError("damaged dependency lists")
        return runtime, typing_only

    @property
    def dependencies(self) -> list[Dependencies]:
        """Every file's, unpacked on first use: only a run that saw a change needs them."""
        if self._dependencies is None:
            self._dependencies = [self.dependencies_of(i) for i in range(len(self.files))]
        return self._dependencies

    @dependencies.setter
    def dependencies(self, value: list[Dependencies]) -> None:
        self._dependencies = value

    def adopt_dependencies(self, other: RootCache) -> None:
        """Share ``other``'s dependency lists (same files), packed or not, unpacking none."""
        self._dependencies = other._dependencies
        self._deps_packed = other._deps_packed

    def packed_dependencies(self) -> list[bytes]:
        """For storing: the packed entries, reusing those never unpacked."""
        if self._dependencies is None:
            return self._deps_packed
        return [marshal.dumps(deps) for deps in self._dependencies]


def default_cache_dir() -> Path:
    """Root's cache never follows an environment an unprivileged caller may have set."""
    if os.geteuid() == 0:
        return ROOT_CACHE_DIR
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "smartrestart"


def cache_file(cache_dir: Path, root: str) -> Path:
    """One file per root, named after it (no hashing module to import)."""
    import zlib

    readable = "".join(c if c.isalnum() else "_" for c in root.strip("/"))[-80:]
    checksum = zlib.crc32(root.encode("utf-8", "surrogateescape"))
    return cache_dir / f"graph-{readable}-{checksum:08x}.cache"


def untrusted(cache_dir: Path) -> str | None:
    """Why the cache under ``cache_dir`` must not be used, or None.

    Only root and this process's own user may be able to write the directory,
    the directories above it, and the cache files in it.
    """
    from smartrestart.trust import TrustPolicy, untrusted_directory, untrusted_reason

    mine = TrustPolicy.for_invoker()  # no trusted_owners for a cache
    existing = cache_dir
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent  # not made yet: where it would be made must be ours
    reason = untrusted_directory(existing, mine)
    if reason is None and cache_dir.is_dir():
        for entry in cache_dir.iterdir():
            problem = untrusted_reason(entry, mine)
            if problem:
                return f"{entry}: {problem}"
    return reason


def load(path: Path, layout: tuple[str, ...]) -> RootCache:
    """The cache at ``path`` if this version wrote it for ``layout``, else an empty one."""
    try:
        raw = read_regular(path, MAX_CACHE_BYTES, follow_symlinks=False)
    except OSError:
        return RootCache(layout)
    if raw[:4] != MAGIC:
        return _damaged(layout, "not a cache file of smartrestart")
    size = int.from_bytes(raw[4:12], "little")
    try:
        data: Any = marshal.loads(raw[12 : 12 + size])
        return _validated(data, layout, raw[12 + size :])
    except (EOFError, ValueError, TypeError, KeyError) as exc:
        return _damaged(layout, str(exc) or type(exc).__name__)


def _damaged(layout: tuple[str, ...], why: str) -> RootCache:
    cache = RootCache(layout)
    cache.damaged = why
    return cache


def _validated(data: Any, layout: tuple[str, ...], deps_blob: bytes) -> RootCache:
    """The header's fields, type-checked: a foreign writer's data must not reach the graph."""
    if not isinstance(data, dict) or data.get("format") != CACHE_FORMAT:
        return RootCache(layout)
    if data.get("layout") != layout:
        return RootCache(layout)
    cache = RootCache(layout)
    files, modules, packages = data["files"], data["modules"], data["packages"]
    stats = array("q", data["stats"])
    count = len(files)
    if not (
        type(files) is list
        and type(modules) is list
        and type(packages) is bytes
        and len(modules) == count
        and len(packages) == count
        and len(stats) == 3 * count
        and type(data["listings"]) is dict
        and type(data["problems"]) is dict
        and type(data["indexes"]) is dict
    ):
        return RootCache(layout)
    cache.listings = data["listings"]
    cache.files = files
    cache.stats = stats
    cache.modules = modules
    cache.packages = bytearray(packages)
    cache.problems = data["problems"]
    cache.complete = data.get("complete") is True
    for mode, (names, flat, bounds) in data["indexes"].items():
        cache.indexes[mode] = _index_from(names, array("i", flat), array("i", bounds), count)
    packed = marshal.loads(deps_blob)
    if type(packed) is not list or len(packed) != count:
        raise ValueError("damaged dependency lists")
    cache._dependencies = None
    cache._deps_packed = packed
    return cache


def _index_from(names: Any, flat: array[int], bounds: array[int], count: int) -> PackedIndex:
    if type(names) is not list or len(bounds) != len(names) + 1 or bounds[-1] != len(flat):
        raise ValueError("damaged index")
    if flat and not 0 <= min(flat) <= max(flat) < count:
        raise ValueError("damaged index")
    if bounds[0] != 0 or sorted(bounds) != bounds.tolist():
        raise ValueError("damaged index")
    return PackedIndex(names, flat, bounds)


def store(path: Path, cache: RootCache) -> bool:
    """Write the cache; False (and no exception) when the directory is not writable."""
    indexes: dict[str, tuple[list[str], bytes, bytes]] = {}
    for mode, index in cache.indexes.items():
        names = list(index)
        flat = array("i")
        bounds = array("i", [0])
        for name in names:
            flat.extend(index[name])
            bounds.append(len(flat))
        indexes[mode] = (names, flat.tobytes(), bounds.tobytes())
    header = marshal.dumps(
        {
            "format": CACHE_FORMAT,
            "layout": cache.layout,
            "listings": cache.listings,
            "files": cache.files,
            "stats": cache.stats.tobytes(),
            "modules": cache.modules,
            "packages": bytes(cache.packages),
            "problems": cache.problems,
            "complete": cache.complete,
            "indexes": indexes,
        }
    )
    deps = marshal.dumps(cache.packed_dependencies())
    payload = b"".join((MAGIC, len(header).to_bytes(8, "little"), header, deps))
    from smartrestart.atomicfile import write_file  # a warm run with no change never writes

    try:
        write_file(path, payload, mode=0o600, create_dirs=True, dir_mode=0o700, durable=False)
    except OSError:
        return False
    return True
