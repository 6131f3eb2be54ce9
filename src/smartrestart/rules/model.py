"""What a rules file says, as immutable records validated once at load time.

NamedTuples, not dataclasses: see :class:`smartrestart.errors.Location`.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from types import MappingProxyType
from typing import TYPE_CHECKING

from smartrestart.errors import Location
from smartrestart.records import NamedTuple

if TYPE_CHECKING:
    from smartrestart.budget.model import Budget

DEFAULT_ORDER = 100


class Mode(StrEnum):
    """How ``apply`` acts on an action's units; each maps to one Manager method."""

    RESTART = "restart"
    TRY_RESTART = "try-restart"
    RELOAD_OR_RESTART = "reload-or-restart"
    RELOAD = "reload"
    START = "start"


class Action(NamedTuple):
    """A named thing to do; the decider outputs these names in order."""

    name: str
    location: Location
    order: int = DEFAULT_ORDER
    units: tuple[str, ...] = ()
    mode: Mode = Mode.RESTART
    run: tuple[str, ...] | None = None
    description: str | None = None
    user: str | None = None  # run: as this user (systemd's User=) instead of root

    @property
    def sort_key(self) -> tuple[int, str]:
        """Order first, then name, so output is stable."""
        return (self.order, self.name)


class Rule(NamedTuple):
    """``pattern`` -> ``actions``; rules are tried top-down, first match wins.

    ``canonical`` is the pattern changed paths are matched against when it
    differs from what the file says: an absolute pattern's directories are
    resolved like the paths themselves (see :func:`smartrestart.paths.canonical_pattern`).
    """

    pattern: str
    actions: tuple[str, ...]
    location: Location
    canonical: str = ""

    @property
    def glob(self) -> str:
        return self.canonical or self.pattern


class FallbackKind(StrEnum):
    NONE = "none"
    ALL = "all"
    LIST = "list"


class Fallback(NamedTuple):
    """What files that match no rule contribute."""

    kind: FallbackKind = FallbackKind.NONE
    actions: tuple[str, ...] = ()
    location: Location | None = None


class ImportRoot(NamedTuple):
    """A directory a rules file asks the import graph to cover, as ``--root`` does."""

    path: str  # as written: relative paths start in the working directory
    location: Location


class RuleSet(NamedTuple):
    """Every rules source merged: actions, rules in order, fallback, budgets, import roots."""

    actions: Mapping[str, Action]
    rules: tuple[Rule, ...] = ()
    fallback: Fallback = Fallback()
    budgets: Mapping[str, Budget] = MappingProxyType({})
    sources: tuple[str, ...] = ()
    import_roots: tuple[ImportRoot, ...] = ()
