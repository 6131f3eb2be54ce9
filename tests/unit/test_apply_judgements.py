"""How a finished job is judged, with the detail apply reports, and how a plan's steps are merged
and planned: the cases between the orchestration tests of test_executor."""

from __future__ import annotations

from pathlib import Path

from smartrestart.apply.model import (
    Group,
    Outcome,
    Plan,
    Step,
    StepKind,
    StepResult,
    judge,
    merge_same_units,
    planned,
)
from smartrestart.errors import Location
from smartrestart.rules.model import Mode
from smartrestart.systemd.backend import UnitState

HERE = Location(Path("r.yaml"), 1)
ACTIVE = UnitState("u.service", "loaded", "active", "running", "aa", service_type="simple")
NEW = ACTIVE._replace(invocation_id="bb", result="success")


def step(mode: Mode, unit: str = "u.service", *, actions: tuple[str, ...] = ("a",)) -> Step:
    return Step(StepKind.UNIT, actions, ("f.py",), unit=unit, mode=mode)


def test_each_verdict_comes_with_its_detail() -> None:
    stopped = ACTIVE._replace(active_state="inactive", sub_state="dead")
    failed = NEW._replace(active_state="failed", sub_state="failed", result="exit-code")
    exited = NEW._replace(active_state="inactive", sub_state="dead")
    assert [
        judge(step(Mode.TRY_RESTART), stopped, stopped, "done"),
        judge(step(Mode.START), ACTIVE, ACTIVE, "done"),
        judge(step(Mode.START), ACTIVE, stopped, "done"),
        judge(step(Mode.RELOAD), ACTIVE, ACTIVE, "done"),
        judge(step(Mode.RESTART), ACTIVE, failed, "done"),
        judge(step(Mode.RESTART), ACTIVE, failed._replace(result=""), "done"),
        judge(step(Mode.RESTART), ACTIVE, ACTIVE, "done"),
        judge(step(Mode.RESTART), ACTIVE, NEW, "done"),
        judge(step(Mode.RESTART), stopped, NEW, "done"),
    ] == [
        (Outcome.NOT_RUNNING, "unit was not running, so try-restart left it alone"),
        (Outcome.ALREADY_ACTIVE, ""),
        (Outcome.FAILED, "stopped"),
        (Outcome.RELOADED, ""),
        (Outcome.FAILED, "unit is failed (exit-code)"),
        (Outcome.FAILED, "unit is failed (failed)"),
        (Outcome.FAILED, "job done but the unit kept its InvocationID: it did not restart"),
        (Outcome.RESTARTED, ""),
        (Outcome.STARTED, ""),
    ]
    # A service that exited successfully is running only when it is a oneshot.
    assert judge(step(Mode.RESTART), ACTIVE, exited, "done") == (
        Outcome.FAILED,
        "unit is inactive (success)",
    )
    assert judge(step(Mode.RESTART), ACTIVE, exited._replace(service_type="oneshot"), "done") == (
        Outcome.RESTARTED,
        "",
    )


def test_a_unit_that_reports_no_invocation_did_not_restart() -> None:
    assert judge(step(Mode.RESTART), ACTIVE, ACTIVE._replace(invocation_id=""), "done")[0] is (
        Outcome.FAILED
    )


def test_a_reload_or_restart_reloads_only_when_told_the_unit_can_reload() -> None:
    reload_or_restart = step(Mode.RELOAD_OR_RESTART)
    assert judge(reload_or_restart, ACTIVE, NEW, "done") == (Outcome.RESTARTED, "")
    assert judge(reload_or_restart, ACTIVE, ACTIVE, "done", can_reload=True) == (
        Outcome.RELOADED,
        "",
    )


def test_two_names_of_one_unit_merge_into_one_step_of_the_stronger_mode() -> None:
    by_alias = Step(StepKind.UNIT, ("x",), ("a.py",), unit="sshd.service", mode=Mode.RELOAD)
    by_id = Step(StepKind.UNIT, ("y",), ("b.py", "a.py"), unit="ssh.service", mode=Mode.RESTART)
    same = Step(StepKind.UNIT, ("z",), ("c.py",), unit="other.service", mode=Mode.START)
    again = Step(StepKind.UNIT, ("w",), ("d.py",), unit="other.service", mode=Mode.START)
    run = Step(StepKind.RUN, ("r",), ("e.py",), command=("/bin/true",))
    plan = Plan((Group(20, (run, by_alias, by_id, same, again, run)),))
    merged = merge_same_units(plan, {"sshd.service": "ssh.service", "ssh.service": "ssh.service"})
    assert merged.groups == (
        Group(
            20,
            (
                run,
                Step(
                    StepKind.UNIT,
                    ("x", "y"),
                    ("a.py", "b.py"),
                    unit="sshd.service",
                    mode=Mode.RESTART,
                ),
                Step(
                    StepKind.UNIT,
                    ("z", "w"),
                    ("c.py", "d.py"),
                    unit="other.service",
                    mode=Mode.START,
                ),
                run,
            ),
        ),
    )


def test_a_dry_run_plans_every_step_under_its_group_order() -> None:
    first, second = step(Mode.RESTART, "a.service"), step(Mode.RELOAD, "b.service")
    plan = Plan((Group(10, (first,)), Group(20, (second,))))
    assert planned(plan) == [
        StepResult(first, 10, Outcome.PLANNED),
        StepResult(second, 20, Outcome.PLANNED),
    ]
