"""status: the history read back from journal entries, the window, and the orchestration.

The entry sequences below are the ones systemd 252 and 257 wrote in the beds
for a unit exiting 1 at once under StartLimitBurst=4 (the refused fourth
restart included); what systemd does is proven in tests/integration/test_status.py.
"""

from __future__ import annotations

import json
from collections.abc import Generator, Iterable
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from smartrestart.budget.model import Budget
from smartrestart.errors import ExitCode, Location, UsageError
from smartrestart.handle.model import CycleRecord
from smartrestart.journal.events import EVENTS
from smartrestart.journal.reader import Query
from smartrestart.status.history import (
    SYSTEMD_EVENTS,
    Cause,
    DeployStep,
    EventKind,
    Start,
    UnitEvent,
    UnitHistory,
)
from smartrestart.status.model import (
    budget_for,
    budget_view,
    cooldown_of,
    exit_code,
    last_start,
    start_limit_window,
)
from smartrestart.status.output import render_text, status_json
from smartrestart.status.run import Clock, StatusRequest, run_status
from smartrestart.systemd.backend import UnitState
from tests.fakesystemd import FakeSystemd, FakeUnit
from tests.testbed import PROJECT

SECOND = 1_000_000
HERE = Location("rules.yaml", 3)
SCHEMA = json.loads((PROJECT / "src/smartrestart/schemas/status-report.schema.json").read_text())
MESSAGE_ID = {kind: mid for mid, kind in SYSTEMD_EVENTS.items()}
RUNS = A, B, C, D = ("a" * 32, "b" * 32, "c" * 32, "d" * 32)  # invocation ids, oldest first
E = "e" * 32


def event(kind: EventKind, invocation: str, second: float, **extra: str) -> UnitEvent:
    usec = round(second * SECOND)
    return UnitEvent(kind, invocation, usec, 1_700_000_000 * SECOND + usec, **extra)


def crash_loop(start: float = 100.0, refused: bool = True) -> list[UnitEvent]:
    """Oldest first: the first start and 3 automatic restarts, each run exiting 1."""
    events: list[UnitEvent] = []
    for index, run in enumerate(RUNS):
        at = start + index * 0.25
        events.append(event(EventKind.STARTED, run, at, job_id="240"))
        events.append(event(EventKind.FAILED, run, at + 0.01, unit_result="exit-code"))
        if index < 3 or refused:
            events.append(event(EventKind.RESTART_SCHEDULED, run, at + 0.2))
    if refused:  # the fourth restart is refused: no new run, the same invocation
        events.append(event(EventKind.FAILED, D, start + 0.96, unit_result="exit-code"))
        events.append(event(EventKind.START_FAILED, D, start + 0.97))
    return events


def history_of(events: Iterable[UnitEvent], current: str, period: int = 30 * SECOND) -> UnitHistory:
    history = UnitHistory(current, period)
    for item in sorted(events, key=lambda e: e.monotonic_usec, reverse=True):
        history.add(item)
    history.ended = True
    return history


def test_a_crash_loop_is_one_manual_start_and_three_automatic_restarts() -> None:
    starts = history_of(crash_loop(), D).starts([], set())
    assert [(s.invocation, s.cause) for s in starts] == [
        (A, Cause.MANUAL),
        (B, Cause.AUTOMATIC),
        (C, Cause.AUTOMATIC),
        (D, Cause.AUTOMATIC),
    ]
    assert {s.result for s in starts[1:]} == {"exit-code"}
    window = start_limit_window(starts, 30 * SECOND, 4, round(101 * SECOND))
    assert window == (3, 4, 29 * SECOND, True)


def test_a_start_after_a_refused_restart_is_not_automatic() -> None:
    later = [event(EventKind.STARTED, E, 200.0)]
    starts = history_of([*crash_loop(), *later], E).starts([], set())
    assert starts[-1].cause is Cause.MANUAL


