"""Everything ``apply`` does, from inputs to a :class:`Report`, without the CLI.

Decide exactly as ``decide`` does, plan the jobs, ask policy-rc.d (for a
maintainer script), take the host lock, connect, run the plan, and log the
start and end to the journal. The report is assembled once, here, from what
each part returned.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, BinaryIO

from smartrestart.apply.model import Outcome, Plan, Report, StepResult, build_plan, planned
from smartrestart.decide.run import DecideOutcome, DecideRequest, run_decide
from smartrestart.errors import UsageError
from smartrestart.paths import WorkingDirectory
from smartrestart.records import NamedTuple

if TYPE_CHECKING:
    from pathlib import Path

    from smartrestart.apply.executor import ApplyOptions, EventSink
    from smartrestart.systemd.backend import SystemdBackend

JOURNAL_LINES = 10  # a failed step's last lines of its journal, in the report


class ApplyRequest(NamedTuple):
    """The inputs of an apply: the decision's, and how to act on it."""

    decide: DecideRequest
    dry_run: bool = False
    timeout: float = 600.0
    keep_going: bool = False
    wait_lock: float = 0.0
    lock_file: Path | None = None
    user: bool = False  # the calling user's own manager (systemctl --user)
    check: bool = False  # predict from the manager, read-only, change nothing
    settle: float = 0.0  # watch the units a group started this long
    diff: bool = False  # each unit's state before and after


class ApplyOutcome(NamedTuple):
    decided: DecideOutcome
    report: Report


def run_apply(
    request: ApplyRequest,
    stdin: BinaryIO,
    cwd: WorkingDirectory,
    warn: Callable[[str], None],
) -> ApplyOutcome:
    """Decide, then act; ``warn`` hears the decision's warnings before anything acts."""
    if request.check and request.dry_run:
        raise UsageError("--check asks systemd and --dry-run does not: give one of them")
    started = time.monotonic()
    decided = run_decide(request.decide, stdin, cwd)
    for warning in decided.warnings:
        warn(warning)
    plan = build_plan(decided.decision)
    if request.dry_run:
        report = Report(plan, tuple(planned(plan)), dry_run=True)
    elif not plan.groups:
        report = Report(plan)
    else:
        denied: tuple[StepResult, ...] = ()
        if request.decide.sources.dpkg_package is not None:
            plan, denied = apply_policy(plan, warn)  # a maintainer script: as deb-systemd-invoke
        if not plan.groups:
            report = Report(plan, denied, check=request.check)
        elif request.check:
            report = _check(plan, denied, request)
        else:
            report = _act(plan, denied, decided, cwd, request)
    return ApplyOutcome(decided, report._replace(seconds=time.monotonic() - started))


def apply_policy(
    plan: Plan, warn: Callable[[str], None], helper: Path | None = None
) -> tuple[Plan, tuple[StepResult, ...]]:
    """The plan without the steps policy-rc.d forbids, and their results."""
    from smartrestart.apply.policy import FORBIDDEN, POLICY_HELPER, ask_policy, without

    helper = helper or POLICY_HELPER
    denied, warnings = ask_policy(plan, helper)
    for warning in warnings:
        warn(warning)
    order = {step: group.order for group in plan.groups for step in group.steps}
    results = tuple(
        StepResult(step, order[step], Outcome.DENIED, f"{helper} returned {FORBIDDEN}")
        for step in denied
    )
    return without(plan, denied), results


def _check(plan: Plan, denied: tuple[StepResult, ...], request: ApplyRequest) -> Report:
    """Predict every step from the manager, read-only: no lock, no job, no journal entry."""
    from smartrestart import systemd
    from smartrestart.apply.preview import preview

    with systemd.connect(user=request.user, private=True) as manager:
        return preview(plan, denied, manager, diff=request.diff)


def _act(
    plan: Plan,
    denied: tuple[StepResult, ...],
    decided: DecideOutcome,
    cwd: WorkingDirectory,
    request: ApplyRequest,
) -> Report:
    """Lock, connect, run the plan."""
    from smartrestart import systemd
    from smartrestart.apply.executor import ApplyOptions, new_deploy_id
    from smartrestart.apply.lock import HostLock

    options = ApplyOptions(
        new_deploy_id(),
        timeout=request.timeout,
        keep_going=request.keep_going,
        working_directory=cwd.physical,
        settle=request.settle,
        diff=request.diff,
        journal_lines=JOURNAL_LINES,
    )
    with (
        HostLock(request.lock_file, request.wait_lock),
        # As root, the manager's own socket, as systemctl uses: no broker
        # between the calls (JobRemoved comes to a subscribed private
        # connection as well).
        systemd.connect(user=request.user, private=True) as manager,
    ):
        return execute(manager, plan, denied, decided, options)


def execute(
    manager: SystemdBackend,
    plan: Plan,
    denied: tuple[StepResult, ...],
    decided: DecideOutcome,
    options: ApplyOptions,
    fields: Mapping[str, object] | None = None,
    log: EventSink | None = None,
) -> Report:
    """Run the plan, logging its start and end to the journal (``fields`` added to both)."""
    from smartrestart.apply.executor import Executor

    log_event = journal_sink(log)

    actions = decided.decision.action_names
    log_event(
        "apply-started",
        f"apply: {', '.join(actions)} on {', '.join(plan.units) or 'no units'}",
        {
            "SMARTRESTART_ACTIONS": " ".join(actions),
            "SMARTRESTART_UNITS": " ".join(plan.units),
            "SMARTRESTART_TRIGGER": " ".join(decided.decision.files),
            "SMARTRESTART_DEPLOY": options.deploy_id,
            **(fields or {}),
        },
    )
    started = time.monotonic()
    report: Report | None = None
    try:
        execution = Executor(manager, options, log_event).run(plan)
        report = Report(
            execution.plan,
            (*denied, *execution.results),
            daemon_reloaded=execution.daemon_reloaded,
            timing=execution.timing,
            error=execution.error,
            deploy_id=options.deploy_id,
            details=execution.details,
        )
    finally:
        # "refused": the executor raised, which it does only before anything acted.
        result = "refused" if report is None else "failed" if report.exit_code else "success"
        error = report.error if report is not None else None
        log_event(
            "apply-finished",
            f"apply finished: {result}" + (f": {error}" if error else ""),
            {
                "SMARTRESTART_RESULT": result,
                "SMARTRESTART_DURATION_USEC": round((time.monotonic() - started) * 1e6),
                "SMARTRESTART_DEPLOY": options.deploy_id,
                "SMARTRESTART_UNITS": " ".join(plan.units),
                "SMARTRESTART_ERROR": error,
                **(fields or {}),
            },
        )
    return report


def journal_sink(log: EventSink | None) -> EventSink:
    """``log``, or the journal itself (imported only when something is logged)."""
    if log is not None:
        return log
    from smartrestart.journal.writer import log_event

    return log_event
