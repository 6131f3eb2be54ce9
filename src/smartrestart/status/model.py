"""What ``status`` reports about a unit, as data and decisions: pure, no systemd needed.

The start-limit window is systemd's, reconstructed from the starts the journal
recorded (:mod:`smartrestart.status.history`): a window opens at a start more
than one period after the window before opened, and lasts one period; a
deploy or a cooldown clears the counter first, so its start opens a new one.
A start is refused once the window holds ``StartLimitBurst=`` starts (the
budget's intensity + 1: the first start counts too). The window's numbers
come from the unit as systemd loaded it, not from the rules file; when the
two differ, ``generate`` has not run since the budget changed, and the report
says so.

Because the journal, not systemd's counter, is the source, ``systemctl
reset-failed`` and ``daemon-reload`` change nothing in the count: they clear
the counter without leaving a trace, so the report still shows the restarts
that happened (the next start after a ``reset-failed`` is allowed all the same).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import NamedTuple

from smartrestart.budget.model import Budget
from smartrestart.errors import ExitCode
from smartrestart.handle.model import CycleRecord, next_cycle
from smartrestart.status.history import RESETTING, Cause, DeployStep, Start
from smartrestart.systemd.backend import UnitState
from smartrestart.timespan import format_timespan
from smartrestart.unitname import UnitNameKind, unit_name_kind


class Window(NamedTuple):
    """The start-limit window open now (all zero and None when none is)."""

    restarts: int = 0  # automatic restarts in it: what the budget's intensity limits
    starts: int = 0  # every start in it: what systemd's limit counts
    closes_in_usec: int | None = None
    exhausted: bool = False  # a start now would be refused


def start_limit_window(
    starts: Sequence[Start], period_usec: int, burst: int, now_usec: int
) -> Window:
    """The window systemd's start limit has open at ``now_usec`` (monotonic), from ``starts``."""
    if period_usec <= 0 or burst <= 0:
        return Window()  # StartLimitIntervalSec=0 or StartLimitBurst=0: no limit
    begin: int | None = None
    count = automatic = 0
    for start in starts:
        if start.cause in RESETTING or begin is None or start.monotonic_usec - begin > period_usec:
            begin, count, automatic = start.monotonic_usec, 0, 0
        count += 1
        automatic += start.cause is Cause.AUTOMATIC
    if begin is None or now_usec - begin > period_usec:
        return Window()
    return Window(automatic, count, begin + period_usec - now_usec, count >= burst)


class Cooldown(NamedTuple):
    """Where a transient budget's cooldown cycles stand."""

    cycle: int  # cycles used in the current run of exhaustions (0: none)
    max_cycles: int | None
    cooldown_usec: int
    pending: bool  # a cooldown timer is waiting
    next_attempt_in_usec: int | None  # when the timer fires


def cooldown_of(
    budget: Budget, record: CycleRecord | None, timer_elapse_usec: int | None, now_usec: int
) -> Cooldown | None:
    """The cooldown state, from the failure handler's record and its timer."""
    if budget.cooldown_usec is None:
        return None
    pending = timer_elapse_usec is not None and timer_elapse_usec > 0
    if record is None:
        cycle = 0
    elif pending:
        cycle = record.cycles
    else:  # cycles count while each exhaustion follows the last cooldown closely
        cycle = next_cycle(budget, record, now_usec / 1_000_000) - 1
    in_usec = max(0, timer_elapse_usec - now_usec) if pending and timer_elapse_usec else None
    return Cooldown(cycle, budget.max_cooldown_cycles, budget.cooldown_usec, pending, in_usec)


class BudgetView(NamedTuple):
    intensity: int | None  # as systemd enforces it: StartLimitBurst= - 1 (None: no limit)
    period_usec: int | None
    window: Window
    next_delay_usec: int | None  # what systemd waits before the next automatic restart
    cooldown: Cooldown | None


def budget_view(
    budget: Budget,
    state: UnitState,
    starts: Sequence[Start],
    cooldown: Cooldown | None,
    now_usec: int,
) -> tuple[BudgetView, list[str]]:
    """The budget as systemd enforces it, and a warning when the rules say otherwise."""
    burst = state.start_limit_burst or 0
    period = state.start_limit_interval_usec or 0
    limited = burst > 0 and period > 0
    view = BudgetView(
        burst - 1 if limited else None,
        period if limited else None,
        start_limit_window(starts, period, burst, now_usec),
        state.restart_delay_usec,
        cooldown,
    )
    warnings: list[str] = []
    wanted = budget.intensity, budget.period_usec
    if None not in wanted and state.load_state == "loaded" and wanted != (burst - 1, period):
        enforced = f"{burst - 1} in {format_timespan(period)}" if limited else "no start limit"
        warnings.append(
            f"{state.id or state.name}: the budget at {budget.location} allows "
            f"{budget.intensity} restarts in {format_timespan(budget.period_usec or 0)}, "
            f"systemd enforces {enforced}: run `smartrestart generate`"
        )
    return view, warnings


def budget_for(names: Sequence[str], budgets: Mapping[str, Budget]) -> Budget | None:
    """The budget of a unit known by ``names`` (as asked, aliases, its id).

    A budget on the name itself wins; else the budget of its template, which
    systemd applies to every instance (``worker@.service`` -> ``worker@1.service``).
    """
    for name in names:
        if name in budgets:
            return budgets[name]
    for name in names:
        if unit_name_kind(name) is UnitNameKind.INSTANCE:
            stem, _, suffix = name.rpartition(".")
            template = f"{stem.partition('@')[0]}@.{suffix}"
            if template in budgets:
                return budgets[template]
    return None


def last_start(
    state: UnitState, starts: Sequence[Start], deploys: Sequence[DeployStep]
) -> Start | None:
    """The start of the unit's current run, and why it happened.

    From the journal when its first entry was read; otherwise (a run older
    than what was read) from what remains: our deploy entry naming the
    invocation, else systemd's ``NRestarts`` (non-zero only after an automatic
    restart), with the main process's start as the time and no Result.
    """
    if not state.invocation_id:
        return None
    for start in reversed(starts):
        if start.invocation == state.invocation_id:
            return start
    at = state.exec_main_start_usec or 0
    for step in deploys:
        if step.new_invocation == state.invocation_id:
            when = at or step.realtime_usec
            return Start(state.invocation_id, 0, when, Cause.DEPLOY, None, step.deploy_id)
    cause = Cause.AUTOMATIC if state.n_restarts else Cause.MANUAL
    return Start(state.invocation_id, 0, at, cause)


class UnitReport(NamedTuple):
    names: tuple[str, ...]  # as the rules or the command line name the unit
    state: UnitState
    budget: BudgetView | None
    last_restart: Start | None
    last_deploy: DeployStep | None


def exit_code(reports: Sequence[UnitReport]) -> ExitCode:
    """As ``systemctl is-active``: 0 when every unit shown is active, 3 when one is not."""
    return ExitCode.OK if all(r.state.is_active for r in reports) else ExitCode.NOT_ACTIVE