def test_a_deploy_start_opens_a_new_window_and_is_no_restart() -> None:
    deploy = DeployStep("0123456789abcdef", 0, "deploy", "restarted", ("a.py",), D, E)
    later = [event(EventKind.STARTED, E, 102.0)]
    starts = history_of([*crash_loop(), *later], E).starts([deploy], set())
    assert (starts[-1].cause, starts[-1].deploy_id) == (Cause.DEPLOY, "0123456789abcdef")
    window = start_limit_window(starts, 30 * SECOND, 4, 103 * SECOND)
    assert (window.restarts, window.starts, window.exhausted) == (0, 1, False)


def test_a_cooldown_start_is_known_by_its_job() -> None:
    later = [event(EventKind.STARTED, E, 300.0, job_id="4711")]
    starts = history_of([*crash_loop(), *later], E).starts([], {"4711"})
    assert starts[-1].cause is Cause.COOLDOWN


def test_the_window_closes_one_period_after_it_opened() -> None:
    starts = history_of(crash_loop(refused=False), D).starts([], set())
    assert start_limit_window(starts, 30 * SECOND, 4, 131 * SECOND) == (0, 0, None, False)
    # no limit at all: StartLimitIntervalSec=0 or StartLimitBurst=0
    assert start_limit_window(starts, 0, 4, 101 * SECOND).exhausted is False
    assert start_limit_window(starts, 30 * SECOND, 0, 101 * SECOND).exhausted is False


def test_a_start_more_than_a_period_after_the_window_opened_opens_the_next() -> None:
    runs = [event(EventKind.STARTED, run, at) for run, at in (("a", 0), ("b", 20), ("c", 35))]
    starts = history_of(runs, "c").starts([], set())
    assert start_limit_window(starts, 30 * SECOND, 5, 40 * SECOND) == (0, 1, 25 * SECOND, False)


def test_reading_stops_once_the_current_run_and_a_window_opening_are_known() -> None:
    history = UnitHistory(D, 30 * SECOND)
    for item in reversed(crash_loop()):
        history.add(item)
    now = 110 * SECOND
    assert not history.complete(100 * SECOND, now)  # run "a" might have started earlier
    history.add(event(EventKind.STARTED, "z", 10.0))  # an older run, long before
    assert history.complete(10 * SECOND, now)


def test_reading_goes_on_while_the_current_run_has_not_started_yet() -> None:
    history = UnitHistory("old", None)
    history.add(event(EventKind.STARTED, "newer-than-current?", 50.0))
    assert not history.complete(50 * SECOND, 60 * SECOND)
    history.add(event(EventKind.STARTED, "old", 1.0))
    history.add(event(EventKind.STARTED, "older", 0.5))
    assert history.complete(0, 60 * SECOND)


def budget(**fields: Any) -> Budget:
    return Budget(unit="app.service", location=HERE, **fields)


def test_a_template_budget_applies_to_its_instances_and_an_own_budget_wins() -> None:
    budgets = {"w@.service": budget(intensity=1), "w@2.service": budget(intensity=2)}
    assert budget_for(("w@1.service",), budgets) == budgets["w@.service"]
    assert budget_for(("w@2.service",), budgets) == budgets["w@2.service"]
    assert budget_for(("sshd.service", "ssh.service"), {"ssh.service": budget()}) is not None
    assert budget_for(("other.service",), budgets) is None


def test_a_budget_systemd_does_not_enforce_is_said() -> None:
    state = UnitState("app.service", "loaded", "active", "running", "", id="app.service")
    state = state._replace(start_limit_burst=5, start_limit_interval_usec=10 * SECOND)
    view, warnings = budget_view(budget(intensity=3, period_usec=30 * SECOND), state, [], None, 0)
    assert (view.intensity, view.period_usec) == (4, 10 * SECOND)  # what systemd enforces
    assert len(warnings) == 1 and "run `smartrestart generate`" in warnings[0]


