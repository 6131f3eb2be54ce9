"""On-disk cache of scan results, so a warm run re-reads only files that changed.

One file per source root under ``$XDG_CACHE_HOME/smartrestart`` (as root:
``/var/cache/smartrestart``, whatever the environment says; or
``--cache-dir``), in ``marshal`` format: the fastest loader the standard
library has for plain tuples and dicts. An entry is reused while the file's
size, mtime and inode are unchanged; files modified within the last
:data:`~smartrestart.importgraph.walk.RACY_SECONDS` are never trusted.
A cache that cannot be read or written is ignored: it only ever costs speed.
A cache another user could write is ignored too (see :func:`untrusted`): a
poisoned graph hides importers, so a unit would silently not restart.
"""

from __future__ import annotations

import hashlib
import marshal
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from smartrestart.atomicfile import write_file
from smartrestart.importgraph.scanner import SCANNER_VERSION
from smartrestart.importgraph.walk import DirListing
from smartrestart.regularfile import read_regular

CACHE_FORMAT = (5, SCANNER_VERSION, sys.version_info[:2])

# path -> (size, mtime_ns, inode, problem, module, is_package,
#          runtime dependencies, dependencies under TYPE_CHECKING only)
FileEntry = tuple[int, int, int, str | None, str, bool, tuple[str, ...], tuple[str, ...]]
FILE_ENTRY_FIELDS = 8
MAX_CACHE_BYTES = 512 * 1024 * 1024


@dataclass(slots=True)
class RootCache:
    """Cached state of one source root; only valid for the same import roots."""

    layout: tuple[str, ...]
    dirs: dict[str, DirListing] = field(default_factory=dict)
    files: dict[str, FileEntry] = field(default_factory=dict)
    # "runtime" or "all" (TYPE_CHECKING imports included) -> module -> importers;
    # valid only while ``files`` is exactly what the last run saw.
    importers: dict[str, dict[str, list[str]]] = field(default_factory=dict)


ROOT_CACHE_DIR = Path("/var/cache/smartrestart")


def default_cache_dir() -> Path:
    """Root's cache never follows an environment an unprivileged caller may have set."""
    if os.geteuid() == 0:
        return ROOT_CACHE_DIR
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "smartrestart"


def untrusted(cache_dir: Path) -> str | None:
    """Why the cache under ``cache_dir`` must not be used, or None.

    Only this process's own user may be able to write the directory, the
    directories above it, and the cache files in it.
    """
    from smartrestart.trust import TrustPolicy, untrusted_directory, untrusted_reason

    mine = TrustPolicy.for_invoker()  # root and ourselves: no trusted_owners for a cache
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


def cache_file(cache_dir: Path, root: str) -> Path:
    digest = hashlib.sha256(root.encode("utf-8", "surrogateescape")).hexdigest()[:24]
    return cache_dir / f"graph-{digest}.marshal"


def load(path: Path, layout: tuple[str, ...]) -> RootCache:
    """The cache at ``path`` if it was made by this version for ``layout``, else an empty one."""
    try:
        # marshal.load() on a stream reads in tiny pieces; one read is 15x faster.
        data: Any = marshal.loads(read_regular(path, MAX_CACHE_BYTES, follow_symlinks=False))
    except (OSError, EOFError, ValueError, TypeError):
        return RootCache(layout)
    if (
        not isinstance(data, dict)
        or data.get("format") != CACHE_FORMAT
        or data.get("layout") != layout
        or not all(isinstance(data.get(key), dict) for key in ("dirs", "files", "importers"))
        or not all(type(e) is tuple and len(e) == FILE_ENTRY_FIELDS for e in data["files"].values())
        or not all(type(e) is tuple and len(e) == 3 for e in data["dirs"].values())
        or not all(
            type(index) is dict and all(type(files) is list for files in index.values())
            for index in data["importers"].values()
        )
    ):
        return RootCache(layout)
    return RootCache(layout, dirs=data["dirs"], files=data["files"], importers=data["importers"])


def store(path: Path, cache: RootCache) -> bool:
    """Write the cache; False (and no exception) when the directory is not writable."""
    payload = marshal.dumps(
        {
            "format": CACHE_FORMAT,
            "layout": cache.layout,
            "dirs": cache.dirs,
            "files": cache.files,
            "importers": cache.importers,
        }
    )
    try:
        write_file(path, payload, mode=0o600, create_dirs=True, dir_mode=0o700, durable=False)
    except OSError:
        return False
    return True
