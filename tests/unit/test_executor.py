"""The executor's own orchestration, against the scripted fake systemd.

What systemd itself does is proven in the beds (tests/integration/test_apply.py
and test_debian_units.py); these tests pin down what *we* decide: which jobs,
in which order, which start counters we clear, how results are judged and
reported, and that nothing escapes as an exception once something acted.
"""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

import pytest

from smartrestart.apply.executor import ApplyOptions, Executor
from smartrestart.apply.model import Outcome, Plan, Report, run_unit_name, will_start
from smartrestart.apply.run import ApplyRequest, run_apply
from smartrestart.decide.changes import ChangeSources
from smartrestart.decide.run import DecideRequest
from smartrestart.errors import ActionLedger, ExitCode, Location, UnitNotUsable, UsageError
from smartrestart.paths import WorkingDirectory
from smartrestart.rules.model import Action, Mode
from smartrestart.systemd.backend import UnitState
from smartrestart.unitname import unit_name_problem
from tests.fakesystemd import FakeSystemd, FakeUnit, unreachable
from tests.plans import Journal, plan_of

HERE = Location("r.yaml", 1)


def execute(
    fake: FakeSystemd, plan: Plan, *, keep_going: bool = False, timeout: float = 5.0
) -> tuple[Report, Journal]:
    journal = Journal()
    options = ApplyOptions("d1", timeout=timeout, keep_going=keep_going)
    execution = Executor(fake, options, journal).run(plan)
    report = Report(
        execution.plan,
        execution.results,
        daemon_reloaded=execution.daemon_reloaded,
        timing=execution.timing,
        error=execution.error,
    )
    return report, journal


def results(report: Report) -> list[tuple[str | None, Outcome]]:
    return [(r.step.unit or r.run_unit, r.outcome) for r in report.results]


def test_restarts_each_unit_with_a_new_invocation() -> None:
    fake = FakeSystemd()
    api = fake.add(FakeUnit("api.service"))
    before = api.invocation_id
    report, journal = execute(fake, plan_of(Action("a", HERE, units=("api.service",))))
    (result,) = report.results
    assert result.outcome is Outcome.RESTARTED
    assert result.old_invocation_id == before != result.new_invocation_id == api.invocation_id
    assert report.exit_code is ExitCode.OK
    assert journal.kinds() == ["unit-job-done"]


def test_jobs_of_a_group_are_all_submitted_before_any_wait() -> None:
    fake = FakeSystemd()
    for name in ("a.service", "b.service", "c.service"):
        fake.add(FakeUnit(name))
    plan = plan_of(
        Action("ab", HERE, 10, units=("a.service", "b.service")),
        Action("c", HERE, 20, units=("c.service",)),
    )
    execute(fake, plan)
    sequence = [m if m == "wait_jobs" else f"{m} {n}" for m, n in fake.calls if m != "unit_states"]
    assert sequence == [
        "reset_failed a.service",
        "reset_failed b.service",
        "submit:RestartUnit a.service",
        "submit:RestartUnit b.service",
        "wait_jobs",
        "reset_failed c.service",
        "submit:RestartUnit c.service",
        "wait_jobs",
    ]


def test_each_group_reads_its_units_once_before_and_once_after() -> None:
    """The first group starts from what the check read; a daemon-reload voids that."""
    fake = FakeSystemd()
    for name in ("a.service", "b.service"):
        fake.add(FakeUnit(name))
    plan = plan_of(
        Action("a", HERE, 10, units=("a.service",)), Action("b", HERE, 20, units=("b.service",))
    )
    execute(fake, plan)
    # check (both), group 10 after; group 20 before and after.
    assert fake.calls_of("unit_states") == [
        "a.service",
        "b.service",
        "a.service",
        "b.service",
        "b.service",
    ]
    reloading = FakeSystemd()
    reloading.add(FakeUnit("a.service", need_daemon_reload=True))
    execute(reloading, plan_of(Action("a", HERE, units=("a.service",))))
    assert reloading.calls_of("unit_states") == ["a.service"] * 3