def test_the_cooldown_cycle_counts_while_a_timer_waits_or_exhaustions_follow_closely() -> None:
    spec = budget(period_usec=30 * SECOND, cooldown_usec=40 * SECOND, max_cooldown_cycles=3)
    record = CycleRecord(cycles=2, last_restart_monotonic=100.0)
    pending = cooldown_of(spec, record, 150 * SECOND, 120 * SECOND)
    assert pending == (2, 3, 40 * SECOND, True, 30 * SECOND)
    assert cooldown_of(spec, record, None, 130 * SECOND) == (2, 3, 40 * SECOND, False, None)
    fresh = cooldown_of(spec, record, None, 200 * SECOND)  # long after: a fresh run of cycles
    assert fresh is not None and fresh.cycle == 0
    assert cooldown_of(budget(), record, None, 0) is None


def test_a_run_older_than_what_was_read_gets_its_cause_from_what_remains() -> None:
    state = UnitState("a.service", "loaded", "active", "running", "inv", n_restarts=2)
    assert last_start(state, [], []) == Start("inv", 0, 0, Cause.AUTOMATIC)
    deploy = DeployStep("0123456789abcdef", 7, "a", "restarted", (), "old", "inv")
    by_deploy = last_start(state._replace(n_restarts=0), [], [deploy])
    assert by_deploy is not None and by_deploy.cause is Cause.DEPLOY
    assert last_start(state._replace(n_restarts=0), [], []) == Start("inv", 0, 0, Cause.MANUAL)
    assert last_start(state._replace(invocation_id=""), [], []) is None


# --- the orchestration, against the fake systemd and a scripted journal -------------


class Journal:
    """Scripted ``read``: entries for each query kind, and how many were taken."""

    def __init__(self, systemd: list[dict[str, str]], ours: list[dict[str, str]]) -> None:
        self.systemd, self.ours = systemd, ours
        self.taken = 0
        self.queries: list[Query] = []

    def __call__(self, query: Query) -> Generator[dict[str, str], None, None]:
        self.queries.append(query)
        ours = any(field == "SYSLOG_IDENTIFIER" for m in query.matches for field, _ in m)
        entries = self.ours if ours else self.systemd
        for entry in sorted(entries, key=lambda e: -int(e["__MONOTONIC_TIMESTAMP"])):
            self.taken += 1
            yield entry


def systemd_entry(unit: str, item: UnitEvent) -> dict[str, str]:
    return {
        "MESSAGE_ID": MESSAGE_ID[item.kind],
        "UNIT": unit,
        "INVOCATION_ID": item.invocation,
        "JOB_ID": item.job_id,
        "UNIT_RESULT": item.unit_result,
        "__MONOTONIC_TIMESTAMP": str(item.monotonic_usec),
        "__REALTIME_TIMESTAMP": str(item.realtime_usec),
    }


def deploy_entry(unit: str, new: str, second: float) -> dict[str, str]:
    return {
        "MESSAGE_ID": EVENTS["unit-job-done"].message_id,
        "SMARTRESTART_UNIT": unit,
        "SMARTRESTART_DEPLOY": "0123456789abcdef",
        "SMARTRESTART_ACTION": "restart_api",
        "SMARTRESTART_RESULT": "restarted",
        "SMARTRESTART_TRIGGER": "src/a.py src/b.py",
        "SMARTRESTART_NEW_INVOCATION_ID": new,
        "__MONOTONIC_TIMESTAMP": str(round(second * SECOND)),
        "__REALTIME_TIMESTAMP": str(1_700_000_000 * SECOND + round(second * SECOND)),
    }


