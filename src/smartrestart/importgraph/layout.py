"""Where import names start: the import roots of a ``--root`` directory.

``--root .`` on a src-layout project must name ``src/pkg/mod.py`` as
``pkg.mod``, which is what the code's own imports say. The layout is read from
``pyproject.toml`` (setuptools, hatch, poetry, pdm, maturin), and a ``src``
directory is recognised even without one. A root that is itself inside a
package (it has ``__init__.py``) is named from the first ancestor that is not.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from smartrestart.records import NamedTuple
from smartrestart.regularfile import read_regular

MAX_PYPROJECT_BYTES = 4 * 1024 * 1024


class SourceRoot(NamedTuple):
    """A tree to scan and the directories its module names are relative to.

    ``import_roots`` are ordered most specific first; a file is named relative
    to the first one that contains it.
    """

    path: Path
    import_roots: tuple[Path, ...]

    def import_root_of(self, file: Path) -> Path:
        for root in self.import_roots:
            if file.is_relative_to(root):
                return root
        return self.import_roots[-1]


def detect_source_root(path: Path) -> SourceRoot:
    """Import roots for a ``--root`` directory (already absolute)."""
    base = path
    while (base / "__init__.py").is_file() and base.parent != base:
        base = base.parent
    roots: list[Path] = [*_pyproject_roots(path), *_conventional_src(path), base]
    unique: list[Path] = []
    for root in roots:
        if root not in unique:
            unique.append(root)
    # Deeper directories first, so src/pkg/x.py is named against src/.
    unique.sort(key=lambda p: len(p.parts), reverse=True)
    return SourceRoot(path=path, import_roots=tuple(unique))


def _conventional_src(path: Path) -> list[Path]:
    src = path / "src"
    markers = ("pyproject.toml", "setup.py", "setup.cfg")
    if src.is_dir() and any((path / marker).is_file() for marker in markers):
        return [src]
    return []


def _pyproject_roots(path: Path) -> list[Path]:
    pyproject = path / "pyproject.toml"
    if not pyproject.is_file():
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
    roots = [Path(os.path.normpath(path / entry)) for entry in found]
    return [root for root in roots if root.is_dir() and root.is_relative_to(path)]


def _table(data: Any, key: str) -> dict[str, Any]:
    value = data.get(key) if isinstance(data, dict) else None
    return value if isinstance(value, dict) else {}
