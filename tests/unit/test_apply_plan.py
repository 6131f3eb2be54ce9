"""Plan building and job verdicts: pure logic, no systemd."""

from __future__ import annotations

import pytest

from smartrestart.apply.model import (
    Outcome,
    Report,
    Step,
    StepKind,
    StepResult,
    build_plan,
    judge,
    planned,
)
from smartrestart.apply.output import render_table
from smartrestart.decide.model import decide
from smartrestart.errors import ExitCode, Location
from smartrestart.rules.model import Action, Mode, Rule, RuleSet
from smartrestart.systemd.backend import UnitState

HERE = Location("r.yaml", 1)


def rules(*actions: Action) -> RuleSet:
    return RuleSet(
        actions={a.name: a for a in actions},
        rules=(Rule("**", tuple(a.name for a in actions), HERE),),
    )


def test_groups_by_order_and_keeps_external_actions() -> None:
    rule_set = rules(
        Action("pip", HERE, 10, run=("/bin/true",)),
        Action("api", HERE, 20, units=("api.service",)),
        Action("worker", HERE, 20, units=("worker.service",)),
        Action("web", HERE, 30, units=("nginx.service",), mode=Mode.RELOAD),
        Action("notify_team", HERE, 40),
    )
    plan = build_plan(decide(["x"], rule_set))
    assert [g.order for g in plan.groups] == [10, 20, 30]
    assert [s.kind for s in plan.groups[0].steps] == [StepKind.RUN]
    assert [s.unit for s in plan.groups[1].steps] == ["api.service", "worker.service"]
    assert plan.groups[2].steps[0].mode is Mode.RELOAD
    assert plan.external == ("notify_team",)
    assert plan.units == ["api.service", "worker.service", "nginx.service"]
    assert plan.groups[1].steps[0].trigger == ("x",)


def test_one_job_per_unit_per_group_with_the_strongest_mode() -> None:
    rule_set = rules(
        Action("reload_it", HERE, 20, units=("app.service",), mode=Mode.RELOAD),
        Action("restart_it", HERE, 20, units=("app.service",)),
    )
    (group,) = build_plan(decide(["x"], rule_set)).groups
    (step,) = group.steps
    assert step.mode is Mode.RESTART
    assert step.actions == ("reload_it", "restart_it")


def test_same_unit_in_two_groups_gets_two_jobs() -> None:
    rule_set = rules(
        Action("stop_first", HERE, 10, units=("app.service",), mode=Mode.RELOAD),
        Action("restart_later", HERE, 20, units=("app.service",)),
    )
    assert [g.steps[0].unit for g in build_plan(decide(["x"], rule_set)).groups] == [
        "app.service"
    ] * 2


def state(invocation: str, active: str = "active", **extra: object) -> UnitState:
    base = UnitState("app.service", "loaded", active, "running", invocation)
    return base._replace(**extra)  # type: ignore[arg-type]


def unit_step(mode: Mode) -> Step:
    return Step(StepKind.UNIT, ("a",), ("x",), unit="app.service", mode=mode)


@pytest.mark.parametrize(
    ("mode", "before", "after", "job", "outcome"),
    [
        (Mode.RESTART, state("a"), state("b"), "done", Outcome.RESTARTED),
        (Mode.RESTART, state("a"), state("a"), "done", Outcome.FAILED),  # did not restart
        (Mode.RESTART, state("a"), state("b", "failed"), "done", Outcome.FAILED),
        (Mode.RESTART, state("a"), state("b", "failed"), "failed", Outcome.FAILED),
        (Mode.RESTART, state("", "inactive"), state("b"), "done", Outcome.STARTED),
        (
            Mode.RESTART,
            state("a", "inactive"),
            state("b", "inactive", service_type="oneshot", result="success"),
            "done",
            Outcome.STARTED,
        ),
        (
            Mode.TRY_RESTART,
            state("", "inactive"),
            state("", "inactive"),
            "done",
            Outcome.NOT_RUNNING,
        ),
        (Mode.TRY_RESTART, state("a"), state("b"), "done", Outcome.RESTARTED),
        (Mode.START, state("a"), state("a"), "done", Outcome.ALREADY_ACTIVE),
        (Mode.START, state("", "inactive"), state("b"), "done", Outcome.STARTED),
        (Mode.RELOAD, state("a"), state("a"), "done", Outcome.RELOADED),
        (Mode.RELOAD_OR_RESTART, state("a", can_reload=True), state("a"), "done", Outcome.RELOADED),
        (Mode.RELOAD_OR_RESTART, state("a"), state("b"), "done", Outcome.RESTARTED),
        (Mode.RELOAD_OR_RESTART, state("a"), state("a"), "done", Outcome.FAILED),
    ],
)
def test_judge(mode: Mode, before: UnitState, after: UnitState, job: str, outcome: Outcome) -> None:
    can_reload = bool(before.can_reload)  # read by the executor only where it decides something
    assert judge(unit_step(mode), before, after, job, can_reload=can_reload)[0] is outcome


def test_report_changed_and_exit_code() -> None:
    rule_set = rules(Action("api", HERE, 20, units=("api.service",)))
    plan = build_plan(decide(["x"], rule_set))
    step = plan.steps[0]
    report = Report(plan, (StepResult(step, 20, Outcome.ALREADY_ACTIVE),))
    assert (report.changed, report.exit_code) == (False, ExitCode.OK)
    report = Report(plan, (StepResult(step, 20, Outcome.RESTARTED),))
    assert (report.changed, report.exit_code) == (True, ExitCode.OK)
    report = Report(plan, (StepResult(step, 20, Outcome.FAILED, "job failed"),))
    assert report.exit_code is ExitCode.FAILED
    assert "failed: job failed" in render_table(report)


def test_dry_run_table_lists_modes() -> None:
    rule_set = rules(Action("web", HERE, 30, units=("nginx.service",), mode=Mode.RELOAD))
    plan = build_plan(decide(["x"], rule_set))
    report = Report(plan, tuple(planned(plan)), dry_run=True)
    table = render_table(report)
    assert "nginx.service" in table
    assert "web (reload)" in table
    assert report.changed is False


def test_nothing_to_do() -> None:
    plan = build_plan(decide([], rules(Action("api", HERE, 20, units=("api.service",)))))
    assert render_table(Report(plan)) == "nothing to do\n"
