"""Finding the ``.py`` files of a tree, reusing the last listing of unchanged directories.

A directory's mtime changes whenever an entry is added, removed or renamed in
it, so a directory whose mtime is unchanged since the last run keeps its cached
listing and only needs one ``stat``. Listings taken within
:data:`RACY_SECONDS` of a directory's last change are not trusted (the same
"racy" rule git uses for its index), since a second change in the same clock
tick would not move the mtime.

Paths are relative to the root (``""`` is the root itself), which keeps the
cache small and independent of where the tree lives.

Skipped, relative to the root only (the original smart-restart also skipped a
whole tree whose *absolute* path contained a dot-folder): hidden directories,
``__pycache__``, ``node_modules``, ``*.egg-info``, virtual environments (a
``pyvenv.cfg`` inside), and ``build``/``dist`` directly under the root unless
they are packages.
"""

from __future__ import annotations

import os
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

RACY_SECONDS = 2.0
_SKIP_NAMES = frozenset({"__pycache__", "node_modules"})
_TOP_LEVEL_ARTIFACTS = frozenset({"build", "dist"})

# relative directory -> (mtime_ns, subdirectories, python files), names only
DirListing = tuple[int, tuple[str, ...], tuple[str, ...]]
# An mtime no directory has: a listing that must be taken again next time.
UNTRUSTED_MTIME = -1


class Walk:
    """The files found, the listings worth caching, and what could not be read."""

    __slots__ = ("complete", "files", "listings", "unreadable")

    def __init__(self) -> None:
        self.files: list[str] = []  # root-relative paths of .py files, in walk order
        self.listings: dict[str, DirListing] = {}  # trustworthy ones only
        # Whether ``listings`` covers every directory: then an unchanged tree is
        # confirmed next time by one stat per directory (see :func:`tree_unchanged`).
        self.complete = True
        # Absolute path -> reason. One bad entry never hides the rest of its directory.
        self.unreadable: dict[str, str] = {}


def walk_python_files(
    root: str,
    cached: dict[str, DirListing],
    publish: Callable[[list[str]], None] | None = None,
) -> Walk:
    """All ``.py`` files under ``root`` (an absolute path), relative to it.

    ``publish`` is given the list of files found so far each time it grew,
    so that scanning them can start before the walk is done.
    """
    result = Walk()
    racy_after = (time.time() - RACY_SECONDS) * 1e9
    prefix = root + "/" if root != "/" else "/"
    stat = os.stat
    files, listings, unreadable = result.files, result.listings, result.unreadable
    stack = [""]
    pop, push = stack.pop, stack.extend
    while stack:
        relative = pop()
        directory = prefix + relative if relative else root
        try:
            mtime = stat(directory).st_mtime_ns
        except OSError:
            result.complete = False
            continue
        listing = cached.get(relative)
        if listing is None or listing[0] != mtime:
            listing = _list_directory(directory, not relative, mtime, unreadable)
            if listing is None:
                result.complete = False
                continue
        if listing[0] < racy_after and listing[0] != UNTRUSTED_MTIME:
            listings[relative] = listing
        else:
            result.complete = False
        _, subdirs, names = listing
        if not relative:
            files.extend(names)
            push(subdirs)
            continue
        if names:
            base = relative + "/"
            files.extend([base + name for name in names])
            if publish is not None:
                publish(files)
        if subdirs:
            base = relative + "/"
            push([base + name for name in subdirs])
    return result


def tree_unchanged(root: str, directories: Iterable[tuple[str, int]]) -> bool:
    """Whether every directory of a complete set of listings still has its mtime.

    Then no file was added, removed or renamed anywhere, and the last walk's
    file list holds as it was: one stat per directory, no listing, no path built.
    """
    prefix = root + "/" if root != "/" else "/"
    stat = os.stat
    try:
        for relative, mtime in directories:
            if stat(prefix + relative if relative else root).st_mtime_ns != mtime:
                return False
    except OSError:
        return False
    return True


def _list_directory(
    directory: str, is_root: bool, mtime: int, unreadable: dict[str, str]
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
                    elif entry.is_dir(follow_symlinks=False) and (
                        name[0] != "."
                        and name not in _SKIP_NAMES
                        and not name.endswith(".egg-info")
                        and (not is_root or _descend_top_level(directory, name))
                    ):
                        subdirs.append(name)
                except OSError as exc:  # a symlink loop, a file gone mid-walk
                    unreadable[entry.path] = exc.strerror or str(exc)
    except OSError as exc:
        unreadable[directory] = f"cannot list: {exc.strerror or exc}"
        return None
    if len(unreadable) > problems:
        mtime = UNTRUSTED_MTIME  # never reuse this listing: the next run must see it again
    if subdirs:
        subdirs.sort(reverse=True)
    if files:
        files.sort()
    return (mtime, tuple(subdirs), tuple(files))


def _descend_top_level(root: str, name: str) -> bool:
    """``build`` and ``dist`` directly under the root are packaging output unless packages."""
    if name in _TOP_LEVEL_ARTIFACTS:
        return os.path.isfile(os.path.join(root, name, "__init__.py"))
    return True
