"""The failure handler's orchestration against the scripted fake systemd.

What systemd does around the handler (OnFailure= timing, transient timers,
start limits) is proven in the beds (tests/integration/test_budget_handler.py);
these pin down what the handler itself does with the verdicts: which jobs,
which journal entries, which records, and retrying a failed action.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

from smartrestart.budget.dropin import render_dropin
from smartrestart.budget.model import Budget, Escalation, EscalationVerb, RestartType
from smartrestart.budget.translate import translate
from smartrestart.errors import JobFailed, Location, UsageError
from smartrestart.handle.model import MAX_ACTION_ATTEMPTS, Verdict
from smartrestart.handle.run import handle_cooldown, handle_failure, run_handler
from smartrestart.statefile import JsonFile
from tests.fakesystemd import FakeSystemd, FakeUnit

HERE = Location("/srv/app/restart-rules.yaml", 3)


class Journal:
    def __init__(self) -> None:
        self.kinds: list[str] = []
        self.fields: list[Mapping[str, object]] = []

    def __call__(self, kind: str, message: str, fields: Mapping[str, object]) -> None:
        self.kinds.append(kind)
        self.fields.append(fields)


def failed_unit(fake: FakeSystemd, tmp_path: Path, budget: Budget, **state: object) -> FakeUnit:
    """The unit as the handler meets it: failed, with our drop-in loaded."""
    dropin = tmp_path / f"{budget.unit}.d/50-smartrestart.conf"
    dropin.parent.mkdir(parents=True)
    dropin.write_text(render_dropin(translate(budget, 257), str(HERE.file)))
    unit = FakeUnit(
        budget.unit,
        active_state="failed",
        sub_state="failed",
        result="exit-code",
        exec_main_status=1,
        dropins=[str(dropin)],
    )
    for name, value in state.items():
        setattr(unit, name, value)
    return fake.add(unit)


def record(tmp_path: Path, unit: str) -> object:
    return JsonFile(tmp_path / "state", f"{unit}.json").load({})


def handle(fake: FakeSystemd, unit: str, tmp_path: Path, journal: Journal) -> Verdict:
    return handle_failure(
        fake, unit, journal, now=lambda: 100.0, state_dir=tmp_path / "state"
    ).verdict


def test_an_exhausted_permanent_unit_escalates_and_the_failure_is_handled(tmp_path: Path) -> None:
    fake = FakeSystemd()
    fake.add(FakeUnit("app.target"))
    budget = Budget(
        "api.service",
        HERE,
        intensity=3,
        period_usec=30_000_000,
        on_exhausted=Escalation(EscalationVerb.STOP, "app.target"),
    )
    unit = failed_unit(fake, tmp_path, budget)
    journal = Journal()
    assert handle(fake, "api.service", tmp_path, journal) is Verdict.ESCALATE
    assert fake.calls_of("submit:StopUnit") == ["app.target"]
    assert journal.kinds == ["escalated"]
    assert journal.fields[0]["SMARTRESTART_ESCALATION"] == "stop app.target"
    saved = record(tmp_path, "api.service")
    assert isinstance(saved, dict) and saved["last_handled_invocation"] == unit.invocation_id
    # Run again for the same failure (OnFailure= on 257 fires per failure): nothing more.
    assert handle(fake, "api.service", tmp_path, journal) is Verdict.IGNORE
    assert fake.calls_of("submit:StopUnit") == ["app.target"]


def test_a_unit_still_restarting_is_left_alone(tmp_path: Path) -> None:
    fake = FakeSystemd()
    budget = Budget("api.service", HERE, intensity=3, period_usec=30_000_000)
    failed_unit(fake, tmp_path, budget, active_state="activating", sub_state="auto-restart")
    journal = Journal()
    assert handle(fake, "api.service", tmp_path, journal) is Verdict.IGNORE
    assert journal.kinds == ["failure-ignored"]
    assert [m for m, _ in fake.calls if m.startswith(("submit", "start_timer"))] == []
    assert record(tmp_path, "api.service") == {}


def test_a_transient_unit_cools_down_then_starts_again(tmp_path: Path) -> None:
    fake = FakeSystemd()
    budget = Budget(
        "worker.service",
        HERE,
        RestartType.TRANSIENT,
        intensity=3,
        period_usec=30_000_000,
        cooldown_usec=5_000_000,
        max_cooldown_cycles=2,
    )
    unit = failed_unit(fake, tmp_path, budget)
    journal = Journal()
    assert handle(fake, "worker.service", tmp_path, journal) is Verdict.COOLDOWN
    timer = fake.lookup("smartrestart-cooldown@worker.service.timer")
    assert timer is not None and timer.timers == [
        ("smartrestart-cooldown@worker.service.timer", 5_000_000)
    ]
    assert journal.kinds == ["cooldown-scheduled"]
    assert journal.fields[0]["SMARTRESTART_CYCLE"] == 1
    handle_cooldown(
        fake, "worker.service", journal, now=lambda: 200.0, state_dir=tmp_path / "state"
    )
    assert fake.calls_of("reset_failed") == ["worker.service"]
    assert fake.calls_of("submit:StartUnit") == ["worker.service"]
    assert unit.active_state == "active"
    assert journal.kinds[-1] == "cooldown-restart"


def test_a_failed_escalation_is_retried_then_given_up(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = FakeSystemd()
    budget = Budget(
        "api.service",
        HERE,
        intensity=1,
        period_usec=10_000_000,
        on_exhausted=Escalation(EscalationVerb.RESTART, "app.target"),
    )
    failed_unit(fake, tmp_path, budget)
    fake.add(FakeUnit("app.target", script=["hang"] * MAX_ACTION_ATTEMPTS))
    journal = Journal()
    monkeypatch.setattr("smartrestart.handle.run.ESCALATION_TIMEOUT", 0.01)
    for attempt in range(1, MAX_ACTION_ATTEMPTS + 1):
        with pytest.raises(JobFailed, match=r"escalation 'restart app\.target' failed"):
            handle(fake, "api.service", tmp_path, journal)
        saved = record(tmp_path, "api.service")
        assert isinstance(saved, dict)
        if attempt < MAX_ACTION_ATTEMPTS:  # not marked handled: the handler unit runs again
            assert saved.get("failed_attempts") == attempt
            assert not saved.get("last_handled_invocation")
    assert journal.kinds == ["gave-up"]
    assert fake.calls_of("submit:RestartUnit") == ["app.target"] * MAX_ACTION_ATTEMPTS


def test_a_malformed_dropin_names_the_key(tmp_path: Path) -> None:
    fake = FakeSystemd()
    budget = Budget("api.service", HERE, on_exhausted=Escalation(EscalationVerb.STOP, "a.target"))
    unit = failed_unit(fake, tmp_path, budget)
    dropin = Path(unit.dropins[0])
    dropin.write_text(dropin.read_text().replace("stop a.target", "explode"))
    with pytest.raises(UsageError, match=r"X-SmartRestart-OnExhausted=explode: 'explode' is not"):
        handle(fake, "api.service", tmp_path, Journal())


def test_a_unit_without_our_dropin_is_refused(tmp_path: Path) -> None:
    fake = FakeSystemd()
    fake.add(FakeUnit("plain.service", active_state="failed"))
    with pytest.raises(UsageError, match="has no drop-in written by `smartrestart generate`"):
        handle(fake, "plain.service", tmp_path, Journal())


def escalating_unit(fake: FakeSystemd, tmp_path: Path) -> FakeUnit:
    budget = Budget(
        "api.service",
        HERE,
        intensity=1,
        period_usec=10_000_000,
        on_exhausted=Escalation(EscalationVerb.RESTART, "app.target"),
    )
    return failed_unit(fake, tmp_path, budget)


def test_an_escalation_job_that_fails_is_an_error_naming_its_result(tmp_path: Path) -> None:
    fake = FakeSystemd()
    escalating_unit(fake, tmp_path)
    fake.add(FakeUnit("app.target", script=["failed"]))
    journal = Journal()
    with pytest.raises(JobFailed, match=r"escalation 'restart app\.target' failed: the job ended"):
        handle(fake, "api.service", tmp_path, journal)
    assert journal.kinds == []  # retried by the handler unit, not yet given up
    saved = record(tmp_path, "api.service")
    assert isinstance(saved, dict) and saved["failed_attempts"] == 1


def test_only_our_readable_dropin_is_read(tmp_path: Path) -> None:
    fake = FakeSystemd()
    unit = escalating_unit(fake, tmp_path)
    fake.add(FakeUnit("app.target"))
    ours = unit.dropins[0]
    other = tmp_path / "api.service.d/10-local.conf"  # another drop-in: not looked at
    other.write_text("[Service]\nRestart=no\n")
    foreign = tmp_path / "late.d/50-smartrestart.conf"  # our name, not our header
    foreign.parent.mkdir()
    foreign.write_text("[Service]\nRestart=always\n")
    unit.dropins = [ours, str(other), str(foreign)]
    assert handle(fake, "api.service", tmp_path, Journal()) is Verdict.ESCALATE
    unreadable = tmp_path / "later.d/50-smartrestart.conf"
    unreadable.mkdir(parents=True)  # a directory where the drop-in should be
    unit.dropins = [ours, str(unreadable)]
    with pytest.raises(UsageError, match=rf"cannot read {unreadable}: Is a directory"):
        handle(fake, "api.service", tmp_path, Journal())


@pytest.mark.parametrize(
    "kept",
    [
        [1, 2],  # not an object
        {"cycles": 1, "from_a_later_version": True},  # a key we do not know
        {"cycles": "one"},  # a value of the wrong type
    ],
)
def test_a_record_not_as_we_wrote_it_starts_fresh(tmp_path: Path, kept: object) -> None:
    fake = FakeSystemd()
    unit = escalating_unit(fake, tmp_path)
    fake.add(FakeUnit("app.target"))
    JsonFile(tmp_path / "state", "api.service.json").save(kept)
    assert handle(fake, "api.service", tmp_path, Journal()) is Verdict.ESCALATE
    saved = record(tmp_path, "api.service")
    assert isinstance(saved, dict)
    assert (saved["cycles"], saved["last_handled_invocation"]) == (0, unit.invocation_id)


def test_a_record_that_cannot_be_saved_is_a_failed_action(tmp_path: Path) -> None:
    fake = FakeSystemd()
    escalating_unit(fake, tmp_path)
    fake.add(FakeUnit("app.target"))
    (tmp_path / "state").write_text("a file where the directory should be")
    with pytest.raises(JobFailed, match="cannot save"):
        handle(fake, "api.service", tmp_path, Journal())


def test_run_handler_logs_through_the_journal_and_returns_a_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = FakeSystemd()
    escalating_unit(fake, tmp_path)
    fake.add(FakeUnit("app.target"))
    journal = Journal()
    monkeypatch.setattr("smartrestart.journal.writer.log_event", journal)
    monkeypatch.setattr(
        "smartrestart.handle.run.HANDLERS",
        {"failure": lambda b, u, log: handle_failure(b, u, log, state_dir=tmp_path / "state")},
    )

    @contextlib.contextmanager
    def connect() -> Iterator[FakeSystemd]:
        yield fake

    line = run_handler("failure", "api.service", connect=connect)
    assert line == "api.service: escalate: restart budget exhausted (exit-code)"
    assert journal.kinds == ["escalated"]
    with pytest.raises(UsageError):
        run_handler("failure", "not a unit name", connect=connect)
    assert journal.kinds[-1] == "handler-failed"
    assert journal.fields[-1]["SMARTRESTART_EXIT_STATUS"] == 2
    assert fake.calls_of("submit:RestartUnit") == ["app.target"]  # the bad name reached nothing


def test_a_temporary_unit_is_given_up_on_without_any_job(tmp_path: Path) -> None:
    fake = FakeSystemd()
    budget = Budget("batch.service", HERE, RestartType.TEMPORARY)
    unit = failed_unit(fake, tmp_path, budget)
    journal = Journal()
    assert handle(fake, "batch.service", tmp_path, journal) is Verdict.GIVE_UP
    assert journal.kinds == ["gave-up"]
    assert journal.fields[0]["SMARTRESTART_REASON"] == (
        "restart: temporary, never restarted (exit-code)"
    )
    assert [m for m, _ in fake.calls if m.startswith(("submit", "start_timer"))] == []
    saved = record(tmp_path, "batch.service")
    assert isinstance(saved, dict) and saved["last_handled_invocation"] == unit.invocation_id
