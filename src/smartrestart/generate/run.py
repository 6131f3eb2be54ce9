"""Everything ``generate`` does, from rules to drop-ins on disk, without the CLI."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from smartrestart.budget.dropin import render_dropin
from smartrestart.budget.translate import Translation, translate
from smartrestart.errors import ConfigError, UsageError
from smartrestart.generate.dropins import Change, FilePlan, apply_plans, plan_dropins
from smartrestart.generate.ownership import Owner, Ownership
from smartrestart.generate.unitdir import check_unit_dir
from smartrestart.rules.schema import load_rule_set
from smartrestart.rules.sources import fragment_dirs, rules_sources
from smartrestart.unitname import UnitNameKind, unit_name_kind

if TYPE_CHECKING:
    from smartrestart.budget.model import Budget
    from smartrestart.systemd.backend import SystemdBackend

ETC_UNIT_DIR = Path("etc/systemd/system")
RUNTIME_UNIT_DIR = Path("/run/systemd/system")
_SHARED_LIBRARY = re.compile(r"libsystemd-shared-(\d+)")
# Where an image keeps libsystemd-shared-N.so: Debian 12 and 13 under
# usr/lib/<multiarch>/systemd/, Arch under usr/lib/systemd/, Fedora under
# usr/lib64/systemd/, images without merged /usr under lib/systemd/.
_LIBRARY_DIRS = ("usr/lib/systemd", "usr/lib/*-linux-*/systemd", "usr/lib64/systemd", "lib/systemd")


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


@dataclass
class GenerateOutcome:
    unit_dir: Path
    systemd_version: int
    translations: list[Translation]
    plans: list[FilePlan]
    rules_files: list[Path] = field(default_factory=list)
    budget_names: dict[str, str] = field(default_factory=dict)  # unit id -> name in the rules
    applied: bool = False
    reloaded: bool = False
    why_no_reload: str = ""
    warnings: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return any(plan.change in (Change.WRITE, Change.REMOVE) for plan in self.plans)


def unit_dir_for(unit_dir: Path | None, runtime: bool, root: Path | None) -> Target:
    """``--unit-dir``, ``--runtime`` or ``--root`` (exclusive); default /etc/systemd/system."""
    if sum((unit_dir is not None, runtime, root is not None)) > 1:
        raise UsageError("--unit-dir, --runtime and --root are exclusive")
    if unit_dir is not None:
        return Target(unit_dir, live=False)
    if runtime:
        return Target(RUNTIME_UNIT_DIR, live=True)
    if root is not None:
        return Target(root / ETC_UNIT_DIR, live=False, image=root)
    return Target(Path("/") / ETC_UNIT_DIR, live=True)


def image_systemd_version(root: Path) -> int | None:
    """The systemd version of an image, from its ``libsystemd-shared-NNN.so``.

    Directories that lead out of the image through a symlink are skipped, so
    an image's absolute ``lib -> /usr/lib`` never reports the host's version.
    """
    inside = root.resolve()
    versions: list[int] = []
    for pattern in _LIBRARY_DIRS:
        for directory in sorted(root.glob(pattern)):
            try:
                if not directory.resolve().is_relative_to(inside):
                    continue
                names = [p.name for p in directory.iterdir()]
            except OSError:
                continue
            versions.extend(int(m.group(1)) for m in map(_SHARED_LIBRARY.match, names) if m)
    return max(versions) if versions else None


def resolve_unit_ids(
    budgets: Mapping[str, Budget], backend: SystemdBackend | None
) -> dict[str, str]:
    """Budget name -> the unit's own name, asking the manager about aliases.

    A drop-in under an alias's directory (``sshd.service.d/``) is loaded only
    while the alias symlink exists: Debian removes ``sshd.service`` when ssh
    is disabled, and the budget would silently vanish while ``ssh.service``
    runs on. So drop-ins go under the unit's own name. Two budgets for one unit
    under two names are an error. Templates have no unit to ask about.
    """
    ids = {name: name for name in budgets}
    if backend is None:
        return ids
    for name in budgets:
        if unit_name_kind(name) is not UnitNameKind.TEMPLATE:
            ids[name] = backend.unit_id(name)
    seen: dict[str, str] = {}
    for name in sorted(budgets, key=lambda n: budgets[n].location):
        unit = ids[name]
        if unit in seen:
            first = seen[unit]
            raise ConfigError(
                budgets[name].location,
                f"budgets.{name}",
                f"{name} and {first} (at {budgets[first].location}) are the same unit, "
                f"{unit}; keep one budget",
            )
        seen[unit] = name
    return ids


def run_generate(
    *,
    rules_files: Sequence[Path],
    config_root: Path,
    cwd: Path,
    target: Target,
    systemd_version: int,
    check: bool,
    backend: SystemdBackend | None = None,
    reload: bool = False,
    remove_orphans: bool = False,
) -> GenerateOutcome:
    """Plan the drop-ins; unless ``check``, write them and (``reload``) reload the manager.

    ``backend`` is the running manager when one was reached: it resolves
    aliases and reloads. Everything that can refuse (rules, the unit directory,
    conflicts with other rules files) is checked before the first write.
    """
    sources = rules_sources(rules_files, config_root, cwd)
    rule_set = load_rule_set(sources)
    check_unit_dir(target.unit_dir, image=target.image, writing=not check)
    ids = resolve_unit_ids(rule_set.budgets, backend)
    translations = [translate(b, systemd_version) for _, b in sorted(rule_set.budgets.items())]
    texts = {
        ids[t.unit]: render_dropin(
            t, _source_text(rule_set.budgets[t.unit].location.file), unit_id=ids[t.unit]
        )
        for t in translations
    }
    ownership = Ownership.of(sources, fragment_dirs(config_root))
    plans = plan_dropins(target.unit_dir, texts, ownership, remove_orphans=remove_orphans)
    outcome = GenerateOutcome(
        unit_dir=target.unit_dir,
        systemd_version=systemd_version,
        translations=translations,
        plans=plans,
        rules_files=list(sources),
        budget_names={unit: name for name, unit in ids.items()},
        why_no_reload=target.why_no_reload,
        warnings=[w for t in translations for w in t.warnings],
    )
    outcome.warnings.extend(_ownership_warnings(plans, ownership))
    if check or not outcome.changed:
        return outcome
    apply_plans(outcome.plans)
    outcome.applied = True
    if reload and backend is not None:
        backend.reload_manager()
        outcome.reloaded = True
    return outcome


def _source_text(path: Path) -> str:
    """The rules file as the header records it: one line, or the header could not be read back."""
    text = str(path)
    if any(ord(c) < 0x20 or c == "\x7f" for c in text):
        raise UsageError(f"{text!r}: a rules file name with control characters cannot be recorded")
    return text


def _ownership_warnings(plans: list[FilePlan], ownership: Ownership) -> list[str]:
    warnings: list[str] = []
    for plan in plans:
        taken_over = plan.change is Change.WRITE and plan.old is not None
        if taken_over and ownership.owner(plan.source, os.path.exists) is Owner.ORPHAN:
            warnings.append(
                f"{plan.path}: taking it over from {plan.source or 'an unreadable header'}, "
                "a rules file that no longer exists"
            )
        elif plan.change is Change.ORPHAN:
            warnings.append(
                f"{plan.path}: generated from {plan.source or 'an unreadable header'}, which no "
                "longer exists; kept (--remove-orphans removes it)"
            )
    return warnings
