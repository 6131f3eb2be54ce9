"""What an apply would do, read from the manager without changing anything (``apply --check``).

``--dry-run`` talks to no systemd; ``--check`` asks it, read-only: every unit
goes through the same check as a real apply (a missing or masked unit is the
same error, exit 2), and each step's result is predicted from the unit's state
now by the rules the real run judges by (:func:`smartrestart.apply.model.predict`).
No job is queued, no counter reset, no lock taken, nothing logged.
"""

from __future__ import annotations

from smartrestart.apply.model import (
    Plan,
    Report,
    StepResult,
    UnitSnapshot,
    merge_same_units,
    predict,
)
from smartrestart.apply.unitcheck import check_units
from smartrestart.rules.model import Mode
from smartrestart.systemd.backend import SystemdBackend


def preview(
    plan: Plan, denied: tuple[StepResult, ...], backend: SystemdBackend, *, diff: bool = False
) -> Report:
    """The report a real apply of ``plan`` would give now, if every job succeeds."""
    states = check_units(plan, backend)
    plan = merge_same_units(plan, {name: state.id for name, state in states.items()})
    would_reload = bool(backend.need_daemon_reload(list(states)))
    results: list[StepResult] = list(denied)
    for group in plan.groups:
        for step in group.steps:
            if step.unit is None:  # a run: command would run
                results.append(StepResult(step, group.order, *predict(step, None)))
                continue
            state = states[step.unit]
            can_reload = (
                step.mode is Mode.RELOAD_OR_RESTART
                and state.is_active
                and backend.can_reload(step.unit)
            )
            outcome, detail = predict(step, state, can_reload=can_reload)
            results.append(
                StepResult(
                    step,
                    group.order,
                    outcome,
                    detail,
                    old_invocation_id=state.invocation_id,
                    unit_id=state.id,
                )
            )
    details = (
        {unit: UnitSnapshot(backend.unit_details(unit), None) for unit in plan.units}
        if diff
        else {}
    )
    return Report(plan, tuple(results), daemon_reloaded=would_reload, check=True, details=details)
