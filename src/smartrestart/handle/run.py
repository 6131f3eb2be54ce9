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
from dataclasses import asdict, replace
from pathlib import Path

from smartrestart.budget.dropin import DROPIN_NAME, is_ours
from smartrestart.budget.model import EscalationVerb
from smartrestart.budget.params import HandlerParams, ParamsError, parse_handler_params
from smartrestart.errors import JobFailed, SmartRestartError, UsageError
from smartrestart.handle.model import (
    MAX_ACTION_ATTEMPTS,
    CycleRecord,
    Decision,
    Verdict,
    count_failed_action,
    decide_failure,
    exit_status,
    handled,
)
from smartrestart.notify.state import StateStore
from smartrestart.systemd.backend import JobMethod, SystemdBackend

STATE_DIR = Path("/run/smartrestart/budgets")
# A stop or restart of a whole target can take its members' stop timeouts
# (90 s each by default); the handler unit itself has no start timeout.
ESCALATION_TIMEOUT = 300.0
EventSink = Callable[[str, str, Mapping[str, object]], None]


def read_params(backend: SystemdBackend, unit: str) -> HandlerParams:
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
            return parse_handler_params(text)
        except ParamsError as exc:
            raise UsageError(f"{path}: {exc}") from None
    raise UsageError(f"{unit} has no drop-in written by `smartrestart generate`")


def _store(unit: str, state_dir: Path) -> StateStore:
    return StateStore(f"{unit}.json", state_dir)


def _load(store: StateStore) -> CycleRecord:
    """The unit's record; a fresh one when it is missing or not what we wrote."""
    data = store.load({})
    if not isinstance(data, dict):
        return CycleRecord()
    fresh = CycleRecord()
    try:
        record = CycleRecord(**data)
    except TypeError:
        return fresh
    for name, default in asdict(fresh).items():
        value = getattr(record, name)
        allowed = (int, float) if name == "last_restart_monotonic" else type(default)
        if value is not None and (isinstance(value, bool) or not isinstance(value, allowed)):
            return fresh
    return record


def _save(store: StateStore, record: CycleRecord) -> None:
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
) -> Decision:
    """Decide about a failure of ``unit`` and carry the decision out."""
    unit = backend.unit_id(unit)  # an alias run by hand shares the unit's record
    params = read_params(backend, unit)
    state = backend.unit_details(unit)
    store = _store(unit, state_dir)
    loaded = _load(store)
    decision, record = decide_failure(params, state, loaded, now())
    fields: dict[str, object] = {
        "SMARTRESTART_UNIT": unit,
        "SMARTRESTART_REASON": decision.reason,
        "SMARTRESTART_INVOCATION_ID": state.invocation_id or None,
        "SMARTRESTART_EXIT_STATUS": exit_status(state),
        "SMARTRESTART_UNIT_RESULT": state.result or None,
    }
    if decision.verdict is Verdict.IGNORE:
        log("failure-ignored", f"{unit}: {decision.reason}", fields)
        return decision
    try:
        _act(backend, unit, params, decision, fields, log)
    except SmartRestartError as exc:
        counted, last = count_failed_action(loaded, state.invocation_id)
        if not last:
            _save(store, counted)
            raise
        _save(store, handled(record))
        fields["SMARTRESTART_REASON"] = (
            f"{decision.reason}; acting on it failed {MAX_ACTION_ATTEMPTS} times, last: "
            f"{exc.message}"
        )
        log("gave-up", f"{unit}: {fields['SMARTRESTART_REASON']}; it stays failed", fields)
        raise
    _save(store, handled(record))
    return decision


def _act(
    backend: SystemdBackend,
    unit: str,
    params: HandlerParams,
    decision: Decision,
    fields: dict[str, object],
    log: EventSink,
) -> None:
    if decision.verdict is Verdict.COOLDOWN:
        assert params.cooldown_usec is not None
        backend.start_timer(
            f"smartrestart-cooldown@{unit}.timer",
            params.cooldown_usec,
            description=f"smartrestart: cooldown of {unit}, cycle {decision.cycle}",
        )
        maximum = params.max_cooldown_cycles
        fields.update(
            SMARTRESTART_CYCLE=decision.cycle,
            SMARTRESTART_MAX_CYCLES=maximum if maximum is not None else "unlimited",
            SMARTRESTART_COOLDOWN_USEC=params.cooldown_usec,
        )
        log(
            "cooldown-scheduled",
            f"{unit}: {decision.reason}; starting it again after a cooldown "
            f"(cycle {decision.cycle} of {fields['SMARTRESTART_MAX_CYCLES']})",
            fields,
        )
    elif decision.verdict is Verdict.ESCALATE:
        escalation = params.on_exhausted
        assert escalation.unit is not None
        method = JobMethod.STOP if escalation.verb is EscalationVerb.STOP else JobMethod.RESTART
        job = backend.submit(method, escalation.unit)
        end = backend.wait_jobs([job], ESCALATION_TIMEOUT).get(job)
        if end is None or end.result != "done":
            how = f"ended {end.result}" if end else f"not done after {ESCALATION_TIMEOUT:g} s"
            raise JobFailed(f"{unit}: escalation '{escalation}' failed: the job {how}")
        fields.update(SMARTRESTART_ESCALATION=str(escalation), SMARTRESTART_JOB=job)
        log("escalated", f"{unit}: {decision.reason}; escalating: {escalation}", fields)
    else:
        log("gave-up", f"{unit}: {decision.reason}; it stays failed", fields)


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
    log(
        "cooldown-restart",
        f"{unit}: cooldown over, started again (cycle {record.cycles})",
        {"SMARTRESTART_UNIT": unit, "SMARTRESTART_CYCLE": record.cycles, "SMARTRESTART_JOB": job},
    )
