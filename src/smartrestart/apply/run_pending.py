"""``apply --pending``: act on the changes Debian upgrades recorded, then settle the spool.

In order: the trigger's guards (suspended, no systemd), the host lock, the
spool, one decision over every pending file (the rules fragments, with their
``import_roots``), policy-rc.d per unit as ``deb-systemd-invoke`` asks it,
the shutdown guard, the plan (a daemon-reload first when a unit to restart
changed on disk) with readiness waits and verification, and last the spool:
records whose units were all handled are removed, the others keep what is
still pending. Everything runs from ``/``, where dpkg runs maintainer scripts,
so changed paths and the fragments' patterns are absolute.

As the dpkg trigger (``--trigger``), an error is reported and the changes stay
pending, but the dpkg run goes on (see :func:`pending_exit_code`).
"""

from __future__ import annotations

import io
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import TYPE_CHECKING

from smartrestart.apply.executor import new_deploy_id
from smartrestart.apply.model import Plan, Report, StepResult, build_plan, planned
from smartrestart.apply.pending import (
    HANDLED,
    RETRY_COMMAND,
    PendingRecord,
    Settlement,
    all_files,
    restart_failed,
    settle,
    unhandled_units,
)
from smartrestart.apply.policy import POLICY_HELPER
from smartrestart.apply.run import (
    JOURNAL_LINES,
    ApplyRequest,
    apply_policy,
    execute,
    journal_sink,
)
from smartrestart.apply.spool import PENDING_DIR, Spool
from smartrestart.decide.changes import ChangeSources
from smartrestart.decide.run import DecideOutcome, run_decide
from smartrestart.errors import ActionLedger, ExitCode, SmartRestartError
from smartrestart.paths import WorkingDirectory
from smartrestart.records import NamedTuple

if TYPE_CHECKING:
    from smartrestart.apply.executor import EventSink
    from smartrestart.systemd.backend import SystemdBackend

    Connect = Callable[[], AbstractContextManager[SystemdBackend]]

ROOT = WorkingDirectory("/", "/")
# deb-systemd-invoke and dh_installsystemd's snippets act only where this exists.
SYSTEMD_RUNNING = Path("/run/systemd/system")


class PendingRequest(NamedTuple):
    apply: ApplyRequest  # rules, roots and cache from its decide part; how to act
    spool: Path = PENDING_DIR
    policy_helper: Path = POLICY_HELPER
    trigger: bool = False  # run by the dpkg trigger
    suspended: bool = False  # SMARTRESTART_SUSPEND=1: the trigger leaves everything pending


class PendingOutcome(NamedTuple):
    deploy_id: str  # SMARTRESTART_DEPLOY of every journal entry of this run
    records: tuple[PendingRecord, ...] = ()
    decided: DecideOutcome | None = None
    report: Report | None = None
    settlement: Settlement | None = None
    deferred: str = ""  # why nothing was acted on and everything stays pending
    error: SmartRestartError | None = None  # the trigger's error, reported, not raised
    acted_before_error: bool = False  # an error came after something had acted

    @property
    def kept(self) -> tuple[PendingRecord, ...]:
        """Records still pending after this run."""
        if self.settlement is not None:
            return self.settlement.kept
        return () if self.report is not None and self.report.dry_run else self.records


def run_pending(
    request: PendingRequest,
    warn: Callable[[str], None],
    *,
    connect: Connect | None = None,
    log: EventSink | None = None,
) -> PendingOutcome:
    """Act on the pending changes; as the trigger, errors come back in the outcome.

    ``connect`` and ``log`` are systemd and the journal unless a test gives
    the fake backend and a list.
    """
    log = journal_sink(log)
    deploy_id = new_deploy_id()
    started = time.monotonic()
    try:
        outcome = _run(request, _Context(deploy_id, warn, connect, log))
    except SmartRestartError as error:
        if not request.trigger:
            raise
        acted = bool(ActionLedger.acted)
        outcome = PendingOutcome(
            deploy_id, deferred=error.message, error=error, acted_before_error=acted
        )
    if outcome.report is not None:
        seconds = time.monotonic() - started
        outcome = outcome._replace(report=outcome.report._replace(seconds=seconds))
    if outcome.kept or outcome.error:
        _log_kept(outcome, log)
    return outcome


def pending_exit_code(outcome: PendingOutcome, *, trigger: bool, strict: bool) -> ExitCode:
    """The exit status: the dpkg trigger fails the dpkg run only when asked to (strict).

    A unit that does not come back after an upgrade must not leave apt, and
    with it every later upgrade, failing: the failure is reported and stays
    pending. Being suspended, or denied by policy-rc.d, is not a failure.
    """
    error = outcome.error
    code = error.exit_code if error else outcome.report.exit_code if outcome.report else 0
    if error and outcome.acted_before_error:
        code = ExitCode.FAILED
    return ExitCode(code) if strict or not trigger else ExitCode.OK


