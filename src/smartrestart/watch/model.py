"""``watch``'s pure parts: which changes count, and which file a program starts from.

What is ignored is one table (:data:`IGNORED_DIRS`, :data:`IGNORED_FILES`):
version-control and cache directories, editors' swap, backup and temporary
files. An editor's atomic save (write ``.x.py.swp`` or ``x.py~``, rename it
over ``x.py``) then shows up as exactly one change: the target's.
"""

from __future__ import annotations

import fnmatch
import os
import re
from collections.abc import Sequence
from typing import NamedTuple

from smartrestart.errors import UsageError

# Directories whose contents never count as a change (and are not watched through).
IGNORED_DIRS = frozenset(
    {
        ".git",
        ".hg",
        ".svn",
        "__pycache__",
        ".mypy_cache",
        ".pytest_cache",
        ".ruff_cache",
        ".tox",
        ".nox",
    }
)
# File names (fnmatch patterns) that never count: swap, backup and temporary files.
IGNORED_FILES = (
    "*.swp",  # vim swap files (.x.py.swp, .swo, .swx ...)
    "*.swo",
    "*.swx",
    "*~",  # emacs, vim, gedit backups
    ".#*",  # emacs lock files
    "#*#",  # emacs auto-saves
    "4913",  # vim's test whether it may write the directory
    "*.tmp",
    "*.bak",
    "*.orig",
    "*.rej",
    "*.pyc",
    "*.pyo",
    ".~lock.*",  # LibreOffice locks
    ".goutputstream-*",  # GLib's atomic saves (gedit)
    "*___jb_tmp___",  # JetBrains' safe writes
    "*___jb_old___",
    "sed??????",  # sed -i's temporary file
    "*.kate-swp",
)
_IGNORED_FILE = re.compile("|".join(fnmatch.translate(p) for p in IGNORED_FILES))


def is_ignored(path: str) -> bool:
    """Whether a change of ``path`` is noise: in an ignored directory, or an ignored name."""
    parts = path.split(os.sep)  # noqa: PTH206 - thousands of paths per checkout: strings
    if any(part in IGNORED_DIRS for part in parts[:-1]):
        return True
    return parts[-1] in IGNORED_DIRS or _IGNORED_FILE.fullmatch(parts[-1]) is not None


def describe_paths(paths: Sequence[str], shown: int = 3) -> str:
    listed = ", ".join(paths[:shown])
    more = len(paths) - shown
    return f"{listed} and {more} more" if more > 0 else listed


# --- process mode: where the program starts ------------------------------------------


class Entry(NamedTuple):
    """The program's entry: a file, or a module (``python -m``) to find under the roots."""

    file: str | None = None
    module: str | None = None


# Interpreter options that take a value (``python -X dev -W error app.py``).
_PYTHON_OPTIONS_WITH_VALUE = frozenset({"-X", "-W", "--check-hash-based-pycs"})
_PYTHON = re.compile(r"python(\d+(\.\d+)?)?")


def entry_from_argv(argv: Sequence[str], entry: str | None = None) -> Entry:
    """The entry module of ``argv``: ``python FILE``, ``python -m MODULE``, a ``.py`` script.

    ``entry`` (``--entry FILE``) wins. Anything else is a :class:`UsageError`
    asking for ``--entry``: without an entry every change would have to
    restart, which is what this mode exists not to do.
    """
    if entry is not None:
        return Entry(file=entry)
    if not argv:
        raise UsageError("no PROGRAM to run (smartrestart watch [OPTIONS] -- PROGRAM [ARGS]...)")
    name = os.path.basename(argv[0])  # noqa: PTH119
    if name.endswith(".py"):
        return Entry(file=argv[0])
    if _PYTHON.fullmatch(name):
        found = _python_entry(argv[1:])
        if found is not None:
            return found
    raise UsageError(
        f"cannot tell which module {' '.join(argv[:3])} starts from: "
        "give --entry FILE (the file whose imports decide a restart)"
    )


def _python_entry(args: Sequence[str]) -> Entry | None:
    index = 0
    while index < len(args):
        arg = args[index]
        if arg == "-m" and index + 1 < len(args):
            return Entry(module=args[index + 1])
        if arg.startswith("-m") and len(arg) > 2:
            return Entry(module=arg[2:])
        if arg in ("-c", "-"):
            return None  # code on the command line or stdin: no file to follow
        if arg in _PYTHON_OPTIONS_WITH_VALUE:
            index += 2
            continue
        if not arg.startswith("-"):
            return Entry(file=arg)
        index += 1
    return None


def module_candidates(module: str) -> tuple[str, ...]:
    """The module names ``python -m MODULE`` may run: a package's ``__main__`` first."""
    return (f"{module}.__main__", module)
