"""The failure handler's I/O: read the budget from the unit's drop-in, act, log.

Run by the shipped units ``smartrestart-failure@.service`` (``OnFailure=``)
and ``smartrestart-cooldown@.service`` (started by the transient timer a
cooldown creates), as ``smartrestart handle failure|cooldown UNIT``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import asdict
from pathlib import Path

from smartrestart.budget.handler import CycleRecord, Decision, Verdict, decide_failure, exit_status
from smartrestart.budget.model import EscalationVerb
from smartrestart.budget.params import HandlerParams, ParamsError, parse_handler_params
from smartrestart.budget.render import DROPIN_NAME, is_ours
from smartrestart.errors import UsageError
from smartrestart.notify.state import StateStore
from smartrestart.systemd.backend import JobMethod, SystemdBackend

STATE_DIR = Path("/run/smartrestart/budgets")
EventSink = Callable[[str, str, Mapping[str, object]], None]


def read_params(backend: SystemdBackend, unit: str) -> HandlerParams:
    """The budget parameters in the unit's ``50-smartrestart.conf`` drop-in."""
    for path in reversed(backend.dropin_paths(unit)):
        if Path(path).name != DROPIN_NAME:
            continue
        try:
            text = Path(path).read_text()
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
    data = store.load({})
    try:
        return CycleRecord(**data) if isinstance(data, dict) else CycleRecord()
    except TypeError:
        return CycleRecord()


def handle_failure(
    backend: SystemdBackend,
    unit: str,
    log: EventSink,
    *,
    now: Callable[[], float] = time.monotonic,
    state_dir: Path = STATE_DIR,
) -> Decision:
    """Decide about a failure of ``unit`` and carry the decision out."""
    params = read_params(backend, unit)
    state = backend.unit_details(unit)
    store = _store(unit, state_dir)
    decision, record = decide_failure(params, state, _load(store), now())
    if decision.verdict is not Verdict.IGNORE:
        store.save(asdict(record))
    fields: dict[str, object] = {
        "SMARTRESTART_UNIT": unit,
        "SMARTRESTART_REASON": decision.reason,
        "SMARTRESTART_INVOCATION_ID": state.invocation_id or None,
        "SMARTRESTART_EXIT_STATUS": exit_status(state),
        "SMARTRESTART_UNIT_RESULT": state.result or None,
    }
    if decision.verdict is Verdict.IGNORE:
        log("failure-ignored", f"{unit}: {decision.reason}", fields)
    elif decision.verdict is Verdict.COOLDOWN:
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
        fields.update(SMARTRESTART_ESCALATION=str(escalation), SMARTRESTART_JOB=job)
        log("escalated", f"{unit}: {decision.reason}; escalating: {escalation}", fields)
    else:
        log("gave-up", f"{unit}: {decision.reason}; it stays failed", fields)
    return decision


def handle_cooldown(
    backend: SystemdBackend,
    unit: str,
    log: EventSink,
    *,
    now: Callable[[], float] = time.monotonic,
    state_dir: Path = STATE_DIR,
) -> None:
    """A cooldown ended: clear the unit's failed state and start counter, start it."""
    store = _store(unit, state_dir)
    record = _load(store)
    backend.reset_failed(unit)
    job = backend.submit(JobMethod.START, unit)
    store.save(asdict(CycleRecord(record.cycles, now(), record.last_handled_invocation)))
    log(
        "cooldown-restart",
        f"{unit}: cooldown over, started again (cycle {record.cycles})",
        {"SMARTRESTART_UNIT": unit, "SMARTRESTART_CYCLE": record.cycles, "SMARTRESTART_JOB": job},
    )
