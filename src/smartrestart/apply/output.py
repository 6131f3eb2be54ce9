"""Output forms of an apply: a table for people, JSON for machines.

The JSON shape is documented in ``schemas/apply-report.schema.json`` (and the
man page); ``changed`` is what Ansible's ``changed_when`` wants. The forms of
``apply --pending`` import what they need of the pending records and of the
decision when they are called: the executor imports this module for its
journal entries, on the path of every plain apply.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from smartrestart.apply.model import Outcome, Plan, Report, StepKind, StepResult, UnitSnapshot

if TYPE_CHECKING:
    from smartrestart.apply.pending import PendingRecord
    from smartrestart.apply.run_pending import PendingOutcome
    from smartrestart.systemd.backend import UnitState


def state_json(state: UnitState | None) -> dict[str, Any] | None:
    """What ``--diff`` shows of a unit: the properties a restart changes."""
    if state is None:
        return None
    from smartrestart.status.output import iso

    return {
        "active_state": state.active_state,
        "invocation_id": state.invocation_id or None,
        "main_pid": state.main_pid or None,
        "active_enter_timestamp": iso(state.active_enter_usec),
    }


def diff_json(snapshot: UnitSnapshot | None) -> dict[str, Any] | None:
    if snapshot is None:
        return None
    return {"before": state_json(snapshot.before), "after": state_json(snapshot.after)}


def step_json(result: StepResult, report: Report | None = None) -> dict[str, Any]:
    step = result.step
    details = report.details if report is not None else {}
    return {
        "order": result.order,
        "actions": list(step.actions),
        "kind": step.kind.value,
        "unit": step.unit if step.kind is StepKind.UNIT else result.run_unit or None,
        "unit_id": result.unit_id or None,
        "mode": step.mode.value if step.mode else None,
        "command": list(step.command) if step.command else None,
        "trigger": list(step.trigger),
        "result": result.outcome.value,
        "ok": result.ok,
        "detail": result.detail or None,
        "job_result": result.job_result,
        "unit_result": result.unit_result or None,
        "seconds": round(result.seconds, 4),
        "old_invocation_id": result.old_invocation_id or None,
        "new_invocation_id": result.new_invocation_id or None,
        "journal": list(result.journal) if result.journal else None,
        "diff": diff_json(details.get(step.unit)) if step.unit else None,
    }


def report_json(report: Report, decision: dict[str, Any] | None) -> dict[str, Any]:
    return {
        "changed": report.changed,
        "deploy_id": report.deploy_id,
        "dry_run": report.dry_run,
        "check": report.check,
        "exit_code": int(report.exit_code),
        "error": report.error,
        "daemon_reloaded": report.daemon_reloaded,
        "seconds": round(report.seconds, 4),
        "timing": {phase: round(value, 6) for phase, value in report.timing.items()},
        "failed": [r.step.label for r in report.failed],
        "external_actions": list(report.plan.external),
        "steps": [step_json(r, report) for r in report.results],
        "decision": decision,
    }


def render_table(report: Report) -> str:
    """The human report: unit, action, result, seconds."""
    rows = [("UNIT", "ACTION", "RESULT", "SECONDS")]
    for result in report.results:
        step = result.step
        target = (
            step.unit if step.kind is StepKind.UNIT else f"run {result.run_unit or step.actions[0]}"
        )
        mode = f" ({step.mode.value})" if step.mode and (report.dry_run or report.check) else ""
        outcome = result.outcome.value + (f": {result.detail}" if result.detail else "")
        predicted = report.dry_run or report.check
        seconds = "-" if predicted or result.outcome is Outcome.NOT_RUN else f"{result.seconds:.2f}"
        rows.append((target or "", " ".join(step.actions) + mode, outcome, seconds))
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    lines = [
        f"{row[0]:<{widths[0]}}  {row[1]:<{widths[1]}}  {row[2]:<{widths[2]}}  {row[3]:>7}".rstrip()
        for row in rows
    ]
    for result in report.results:
        if result.journal:
            lines.append(f"last journal lines of {result.step.label}:")
            lines.extend(f"  {line}" for line in result.journal)
    if report.plan.external:
        lines.append(f"not for apply (no units or run): {', '.join(report.plan.external)}")
    if report.daemon_reloaded:
        reload = "would reload" if report.check else "reloaded"
        lines.insert(0, f"{reload} the systemd manager first (unit files changed on disk)")
    if report.check:
        lines.insert(0, "check: nothing was changed; each result is what apply would do now")
    for unit, snapshot in report.details.items():
        lines.append(f"{unit}: {_state_line(snapshot.before)} -> {_state_line(snapshot.after)}")
    if not report.results:
        lines = ["nothing to do", *lines[len(rows) :]]
    if report.error:
        lines.append(f"apply stopped part-way: {report.error}")
    if report.deploy_id:
        lines.append(f"deploy {report.deploy_id}: smartrestart logs --deploy {report.deploy_id}")
    return "\n".join(lines) + "\n"


def _state_line(state: UnitState | None) -> str:
    if state is None:
        return "?"
    return (
        f"{state.active_state} invocation {state.invocation_id or '-'} pid {state.main_pid or '-'}"
    )


def step_event(result: StepResult, deploy_id: str) -> tuple[str, str, dict[str, object]]:
    """The journal entry of one finished step: its event kind, message and fields."""
    step = result.step
    fields: dict[str, object] = {
        "SMARTRESTART_ACTION": " ".join(step.actions),
        "SMARTRESTART_RESULT": result.outcome.value,
        "SMARTRESTART_TRIGGER": " ".join(step.trigger),
        "SMARTRESTART_DURATION_USEC": round(result.seconds * 1_000_000),
        "SMARTRESTART_DEPLOY": deploy_id,
        "SMARTRESTART_ORDER": result.order,
    }
    if step.kind is StepKind.RUN:
        fields["SMARTRESTART_UNIT"] = result.run_unit
        fields["SMARTRESTART_COMMAND"] = " ".join(step.command or ())
        kind = "run-done" if result.ok else "run-failed"
        message = f"action {step.actions[0]}: {result.outcome.value}"
    else:
        fields.update(
            {
                "SMARTRESTART_UNIT": step.unit,
                "SMARTRESTART_MODE": step.mode.value if step.mode else None,
                "SMARTRESTART_OLD_INVOCATION_ID": result.old_invocation_id or None,
                "SMARTRESTART_NEW_INVOCATION_ID": result.new_invocation_id or None,
                "SMARTRESTART_UNIT_RESULT": result.unit_result or None,
            }
        )
        kind = "unit-job-done" if result.ok else "unit-job-failed"
        message = f"{step.unit}: {result.outcome.value} ({' '.join(step.actions)})"
    if result.detail:
        message += f": {result.detail}"
    return kind, message, fields


def pending_json(outcome: PendingOutcome) -> dict[str, Any]:
    """``apply --pending --json``: the report (empty when nothing ran) and the spool's fate."""
    from smartrestart.decide.output import decision_json

    report = outcome.report or Report(Plan(()))
    decision = decision_json(outcome.decided) if outcome.decided else None
    settlement = outcome.settlement
    return {
        **report_json(report, decision),
        "pending": {
            "records": [record_json(r) for r in outcome.records],
            "cleared": [r.name for r in settlement.cleared] if settlement else [],
            "kept": [record_json(r) for r in outcome.kept],
            "deferred": outcome.deferred or None,
            "deploy_id": outcome.deploy_id,
        },
    }


