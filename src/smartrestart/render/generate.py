"""Output forms of ``generate``: a line per file for people, JSON for machines."""

from __future__ import annotations

from typing import Any

from smartrestart.budget.dropins import Change
from smartrestart.budget.generate_run import GenerateOutcome

WOULD = {Change.WRITE: "would write", Change.REMOVE: "would remove", Change.UNCHANGED: "unchanged"}
DID = {Change.WRITE: "written", Change.REMOVE: "removed", Change.UNCHANGED: "unchanged"}


def render_text(outcome: GenerateOutcome, *, check: bool) -> str:
    words = WOULD if check else DID
    lines = [f"{words[p.change]:<12} {p.path}" for p in outcome.plans]
    if not outcome.plans:
        lines.append(f"no budgets, and no drop-ins of ours under {outcome.unit_dir}")
    if outcome.reloaded:
        lines.append("reloaded systemd (daemon-reload)")
    elif not outcome.changed:
        lines.append("nothing changed; systemd not reloaded")
    elif outcome.applied:
        lines.append("changed, but systemd was not reloaded (--root or --no-reload)")
    return "\n".join(lines) + "\n"


def render_json(outcome: GenerateOutcome, *, check: bool) -> dict[str, Any]:
    words = WOULD if check else DID
    delays = {t.unit: list(t.delays_usec) for t in outcome.translations}
    return {
        "changed": outcome.changed,
        "check": check,
        "reloaded": outcome.reloaded,
        "systemd_version": outcome.systemd_version,
        "unit_dir": str(outcome.unit_dir),
        "warnings": outcome.warnings,
        "files": [
            {
                "unit": p.unit,
                "path": str(p.path),
                "result": words[p.change],
                "restart_delays_usec": delays.get(p.unit),
            }
            for p in outcome.plans
        ],
    }
