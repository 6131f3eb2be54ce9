"""Budget drop-ins in a unit directory: what to change is planned first, then applied at once.

Every file is ``<unit dir>/<unit>.d/50-smartrestart.conf``. A file is only
rewritten when its content changes. Which existing drop-ins a run may
rewrite or remove is decided by their recorded source
(:mod:`smartrestart.generate.ownership`): a file without our header is never
touched, and one generated from another application's rules file neither.
I/O goes through :mod:`smartrestart.generate.unitdir`: nothing is followed
through a symlink, and a failure while writing leaves nothing half-written.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from pathlib import Path

from smartrestart.budget.dropin import DROPIN_NAME, is_ours, source_of
from smartrestart.errors import JobFailed, UsageError
from smartrestart.generate.model import Change, FilePlan
from smartrestart.generate.ownership import Owner, Ownership
from smartrestart.generate.unitdir import StagedWrites, read_dropin, remove_dropin, scan_dropins


def dropin_path(unit_dir: Path, unit: str) -> Path:
    return unit_dir / f"{unit}.d" / DROPIN_NAME


def plan_dropins(
    unit_dir: Path,
    wanted: Mapping[str, str],
    ownership: Ownership,
    *,
    remove_orphans: bool = False,
    exists: Callable[[str], bool] = os.path.exists,
) -> list[FilePlan]:
    """What writing ``wanted`` (unit -> drop-in text) into ``unit_dir`` would change.

    Raises :class:`UsageError` for a file in the way that is not ours, and
    for drop-ins another rules file generated for units this run budgets.
    """
    plans: list[FilePlan] = []
    conflicts: list[str] = []
    for unit, text in sorted(wanted.items()):
        path = dropin_path(unit_dir, unit)
        old = read_dropin(path, strict=True)
        source = source_of(old) if old is not None else None
        if old is not None and not is_ours(old):
            raise UsageError(
                f"{path} exists and was not written by smartrestart; refusing to overwrite it"
            )
        if old is not None and ownership.owner(source, exists) is Owner.FOREIGN:
            conflicts.append(f"{path} was generated from {source}")
            continue
        change = Change.UNCHANGED if old == text else Change.WRITE
        plans.append(FilePlan(unit, path, change, old, text, source))
    if conflicts:
        raise UsageError(
            f"{'; '.join(conflicts)}, another rules file this run did not load: a unit has one "
            "budget, so remove it from one of the files (or delete the drop-in to hand it over); "
            "nothing was changed"
        )
    for unit, path, old in scan_dropins(unit_dir, DROPIN_NAME):
        if unit in wanted or not is_ours(old):
            continue
        source = source_of(old)
        owner = ownership.owner(source, exists)
        if owner is Owner.MINE or (owner is Owner.ORPHAN and remove_orphans):
            plans.append(FilePlan(unit, path, Change.REMOVE, old, None, source))
        elif owner is Owner.ORPHAN:
            plans.append(FilePlan(unit, path, Change.ORPHAN, old, old, source))
    return plans


def apply_plans(plans: list[FilePlan]) -> None:
    """Carry out planned writes and removals: all staged first, so a failure changes nothing."""
    staged = StagedWrites()
    removals = [plan for plan in plans if plan.change is Change.REMOVE]
    current = Path()
    try:
        for plan in plans:
            if plan.change is Change.WRITE:
                assert plan.new is not None
                current = plan.path
                staged.stage(plan.path, plan.new.encode())
        for plan in removals:
            current = plan.path
            if not os.access(plan.path.parent, os.W_OK | os.X_OK):
                raise PermissionError(13, "permission denied")
    except OSError as exc:
        staged.roll_back()
        raise UsageError(
            f"cannot write {current}: {exc.strerror or exc}; nothing was changed"
        ) from None
    except BaseException:
        staged.roll_back()
        raise
    done: list[Path] = []
    try:
        done.extend(staged.commit())
        for plan in removals:
            current = plan.path
            remove_dropin(plan.path)
            done.append(plan.path)
    except OSError as exc:
        staged.roll_back()
        changed = ", ".join(str(p) for p in done) or "nothing"
        raise JobFailed(
            f"changing {current} failed: {exc.strerror or exc}; already changed: {changed}"
        ) from None