def record_json(record: PendingRecord) -> dict[str, Any]:
    return {
        "name": record.name,
        "package": record.package,
        "from": record.old_version or None,
        "to": record.new_version or None,
        "files": list(record.files),
    }


def render_pending(outcome: PendingOutcome, *, trigger: bool) -> tuple[str, list[str]]:
    """The report of ``apply --pending`` for people: (standard output, lines for stderr).

    The dpkg trigger says nothing when nothing was pending: dpkg's output is
    long enough.
    """
    from smartrestart.apply.pending import HANDLED, RETRY_COMMAND

    notes: list[str] = []
    if outcome.error is not None:
        notes.append(f"error: {outcome.error.message}")
        if outcome.error.hint:
            notes.append(f"hint: {outcome.error.hint}")
    kept = outcome.kept
    packages = ", ".join(record.label for record in kept)
    if outcome.deferred:
        notes.append(
            f"changes of {packages or 'no package'} stay pending: {outcome.deferred}; "
            f"the next dpkg run handles them, or: {RETRY_COMMAND}"
        )
        return "", notes
    if not outcome.records:
        return ("" if trigger else "nothing pending\n"), notes
    report = outcome.report
    assert report is not None
    text = f"pending: {', '.join(record.label for record in outcome.records)}\n"
    text += render_table(report)
    if report.dry_run:
        return text, notes
    for result in report.results:
        if result.outcome in HANDLED:
            continue
        why = result.outcome.value + (f": {result.detail}" if result.detail else "")
        then = (
            f"run {RETRY_COMMAND} once it may act"
            if result.outcome is Outcome.DENIED
            else f"fix it, then run {RETRY_COMMAND}"
        )
        failed = result.outcome is not Outcome.DENIED and result.step.unit
        log = f" (journalctl -u {result.step.unit})" if failed else ""
        notes.append(f"{result.step.label}: {why}; its change stays pending: {then}{log}")
    if kept:
        text += f"still pending: {packages}\n"
    return text, notes
