"""Dropping the cached bytecode of changed sources before a restart.

Python trusts a ``__pycache__/*.pyc`` whose recorded source mtime (whole
seconds) and size match the source. A save within the same second as the
write the program compiled from, changing no byte count (``VALUE = 1`` to
``VALUE = 2``), leaves that record matching: the restarted program would run
the old code. watch restarts right after saves, so it deletes the ``.pyc``
files of every changed source first, for any interpreter's tag (the program
may run another Python than smartrestart). They are caches: the program
writes them again.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable
from pathlib import Path


def drop_bytecode(paths: Iterable[str]) -> None:
    """Remove ``__pycache__/<stem>.*.pyc`` beside each changed ``.py`` file; errors ignored.

    One listing per ``__pycache__``, however many of its sources changed (a
    checkout changes thousands at once).
    """
    stems: dict[Path, set[str]] = {}
    for path in paths:
        if path.endswith(".py"):
            source = Path(path)
            stems.setdefault(source.parent / "__pycache__", set()).add(source.name[:-3])
    for cache, names in stems.items():
        try:
            with os.scandir(cache) as entries:
                stale = [e.path for e in entries if _stem_of_bytecode(e.name) in names]
        except OSError:
            continue  # no cache directory, or not ours to read
        for pyc in stale:
            with contextlib.suppress(OSError):
                Path(pyc).unlink()


def _stem_of_bytecode(name: str) -> str | None:
    """``<stem>`` of ``<stem>.<tag>.pyc`` or ``<stem>.<tag>.opt-N.pyc`` (PEP 3147, PEP 488)."""
    if not name.endswith(".pyc"):
        return None
    parts = name[: -len(".pyc")].split(".")
    if len(parts) >= 3 and parts[-1].startswith("opt-"):
        parts.pop()
    return ".".join(parts[:-1]) if len(parts) >= 2 else None
