"""apply --check, --settle and --diff, and a failed step's journal lines, on the scripted fake.

What systemd does (a Type=simple start done once forked, InvocationID in the
journal) is proven in the beds (tests/integration/test_apply_settle.py); here:
that the check predicts exactly what the run then reports, that settling fails
a unit that died or was restarted and only that one, and what the report holds.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Mapping

import pytest

from smartrestart.apply.executor import ApplyOptions, Executor
from smartrestart.apply.model import Outcome, Plan, Report
from smartrestart.apply.output import report_json, step_json
from smartrestart.apply.preview import preview
from smartrestart.apply.settle import watch_started
from smartrestart.errors import ExitCode, Location, UnitNotUsable
from smartrestart.journal.reader import Query
from smartrestart.logs.run import invocation_lines
from smartrestart.rules.model import Action, Mode
from tests.fakesystemd import FakeSystemd, FakeUnit
from tests.plans import plan_of

HERE = Location("r.yaml", 1)


def ignore(kind: str, message: str, fields: Mapping[str, object]) -> None:
    pass


class Clock:
    """Time that moves only when the code under test sleeps."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def run(fake: FakeSystemd, plan: Plan, **options: object) -> Report:
    execution = Executor(fake, ApplyOptions("d1", **options), ignore).run(plan)  # type: ignore[arg-type]
    return Report(execution.plan, execution.results, details=execution.details)


def outcomes(report: Report) -> list[tuple[str | None, Outcome]]:
    return [(r.step.unit, r.outcome) for r in report.results]


MODES = list(Mode)
STATES = ["active", "inactive", "failed"]
CASES = list(itertools.product(MODES, STATES, [0, 1]))


@pytest.mark.parametrize(("mode", "state", "can_reload"), CASES)
def test_check_predicts_exactly_what_the_run_reports(
    mode: Mode, state: str, can_reload: int
) -> None:
    def fleet() -> FakeSystemd:
        fake = FakeSystemd()
        fake.add(FakeUnit("a.service", active_state=state, can_reload=bool(can_reload)))
        return fake

    plan = plan_of(Action("a", HERE, units=("a.service",), mode=mode))
    checking = fleet()
    predicted = preview(plan, (), checking)
    assert [m for m, _ in checking.calls if m.startswith("submit") or m == "reset_failed"] == []
    if mode is Mode.RELOAD and state != "active":
        # systemd refuses to reload a unit that is not running: the fake does not know that.
        assert outcomes(predicted) == [("a.service", Outcome.FAILED)]
        return
    real = run(fleet(), plan)
    assert outcomes(predicted) == outcomes(real)
    assert predicted.changed == real.changed


def test_check_of_a_run_action_predicts_it_runs_and_changes() -> None:
    plan = plan_of(Action("migrate", HERE, run=("true",)))
    report = preview(plan, (), FakeSystemd())
    assert [r.outcome for r in report.results] == [Outcome.SUCCEEDED]
    assert report.changed
    assert report.exit_code is ExitCode.FAILED  # as generate --check: something would change


def test_check_of_nothing_to_do_exits_0() -> None:
    fake = FakeSystemd()
    fake.add(FakeUnit("a.service", active_state="inactive"))
    report = preview(
        plan_of(Action("a", HERE, units=("a.service",), mode=Mode.TRY_RESTART)), (), fake
    )
    assert not report.changed
    assert report.exit_code is ExitCode.OK


def test_check_refuses_a_missing_unit_as_the_run_does() -> None:
    with pytest.raises(UnitNotUsable, match=r"nope\.service: no such unit"):
        preview(plan_of(Action("a", HERE, units=("nope.service",))), (), FakeSystemd())


def test_check_says_a_daemon_reload_would_come_first() -> None:
    fake = FakeSystemd()
    fake.add(FakeUnit("a.service", need_daemon_reload=True))
    report = preview(plan_of(Action("a", HERE, units=("a.service",))), (), fake)
    assert report.daemon_reloaded and report.check
    assert fake.reloads == 0
    assert report_json(report, {})["check"] is True


def test_settle_fails_a_unit_that_died_right_after_starting() -> None:
    fake = FakeSystemd()
    fake.add(FakeUnit("dies.service", script=["dies"]))
    fake.add(FakeUnit("ok.service"))
    plan = plan_of(
        Action("both", HERE, 10, units=("dies.service", "ok.service")),
        Action("later", HERE, 20, units=("ok.service",)),
    )
    unsettled = run(fake, plan)
    assert outcomes(unsettled)[0] == ("dies.service", Outcome.RESTARTED)  # what systemd said

    fake = FakeSystemd()
    fake.add(FakeUnit("dies.service", script=["dies"]))
    fake.add(FakeUnit("ok.service"))
    report = run(fake, plan, settle=0.2)
    assert outcomes(report) == [
        ("dies.service", Outcome.FAILED),
        ("ok.service", Outcome.RESTARTED),
        ("ok.service", Outcome.NOT_RUN),
    ]
    failed = report.results[0]
    assert failed.unit_result == "exit-code"
    assert "unit is failed (exit-code) within 0.2 s after it started" in failed.detail


