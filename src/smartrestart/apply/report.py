"""What an apply did: per-step results, a table for people, JSON for machines.

The JSON shape is documented in ``schemas/apply-report.schema.json`` (and the
man page); ``changed`` is what Ansible's ``changed_when`` wants.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from smartrestart.apply.model import Plan, Step, StepKind
from smartrestart.errors import ExitCode


class Outcome(StrEnum):
    RESTARTED = "restarted"
    RELOADED = "reloaded"
    STARTED = "started"
    ALREADY_ACTIVE = "already-active"  # start of a running unit: nothing to do
    NOT_RUNNING = "not-running"  # try-restart of a stopped unit: left alone
    SUCCEEDED = "succeeded"  # a run: command exited 0
    FAILED = "failed"
    TIMED_OUT = "timed-out"
    NOT_RUN = "not-run"  # after an earlier group failed
    PLANNED = "planned"  # --dry-run
    DENIED = "denied-by-policy"  # /usr/sbin/policy-rc.d forbade it (apply --from-dpkg)


OK_OUTCOMES = frozenset(
    {
        Outcome.RESTARTED,
        Outcome.RELOADED,
        Outcome.STARTED,
        Outcome.ALREADY_ACTIVE,
        Outcome.NOT_RUNNING,
        Outcome.SUCCEEDED,
        Outcome.PLANNED,
        Outcome.DENIED,
    }
)
CHANGING_OUTCOMES = frozenset(
    {Outcome.RESTARTED, Outcome.RELOADED, Outcome.STARTED, Outcome.SUCCEEDED}
)


@dataclass(frozen=True, slots=True)
class StepResult:
    step: Step
    order: int
    outcome: Outcome
    detail: str = ""
    job_result: str | None = None
    seconds: float = 0.0
    old_invocation_id: str = ""
    new_invocation_id: str = ""
    unit_result: str = ""
    run_unit: str = ""
    unit_id: str = ""  # the unit systemd acted on: the id behind an alias

    @property
    def ok(self) -> bool:
        return self.outcome in OK_OUTCOMES

    def to_json(self) -> dict[str, Any]:
        step = self.step
        return {
            "order": self.order,
            "actions": list(step.actions),
            "kind": step.kind.value,
            "unit": step.unit if step.kind is StepKind.UNIT else self.run_unit or None,
            "unit_id": self.unit_id or None,
            "mode": step.mode.value if step.mode else None,
            "command": list(step.command) if step.command else None,
            "trigger": list(step.trigger),
            "result": self.outcome.value,
            "ok": self.ok,
            "detail": self.detail or None,
            "job_result": self.job_result,
            "unit_result": self.unit_result or None,
            "seconds": round(self.seconds, 4),
            "old_invocation_id": self.old_invocation_id or None,
            "new_invocation_id": self.new_invocation_id or None,
        }


@dataclass
class Report:
    plan: Plan
    dry_run: bool = False
    daemon_reloaded: bool = False
    results: list[StepResult] = field(default_factory=list)
    seconds: float = 0.0
    # Seconds per phase: check, submit, wait (systemd's work), verify.
    timing: dict[str, float] = field(default_factory=dict)
    # Why the apply stopped part-way after something had acted, if it did.
    error: str | None = None

    def add_time(self, phase: str, seconds: float) -> None:
        self.timing[phase] = self.timing.get(phase, 0.0) + seconds

    @property
    def failed(self) -> list[StepResult]:
        """Steps that failed or timed out (steps not run because of them are not listed)."""
        return [r for r in self.results if r.outcome in (Outcome.FAILED, Outcome.TIMED_OUT)]

    @property
    def changed(self) -> bool:
        return self.daemon_reloaded or any(r.outcome in CHANGING_OUTCOMES for r in self.results)

    @property
    def exit_code(self) -> ExitCode:
        return ExitCode.FAILED if self.failed or self.error else ExitCode.OK

    def to_json(self, decision: dict[str, Any]) -> dict[str, Any]:
        return {
            "changed": self.changed,
            "dry_run": self.dry_run,
            "exit_code": int(self.exit_code),
            "error": self.error,
            "daemon_reloaded": self.daemon_reloaded,
            "seconds": round(self.seconds, 4),
            "timing": {phase: round(value, 6) for phase, value in self.timing.items()},
            "failed": [r.step.label for r in self.failed],
            "external_actions": list(self.plan.external),
            "steps": [r.to_json() for r in self.results],
            "decision": decision,
        }


def planned(plan: Plan) -> list[StepResult]:
    """Results of a dry run: every step as planned, nothing touched."""
    return [
        StepResult(step, group.order, Outcome.PLANNED)
        for group in plan.groups
        for step in group.steps
    ]


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
    return "\n".join(lines) + "\n"
