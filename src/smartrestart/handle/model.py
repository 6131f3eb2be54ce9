"""What to do when a budgeted unit fails: the failure handler's decision, pure.

``OnFailure=`` starts ``smartrestart-failure@UNIT.service``, which asks this
module what to do, given the unit's state, its budget's parameters and what
earlier failures left in its cycle record:

* the unit is still restarting (not ``failed``, or a job is queued) -> nothing:
  systemd >= 254 runs OnFailure= before every automatic restart unless
  ``RestartMode=direct``, so the state, not the call, says whether restarts
  stopped; the same invocation handled twice is also ignored;
* a fatal exit status -> escalate at once (``on_exhausted``), no cooldown;
* restart: temporary -> it is never restarted: give up;
* a non-retryable exit status, or the budget exhausted -> for transient units
  with a cooldown, another cooldown cycle while cycles remain, else give up for
  good (escalating when ``on_exhausted`` says so).

Cooldown cycles count as consecutive while each exhaustion comes within two
periods of the restart that ended the previous cooldown: exhausting a budget of
N restarts takes N+1 starts inside one start-limit window, so a later
exhaustion means the unit ran long enough to open a fresh window.

A failure counts as handled only once its action succeeded: the record the
decision returns is saved after the cooldown timer was started or the
escalation job finished. An action that fails is retried (the handler unit
restarts on failure) at most :data:`MAX_ACTION_ATTEMPTS` times per failure.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from enum import StrEnum

from smartrestart.budget.model import Budget, EscalationVerb, RestartType
from smartrestart.systemd.backend import UnitState

CLD_EXITED = 1
MAX_ACTION_ATTEMPTS = 3


class Verdict(StrEnum):
    IGNORE = "ignore"
    COOLDOWN = "cooldown"
    ESCALATE = "escalate"
    GIVE_UP = "give-up"


@dataclass(frozen=True, slots=True)
class CycleRecord:
    """What earlier failures of one unit left behind (kept under /run)."""

    cycles: int = 0
    last_restart_monotonic: float | None = None
    last_handled_invocation: str = ""
    # Attempts at acting on one failure (by the unit's InvocationID) that failed.
    failed_invocation: str = ""
    failed_attempts: int = 0


@dataclass(frozen=True, slots=True)
class FailureDecision:
    verdict: Verdict
    reason: str
    cycle: int = 0


def main_exit_status(state: UnitState) -> int | None:
    """The main process's exit status, when it exited (rather than being killed)."""
    return state.exec_main_status if state.exec_main_code == CLD_EXITED else None


def decide_failure(
    params: Budget, state: UnitState, record: CycleRecord, now: float
) -> tuple[FailureDecision, CycleRecord]:
    """The decision, and the cycle record to keep."""
    if state.active_state != "failed" or state.job_pending:
        why = f"unit is {state.active_state}/{state.sub_state}, still within its restart budget"
        return FailureDecision(Verdict.IGNORE, why), record
    if state.invocation_id and state.invocation_id == record.last_handled_invocation:
        return FailureDecision(Verdict.IGNORE, "this failure was already handled"), record
    record = replace(record, last_handled_invocation=state.invocation_id)
    status = main_exit_status(state)
    if status is not None and status in params.fatal_exit_codes:
        return _final(params, f"fatal exit status {status}"), record
    if params.restart is RestartType.TEMPORARY:
        return FailureDecision(
            Verdict.GIVE_UP, f"restart: temporary, never restarted ({state.result})"
        ), record
    if status is not None and status in params.non_retryable_exit_codes:
        cause = f"non-retryable exit status {status}"
    else:
        cause = f"restart budget exhausted ({state.result})"
    if params.cooldown_usec is None:
        return _final(params, cause), record
    cycle = next_cycle(params, record, now)
    if params.max_cooldown_cycles is not None and cycle > params.max_cooldown_cycles:
        reason = f"{cause}, and all {params.max_cooldown_cycles} cooldown cycles are used up"
        return _final(params, reason), replace(record, cycles=0, last_restart_monotonic=None)
    return FailureDecision(Verdict.COOLDOWN, cause, cycle), replace(record, cycles=cycle)


def cycle_record(data: object) -> CycleRecord:
    """The record saved as ``data`` (parsed JSON); a fresh one when it is not what we wrote."""
    fresh = CycleRecord()
    if not isinstance(data, dict):
        return fresh
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


def count_failed_action(record: CycleRecord, invocation: str) -> tuple[CycleRecord, bool]:
    """``record`` with one more failed attempt at acting on ``invocation``; True at the last."""
    attempts = record.failed_attempts + 1 if record.failed_invocation == invocation else 1
    counted = replace(record, failed_invocation=invocation, failed_attempts=attempts)
    return counted, attempts >= MAX_ACTION_ATTEMPTS


def handled(record: CycleRecord) -> CycleRecord:
    """The record to keep once a failure was acted on: no failed attempts pending."""
    return replace(record, failed_invocation="", failed_attempts=0)


def next_cycle(params: Budget, record: CycleRecord, now: float) -> int:
    """The cooldown cycle an exhaustion at ``now`` (monotonic seconds) would start."""
    if record.last_restart_monotonic is None or params.period_usec is None:
        return 1
    window = 2 * params.period_usec / 1_000_000
    consecutive = now - record.last_restart_monotonic <= window
    return record.cycles + 1 if consecutive else 1


def _final(params: Budget, reason: str) -> FailureDecision:
    if params.on_exhausted.verb is EscalationVerb.NONE:
        return FailureDecision(Verdict.GIVE_UP, reason)
    return FailureDecision(Verdict.ESCALATE, reason)
