"""Output forms of ``generate``: a line per file for people, JSON for machines."""

from __future__ import annotations

from typing import Any

from smartrestart.budget.dropin import source_of
from smartrestart.generate.model import Change, FilePlan, GenerateOutcome

WOULD = {
    Change.WRITE: "would write",
    Change.REMOVE: "would remove",
    Change.UNCHANGED: "unchanged",
    Change.ORPHAN: "orphan",
}
DID = {
    Change.WRITE: "written",
    Change.REMOVE: "removed",
    Change.UNCHANGED: "unchanged",
    Change.ORPHAN: "orphan",
}


def _line(plan: FilePlan, words: dict[Change, str], outcome: GenerateOutcome) -> str:
    line = f"{words[plan.change]:<12} {plan.path}"
    name = outcome.budget_names.get(plan.unit, plan.unit)
    if name != plan.unit:
        line += f" (budget of {name}, an alias of {plan.unit})"
    if plan.change is Change.ORPHAN:
        line += f" (kept: its rules file {plan.source or '?'} is gone)"
    return line


def render_text(outcome: GenerateOutcome, *, check: bool) -> str:
    words = WOULD if check else DID
    lines = [_line(p, words, outcome) for p in outcome.plans]
    if not outcome.plans:
        lines.append(f"no budgets, and no drop-ins of these rules under {outcome.unit_dir}")
    if outcome.reloaded:
        lines.append("reloaded systemd (daemon-reload)")
    elif not outcome.changed:
        lines.append("nothing changed; systemd not reloaded")
    elif outcome.applied:
        lines.append(f"changed; systemd not reloaded ({outcome.why_no_reload})")
    return "\n".join(lines) + "\n"


def render_json(outcome: GenerateOutcome, *, check: bool, diff: bool = False) -> dict[str, Any]:
    """The outcome as JSON; with ``diff``, each file's change as a unified diff (Ansible's diff)."""
    words = WOULD if check else DID
    names = {t.unit: t for t in outcome.translations}
    files = []
    for plan in outcome.plans:
        budget = outcome.budget_names.get(plan.unit) if plan.new is not None else None
        translation = names.get(budget) if budget else None
        files.append(
            {
                "unit": plan.unit,
                "budget": budget if plan.change is not Change.ORPHAN else None,
                "path": str(plan.path),
                "result": words[plan.change],
                "source": source_of(plan.new) if plan.new is not None else plan.source,
                "restart_delays_usec": list(translation.delays_usec) if translation else None,
            }
        )
        if diff:
            files[-1]["diff"] = unified_diff(plan)
    return {
        "changed": outcome.changed,
        "check": check,
        "reloaded": outcome.reloaded,
        "systemd_version": outcome.systemd_version,
        "unit_dir": str(outcome.unit_dir),
        "rules_files": [str(p) for p in outcome.rules_files],
        "warnings": outcome.warnings,
        "files": files,
    }


def unified_diff(plan: FilePlan) -> str:
    """What the plan changes in its file, as ``diff -u`` shows it (``--diff``)."""
    import difflib

    if plan.change is Change.ORPHAN:
        return ""
    old = (plan.old or "").splitlines(keepends=True)
    new = (plan.new or "").splitlines(keepends=True)
    label = str(plan.path).lstrip("/")
    return "".join(
        difflib.unified_diff(
            old,
            new,
            f"a/{label}" if plan.old is not None else "/dev/null",
            f"b/{label}" if plan.new is not None else "/dev/null",
        )
    )
