"""Everything ``generate`` does, from rules to drop-ins on disk, without the CLI."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from smartrestart.budget.dropins import Change, FilePlan, apply_plans, plan_dropins
from smartrestart.budget.render import render_dropin
from smartrestart.budget.translate import Translation, translate
from smartrestart.errors import UsageError
from smartrestart.rules.schema import load_rule_set
from smartrestart.rules.sources import rules_sources

if TYPE_CHECKING:
    from smartrestart.systemd.backend import SystemdBackend

ETC_UNIT_DIR = Path("etc/systemd/system")
RUNTIME_UNIT_DIR = Path("/run/systemd/system")
_SHARED_LIBRARY = re.compile(r"libsystemd-shared-(\d+)")


@dataclass
class GenerateOutcome:
    unit_dir: Path
    systemd_version: int
    translations: list[Translation]
    plans: list[FilePlan]
    applied: bool = False
    reloaded: bool = False
    warnings: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return any(plan.change is not Change.UNCHANGED for plan in self.plans)


def unit_dir_for(unit_dir: Path | None, runtime: bool, root: Path | None) -> Path:
    """``--unit-dir``, ``--runtime`` or ``--root`` (exclusive); default /etc/systemd/system."""
    if sum((unit_dir is not None, runtime, root is not None)) > 1:
        raise UsageError("--unit-dir, --runtime and --root are exclusive")
    if unit_dir is not None:
        return unit_dir
    if runtime:
        return RUNTIME_UNIT_DIR
    return (root or Path("/")) / ETC_UNIT_DIR


def image_systemd_version(root: Path) -> int | None:
    """The systemd version of an image, from its ``libsystemd-shared-NNN.so``."""
    for directory in ("usr/lib/systemd", "lib/systemd", "usr/lib64/systemd"):
        try:
            names = [p.name for p in (root / directory).iterdir()]
        except OSError:
            continue
        for name in names:
            match = _SHARED_LIBRARY.match(name)
            if match:
                return int(match.group(1))
    return None


def run_generate(
    *,
    rules_files: Sequence[Path],
    config_root: Path,
    cwd: Path,
    unit_dir: Path,
    systemd_version: int,
    check: bool,
    connect: Callable[[], SystemdBackend] | None,
) -> GenerateOutcome:
    """Plan the drop-ins; unless ``check``, write them and reload through ``connect()``.

    ``connect`` is None when no reload is wanted (an image, ``--no-reload``).
    The bus is reached before anything is written, so an unreachable systemd
    leaves the unit directory untouched.
    """
    rule_set = load_rule_set(rules_sources(rules_files, config_root, cwd))
    translations = [translate(b, systemd_version) for _, b in sorted(rule_set.budgets.items())]
    texts = {
        t.unit: render_dropin(t, str(rule_set.budgets[t.unit].location.file)) for t in translations
    }
    outcome = GenerateOutcome(
        unit_dir=unit_dir,
        systemd_version=systemd_version,
        translations=translations,
        plans=plan_dropins(unit_dir, texts),
        warnings=[w for t in translations for w in t.warnings],
    )
    if check or not outcome.changed:
        return outcome
    backend = connect() if connect is not None else None
    try:
        apply_plans(outcome.plans)
        outcome.applied = True
        if backend is not None:
            backend.reload_manager()
            outcome.reloaded = True
    finally:
        if backend is not None:
            backend.close()
    return outcome