@pytest.mark.parametrize(
    ("mode", "active_state", "can_reload", "starts"),
    [
        (Mode.RESTART, "active", False, True),
        (Mode.RESTART, "failed", False, True),
        (Mode.START, "active", False, False),
        (Mode.START, "inactive", False, True),
        (Mode.START, "failed", False, True),
        (Mode.TRY_RESTART, "active", False, True),
        (Mode.TRY_RESTART, "failed", False, False),
        (Mode.TRY_RESTART, "inactive", False, False),
        (Mode.RELOAD_OR_RESTART, "active", True, False),
        (Mode.RELOAD_OR_RESTART, "active", False, True),
        (Mode.RELOAD_OR_RESTART, "inactive", True, True),
        (Mode.RELOAD, "active", True, False),
    ],
)
def test_start_counter_is_cleared_only_when_the_job_starts_the_unit(
    mode: Mode, active_state: str, can_reload: bool, starts: bool
) -> None:
    state = UnitState("u.service", "loaded", active_state, "x", "1" * 32)
    assert will_start(mode, state, can_reload) is starts
    fake = FakeSystemd()
    fake.add(FakeUnit("u.service", active_state=active_state, can_reload=can_reload))
    execute(fake, plan_of(Action("a", HERE, units=("u.service",), mode=mode)))
    assert fake.calls_of("reset_failed") == (["u.service"] if starts else [])


def test_try_restart_leaves_a_failed_unit_failed() -> None:
    fake = FakeSystemd()
    unit = fake.add(FakeUnit("u.service", active_state="failed", sub_state="failed"))
    report, _ = execute(
        fake, plan_of(Action("a", HERE, units=("u.service",), mode=Mode.TRY_RESTART))
    )
    assert results(report) == [("u.service", Outcome.NOT_RUNNING)]
    assert unit.active_state == "failed"
    assert fake.calls_of("reset_failed") == []


def test_an_alias_is_reported_under_the_name_asked_with_the_unit_id() -> None:
    fake = FakeSystemd()
    fake.add(FakeUnit("ssh.service", aliases=("sshd.service",)))
    report, journal = execute(fake, plan_of(Action("a", HERE, units=("sshd.service",))))
    (result,) = report.results
    assert (result.step.unit, result.unit_id, result.outcome) == (
        "sshd.service",
        "ssh.service",
        Outcome.RESTARTED,
    )
    assert journal.entries[0][2]["SMARTRESTART_UNIT"] == "sshd.service"


def test_two_names_of_one_unit_in_a_group_make_one_job() -> None:
    fake = FakeSystemd()
    fake.add(FakeUnit("ssh.service", aliases=("sshd.service",), can_reload=True))
    plan = plan_of(
        Action("by_alias", HERE, 10, units=("sshd.service",), mode=Mode.RELOAD),
        Action("by_id", HERE, 10, units=("ssh.service",)),
    )
    report, _ = execute(fake, plan)
    (result,) = report.results
    assert fake.calls_of("submit:RestartUnit") == ["sshd.service"]  # the first name, once
    assert set(result.step.actions) == {"by_alias", "by_id"}
    assert result.outcome is Outcome.RESTARTED


def test_run_action_names_are_escaped_into_valid_unit_names() -> None:
    name = run_unit_name("migrate+seed", "0123abcd")
    assert name == "smartrestart-run-migrate\\x2bseed-0123abcd.service"
    assert unit_name_problem(name) is None
    assert unit_name_problem(run_unit_name("a@b/c" * 80, "0123abcd")) is None
    fake = FakeSystemd()
    report, _ = execute(fake, plan_of(Action("migrate+seed", HERE, run=("/bin/true",))))
    assert report.results[0].outcome is Outcome.SUCCEEDED
    assert unit_name_problem(report.results[0].run_unit) is None


def test_a_failed_group_stops_later_groups_unless_keep_going() -> None:
    def setup() -> tuple[FakeSystemd, Plan]:
        fake = FakeSystemd()
        fake.add(FakeUnit("bad.service", script=["failed"]))
        fake.add(FakeUnit("good.service"))
        fake.add(FakeUnit("later.service"))
        plan = plan_of(
            Action("first", HERE, 10, units=("bad.service", "good.service")),
            Action("second", HERE, 20, units=("later.service",)),
        )
        return fake, plan

    fake, plan = setup()
    report, journal = execute(fake, plan)
    assert results(report) == [
        ("bad.service", Outcome.FAILED),
        ("good.service", Outcome.RESTARTED),
        ("later.service", Outcome.NOT_RUN),
    ]
    assert report.exit_code is ExitCode.FAILED
    assert fake.calls_of("submit:RestartUnit") == ["bad.service", "good.service"]
    assert journal.kinds() == ["unit-job-failed", "unit-job-done"]

    fake, plan = setup()
    report, _ = execute(fake, plan, keep_going=True)
    assert results(report)[-1] == ("later.service", Outcome.RESTARTED)
    assert report.exit_code is ExitCode.FAILED


