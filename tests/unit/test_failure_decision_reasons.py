"""The failure handler's decisions, with the reasons it logs, at the edges of its rules."""

from __future__ import annotations

from smartrestart.budget.model import Budget, RestartType
from smartrestart.errors import Location
from smartrestart.handle.model import (
    CycleRecord,
    FailureDecision,
    Verdict,
    count_failed_action,
    decide_failure,
    handled,
    main_exit_status,
)
from smartrestart.systemd.backend import UnitState

TRANSIENT = Budget(
    "a.service",
    Location("rules.yaml", 3),
    restart=RestartType.TRANSIENT,
    intensity=3,
    period_usec=60_000_000,
    non_retryable_exit_codes=(64,),
    cooldown_usec=300_000_000,
    max_cooldown_cycles=3,
)
FAILED = UnitState(
    "a.service",
    "loaded",
    "failed",
    "failed",
    "bb",
    job_pending=False,
    result="exit-code",
    exec_main_code=1,
    exec_main_status=1,
)


def test_each_verdict_gives_its_reason() -> None:
    record = CycleRecord()
    restarting = FAILED._replace(active_state="activating", sub_state="auto-restart")
    temporary = Budget("a.service", TRANSIENT.location, restart=RestartType.TEMPORARY)
    assert [
        decide_failure(TRANSIENT, restarting, record, 0.0)[0],
        decide_failure(TRANSIENT, FAILED, CycleRecord(last_handled_invocation="bb"), 0.0)[0],
        decide_failure(temporary, FAILED, record, 0.0)[0],
        decide_failure(TRANSIENT, FAILED, record, 0.0)[0],
        decide_failure(TRANSIENT, FAILED._replace(exec_main_status=64), record, 0.0)[0],
    ] == [
        FailureDecision(
            Verdict.IGNORE, "unit is activating/auto-restart, still within its restart budget"
        ),
        FailureDecision(Verdict.IGNORE, "this failure was already handled"),
        FailureDecision(Verdict.GIVE_UP, "restart: temporary, never restarted (exit-code)"),
        FailureDecision(Verdict.COOLDOWN, "restart budget exhausted (exit-code)", 1),
        FailureDecision(Verdict.COOLDOWN, "non-retryable exit status 64", 1),
    ]


def test_an_exhaustion_exactly_two_periods_after_the_last_restart_is_consecutive() -> None:
    record = CycleRecord(cycles=1, last_restart_monotonic=100.0)
    assert decide_failure(TRANSIENT, FAILED, record, 220.0)[0].cycle == 2
    assert decide_failure(TRANSIENT, FAILED, record, 220.001)[0].cycle == 1


def test_giving_up_after_the_last_cycle_starts_the_count_afresh() -> None:
    record = CycleRecord(cycles=3, last_restart_monotonic=100.0, last_handled_invocation="aa")
    decision, kept = decide_failure(TRANSIENT, FAILED, record, 110.0)
    assert decision == FailureDecision(
        Verdict.GIVE_UP,
        "restart budget exhausted (exit-code), and all 3 cooldown cycles are used up",
    )
    assert kept == CycleRecord(last_handled_invocation="bb")


def test_a_killed_main_process_has_no_exit_status() -> None:
    assert main_exit_status(FAILED._replace(exec_main_code=2, exec_main_status=9)) is None
    assert main_exit_status(FAILED._replace(exec_main_status=9)) == 9


def test_failed_attempts_count_per_invocation_and_are_cleared_once_handled() -> None:
    record = CycleRecord(cycles=2, failed_invocation="aa", failed_attempts=2)
    assert count_failed_action(record, "bb") == (
        CycleRecord(cycles=2, failed_invocation="bb", failed_attempts=1),
        False,
    )
    assert count_failed_action(record, "aa")[1] is True
    assert handled(record) == CycleRecord(cycles=2)