RULES = """\
actions:
  restart_api: {units: [sshd.service, api.service]}
budgets:
  api.service: {restart: transient, intensity: 3, period: 30s}
  worker@.service: {restart: transient, intensity: 1, period: 10s, cooldown: 1min}
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "restart-rules.yaml").write_text(RULES)
    return tmp_path


def fake_manager() -> FakeSystemd:
    fake = FakeSystemd()
    fake.add(FakeUnit("ssh.service", aliases=("sshd.service",), invocation_id="1" * 32))
    fake.add(
        FakeUnit(
            "api.service",
            active_state="failed",
            sub_state="failed",
            result="exit-code",
            invocation_id=D,
            n_restarts=4,
            start_limit_burst=4,
            start_limit_interval_usec=30 * SECOND,
        )
    )
    fake.add(FakeUnit("worker@1.service", start_limit_burst=2, invocation_id="f" * 32))
    return fake


def run(project: Path, journal: Journal, fake: FakeSystemd, *units: str) -> Any:
    from contextlib import nullcontext

    return run_status(
        StatusRequest(units=units, config_root=f"{project}/none"),
        project,
        connect=lambda: nullcontext(fake),
        read_journal=journal,
        state_dir=project / "records",
        clock=Clock(realtime=lambda: 1_700_000_101.0, monotonic=lambda: 101.0),
    )


def test_status_shows_every_unit_the_rules_name_once_with_its_budget(project: Path) -> None:
    systemd = [systemd_entry("api.service", e) for e in crash_loop()]
    journal = Journal(systemd, [deploy_entry("sshd.service", "1" * 32, 50.0)])
    outcome = run(project, journal, fake_manager())
    shown = {r.names: r for r in outcome.reports}
    assert list(shown) == [("sshd.service",), ("api.service",), ("worker@1.service",)]
    api = shown[("api.service",)]
    assert api.budget is not None and api.budget.window == (3, 4, 29 * SECOND, True)
    assert api.last_restart is not None and api.last_restart.cause is Cause.AUTOMATIC
    ssh = shown[("sshd.service",)]
    assert ssh.budget is None and ssh.state.id == "ssh.service"
    assert ssh.last_deploy is not None and ssh.last_deploy.files == ("src/a.py", "src/b.py")
    assert ssh.last_restart is not None and ssh.last_restart.cause is Cause.DEPLOY
    worker = shown[("worker@1.service",)]
    assert worker.budget is not None and worker.budget.cooldown is not None
    assert exit_code(outcome.reports) is ExitCode.NOT_ACTIVE
    document = status_json(outcome)
    jsonschema.validate(document, SCHEMA)
    assert document["units"][1]["budget"]["restarts_in_window"] == 3
    assert "EXHAUSTED" in render_text(outcome)


def test_the_journal_is_read_only_until_enough_is_known(project: Path) -> None:
    old = [event(EventKind.STARTED, f"old{n}", n / 1000) for n in range(5000)]
    recent = crash_loop()
    systemd = [systemd_entry("api.service", e) for e in [*old, *recent]]
    journal = Journal(systemd, [])
    run(project, journal, fake_manager(), "api.service")
    assert journal.taken < 200  # not the 5000 entries of runs long before
    (query, _) = journal.queries
    assert query.this_boot and query.reverse
    assert ("_PID", "1") in query.matches[0]


def test_a_named_unit_needs_no_rules_and_a_bad_name_is_refused(tmp_path: Path) -> None:
    journal = Journal([], [])
    outcome = run(tmp_path, journal, fake_manager(), "sshd.service")
    assert [r.state.id for r in outcome.reports] == ["ssh.service"]
    assert exit_code(outcome.reports) is ExitCode.OK
    with pytest.raises(UsageError, match="unit name"):
        run(tmp_path, journal, fake_manager(), "not a unit")
    with pytest.raises(UsageError, match="template"):
        run(tmp_path, journal, fake_manager(), "worker@.service")
    with pytest.raises(UsageError, match="no rules"):
        run(tmp_path, journal, fake_manager())


def test_an_unreadable_handler_record_is_a_warning(project: Path) -> None:
    records = project / "records"
    records.mkdir()
    (records / "worker@1.service.json").write_text("{not json")
    outcome = run(project, Journal([], []), fake_manager(), "worker@1.service")
    assert any("not JSON" in w for w in outcome.warnings)
    record = {"cycles": 2, "last_restart_monotonic": 95.0}  # 6 s ago, within 2 periods
    (records / "worker@1.service.json").write_text(json.dumps(record))
    fine = run(project, Journal([], []), fake_manager(), "worker@1.service")
    view = fine.reports[0].budget
    assert view is not None and view.cooldown is not None
    assert (view.cooldown.cycle, view.cooldown.pending) == (2, False)


def test_the_schema_lists_the_causes_the_code_knows() -> None:
    causes = SCHEMA["$defs"]["start"]["properties"]["cause"]["enum"]
    assert causes == [cause.value for cause in Cause]
