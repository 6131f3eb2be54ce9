"""What ``generate`` decides and did, as data: no file system, no systemd.

A run plans one :class:`FilePlan` per drop-in (write, leave, remove, or keep
an orphan), and reports a :class:`GenerateOutcome`, assembled once at its end.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

from smartrestart.budget.translate import Translation


class Change(StrEnum):
    WRITE = "write"
    UNCHANGED = "unchanged"
    REMOVE = "remove"
    ORPHAN = "orphan"  # ours, its rules file is gone: kept and reported


@dataclass(frozen=True, slots=True)
class FilePlan:
    unit: str
    path: Path
    change: Change
    old: str | None
    new: str | None
    source: str | None = None  # the rules file recorded in the old file, if any


@dataclass(frozen=True, slots=True)
class Target:
    """Where drop-ins go, and whether that is the running manager's own directory."""

    unit_dir: Path
    live: bool  # /etc/systemd/system or /run/systemd/system of the running manager
    image: Path | None = None  # --root

    @property
    def why_no_reload(self) -> str:
        if self.image is not None:
            return "--root: an image, it takes effect when the image boots"
        if not self.live:
            return "--unit-dir: not the manager's own directory; --reload to reload anyway"
        return "--no-reload: run `systemctl daemon-reload` for it to take effect"


@dataclass(frozen=True, slots=True)
class GenerateOutcome:
    unit_dir: Path
    systemd_version: int
    translations: list[Translation]
    plans: list[FilePlan]
    rules_files: list[str] = field(default_factory=list)
    budget_names: dict[str, str] = field(default_factory=dict)  # unit id -> name in the rules
    applied: bool = False
    reloaded: bool = False
    why_no_reload: str = ""
    warnings: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return any(plan.change in (Change.WRITE, Change.REMOVE) for plan in self.plans)
