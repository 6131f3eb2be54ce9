"""What the executor records of an apply, field by field, against the scripted fake systemd: each
step's result, each journal entry, the time spent per phase, and the refusal before acting.

The fake's clock stands still except while jobs run (3 s per group, each job ending 0.5 s before
the wait returns), so every duration is known exactly.
"""

from __future__ import annotations

import time
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from typing import Any

import pytest

from smartrestart.apply import executor
from smartrestart.apply.executor import ApplyOptions, Execution, Executor
from smartrestart.apply.model import Outcome, Plan
from smartrestart.apply.unitcheck import check_units
from smartrestart.errors import ActionLedger, Location, UnitNotUsable, UsageError
from smartrestart.rules.model import Action, Mode
from smartrestart.systemd.backend import JobEnd, UnitState
from smartrestart.unitname import unit_name_problem
from tests import plans
from tests.fakesystemd import FakeSystemd, FakeUnit
from tests.plans import Journal

HERE = Location("r.yaml", 1)
WAIT = 3.0  # how long systemd works on each group's jobs


@pytest.fixture(autouse=True)
def known_run_unit_names(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(executor, "random_hex", lambda n: "ab" * n)


@dataclass
class TimedFake(FakeSystemd):
    """The fake with a clock, transient units that end by signal or timeout, and more records."""

    now: float = 100.0
    # Commands whose transient unit fails with this Result= instead of exit-code.
    results: dict[tuple[str, ...], str] = field(default_factory=dict)
    load_errors: dict[str, tuple[str, str]] = field(default_factory=dict)
    transient: dict[str, tuple[str, str, tuple[str, ...]]] = field(default_factory=dict)
    timeouts: list[float] = field(default_factory=list)

    def clock(self) -> float:
        return self.now

    def wait_jobs(self, jobs: Collection[str], timeout: float) -> dict[str, JobEnd]:
        self.timeouts.append(timeout)
        ends = super().wait_jobs(jobs, timeout)
        self.now += WAIT
        return {job: end._replace(finished_at=self.now - 0.5) for job, end in ends.items()}

    def can_reload(self, name: str) -> bool:
        self._record("can_reload", name)
        return super().can_reload(name)

    def unit_states(self, names: Sequence[str]) -> dict[str, UnitState]:
        states = super().unit_states(names)
        for name, (load_state, error) in self.load_errors.items():
            if name in states:
                states[name] = states[name]._replace(load_state=load_state, load_error=error)
        return states

    def start_transient(
        self,
        name: str,
        argv: Sequence[str],
        *,
        description: str,
        working_directory: str,
        environment: Sequence[str] = (),
        user: str | None = None,
    ) -> str:
        self.transient[name] = (description, working_directory, tuple(environment))
        job = super().start_transient(
            name,
            argv,
            description=description,
            working_directory=working_directory,
            environment=environment,
            user=user,
        )
        if tuple(argv) in self.results:
            self.units[name].result = self.results[tuple(argv)]
        return job


def plan_of(*actions: Action) -> Plan:
    return plans.plan_of(*actions, changed=("a.py", "b.py"))


def execute(fake: TimedFake, plan: Plan, **options: Any) -> tuple[Execution, Journal]:
    journal = Journal()
    chosen = ApplyOptions("r1", timeout=5.0, working_directory="/srv")._replace(**options)
    return Executor(fake, chosen, journal, clock=fake.clock).run(plan), journal


def unit_fields(
    unit: str, actions: str, mode: str, order: int, result: str, usec: int = 2_500_000
) -> dict[str, object]:
    return {
        "SMARTRESTART_ACTION": actions,
        "SMARTRESTART_RESULT": result,
        "SMARTRESTART_TRIGGER": "a.py b.py",
        "SMARTRESTART_DURATION_USEC": usec,
        "SMARTRESTART_DEPLOY": "r1",
        "SMARTRESTART_ORDER": order,
        "SMARTRESTART_UNIT": unit,
        "SMARTRESTART_MODE": mode,
    }


def run_fields(action: str, command: str, order: int, result: str, usec: int) -> dict[str, object]:
    return {
        "SMARTRESTART_ACTION": action,
        "SMARTRESTART_RESULT": result,
        "SMARTRESTART_TRIGGER": "a.py b.py",
        "SMARTRESTART_DURATION_USEC": usec,
        "SMARTRESTART_DEPLOY": "r1",
        "SMARTRESTART_ORDER": order,
        "SMARTRESTART_UNIT": f"smartrestart-run-{action}-abababab.service",
        "SMARTRESTART_COMMAND": command,
    }


def test_every_step_is_recorded_with_its_order_detail_and_duration() -> None:
    fake = TimedFake(
        commands={("/usr/bin/k",): 9, ("/usr/bin/t",): 1, ("/usr/bin/slow",): "hang"},
        results={("/usr/bin/k",): "signal", ("/usr/bin/t",): "timeout"},
    )
    api = fake.add(FakeUnit("api.service"))
    api_before = api.invocation_id
    bad = fake.add(FakeUnit("bad.service", script=["failed"]))
    bad_before = bad.invocation_id
    stuck = fake.add(FakeUnit("stuck.service", script=["hang"]))
    for name in ("later.service", "last.service"):
        fake.add(FakeUnit(name))
    plan = plan_of(
        Action("web", HERE, 10, units=("api.service",)),
        Action("web2", HERE, 10, units=("api.service",), mode=Mode.RELOAD_OR_RESTART),
        Action("migrate", HERE, 10, run=("/usr/bin/migrate", "--all"), user="app"),
        Action("broken", HERE, 20, units=("bad.service",)),
        Action("killed", HERE, 20, run=("/usr/bin/k",)),
        Action("crashy", HERE, 20, run=("/usr/bin/t",)),
        Action("slow", HERE, 20, run=("/usr/bin/slow",)),
        Action("stuck", HERE, 20, units=("stuck.service",)),
        Action("later", HERE, 30, units=("later.service",)),
        Action("last", HERE, 40, units=("last.service",)),
    )
    cpu_before = time.process_time()
    execution, journal = execute(fake, plan)
    cpu_spent = time.process_time() - cpu_before
    assert execution.plan == plan
    assert (execution.daemon_reloaded, execution.error) == (False, None)
    assert [
        (r.step.label, r.order, r.outcome, r.detail, r.job_result, r.seconds, r.unit_result)
        for r in execution.results
    ] == [
        ("run: /usr/bin/migrate --all", 10, Outcome.SUCCEEDED, "", "done", 2.5, ""),
        ("api.service", 10, Outcome.RESTARTED, "", "done", 2.5, "success"),
        ("run: /usr/bin/t", 20, Outcome.FAILED, "timeout", "failed", 2.5, "timeout"),
        ("run: /usr/bin/k", 20, Outcome.FAILED, "killed by signal 9", "failed", 2.5, "signal"),
        (
            "run: /usr/bin/slow",
            20,
            Outcome.TIMED_OUT,
            "smartrestart-run-slow-abababab.service did not finish within 5 s; it keeps running",
            None,
            WAIT,
            "",
        ),
        ("bad.service", 20, Outcome.FAILED, "job failed", "failed", 2.5, "exit-code"),
        (
            "stuck.service",
            20,
            Outcome.TIMED_OUT,
            "no result within 5 s; the job is still queued in systemd",
            None,
            WAIT,
            "success",
        ),
        ("later.service", 30, Outcome.NOT_RUN, "an earlier group failed", None, 0.0, ""),
        ("last.service", 40, Outcome.NOT_RUN, "an earlier group failed", None, 0.0, ""),
    ]
    assert [(r.old_invocation_id, r.new_invocation_id, r.unit_id) for r in execution.results] == [
        ("", "", ""),
        (api_before, api.invocation_id, "api.service"),
        *[("", "", "")] * 3,
        (bad_before, bad.invocation_id, "bad.service"),
        (stuck.invocation_id, stuck.invocation_id, "stuck.service"),
        *[("", "", "")] * 2,
    ]
    assert [r.run_unit for r in execution.results] == [
        "smartrestart-run-migrate-abababab.service",
        "",
        "smartrestart-run-crashy-abababab.service",
        "smartrestart-run-killed-abababab.service",
        "smartrestart-run-slow-abababab.service",
        *[""] * 4,
    ]
    assert journal.entries == [
        (
            "run-done",
            "action migrate: succeeded",
            run_fields("migrate", "/usr/bin/migrate --all", 10, "succeeded", 2_500_000),
        ),
        (
            "unit-job-done",
            "api.service: restarted (web web2)",
            unit_fields("api.service", "web web2", "restart", 10, "restarted")
            | {
                "SMARTRESTART_OLD_INVOCATION_ID": api_before,
                "SMARTRESTART_NEW_INVOCATION_ID": api.invocation_id,
                "SMARTRESTART_UNIT_RESULT": "success",
            },
        ),
        (
            "run-failed",
            "action crashy: failed: timeout",
            run_fields("crashy", "/usr/bin/t", 20, "failed", 2_500_000),
        ),
        (
            "run-failed",
            "action killed: failed: killed by signal 9",
            run_fields("killed", "/usr/bin/k", 20, "failed", 2_500_000),
        ),
        (
            "run-failed",
            "action slow: timed-out: smartrestart-run-slow-abababab.service did not finish"
            " within 5 s; it keeps running",
            run_fields("slow", "/usr/bin/slow", 20, "timed-out", 3_000_000),
        ),
        (
            "unit-job-failed",
            "bad.service: failed (broken): job failed",
            unit_fields("bad.service", "broken", "restart", 20, "failed")
            | {
                "SMARTRESTART_OLD_INVOCATION_ID": bad_before,
                "SMARTRESTART_NEW_INVOCATION_ID": bad.invocation_id,
                "SMARTRESTART_UNIT_RESULT": "exit-code",
            },
        ),
        (
            "unit-job-failed",
            "stuck.service: timed-out (stuck): no result within 5 s; the job is still queued in"
            " systemd",
            unit_fields("stuck.service", "stuck", "restart", 20, "timed-out", 3_000_000)
            | {
                "SMARTRESTART_OLD_INVOCATION_ID": stuck.invocation_id,
                "SMARTRESTART_NEW_INVOCATION_ID": stuck.invocation_id,
                "SMARTRESTART_UNIT_RESULT": "success",
            },
        ),
    ]
    # Failed transient units are reset, so systemd collects them; the hung one keeps running.
    assert [n for n in fake.calls_of("reset_failed") if n.startswith("smartrestart-run-")] == [
        "smartrestart-run-crashy-abababab.service",
        "smartrestart-run-killed-abababab.service",
    ]
    assert fake.transient["smartrestart-run-migrate-abababab.service"] == (
        "smartrestart action migrate",
        "/srv",
        ("SMARTRESTART_ACTION=migrate", "SMARTRESTART_DEPLOY=r1"),
    )
    assert fake.timeouts == [5.0, 5.0]
    assert fake.calls_of("can_reload") == []  # a restart covers the reload-or-restart
    timing = dict(execution.timing)
    assert 0.0 <= timing.pop("cpu") <= cpu_spent
    assert timing == {"check": 0.0, "submit": 0.0, "wait": 2 * WAIT, "verify": 0.0}


def test_only_a_running_reload_or_restart_unit_is_asked_whether_it_can_reload() -> None:
    fake = TimedFake()
    fake.add(FakeUnit("web.service", can_reload=True))
    fake.add(FakeUnit("stopped.service", active_state="inactive", sub_state="dead"))
    fake.add(FakeUnit("api.service"))
    reload_or_restart = Mode.RELOAD_OR_RESTART
    plan = plan_of(
        Action("w", HERE, units=("web.service", "stopped.service"), mode=reload_or_restart),
        Action("a", HERE, units=("api.service",)),
    )
    execution, _ = execute(fake, plan)
    assert fake.calls_of("can_reload") == ["web.service"]
    assert [(r.step.unit, r.outcome) for r in execution.results] == [
        ("api.service", Outcome.RESTARTED),
        ("web.service", Outcome.RELOADED),
        ("stopped.service", Outcome.STARTED),
    ]


def test_a_daemon_reload_is_recorded_and_logged_with_the_changed_units() -> None:
    fake = TimedFake()
    for name in ("a.service", "b.service"):
        fake.add(FakeUnit(name, need_daemon_reload=True))
    execution, journal = execute(
        fake, plan_of(Action("ab", HERE, units=("a.service", "b.service")))
    )
    assert execution.daemon_reloaded is True
    assert ActionLedger.acted == "a daemon-reload"
    assert journal.entries[0] == (
        "daemon-reloaded",
        "reloaded systemd: a.service, b.service changed on disk",
        {"SMARTRESTART_UNIT": "a.service b.service", "SMARTRESTART_DEPLOY": "r1"},
    )


def test_a_refused_job_keeps_its_reason_when_a_later_error_stops_the_apply() -> None:
    fake = TimedFake()
    fake.add(FakeUnit("refused.service", script=["refuse"]))
    fake.add(FakeUnit("a.service"))
    fake.fail_next["wait_jobs"] = RuntimeError("boom")
    plan = plan_of(
        Action("first", HERE, 10, units=("refused.service", "a.service")),
        Action("second", HERE, 20, units=("a.service",)),
    )
    execution, journal = execute(fake, plan)
    stopped = "apply stopped: internal error: RuntimeError: boom"
    assert execution.error == "internal error: RuntimeError: boom"
    assert [(r.step.label, r.order, r.outcome, r.detail) for r in execution.results] == [
        ("refused.service", 10, Outcome.FAILED, "RestartUnit refused.service: refused by the fake"),
        ("a.service", 10, Outcome.FAILED, stopped),
        ("a.service", 20, Outcome.NOT_RUN, stopped),
    ]
    assert [message for _, message, _ in journal.entries] == [
        "refused.service: failed (first): RestartUnit refused.service: refused by the fake",
        f"a.service: failed (first): {stopped}",
    ]


def test_bad_unit_names_are_refused_together_before_systemd_is_asked() -> None:
    fake = TimedFake()
    with pytest.raises(UsageError) as caught:
        check_units(plan_of(Action("a", HERE, units=("bad name", "no-suffix"))), fake)
    problems = [unit_name_problem("bad name"), unit_name_problem("no-suffix")]
    assert caught.value.message == f"{problems[0]}; {problems[1]}"
    assert fake.calls == []


def test_units_systemd_cannot_use_are_refused_together_with_what_is_wrong() -> None:
    fake = TimedFake(
        load_errors={
            "masked.service": ("masked", ""),
            "broken.service": ("bad-setting", "Unit has a bad setting"),
            "error.service": ("error", ""),
        }
    )
    for name in ("masked.service", "broken.service", "error.service", "fine.service"):
        fake.add(FakeUnit(name))
    units = ("missing.service", "masked.service", "broken.service", "error.service", "fine.service")
    with pytest.raises(UnitNotUsable) as caught:
        check_units(plan_of(Action("a", HERE, units=units)), fake)
    assert (caught.value.message, caught.value.hint) == (
        "refusing to act, nothing was restarted: missing.service: no such unit; "
        "masked.service: unit is masked; "
        "broken.service: unit failed to load: bad-setting (Unit has a bad setting); "
        "error.service: unit failed to load: error",
        "check the unit names in the rules (systemctl list-unit-files)",
    )


def test_a_unit_without_a_result_is_recorded_without_one() -> None:
    class NoResult(TimedFake):
        """A backend that read no Result= (a target has none)."""

        def unit_states(self, names: Sequence[str]) -> dict[str, UnitState]:
            return {n: s._replace(result=None) for n, s in super().unit_states(names).items()}

    fake = NoResult()
    fake.add(FakeUnit("app.target"))
    execution, journal = execute(fake, plan_of(Action("t", HERE, 10, units=("app.target",))))
    (result,) = execution.results
    assert (result.outcome, result.unit_result) == (Outcome.RESTARTED, "")
    assert [f.get("SMARTRESTART_UNIT_RESULT") for _, _, f in journal.entries] == [None]


def test_after_an_error_diff_does_not_claim_the_units_states_after() -> None:
    fake = TimedFake()
    fake.add(FakeUnit("a.service"))
    plan = plan_of(Action("first", HERE, 10, units=("a.service",)))
    execution, _ = execute(fake, plan, diff=True)
    assert execution.details["a.service"].after is not None  # read again after a good apply
    fake.fail_next["wait_jobs"] = RuntimeError("boom")
    execution, _ = execute(fake, plan, diff=True)
    assert execution.error is not None
    assert execution.details["a.service"].after is None  # not read: the apply broke off


def test_a_failed_run_step_gets_its_run_units_journal_lines(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from smartrestart.logs import run as logs_run

    asked: list[tuple[str, str, int]] = []

    def lines(invocation_id: str, unit: str, count: int) -> list[str]:
        asked.append((invocation_id, unit, count))
        return ["it broke"]

    monkeypatch.setattr(logs_run, "invocation_lines", lines)
    fake = TimedFake(commands={("/usr/bin/migrate",): 1})
    plan = plan_of(Action("migrate", HERE, 10, run=("/usr/bin/migrate",)))
    execution, _ = execute(fake, plan, journal_lines=3)
    (result,) = execution.results
    assert (result.outcome, result.journal) == (Outcome.FAILED, ("it broke",))
    assert asked == [("", "smartrestart-run-migrate-abababab.service", 3)]
