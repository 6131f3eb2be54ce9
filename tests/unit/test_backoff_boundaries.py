"""The edges of systemd's backoff arithmetic: step counts at their bounds, delays at steps 0, 1."""

from __future__ import annotations

from smartrestart.budget.backoff import backoff_steps, systemd_delays


def test_a_multiplier_of_one_means_no_steps() -> None:
    """A constant delay, not a division by log(1) = 0."""
    assert backoff_steps(1_000_000, 4_000_000, 1.0) == 0


def test_a_growth_too_small_for_one_step_still_takes_one() -> None:
    # log(1.2) / log(2) rounds to 0: systemd still needs one step to reach max.
    assert backoff_steps(1_000_000, 1_200_000, 2.0) == 1


def test_steps_are_capped_at_3000() -> None:
    assert backoff_steps(1, 10**12, 1.001) == 3000


def test_without_steps_every_delay_is_the_base() -> None:
    assert systemd_delays(1_000_000, 8_000_000, 0, 3) == [1_000_000] * 3


def test_one_step_goes_from_base_straight_to_max() -> None:
    assert systemd_delays(1_000_000, 8_000_000, 1, 3) == [1_000_000, 8_000_000, 8_000_000]
