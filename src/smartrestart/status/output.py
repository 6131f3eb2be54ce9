"""Output forms of ``status``: a block per unit for people, JSON for machines.

The JSON shape is ``schemas/status-report.schema.json``. Times are ISO 8601
with the local offset; spans are seconds (``*_sec``).
"""

from __future__ import annotations

import datetime
from typing import Any

from smartrestart.status.history import DeployStep, Start
from smartrestart.status.model import BudgetView, Cooldown, UnitReport
from smartrestart.status.run import StatusOutcome
from smartrestart.timespan import format_timespan


def iso(usec: int | None) -> str | None:
    """A realtime timestamp in µs as ISO 8601 (None for 0: systemd's "never")."""
    if not usec:
        return None
    moment = datetime.datetime.fromtimestamp(usec / 1e6, tz=datetime.UTC).astimezone()
    return moment.isoformat(timespec="milliseconds")


def seconds(usec: int | None) -> float | None:
    return None if usec is None else round(usec / 1e6, 3)


def cooldown_json(cooldown: Cooldown, now_usec: int) -> dict[str, Any]:
    due = cooldown.next_attempt_in_usec
    return {
        "cycle": cooldown.cycle,
        "max_cycles": cooldown.max_cycles,
        "cooldown_sec": seconds(cooldown.cooldown_usec),
        "pending": cooldown.pending,
        "next_attempt_at": iso(now_usec + due) if due is not None else None,
        "next_attempt_in_sec": seconds(due),
    }


def budget_json(budget: BudgetView, now_usec: int) -> dict[str, Any]:
    window = budget.window
    return {
        "intensity": budget.intensity,
        "period_sec": seconds(budget.period_usec),
        "restarts_in_window": window.restarts,
        "starts_in_window": window.starts,
        "exhausted": window.exhausted,
        "window_closes_in_sec": seconds(window.closes_in_usec),
        "next_delay_sec": seconds(budget.next_delay_usec),
        "cooldown": cooldown_json(budget.cooldown, now_usec) if budget.cooldown else None,
    }


def restart_json(start: Start) -> dict[str, Any]:
    return {
        "cause": start.cause.value,
        "at": iso(start.realtime_usec),
        "result": start.result,
        "deploy_id": start.deploy_id,
        "invocation_id": start.invocation,
    }


def deploy_json(step: DeployStep) -> dict[str, Any]:
    return {
        "deploy_id": step.deploy_id,
        "at": iso(step.realtime_usec),
        "action": step.action,
        "result": step.result,
        "files": list(step.files),
    }


def unit_json(report: UnitReport, now_usec: int) -> dict[str, Any]:
    state = report.state
    return {
        "unit": report.names[0],
        "names": list(report.names),
        "id": state.id or report.names[0],
        "load_state": state.load_state,
        "active_state": state.active_state,
        "sub_state": state.sub_state,
        "result": state.result,
        "since": iso(state.state_change_usec),
        "main_pid": state.main_pid or None,
        "invocation_id": state.invocation_id or None,
        "status_text": state.status_text or None,
        "n_restarts": state.n_restarts,
        "budget": budget_json(report.budget, now_usec) if report.budget else None,
        "last_restart": restart_json(report.last_restart) if report.last_restart else None,
        "last_deploy": deploy_json(report.last_deploy) if report.last_deploy else None,
    }


def status_json(outcome: StatusOutcome) -> dict[str, Any]:
    return {
        "units": [unit_json(r, outcome.now_usec) for r in outcome.reports],
        "warnings": list(outcome.warnings),
    }


# --- text ---------------------------------------------------------------------------


def span(usec: int) -> str:
    """A span for people: whole milliseconds below a second, whole seconds above."""
    unit = 1_000 if usec < 1_000_000 else 1_000_000
    rounded = round(max(0, usec) / unit) * unit
    return format_timespan(rounded) if rounded else "0s"


def when(usec: int, now_usec: int) -> str:
    """``2025-11-22 05:52:30 UTC (3min ago)``."""
    moment = datetime.datetime.fromtimestamp(usec / 1e6, tz=datetime.UTC).astimezone()
    text = moment.strftime("%Y-%m-%d %H:%M:%S %Z")
    ago = now_usec - usec
    return f"{text} ({span(ago)} ago)" if ago >= 0 else f"{text} (in {span(-ago)})"


def budget_lines(budget: BudgetView, now_usec: int) -> list[str]:
    window = budget.window
    if budget.intensity is None or budget.period_usec is None:
        line = "budget: no start limit (StartLimitIntervalSec=0 or StartLimitBurst=0)"
    else:
        line = (
            f"budget: {window.restarts} of {budget.intensity} restarts ({window.starts} of "
            f"{budget.intensity + 1} starts) in {span(budget.period_usec)}"
        )
        if window.closes_in_usec is not None:
            line += f"; window closes in {span(window.closes_in_usec)}"
        if window.exhausted:
            line += "; EXHAUSTED: systemd refuses further starts until then"
    if budget.next_delay_usec is not None:
        line += f"; next automatic restart after {span(budget.next_delay_usec)}"
    lines = [line]
    cooldown = budget.cooldown
    if cooldown is not None:
        limit = cooldown.max_cycles if cooldown.max_cycles is not None else "unlimited"
        text = f"cooldown: cycle {cooldown.cycle} of {limit} ({span(cooldown.cooldown_usec)} each)"
        if cooldown.next_attempt_in_usec is not None:
            text += f"; next attempt {when(now_usec + cooldown.next_attempt_in_usec, now_usec)}"
        lines.append(text)
    return lines


def unit_block(report: UnitReport, now_usec: int) -> str:
    state = report.state
    name = report.names[0]
    aka = [n for n in (*report.names[1:], state.id) if n and n != name]
    head = f"{name}" + (f" ({', '.join(dict.fromkeys(aka))})" if aka else "")
    head += f"  {state.load_state}, {state.active_state} ({state.sub_state})"
    if state.result and state.result != "success":
        head += f", result {state.result}"
    if state.state_change_usec:
        head += f" since {when(state.state_change_usec, now_usec)}"
    lines = [head]
    details = []
    if state.main_pid:
        details.append(f"pid {state.main_pid}")
    if state.n_restarts is not None:
        details.append(f"NRestarts {state.n_restarts}")
    if state.status_text:
        details.append(f'status "{state.status_text}"')
    if details:
        lines.append(", ".join(details))
    if report.budget is not None:
        lines.extend(budget_lines(report.budget, now_usec))
    start = report.last_restart
    if start is not None:
        why = start.cause.value + (f" ({start.result})" if start.result else "")
        why += f" {start.deploy_id}" if start.deploy_id else ""
        at = f" {when(start.realtime_usec, now_usec)}" if start.realtime_usec else ""
        lines.append(f"last start: {why}{at}")
    step = report.last_deploy
    if step is not None:
        files = f" ({', '.join(step.files)})" if step.files else ""
        lines.append(
            f"last deploy: {step.deploy_id} {when(step.realtime_usec, now_usec)}: "
            f"{step.action} {step.result}{files}"
        )
    return "\n    ".join(lines) + "\n"


def render_text(outcome: StatusOutcome) -> str:
    return "\n".join(unit_block(r, outcome.now_usec) for r in outcome.reports)
