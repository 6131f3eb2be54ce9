"""Module names of files, and the modules an import statement makes a file depend on.

Python semantics this gets right where the original smart-restart did not:

* ``import a.b.c`` executes ``a/__init__.py`` and ``a/b/__init__.py`` too, so
  the importer depends on ``a``, ``a.b`` and ``a.b.c``;
* ``from pkg import name`` depends on ``pkg.name`` when that is a submodule,
  which is recorded unconditionally so a deleted submodule still has importers;
* a relative import in ``pkg/__init__.py`` is relative to ``pkg`` itself, one
  level lower than in any other module of the package.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the scanner compiles its expressions on import: only when it scans
    from smartrestart.importgraph.scanner import ImportRecord


def module_name(relative: str) -> tuple[str, bool] | None:
    """``(dotted name, is_package)`` of a ``.py`` file relative to its import root.

    ``relative`` is ``/``-separated with no empty or ``.`` parts (``""``: the root itself).
    """
    parts = relative.split("/")
    if not parts[-1].endswith(".py"):
        return None
    stem = parts[-1][:-3]
    is_package = stem == "__init__"
    parts = parts[:-1] if is_package else [*parts[:-1], stem]
    if not parts:
        return None
    return ".".join(parts), is_package


def with_parents(dotted: str) -> Iterable[str]:
    """``a``, ``a.b``, ``a.b.c`` for ``a.b.c``."""
    position = dotted.find(".")
    while position >= 0:
        yield dotted[:position]
        position = dotted.find(".", position + 1)
    yield dotted


def resolve_base(level: int, module: str, importer: str, importer_is_package: bool) -> str | None:
    """Absolute module named by ``from <level dots><module>`` inside ``importer``.

    Returns None when the dots climb above the top-level package.
    """
    if level == 0:
        return module
    package = importer.split(".") if importer_is_package else importer.split(".")[:-1]
    climb = level - 1
    if climb >= len(package):  # Python: "attempted relative import beyond top-level package"
        return None
    base = package[: len(package) - climb]
    if module:
        base.extend(module.split("."))
    return ".".join(base)


def dependencies(
    records: Iterable[ImportRecord], importer: str, importer_is_package: bool
) -> tuple[set[str], set[str]]:
    """Modules the importer depends on: ``(at run time, only under TYPE_CHECKING)``."""
    runtime: set[str] = set()
    typing_only: set[str] = set()
    for is_from, level, module, names, under_type_checking in records:
        base = resolve_base(level, module, importer, importer_is_package)
        if base is None:
            continue
        deps = typing_only if under_type_checking else runtime
        deps.update(with_parents(base))
        if not is_from:
            continue
        for name in names:
            if name == "*":
                # A star import runs the package's __init__ only; submodules it
                # pulls in are reached through that __init__'s own imports.
                continue
            deps.add(f"{base}.{name}")
    runtime.discard(importer)
    typing_only -= runtime
    typing_only.discard(importer)
    return runtime, typing_only
