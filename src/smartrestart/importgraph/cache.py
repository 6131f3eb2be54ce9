"""On-disk cache of scan results, so a warm run re-reads only files that changed.

One file per source root under ``$XDG_CACHE_HOME/smartrestart`` (as root:
``/var/cache/smartrestart``, whatever the environment says; or
``--cache-dir``). A file is reused while its size, mtime and inode are
unchanged; files modified within the last
:data:`~smartrestart.importgraph.walk.RACY_SECONDS` are never trusted.

Loading is most of a warm run, so a file is read in parts
(:mod:`.cachefile` has the framing): the header holds paths relative to the
root, the three stat numbers of every file in one integer array, directory
mtimes apart from the listings (unpacked only when the tree changed), and the
importer index as sorted module names and integer arrays (sliced only for the
modules a run looks up); the files' dependency lists follow, one entry per
file at offsets the header gives, read only for files that changed.

A run that rescanned a few files in place writes their entries to a small
*delta* file next to the cache (``<cache>.delta``) instead of rewriting it:
touching one file of a 13k-file tree costs a few kilobytes, not 16 MB. The
delta names the cache it applies to by a random token; a delta grown past
:func:`delta_limit` entries, or a change in the list of files, rewrites the
cache whole, and writing a whole cache prunes the directory (:func:`prune`).
A run whose rescanned files all changed within the racy window (as files a
deploy has just written do) writes nothing: their entries would be stored
untrusted, and the next run reads those files again whatever is stored.

A cache that cannot be read or written is ignored: it only ever costs speed.
A cache another user could write is ignored too (see :func:`untrusted`): a
poisoned graph hides importers, so a unit would silently not restart.
"""

from __future__ import annotations

import contextlib
import marshal
import os
import zlib
from array import array
from typing import TYPE_CHECKING, Any

from smartrestart import pathnames
from smartrestart.importgraph.cachefile import (
    CACHE_FORMAT,
    DELTA_MAGIC,
    MAGIC,
    MAX_CACHE_BYTES,
    MAX_DELTA_BYTES,
    OtherVersion,
    framed,
    open_regular,
    read_header,
    root_of,
)
from smartrestart.importgraph.index import DamagedCache, Dependencies, PackedIndex, edited_index
from smartrestart.importgraph.tables import PackedDependencies, RootCache

if TYPE_CHECKING:
    from collections.abc import Iterable

ROOT_CACHE_DIR = "/var/cache/smartrestart"
# Caches of another format (another version, another Python) are removed when
# nothing has written them for this long; temporary files of an interrupted write sooner.
STALE_FOREIGN_SECONDS = 30 * 86400
STALE_TEMPORARY_SECONDS = 86400


def delta_limit(files: int) -> int:
    """How many changed entries a delta may hold before the cache is rewritten whole."""
    return max(64, files // 50)


def default_cache_dir() -> str:
    """Root's cache never follows an environment an unprivileged caller may have set."""
    if os.geteuid() == 0:
        return ROOT_CACHE_DIR
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return pathnames.join(base, "smartrestart")


def cache_file(cache_dir: str, root: str) -> str:
    """One file per root, named after it (no hashing module to import)."""
    readable = "".join(c if c.isalnum() else "_" for c in root.strip("/"))[-80:]
    checksum = zlib.crc32(root.encode("utf-8", "surrogateescape"))
    return pathnames.join(cache_dir, f"graph-{readable}-{checksum:08x}.cache")


def delta_file(path: str) -> str:
    return path + ".delta"


def untrusted(cache_dir: str, files: Iterable[str] = ()) -> str | None:
    """Why the cache under ``cache_dir`` must not be used, or None.

    Only root and this process's own user may be able to write the directory,
    the directories above it, and ``files``, the ones this run would read
    (others in the directory are never read, so never checked: a shared cache
    directory of hundreds of roots costs nothing here).
    """
    from smartrestart.trust import TrustPolicy, untrusted_directory, untrusted_reason

    mine = TrustPolicy.for_invoker()  # no trusted_owners for a cache
    existing = cache_dir
    while not pathnames.exists(existing) and existing != pathnames.parent(existing):
        existing = pathnames.parent(existing)  # not made yet: where it would be made must be ours
    reason = untrusted_directory(existing, mine)
    if reason is None:
        for path in files:
            if os.path.lexists(path):
                problem = untrusted_reason(path, mine)
                if problem:
                    return f"{path}: {problem}"
    return reason


# -- reading -----------------------------------------------------------------


def load(path: str, layout: tuple[str, ...]) -> RootCache:
    """The cache at ``path`` (with its delta) if this version wrote it for ``layout``.

    Otherwise an empty one, with ``damaged`` saying why when a file was there.
    """
    try:
        fd, size = open_regular(path, MAX_CACHE_BYTES)
    except OSError:
        return RootCache(layout)
    except DamagedCache as exc:
        return _damaged(layout, str(exc))
    try:
        header, start = read_header(fd, size, MAGIC)
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
    dir_mtimes = array("q", header["dir_mtimes"])
    dir_names = _split_names(header["dirs"], len(dir_mtimes))
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


def _split_names(joined: str, count: int) -> list[str]:
    """Directory names as :meth:`RootCache._packed_listings` joined them.

    The root directory's name is "": a tree without subdirectories joins to ""
    too, which is one name, not none.
    """
    return joined.split("\0") if joined or count else []


def _apply_delta(cache: RootCache, path: str) -> None:
    """Bring ``cache`` up to date with the delta written after it, if there is one."""
    try:
        fd, size = open_regular(path, MAX_DELTA_BYTES)
    except OSError:
        return
    try:
        delta, _ = read_header(fd, size, DELTA_MAGIC)
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
        cache._dir_mtimes = array("q", mtimes)
        cache._dir_names = _split_names(names, len(cache._dir_mtimes))
        if len(cache._dir_names) != len(cache._dir_mtimes) or type(blob) is not bytes:
            raise DamagedCache("damaged delta listings")
        cache._listings, cache._listings_blob = None, blob
        cache.complete, cache.listings_in_base = complete is True, False


# -- writing -----------------------------------------------------------------


def store(path: str, cache: RootCache, root: str) -> bool:
    """Write the cache of ``root``, as a delta when that is enough; False when it cannot be written.

    Writing a whole cache (a new root, or many changes) also prunes the
    directory: see :func:`prune`.
    """
    try:
        if _delta_is_enough(cache):
            _store_delta(path, cache)
        else:
            _store_whole(path, cache, root)
            prune(pathnames.parent(path))
    except (OSError, DamagedCache):
        return False
    return True


def _delta_is_enough(cache: RootCache) -> bool:
    return bool(cache.token) and len(cache.delta) <= delta_limit(len(cache.files))


def _write(path: str, payload: bytes) -> None:
    from smartrestart.atomicfile import write_file  # a warm run with no change never writes

    write_file(
        path, payload, mode=0o600, create_dirs=True, dir_mode=0o700, durable=False, compare=False
    )


def _store_delta(path: str, cache: RootCache) -> None:
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
    _write(delta_file(path), framed(DELTA_MAGIC, marshal.dumps(delta)))


def _store_whole(path: str, cache: RootCache, root: str) -> None:
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
    _write(path, b"".join((framed(MAGIC, marshal.dumps(fields), root), *packed)))
    with contextlib.suppress(FileNotFoundError):
        os.unlink(delta_file(path))


def prune(cache_dir: str) -> list[str]:
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
        path = os.path.join(cache_dir, name)
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