def test_a_job_without_result_before_the_timeout_is_timed_out() -> None:
    fake = FakeSystemd()
    fake.add(FakeUnit("slow.service", script=["hang"]))
    report, _ = execute(fake, plan_of(Action("a", HERE, units=("slow.service",))), timeout=0.1)
    assert results(report) == [("slow.service", Outcome.TIMED_OUT)]
    assert "still queued" in report.results[0].detail


def test_done_without_a_new_invocation_is_a_failure() -> None:
    fake = FakeSystemd()
    fake.add(FakeUnit("liar.service", script=["no-op-done"]))
    report, _ = execute(fake, plan_of(Action("a", HERE, units=("liar.service",))))
    assert results(report) == [("liar.service", Outcome.FAILED)]
    assert "kept its InvocationID" in report.results[0].detail


def test_a_refused_job_fails_its_step_and_the_others_go_on() -> None:
    fake = FakeSystemd()
    fake.add(FakeUnit("refused.service", script=["refuse"]))
    fake.add(FakeUnit("fine.service"))
    report, _ = execute(fake, plan_of(Action("a", HERE, units=("refused.service", "fine.service"))))
    assert results(report) == [
        ("refused.service", Outcome.FAILED),
        ("fine.service", Outcome.RESTARTED),
    ]


def test_a_failing_run_command_reports_its_exit_status() -> None:
    fake = FakeSystemd(commands={("/bin/migrate",): 3})
    report, journal = execute(fake, plan_of(Action("m", HERE, run=("/bin/migrate",))))
    (result,) = report.results
    assert (result.outcome, result.detail) == (Outcome.FAILED, "exit status 3")
    assert journal.kinds() == ["run-failed"]


def test_an_unknown_unit_stops_everything_before_anything_acts() -> None:
    fake = FakeSystemd()
    fake.add(FakeUnit("known.service"))
    plan = plan_of(Action("a", HERE, units=("known.service", "typo.service")))
    with pytest.raises(UnitNotUsable, match=r"typo\.service: no such unit"):
        execute(fake, plan)
    assert not ActionLedger.acted
    assert [m for m, _ in fake.calls if m.startswith(("submit", "reset"))] == []


def test_the_bus_lost_after_acting_is_reported_step_by_step_not_raised() -> None:
    fake = FakeSystemd()
    fake.add(FakeUnit("a.service"))
    fake.add(FakeUnit("b.service", script=["bus-gone"]))
    fake.add(FakeUnit("c.service"))
    plan = plan_of(
        Action("first", HERE, 10, units=("a.service",)),
        Action("second", HERE, 20, units=("b.service",)),
        Action("third", HERE, 30, units=("c.service",)),
    )
    report, journal = execute(fake, plan)
    assert results(report) == [
        ("a.service", Outcome.RESTARTED),
        ("b.service", Outcome.FAILED),
        ("c.service", Outcome.NOT_RUN),
    ]
    assert report.error is not None and "system bus" in report.error
    assert report.exit_code is ExitCode.FAILED
    assert journal.kinds() == ["unit-job-done", "unit-job-failed"]


def test_an_interrupt_while_waiting_is_reported_after_acting() -> None:
    fake = FakeSystemd()
    fake.add(FakeUnit("a.service"))
    fake.fail_next["wait_jobs"] = KeyboardInterrupt()  # type: ignore[assignment]
    report, _ = execute(fake, plan_of(Action("a", HERE, units=("a.service",))))
    assert results(report) == [("a.service", Outcome.FAILED)]
    assert report.error == "interrupted"


def test_the_bus_lost_before_anything_acted_raises() -> None:
    fake = FakeSystemd()
    fake.add(FakeUnit("a.service"))
    fake.fail_next["reset_failed"] = unreachable()
    with pytest.raises(type(unreachable())):
        execute(fake, plan_of(Action("a", HERE, units=("a.service",))))
    assert not ActionLedger.acted


def test_a_changed_unit_file_reloads_the_manager_first() -> None:
    fake = FakeSystemd()
    fake.add(FakeUnit("a.service", need_daemon_reload=True))
    report, journal = execute(fake, plan_of(Action("a", HERE, units=("a.service",))))
    assert fake.reloads == 1 and report.daemon_reloaded
    assert journal.kinds() == ["daemon-reloaded", "unit-job-done"]
    assert fake.calls.index(("reload_manager", "")) < fake.calls.index(
        ("submit:RestartUnit", "a.service")
    )


def test_a_run_action_runs_as_the_user_it_names() -> None:
    fake = FakeSystemd()
    plan = plan_of(
        Action("migrate", HERE, 10, run=("/bin/true",), user="app"),
        Action("as_root", HERE, 20, run=("/bin/true",)),
    )
    report, _ = execute(fake, plan)
    users = {r.step.actions[0]: fake.users[r.run_unit] for r in report.results}
    assert users == {"migrate": "app", "as_root": None}


