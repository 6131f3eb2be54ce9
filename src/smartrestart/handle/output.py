"""Output of the failure handler: its journal entries, and a line for a person at a terminal.

Under systemd nobody reads the handler's stdout: each decision is one journal
entry, with a MESSAGE_ID per kind (the catalog explains them) and the fields
``journalctl SMARTRESTART_UNIT=...`` finds.
"""

from __future__ import annotations

from typing import NamedTuple

from smartrestart.budget.model import Escalation
from smartrestart.handle.model import FailureDecision
from smartrestart.systemd.backend import UnitState


class Entry(NamedTuple):
    """One journal entry: its event kind, message and fields."""

    kind: str
    message: str
    fields: dict[str, object]


def failure_fields(unit: str, decision: FailureDecision, state: UnitState) -> dict[str, object]:
    """The fields every entry about one failure carries."""
    from smartrestart.handle.model import main_exit_status

    return {
        "SMARTRESTART_UNIT": unit,
        "SMARTRESTART_REASON": decision.reason,
        "SMARTRESTART_INVOCATION_ID": state.invocation_id or None,
        "SMARTRESTART_EXIT_STATUS": main_exit_status(state),
        "SMARTRESTART_UNIT_RESULT": state.result or None,
    }


def ignored(unit: str, decision: FailureDecision, fields: dict[str, object]) -> Entry:
    return Entry("failure-ignored", f"{unit}: {decision.reason}", fields)


def cooldown_scheduled(
    unit: str,
    decision: FailureDecision,
    fields: dict[str, object],
    cooldown_usec: int,
    max_cycles: int | None,
) -> Entry:
    maximum = max_cycles if max_cycles is not None else "unlimited"
    return Entry(
        "cooldown-scheduled",
        f"{unit}: {decision.reason}; starting it again after a cooldown "
        f"(cycle {decision.cycle} of {maximum})",
        {
            **fields,
            "SMARTRESTART_CYCLE": decision.cycle,
            "SMARTRESTART_MAX_CYCLES": maximum,
            "SMARTRESTART_COOLDOWN_USEC": cooldown_usec,
        },
    )


def escalated(
    unit: str, decision: FailureDecision, fields: dict[str, object], how: Escalation, job: str
) -> Entry:
    return Entry(
        "escalated",
        f"{unit}: {decision.reason}; escalating: {how}",
        {**fields, "SMARTRESTART_ESCALATION": str(how), "SMARTRESTART_JOB": job},
    )


def gave_up(unit: str, reason: str, fields: dict[str, object]) -> Entry:
    return Entry(
        "gave-up", f"{unit}: {reason}; it stays failed", {**fields, "SMARTRESTART_REASON": reason}
    )


def cooldown_restart(unit: str, cycle: int, job: str) -> Entry:
    return Entry(
        "cooldown-restart",
        f"{unit}: cooldown over, started again (cycle {cycle})",
        {"SMARTRESTART_UNIT": unit, "SMARTRESTART_CYCLE": cycle, "SMARTRESTART_JOB": job},
    )


def handler_failed(unit: str, command: str, message: str, exit_status: int) -> Entry:
    return Entry(
        "handler-failed",
        f"{unit}: the {command} handler could not act: {message}",
        {
            "SMARTRESTART_UNIT": unit,
            "SMARTRESTART_HANDLER": command,
            "SMARTRESTART_ERROR": message,
            "SMARTRESTART_EXIT_STATUS": exit_status,
        },
    )


def terminal_line(unit: str, decision: FailureDecision) -> str:
    return f"{unit}: {decision.verdict.value}: {decision.reason}"
