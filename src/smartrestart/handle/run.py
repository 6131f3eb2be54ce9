"""The failure handler's I/O: read the budget from the unit's drop-in, act, log.

Run by the shipped units ``smartrestart-failure@.service`` (``OnFailure=``)
and ``smartrestart-cooldown@.service`` (started by the transient timer a
cooldown creates), as ``smartrestart handle failure|cooldown UNIT``.

The record that marks a failure as handled is saved only after its action
succeeded (the cooldown timer started, the escalation job done). When the
action fails, the error is logged and the handler exits non-zero, so its
unit's ``Restart=on-failure`` runs it again; after
:data:`~smartrestart.handle.model.MAX_ACTION_ATTEMPTS` failed attempts at
one failure it gives up on it, and says so.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from dataclasses import asdict, replace
from pathlib import Path

from smartrestart.budget.dropin import DROPIN_NAME, DropinError, handler_budget, is_ours
from smartrestart.budget.model import Budget, EscalationVerb
from smartrestart.errors import JobFailed, SmartRestartError, UsageError
from smartrestart.handle import output
from smartrestart.handle.model import (
    MAX_ACTION_ATTEMPTS,
    CycleRecord,
    FailureDecision,
    Verdict,
    count_failed_action,
    cycle_record,
    decide_failure,
    handled,
)
from smartrestart.statefile import JsonFile
from smartrestart.systemd.backend import JobMethod, SystemdBackend

STATE_DIR = Path("/run/smartrestart/budgets")
# A stop or restart of a whole target can take its members' stop timeouts
# (90 s each by default); the handler unit itself has no start timeout.
ESCALATION_TIMEOUT = 300.0
EventSink = Callable[[str, str, Mapping[str, object]], None]


def read_params(backend: SystemdBackend, unit: str) -> Budget:
    """The budget parameters in the unit's ``50-smartrestart.conf`` drop-in."""
    for path in reversed(backend.dropin_paths(unit)):
        if Path(path).name != DROPIN_NAME:
            continue
        try:
            text = Path(path).read_text(errors="replace")
        except OSError as exc:
            raise UsageError(f"cannot read {path}: {exc.strerror}") from None
        if not is_ours(text):
            continue
        try:
            return handler_budget(text, unit)
        except DropinError as exc:
            raise UsageError(f"{path}: {exc}") from None
    raise UsageError(f"{unit} has no drop-in written by `smartrestart generate`")


def _store(unit: str, state_dir: Path) -> JsonFile:
    return JsonFile(state_dir, f"{unit}.json")


def _load(store: JsonFile) -> CycleRecord:
    """The unit's record; a fresh one when it is missing or not what we wrote."""
    return cycle_record(store.load({}))


def _save(store: JsonFile, record: CycleRecord) -> None:
    try:
        store.save(asdict(record))
    except OSError as exc:
        raise JobFailed(f"cannot save {store.path}: {exc.strerror or exc}") from None


def handle_failure(
    backend: SystemdBackend,
    unit: str,
    log: EventSink,
    *,
    now: Callable[[], float] = time.monotonic,
    state_dir: Path = STATE_DIR,
) -> FailureDecision:
    """Decide about a failure of ``unit`` and carry the decision out."""
    unit = backend.unit_id(unit)  # an alias run by hand shares the unit's record
    params = read_params(backend, unit)
    state = backend.unit_details(unit)
    store = _store(unit, state_dir)
    loaded = _load(store)
    decision, record = decide_failure(params, state, loaded, now())
    fields = output.failure_fields(unit, decision, state)
    if decision.verdict is Verdict.IGNORE:
        log(*output.ignored(unit, decision, fields))
        return decision
    try:
        log(*_act(backend, unit, params, decision, fields))
    except SmartRestartError as exc:
        counted, last = count_failed_action(loaded, state.invocation_id)
        if not last:
            _save(store, counted)
            raise
        _save(store, handled(record))
        reason = (
            f"{decision.reason}; acting on it failed {MAX_ACTION_ATTEMPTS} times, last: "
            f"{exc.message}"
        )
        log(*output.gave_up(unit, reason, fields))
        raise
    _save(store, handled(record))
    return decision


def _act(
    backend: SystemdBackend,
    unit: str,
    params: Budget,
    decision: FailureDecision,
    fields: dict[str, object],
) -> output.Entry:
    """Carry out a cooldown, escalation or giving up; the entry saying it was done."""
    if decision.verdict is Verdict.COOLDOWN:
        assert params.cooldown_usec is not None
        backend.start_timer(
            f"smartrestart-cooldown@{unit}.timer",
            params.cooldown_usec,
            description=f"smartrestart: cooldown of {unit}, cycle {decision.cycle}",
        )
        return output.cooldown_scheduled(
            unit, decision, fields, params.cooldown_usec, params.max_cooldown_cycles
        )
    if decision.verdict is Verdict.ESCALATE:
        escalation = params.on_exhausted
        assert escalation.unit is not None
        method = JobMethod.STOP if escalation.verb is EscalationVerb.STOP else JobMethod.RESTART
        job = backend.submit(method, escalation.unit)
        end = backend.wait_jobs([job], ESCALATION_TIMEOUT).get(job)
        if end is None or end.result != "done":
            how = f"ended {end.result}" if end else f"not done after {ESCALATION_TIMEOUT:g} s"
            raise JobFailed(f"{unit}: escalation '{escalation}' failed: the job {how}")
        return output.escalated(unit, decision, fields, escalation, job)
    return output.gave_up(unit, decision.reason, fields)


def handle_cooldown(
    backend: SystemdBackend,
    unit: str,
    log: EventSink,
    *,
    now: Callable[[], float] = time.monotonic,
    state_dir: Path = STATE_DIR,
) -> None:
    """A cooldown ended: clear the unit's failed state and start counter, start it."""
    unit = backend.unit_id(unit)
    store = _store(unit, state_dir)
    record = _load(store)
    backend.reset_failed(unit)
    job = backend.submit(JobMethod.START, unit)
    _save(store, replace(record, last_restart_monotonic=now()))
    log(*output.cooldown_restart(unit, record.cycles, job))


HANDLERS = {"failure": handle_failure, "cooldown": handle_cooldown}


def run_handler(
    kind: str,
    unit: str,
    *,
    connect: Callable[[], AbstractContextManager[SystemdBackend]] | None = None,
) -> str | None:
    """Run the ``failure`` or ``cooldown`` handler for ``unit``; a line for a terminal, if any.

    Any error is also a journal entry (``handler-failed``), since no one reads
    a handler unit's stderr, and then raised for the exit status.
    """
    from smartrestart import systemd
    from smartrestart.journal.writer import log_event
    from smartrestart.unitname import unit_name_problem

    try:
        problem = unit_name_problem(unit)
        if problem:
            raise UsageError(problem)
        with (connect or systemd.connect)() as manager:
            result = HANDLERS[kind](manager, unit, log_event)
    except SmartRestartError as exc:
        log_event(*output.handler_failed(unit, kind, exc.message, int(exc.exit_code)))
        raise
    return output.terminal_line(unit, result) if isinstance(result, FailureDecision) else None
