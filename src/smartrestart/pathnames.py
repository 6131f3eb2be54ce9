"""Paths as plain strings, spelled and tested as :mod:`pathlib` would, without importing it.

``import pathlib`` brings ``urllib.parse``, ``ipaddress``, ``fnmatch`` and
``ntpath`` with it: about 3 ms, a tenth of what a warm ``decide`` adds to
click and yaml. So the modules on the decide path work on ``str`` paths. Where
pathlib's behaviour showed, it is kept here: in what the user reads (a rules
file given as ``./rules.yaml`` is named ``/srv/app/rules.yaml`` in messages,
not ``/srv/app/./rules.yaml``) and in which errors surface (``Path.is_dir()``
raises on ``EACCES`` where ``os.path.isdir`` says False).
"""

from __future__ import annotations

import errno
import os
import stat

# The errors for which pathlib's exists(), is_dir() and is_file() say False
# instead of raising (pathlib's _ignore_error, Python 3.11 to 3.13).
_NOT_THERE = frozenset({errno.ENOENT, errno.ENOTDIR, errno.EBADF, errno.ELOOP})


def join(*parts: str) -> str:
    """``str(PurePosixPath(*parts))``: empty and ``.`` components dropped, ``..`` kept.

    An absolute part starts afresh; two leading slashes stay two (POSIX
    leaves their meaning to the system), three or more become one.
    """
    root = ""
    names: list[str] = []
    for part in parts:
        relative = part.lstrip("/")
        if relative != part:
            root = "//" if len(part) - len(relative) == 2 else "/"
            names = []
        names.extend(name for name in relative.split("/") if name and name != ".")
    return root + "/".join(names) or "."


def parent(path: str) -> str:
    """``str(PurePosixPath(path).parent)``, ``path`` as :func:`join` spells it (``/``: ``/``)."""
    relative = path.lstrip("/")
    root = path[: len(path) - len(relative)]
    head, slash, _ = relative.rpartition("/")
    if slash:
        return root + head
    return root or "."


def name(path: str) -> str:
    """``PurePosixPath(path).name``, ``path`` as :func:`join` spells it (``/`` and ``.``: "")."""
    return "" if path == "." else path.rpartition("/")[2]


def is_relative_to(path: str, directory: str) -> bool:
    """``PurePosixPath(path).is_relative_to(directory)``, both absolute as :func:`join` spells."""
    if directory in ("/", "//"):
        return path.startswith(directory) and not path.startswith(directory + "/")
    return path == directory or path.startswith(directory + "/")


def exists(path: str) -> bool:
    """``Path(path).exists()``: False when it is not there, an error when it cannot be told."""
    return _mode(path) is not None


def is_dir(path: str) -> bool:
    """``Path(path).is_dir()``: symlinks followed, ``EACCES`` raised."""
    mode = _mode(path)
    return mode is not None and stat.S_ISDIR(mode)


def is_file(path: str) -> bool:
    """``Path(path).is_file()``: symlinks followed, ``EACCES`` raised."""
    mode = _mode(path)
    return mode is not None and stat.S_ISREG(mode)


def is_symlink(path: str) -> bool:
    """``Path(path).is_symlink()``: ``EACCES`` raised."""
    mode = _mode(path, follow_symlinks=False)
    return mode is not None and stat.S_ISLNK(mode)


def _mode(path: str, *, follow_symlinks: bool = True) -> int | None:
    try:
        return os.stat(path, follow_symlinks=follow_symlinks).st_mode
    except OSError as exc:
        if exc.errno not in _NOT_THERE:
            raise
        return None
    except ValueError:  # a NUL byte: no such file
        return None
