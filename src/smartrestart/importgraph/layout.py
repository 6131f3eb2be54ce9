"""Where import names start: the import roots of a ``--root`` directory.

``--root .`` on a src-layout project must name ``src/pkg/mod.py`` as
``pkg.mod``, which is what the code's own imports say. The layout is read from
``pyproject.toml`` (setuptools, hatch, poetry, pdm, maturin), and a ``src``
directory is recognised even without one. A root that is itself inside a
package (it has ``__init__.py``) is named from the first ancestor that is not.
"""

from __future__ import annotations

import os
from typing import Any

from smartrestart import pathnames
from smartrestart.records import NamedTuple
from smartrestart.regularfile import read_regular

MAX_PYPROJECT_BYTES = 4 * 1024 * 1024


class SourceRoot(NamedTuple):
    """A tree to scan and the directories its module names are relative to.

    ``import_roots`` are ordered most specific first; a file is named relative
    to the first one that contains it.
    """

    path: str  # absolute, symlinks resolved
    import_roots: tuple[str, ...]

    def import_root_of(self, file: str) -> str:
        """The import root ``file`` (absolute, under :attr:`path`) is named against."""
        for root in self.import_roots:
            if pathnames.is_relative_to(file, root):
                return root
        return self.import_roots[-1]


def detect_source_root(path: str) -> SourceRoot:
    """Import roots for a ``--root`` directory (already absolute, symlinks resolved)."""
    base = path
    while pathnames.is_file(os.path.join(base, "__init__.py")) and os.path.dirname(base) != base:
        base = os.path.dirname(base)
    roots: list[str] = [*_pyproject_roots(path), *_conventional_src(path), base]
    unique: list[str] = []
    for root in roots:
        if root not in unique:
            unique.append(root)
    # Deeper directories first, so src/pkg/x.py is named against src/.
    unique.sort(key=_depth, reverse=True)
    return SourceRoot(path=path, import_roots=tuple(unique))


def _depth(absolute: str) -> int:
    """How many parts the path has, ``/`` counted: ``len(Path(absolute).parts)``."""
    return absolute.rstrip("/").count("/") + 1


def _conventional_src(path: str) -> list[str]:
    src = os.path.join(path, "src")
    markers = ("pyproject.toml", "setup.py", "setup.cfg")
    if pathnames.is_dir(src) and any(
        pathnames.is_file(os.path.join(path, marker)) for marker in markers
    ):
        return [src]
    return []


def _pyproject_roots(path: str) -> list[str]:
    pyproject = os.path.join(path, "pyproject.toml")
    if not pathnames.is_file(pyproject):
        return []
    import tomllib  # only projects with a pyproject.toml pay for it

    try:
        data = tomllib.loads(read_regular(pyproject, MAX_PYPROJECT_BYTES).decode("utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return []
    tool = _table(data, "tool")
    found: list[str] = []
    setuptools = _table(tool, "setuptools")
    where = _table(_table(setuptools, "packages"), "find").get("where")
    if isinstance(where, list):
        found.extend(w for w in where if isinstance(w, str))
    package_dir = setuptools.get("package-dir")
    if isinstance(package_dir, dict) and isinstance(package_dir.get(""), str):
        found.append(package_dir[""])
    hatch = _table(_table(_table(_table(tool, "hatch"), "build"), "targets"), "wheel")
    for package in hatch.get("packages", []) if isinstance(hatch.get("packages"), list) else []:
        if isinstance(package, str) and "/" in package:
            found.append(package.rsplit("/", 1)[0])
    poetry = _table(tool, "poetry")
    for package in poetry.get("packages", []) if isinstance(poetry.get("packages"), list) else []:
        if isinstance(package, dict) and isinstance(package.get("from"), str):
            found.append(package["from"])
    pdm_dir = _table(_table(tool, "pdm"), "build").get("package-dir")
    if isinstance(pdm_dir, str):
        found.append(pdm_dir)
    maturin_dir = _table(tool, "maturin").get("python-source")
    if isinstance(maturin_dir, str):
        found.append(maturin_dir)
    roots = [os.path.normpath(os.path.join(path, entry)) for entry in found]
    return [r for r in roots if pathnames.is_dir(r) and pathnames.is_relative_to(r, path)]


def _table(data: Any, key: str) -> dict[str, Any]:
    value = data.get(key) if isinstance(data, dict) else None
    return value if isinstance(value, dict) else {}