class _Context(NamedTuple):
    deploy_id: str
    warn: Callable[[str], None]
    connect: Connect | None
    log: EventSink


def _run(request: PendingRequest, context: _Context) -> PendingOutcome:
    deploy_id = context.deploy_id
    reason = _trigger_may_not_act(request)
    if reason:
        with Spool.read(request.spool) as spool:  # only to say what stays pending
            return PendingOutcome(
                deploy_id, spool.records, deferred=reason if spool.records else ""
            )
    if request.apply.dry_run:  # reads, decides, acts on nothing: no lock
        with Spool.read(request.spool) as spool:
            decided, plan = _decide(spool.records, request, context.warn)
            report = Report(plan, tuple(planned(plan)), dry_run=True)
            return PendingOutcome(deploy_id, spool.records, decided, report)
    from smartrestart.apply.lock import HostLock

    lock = HostLock(request.apply.lock_file, request.apply.wait_lock)
    with lock, Spool.read(request.spool) as spool:  # read under the lock: one run settles
        if not spool.records:
            return PendingOutcome(deploy_id)
        decided, plan = _decide(spool.records, request, context.warn)
        plan, denied = apply_policy(plan, context.warn, request.policy_helper)
        report, deferred = _act(plan, denied, decided, spool.records, request, context)
        if deferred:
            return PendingOutcome(deploy_id, spool.records, decided, deferred=deferred)
        settlement = settle(spool.records, report, decided.expanded, ROOT.canonical)
        spool.settle(settlement)
    return PendingOutcome(deploy_id, spool.records, decided, report, settlement)


def _trigger_may_not_act(request: PendingRequest) -> str:
    """Why the trigger must leave everything pending without connecting, or ""."""
    if not request.trigger:
        return ""
    if request.suspended:
        return "suspended (SMARTRESTART_SUSPEND=1)"
    if not SYSTEMD_RUNNING.is_dir():
        return "systemd is not running here (a chroot or an image build)"
    return ""


def _decide(
    records: tuple[PendingRecord, ...], request: PendingRequest, warn: Callable[[str], None]
) -> tuple[DecideOutcome, Plan]:
    """One decision over every pending file, with the chains that lead back to them."""
    decide = request.apply.decide._replace(
        sources=ChangeSources(paths=tuple(all_files(records))), chains=True
    )
    decided = run_decide(decide, io.BytesIO(), ROOT)
    for warning in decided.warnings:
        warn(warning)
    return decided, build_plan(decided.decision)


def _act(
    plan: Plan,
    denied: tuple[StepResult, ...],
    decided: DecideOutcome,
    records: tuple[PendingRecord, ...],
    request: PendingRequest,
    context: _Context,
) -> tuple[Report, str]:
    """Connect, check for a shutdown, run the plan: (report, why it was deferred or "")."""
    if not plan.groups:
        return Report(plan, denied), ""
    from smartrestart import systemd
    from smartrestart.apply.executor import ApplyOptions

    options = ApplyOptions(
        timeout=request.apply.timeout,
        keep_going=request.apply.keep_going,
        deploy_id=context.deploy_id,
        settle=request.apply.settle,
        journal_lines=JOURNAL_LINES,
    )
    # The manager's own socket, as apply uses it (systemd.connect falls back to the bus).
    connect = context.connect or (lambda: systemd.connect(private=True))
    with connect() as manager:
        reason = manager.shutdown_pending()
        if reason:
            return Report(plan), reason
        plan = restart_failed(plan, manager.unit_states(plan.units))
        # No daemon-reload of our own: the executor reloads when a unit to
        # restart changed on disk, and each package's dh_installsystemd
        # snippet has reloaded for its own units (0.2 s a reload, measured).
        fields = {"SMARTRESTART_PACKAGES": ", ".join(r.label for r in records)}
        report = execute(manager, plan, denied, decided, options, fields, context.log)
    return report, ""


def _log_kept(outcome: PendingOutcome, log_event: EventSink) -> None:
    kept = outcome.kept
    units = unhandled_units(outcome.report) if outcome.report else []
    reason = outcome.deferred or _failure_reason(outcome)
    packages = ", ".join(record.label for record in kept) or "no package"
    log_event(
        "pending-kept",
        f"kept changes of {packages} pending: {reason}; retry: {RETRY_COMMAND}",
        {
            "SMARTRESTART_PACKAGES": packages,
            "SMARTRESTART_UNITS": " ".join(units) or None,
            "SMARTRESTART_REASON": reason,
            "SMARTRESTART_RETRY": RETRY_COMMAND,
            "SMARTRESTART_DEPLOY": outcome.deploy_id,
        },
    )


def _failure_reason(outcome: PendingOutcome) -> str:
    """``hello-api.service: failed; ...``: the steps that were not handled."""
    results = outcome.report.results if outcome.report else ()
    failed = [f"{r.step.label}: {r.outcome.value}" for r in results if r.outcome not in HANDLED]
    return "; ".join(failed) or "not acted on"
