"""On-disk cache of scan results, so a warm run re-reads only files that changed.

One file per source root under ``$XDG_CACHE_HOME/smartrestart`` (or
``--cache-dir``), in ``marshal`` format: the fastest loader the standard
library has for plain tuples and dicts. An entry is reused while the file's
size, mtime and inode are unchanged; files modified within the last
:data:`~smartrestart.importgraph.walk.RACY_SECONDS` are never trusted.
A cache that cannot be read or written is ignored: it only ever costs speed.
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


def default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "smartrestart"


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
        write_file(path, payload, mode=0o600, create_dirs=True, durable=False)
    except OSError:
        return False
    return True
