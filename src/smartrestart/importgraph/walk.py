"""Finding the ``.py`` files of a tree, reusing the last listing of unchanged directories.

A directory's mtime changes whenever an entry is added, removed or renamed in
it, so a directory whose mtime is unchanged since the last run keeps its cached
listing and only needs one ``stat``. Listings taken within
:data:`RACY_SECONDS` of a directory's last change are not trusted (the same
"racy" rule git uses for its index), since a second change in the same clock
tick would not move the mtime.

Skipped, relative to the root only (the original smart-restart also skipped a
whole tree whose *absolute* path contained a dot-folder): hidden directories,
``__pycache__``, ``node_modules``, ``*.egg-info``, virtual environments (a
``pyvenv.cfg`` inside), and ``build``/``dist`` directly under the root unless
they are packages.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field

RACY_SECONDS = 2.0
_SKIP_NAMES = frozenset({"__pycache__", "node_modules"})
_TOP_LEVEL_ARTIFACTS = frozenset({"build", "dist"})

# directory -> (mtime_ns, subdirectories, python files), names only
DirListing = tuple[int, tuple[str, ...], tuple[str, ...]]


@dataclass(slots=True)
class WalkResult:
    files: list[str] = field(default_factory=list)
    listings: dict[str, DirListing] = field(default_factory=dict)
    # Directories and entries that could not be read: path -> reason. One bad
    # entry never hides the rest of its directory.
    unreadable: dict[str, str] = field(default_factory=dict)


def walk_python_files(
    root: str,
    cached: dict[str, DirListing],
    on_files: Callable[[list[str]], None] | None = None,
) -> WalkResult:
    """All ``.py`` files under ``root`` (absolute paths) and the listings to cache.

    ``on_files`` receives each directory's files as soon as they are known, so
    scanning can start before the walk ends.
    """
    result = WalkResult()
    racy_after = (time.time() - RACY_SECONDS) * 1e9
    stack = [root]
    while stack:
        directory = stack.pop()
        try:
            mtime = os.stat(directory).st_mtime_ns
        except OSError:
            continue
        listing = cached.get(directory)
        if listing is None or listing[0] != mtime:
            listing = _list_directory(
                directory, is_root=directory == root, mtime=mtime, unreadable=result.unreadable
            )
            if listing is None:
                continue
        if mtime < racy_after:
            result.listings[directory] = listing
        _, subdirs, files = listing
        prefix = directory + os.sep
        if files:
            found = [prefix + name for name in files]
            result.files.extend(found)
            if on_files is not None:
                on_files(found)
        stack.extend(prefix + name for name in subdirs)
    return result


def _list_directory(
    directory: str, *, is_root: bool, mtime: int, unreadable: dict[str, str]
) -> DirListing | None:
    subdirs: list[str] = []
    files: list[str] = []
    problems = len(unreadable)
    try:
        with os.scandir(directory) as entries:
            for entry in entries:
                name = entry.name
                try:
                    if name.endswith(".py"):
                        if entry.is_file():
                            files.append(name)
                    elif name == "pyvenv.cfg" and not is_root:
                        return (mtime, (), ())  # a virtual environment, not project code
                    elif entry.is_dir(follow_symlinks=False) and _descend(
                        directory, name, is_root=is_root
                    ):
                        subdirs.append(name)
                except OSError as exc:  # a symlink loop, a file gone mid-walk
                    unreadable[entry.path] = exc.strerror or str(exc)
    except OSError as exc:
        unreadable[directory] = f"cannot list: {exc.strerror or exc}"
        return None
    if len(unreadable) > problems:
        mtime = -1  # never reuse this listing: the next run must see (and report) it again
    return (mtime, tuple(sorted(subdirs)), tuple(sorted(files)))


def _descend(parent: str, name: str, *, is_root: bool) -> bool:
    if name.startswith(".") or name in _SKIP_NAMES or name.endswith(".egg-info"):
        return False
    if is_root and name in _TOP_LEVEL_ARTIFACTS:
        return os.path.isfile(os.path.join(parent, name, "__init__.py"))
    return True
