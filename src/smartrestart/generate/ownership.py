"""Whose drop-in is it: the rule that lets several rules files share one unit directory.

Pure: a drop-in's recorded source in, one of three owners out.

* mine: the source is a rules file this run loaded, or any fragment in this
  run's ``rules.d`` directories (every run reads all of them, so a fragment
  that was deleted or masked since is still this run's business). Rewritten
  when the budget changed, removed when the budget is gone.
* orphan: the source file no longer exists (an application was removed
  without cleaning up), or the header cannot be read. Taken over when this
  run budgets the same unit; otherwise reported and kept, unless
  ``--remove-orphans`` says to remove it.
* foreign: the source exists and this run did not load it: another
  application's rules file. Never touched; a budget of this run for the same
  unit is a conflict (one unit, one budget).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Collection
from dataclasses import dataclass
from enum import StrEnum


class Owner(StrEnum):
    MINE = "mine"
    ORPHAN = "orphan"
    FOREIGN = "foreign"


@dataclass(frozen=True, slots=True)
class Ownership:
    """What this run owns: the rules files it loaded and its fragment directories."""

    loaded: frozenset[str]
    fragment_dirs: frozenset[str]
    fragment_suffix: str = ".yaml"

    @classmethod
    def of(cls, loaded: Collection[str], fragment_dirs: Collection[str]) -> Ownership:
        return cls(
            frozenset(_normal(p) for p in loaded),
            frozenset(_normal(d) for d in fragment_dirs),
        )

    def owner(self, source: str | None, exists: Callable[[str], bool]) -> Owner:
        if source is None:
            return Owner.ORPHAN
        normal = _normal(source)
        if normal in self.loaded:
            return Owner.MINE
        directory, _, name = normal.rpartition("/")
        if directory in self.fragment_dirs and name.endswith(self.fragment_suffix):
            return Owner.MINE
        return Owner.FOREIGN if exists(source) else Owner.ORPHAN


def _normal(path: str) -> str:
    return os.path.normpath(path)
