"""How a finished job is judged, with the detail apply reports, and how a plan's steps are merged
and planned: the cases between the orchestration tests of test_executor."""

from __future__ import annotations

from smartrestart.apply.model import (
    Group,
    Outcome,
    Plan,
    Step,
    StepKind,
    StepResult,
    judge,
    judge_settled,
    merge_same_units,
    planned,
    predict,
)
from smartrestart.errors import Location
from smartrestart.rules.model import Mode
from smartrestart.systemd.backend import UnitState

HERE = Location("r.yaml", 1)
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


def test_a_started_unit_is_judged_again_once_settled() -> None:
    started = StepResult(step(Mode.RESTART), 10, Outcome.RESTARTED, new_invocation_id="bb")
    dead = NEW._replace(active_state="inactive", sub_state="dead", result="exit-code")
    oneshot = NEW._replace(active_state="inactive", sub_state="dead", service_type="oneshot")
    assert [
        judge_settled(started, NEW, 1.5),
        judge_settled(started, oneshot, 1.5),
        judge_settled(started, oneshot._replace(result="exit-code"), 1.5),
        judge_settled(started, dead, 1.5),
        judge_settled(started, dead._replace(result=""), 2),
        judge_settled(started, NEW._replace(invocation_id="cc"), 1.5),
    ] == [
        None,
        None,  # a oneshot that finished well
        (Outcome.FAILED, "unit is inactive (exit-code) within 1.5 s after it started"),
        (Outcome.FAILED, "unit is inactive (exit-code) within 1.5 s after it started"),
        (Outcome.FAILED, "unit is inactive (dead) within 2 s after it started"),
        (
            Outcome.FAILED,
            "the invocation apply started ended within 1.5 s; "
            "systemd started the unit again (Restart=)",
        ),
    ]


def test_a_check_predicts_what_a_job_that_succeeds_would_be_judged() -> None:
    run = Step(StepKind.RUN, ("m",), ("f.py",), command=("/bin/true",))
    stopped = ACTIVE._replace(active_state="inactive", sub_state="dead")
    assert [
        predict(run, None),
        predict(step(Mode.RESTART), ACTIVE),
        predict(step(Mode.RESTART), stopped),
        predict(step(Mode.RELOAD), stopped),
        predict(step(Mode.TRY_RESTART), stopped),
        predict(step(Mode.RELOAD_OR_RESTART), ACTIVE),  # not known to reload: a restart
        predict(step(Mode.RELOAD_OR_RESTART), ACTIVE, can_reload=True),
    ] == [
        (Outcome.SUCCEEDED, ""),
        (Outcome.RESTARTED, ""),
        (Outcome.STARTED, ""),
        (Outcome.FAILED, "unit is inactive: systemd refuses to reload it"),
        (Outcome.NOT_RUNNING, "unit was not running, so try-restart left it alone"),
        (Outcome.RESTARTED, ""),
        (Outcome.RELOADED, ""),
    ]