def test_settle_fails_a_unit_systemd_restarted_meanwhile() -> None:
    fake = FakeSystemd()
    unit = fake.add(FakeUnit("crashy.service", script=["crash-restarted"]))
    report = run(fake, plan_of(Action("a", HERE, units=("crashy.service",))), settle=1)
    (result,) = report.results
    assert result.outcome is Outcome.FAILED
    assert "systemd started the unit again" in result.detail
    assert result.new_invocation_id != unit.invocation_id
    assert result.unit_result == ""  # Result= belongs to the newer invocation


def test_settle_watches_for_the_whole_window_and_no_longer() -> None:
    fake = FakeSystemd()
    fake.add(FakeUnit("a.service"))
    fake.add(FakeUnit("b.service", active_state="inactive"))
    plan = plan_of(
        Action("a", HERE, units=("a.service",)),
        Action("b", HERE, units=("b.service",), mode=Mode.TRY_RESTART),
    )
    execution = Executor(fake, ApplyOptions("d1"), ignore).run(plan)
    clock = Clock()
    before = len(fake.calls)
    settled = watch_started(fake, dict(enumerate(execution.results)), 1.0, clock, clock.sleep)
    assert [r.outcome for r in settled.values()] == [Outcome.RESTARTED, Outcome.NOT_RUNNING]
    assert clock.now == pytest.approx(1.0)
    assert max(clock.sleeps) <= 0.05
    # Only the unit that was started is watched.
    assert {name for _, name in fake.calls[before:]} == {"a.service"}


def test_settle_stops_watching_once_every_unit_failed() -> None:
    fake = FakeSystemd()
    fake.add(FakeUnit("dies.service", script=["dies"]))
    execution = Executor(fake, ApplyOptions("d1"), ignore).run(
        plan_of(Action("a", HERE, units=("dies.service",)))
    )
    clock = Clock()
    settled = watch_started(fake, dict(enumerate(execution.results)), 30.0, clock, clock.sleep)
    assert settled[0].outcome is Outcome.FAILED
    assert clock.now == 0.0


def test_settle_accepts_a_oneshot_that_finished() -> None:
    fake = FakeSystemd()
    fake.add(FakeUnit("job.service", service_type="oneshot", active_state="inactive"))
    unit = fake.units["job.service"]
    unit.script = ["done"]
    report = run(
        fake, plan_of(Action("a", HERE, units=("job.service",), mode=Mode.START)), settle=0.1
    )
    assert report.results[0].ok


def test_diff_reports_each_unit_before_and_after() -> None:
    fake = FakeSystemd()
    fake.add(FakeUnit("a.service", main_pid=10, active_enter_usec=1_700_000_000_000_000))
    report = run(fake, plan_of(Action("a", HERE, units=("a.service",))), diff=True)
    snapshot = report.details["a.service"]
    assert snapshot.after is not None
    assert snapshot.before.main_pid == 10 and snapshot.after.main_pid == 110
    diff = step_json(report.results[0], report)["diff"]
    assert diff["before"]["invocation_id"] == report.results[0].old_invocation_id
    assert diff["after"]["invocation_id"] == report.results[0].new_invocation_id
    assert diff["after"]["active_enter_timestamp"].startswith("2023-11-14")
    assert (
        run(
            FakeSystemd(units=dict(fake.units)), plan_of(Action("a", HERE, units=("a.service",)))
        ).details
        == {}
    )


def test_a_failed_step_carries_its_invocations_last_journal_lines() -> None:
    queries: list[Query] = []

    def journal(query: Query) -> Iterator[dict[str, str]]:
        queries.append(query)
        newest = [
            {
                "__REALTIME_TIMESTAMP": "2000000",
                "_PID": "1",
                "SYSLOG_IDENTIFIER": "systemd",
                "MESSAGE": "a.service: Failed with result 'exit-code'.",
            },
            {
                "__REALTIME_TIMESTAMP": "1000000",
                "_PID": "42",
                "SYSLOG_IDENTIFIER": "app",
                "MESSAGE": "config error",
            },
        ]
        return iter(newest)

    flushed: list[bool] = []
    lines = invocation_lines(
        "ab" * 16,
        "",
        10,
        read_journal=journal,  # type: ignore[arg-type]
        flush=lambda: flushed.append(True),
    )
    assert flushed == [True]  # what the service printed last may still be queued in journald
    assert [line.split(" ", 1)[1] for line in lines] == [
        "app[42]: config error",
        "systemd[1]: a.service: Failed with result 'exit-code'.",
    ]
    (query,) = queries
    assert query.reverse and query.lines == 10
    assert [("_SYSTEMD_INVOCATION_ID", "ab" * 16)] in [list(m) for m in query.matches]


def test_the_executor_attaches_journal_lines_to_failed_steps_only(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    asked: list[tuple[str, str, int]] = []

    def lines(invocation_id: str, unit: str, count: int) -> list[str]:
        asked.append((invocation_id, unit, count))
        return ["boom"]

    monkeypatch.setattr("smartrestart.logs.run.invocation_lines", lines)
    fake = FakeSystemd()
    fake.add(FakeUnit("bad.service", script=["failed"]))
    fake.add(FakeUnit("good.service"))
    report = run(
        fake, plan_of(Action("a", HERE, units=("bad.service", "good.service"))), journal_lines=5
    )
    assert [r.journal for r in report.results] == [("boom",), ()]
    assert asked == [(report.results[0].new_invocation_id, "", 5)]
    assert step_json(report.results[0], report)["journal"] == ["boom"]
    assert step_json(report.results[1], report)["journal"] is None
