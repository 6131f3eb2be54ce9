"""Check first: every unit of a plan must be one systemd loads, before anything acts.

A typo in the rules, a masked or a broken unit stops the deploy with nothing
half-done. ``apply`` runs the check before its first job, ``apply --check``
as the first of its reads.
"""

from __future__ import annotations

from smartrestart.apply.model import Plan
from smartrestart.errors import UnitNotUsable, UsageError
from smartrestart.systemd.backend import SystemdBackend, UnitState
from smartrestart.unitname import unit_name_problem


def check_units(plan: Plan, backend: SystemdBackend) -> dict[str, UnitState]:
    """Validate and load every unit of the plan; raise before anything is done.

    Reloads the manager first when a unit's file changed on disk
    (``NeedDaemonReload=yes``), as systemctl would warn about.
    """
    problems: list[str] = []
    for unit in plan.units:
        problem = unit_name_problem(unit)
        if problem:
            problems.append(problem)
    if problems:
        raise UsageError("; ".join(problems))
    states = backend.unit_states(plan.units)
    for unit, state in states.items():
        if state.load_state == "not-found":
            problems.append(f"{unit}: no such unit")
        elif state.load_state == "masked":
            problems.append(f"{unit}: unit is masked")
        elif state.load_state != "loaded":
            detail = f" ({state.load_error})" if state.load_error else ""
            problems.append(f"{unit}: unit failed to load: {state.load_state}{detail}")
    if problems:
        raise UnitNotUsable(
            "refusing to act, nothing was restarted: " + "; ".join(problems),
            hint="check the unit names in the rules (systemctl list-unit-files)",
        )
    return states