def test_an_invalid_unit_name_is_a_usage_error_before_systemd_is_asked() -> None:
    fake = FakeSystemd()
    with pytest.raises(UsageError, match="bad name"):
        execute(fake, plan_of(Action("a", HERE, units=("bad name",))))
    assert fake.calls == []


def test_masked_and_broken_units_are_refused_naming_why() -> None:
    fake = FakeSystemd()
    fake.add(FakeUnit("masked.service", load_state="masked"))
    fake.add(
        FakeUnit(
            "broken.service", load_state="bad-setting", load_error="has a bad unit file setting"
        )
    )
    plan = plan_of(Action("a", HERE, units=("masked.service", "broken.service")))
    with pytest.raises(UnitNotUsable) as refused:
        execute(fake, plan)
    assert "masked.service: unit is masked" in refused.value.message
    assert (
        "broken.service: unit failed to load: bad-setting (has a bad unit file setting)"
        in refused.value.message
    )
    assert [m for m, _ in fake.calls if m.startswith(("submit", "reset"))] == []


def test_a_bug_after_acting_is_reported_as_an_internal_error_not_raised() -> None:
    fake = FakeSystemd()
    fake.add(FakeUnit("a.service"))
    fake.fail_next["wait_jobs"] = RuntimeError("boom")
    report, _ = execute(fake, plan_of(Action("a", HERE, units=("a.service",))))
    assert results(report) == [("a.service", Outcome.FAILED)]
    assert report.error == "internal error: RuntimeError: boom"
    assert report.exit_code is ExitCode.FAILED


def test_a_run_command_still_running_at_the_timeout_is_timed_out() -> None:
    fake = FakeSystemd(commands={("/bin/sleep", "60"): "hang"})
    report, journal = execute(fake, plan_of(Action("s", HERE, run=("/bin/sleep", "60"))))
    (result,) = report.results
    assert result.outcome is Outcome.TIMED_OUT
    assert result.detail == f"{result.run_unit} did not finish within 5 s; it keeps running"
    assert journal.kinds() == ["run-failed"]


def test_a_run_command_killed_by_a_signal_says_which() -> None:
    fake = FakeSystemd(commands={("/bin/migrate",): "signal:9"})
    report, _ = execute(fake, plan_of(Action("m", HERE, run=("/bin/migrate",))))
    (result,) = report.results
    assert (result.outcome, result.detail, result.unit_result) == (
        Outcome.FAILED,
        "killed by signal 9",
        "signal",
    )
    assert fake.calls_of("reset_failed") == [result.run_unit]  # collected, not left failed


def test_every_entry_of_one_apply_carries_its_deploy_id() -> None:
    fake = FakeSystemd()
    fake.add(FakeUnit("api.service", need_daemon_reload=True))
    plan = plan_of(
        Action("restart_api", HERE, units=("api.service",)),
        Action("migrate", HERE, order=10, run=("true",)),
    )
    journal = Journal()
    options = ApplyOptions("0123456789abcdef")
    Executor(fake, options, journal).run(plan)
    assert journal.kinds() == ["daemon-reloaded", "run-done", "unit-job-done"]
    assert {fields["SMARTRESTART_DEPLOY"] for _, _, fields in journal.entries} == {
        "0123456789abcdef"
    }


def test_each_apply_gets_its_own_deploy_id(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text(
        "actions:\n  a: {units: [api.service]}\nrules:\n  - {pattern: '**', actions: [a]}\n"
    )
    fake = FakeSystemd()
    fake.add(FakeUnit("api.service"))
    journal = Journal()
    monkeypatch.setattr("smartrestart.systemd.connect", lambda **_: contextlib.nullcontext(fake))
    monkeypatch.setattr("smartrestart.journal.writer.log_event", journal)
    request = ApplyRequest(
        DecideRequest((str(rules),), config_root=str(tmp_path), sources=ChangeSources(("a.py",))),
        lock_file=tmp_path / "apply.lock",
    )
    cwd = WorkingDirectory(str(tmp_path), str(tmp_path))
    reports = [run_apply(request, io.BytesIO(), cwd, print).report for _ in range(2)]
    deploys = [report.deploy_id for report in reports]
    assert deploys[0] != deploys[1]
    assert all(deploy and len(deploy) == 16 for deploy in deploys)
    # Every entry of one apply (started, the job, finished) carries that apply's id.
    ids = [fields["SMARTRESTART_DEPLOY"] for _, _, fields in journal.entries]
    assert ids == [deploys[0]] * 3 + [deploys[1]] * 3
