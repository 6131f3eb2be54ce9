"""Budget translation at its edges: systemd 254 exactly, the reachability and 5 % thresholds,
budgets a rules file cannot write but the functions accept, and each warning's exact words."""

from __future__ import annotations

from smartrestart.budget.model import Backoff, Budget, Escalation, EscalationVerb
from smartrestart.budget.model import RestartType as R
from smartrestart.budget.translate import translate
from smartrestart.errors import Location

HERE = Location("rules.yaml", 3)
STOP_APP = Escalation(EscalationVerb.STOP, "app.target")


def budget(**fields: object) -> Budget:
    return Budget("a.service", HERE, **fields)  # type: ignore[arg-type]


def keys_of(translation_budget: Budget, version: int) -> set[str]:
    return {d.key for d in translate(translation_budget, version).directives}


def test_systemd_254_is_the_first_with_restart_steps_and_restart_mode() -> None:
    backoff = budget(backoff=Backoff(1_000_000, 2.0, 8_000_000))
    assert translate(backoff, 254).warnings == ()
    assert {"RestartMode", "RestartSteps", "RestartMaxDelaySec"} <= keys_of(backoff, 254)
    assert not {"RestartMode", "RestartSteps", "RestartMaxDelaySec"} & keys_of(backoff, 253)


def test_the_backoff_lost_on_old_systemd_is_said_in_full() -> None:
    backoff = budget(backoff=Backoff(1_000_000, 2.0, 8_000_000))
    assert translate(backoff, 253).warnings == (
        "a.service: systemd 254 added RestartSteps= and RestartMaxDelaySec=; on this systemd "
        "the delay stays 1s instead of growing by 2x up to 8s (the exponential backoff is lost)",
    )


def test_restarts_waiting_exactly_the_period_can_still_exhaust_it() -> None:
    # Three restarts after systemd's default 100ms delay wait 300ms.
    assert translate(budget(intensity=3, period_usec=300_000), 257).warnings == ()
    assert translate(budget(intensity=3, period_usec=350_000), 257).warnings == ()
    assert translate(budget(intensity=3, period_usec=299_999), 257).warnings == (
        "a.service: 3 restarts wait at least 300ms in restart delays, longer than the period "
        "of 299ms 999us: the budget can never be exhausted (raise period or lower intensity or "
        "backoff)",
    )


def test_restarts_beyond_the_listed_delays_wait_as_long_as_the_last_one() -> None:
    # 4000 restarts: 3001 listed delays of 100ms, then 999 more of 100ms: 400s.
    assert translate(budget(intensity=4000, period_usec=400_000_000), 257).warnings == ()
    (warning,) = translate(budget(intensity=4000, period_usec=350_000_000), 257).warnings
    assert "4000 restarts wait at least 6min 40s in restart delays" in warning


def test_an_intensity_without_a_period_has_no_start_limit_and_no_warning() -> None:
    lone = budget(intensity=3)
    assert translate(lone, 257).warnings == ()
    assert not {"StartLimitBurst", "StartLimitIntervalSec"} & keys_of(lone, 257)


def test_a_temporary_unit_waits_for_no_restart() -> None:
    temporary = budget(restart=R.TEMPORARY, intensity=3, period_usec=2)
    translation = translate(temporary, 257)
    assert (translation.warnings, translation.delays_usec) == ((), ())


def test_without_an_intensity_the_first_eight_delays_are_listed() -> None:
    assert translate(budget(), 257).delays_usec == (100_000,) * 8


def test_a_multiplier_5_percent_off_is_not_worth_a_warning() -> None:
    # One step from 1s to 2.625s is a multiplier of 2.625: exactly 5 % above 2.5.
    assert translate(budget(backoff=Backoff(1_000_000, 2.5, 2_625_000)), 257).warnings == ()
    # Three steps to 8.998912s grow by 2.08 each: 4 % off 2.
    assert translate(budget(backoff=Backoff(1_000_000, 2.0, 8_998_912)), 257).warnings == ()
    assert translate(budget(backoff=Backoff(1_000_000, 2.0, 2_625_000)), 257).warnings == (
        "a.service: systemd grows restart delays geometrically from base to max in whole "
        "steps; 1 step(s) give a multiplier of 2.62 instead of 2",
    )


def test_on_exhausted_of_a_temporary_unit_needs_fatal_exit_codes() -> None:
    warned = "a.service: on_exhausted only runs for fatal exit codes with restart: temporary, "
    assert translate(budget(restart=R.TEMPORARY, on_exhausted=STOP_APP), 257).warnings == (
        warned + "and none are listed",
    )
    fatal = budget(restart=R.TEMPORARY, on_exhausted=STOP_APP, fatal_exit_codes=(78,))
    for quiet in (fatal, budget(restart=R.TEMPORARY), budget(on_exhausted=STOP_APP)):
        assert translate(quiet, 257).warnings == ()
