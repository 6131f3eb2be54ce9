"""Output forms of an apply: a table for people, JSON for machines.

The JSON shape is documented in ``schemas/apply-report.schema.json`` (and the
man page); ``changed`` is what Ansible's ``changed_when`` wants.
"""

from __future__ import annotations

from typing import Any

from smartrestart.apply.model import Outcome, Report, StepKind, StepResult


def step_json(result: StepResult) -> dict[str, Any]:
    step = result.step
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
    }


def report_json(report: Report, decision: dict[str, Any]) -> dict[str, Any]:
    return {
        "changed": report.changed,
        "deploy_id": report.deploy_id,
        "dry_run": report.dry_run,
        "exit_code": int(report.exit_code),
        "error": report.error,
        "daemon_reloaded": report.daemon_reloaded,
        "seconds": round(report.seconds, 4),
        "timing": {phase: round(value, 6) for phase, value in report.timing.items()},
        "failed": [r.step.label for r in report.failed],
        "external_actions": list(report.plan.external),
        "steps": [step_json(r) for r in report.results],
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
        mode = f" ({step.mode.value})" if step.mode and report.dry_run else ""
        outcome = result.outcome.value + (f": {result.detail}" if result.detail else "")
        seconds = (
            "-" if report.dry_run or result.outcome is Outcome.NOT_RUN else f"{result.seconds:.2f}"
        )
        rows.append((target or "", " ".join(step.actions) + mode, outcome, seconds))
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    lines = [
        f"{row[0]:<{widths[0]}}  {row[1]:<{widths[1]}}  {row[2]:<{widths[2]}}  {row[3]:>7}".rstrip()
        for row in rows
    ]
    if report.plan.external:
        lines.append(f"not for apply (no units or run): {', '.join(report.plan.external)}")
    if report.daemon_reloaded:
        lines.insert(0, "reloaded the systemd manager first (a unit file changed on disk)")
    if not report.results:
        lines = ["nothing to do", *lines[len(rows) :]]
    if report.error:
        lines.append(f"apply stopped part-way: {report.error}")
    if report.deploy_id:
        lines.append(f"deploy {report.deploy_id}: smartrestart logs --deploy {report.deploy_id}")
    return "\n".join(lines) + "\n"
