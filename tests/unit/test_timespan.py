from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smartrestart.timespan import TimespanError, format_timespan, parse_timespan


@pytest.mark.parametrize(
    ("text", "usec"),
    [
        ("100ms", 100_000),
        ("30s", 30_000_000),
        ("5min", 300_000_000),
        ("1h 30min", 5_400_000_000),
        ("1h30min", 5_400_000_000),
        ("2", 2_000_000),
        ("1.5s", 1_500_000),
        ("500us", 500),
        ("1d", 86_400_000_000),
        ("1w", 604_800_000_000),
        (" 2 min ", 120_000_000),
        (30, 30_000_000),
        (0.25, 250_000),
    ],
)
def test_parse(text: str | int | float, usec: int) -> None:
    assert parse_timespan(text) == usec


@pytest.mark.parametrize("text", ["", "abc", "5mins", "1 fortnight", "-3s", "1h x"])
def test_parse_rejects(text: str) -> None:
    with pytest.raises(TimespanError):
        parse_timespan(text)


def test_format_examples() -> None:
    assert format_timespan(90_000_000) == "1min 30s"
    assert format_timespan(250_000) == "250ms"
    assert format_timespan(0) == "0"


@given(st.integers(min_value=0, max_value=10**15))
def test_format_round_trips(usec: int) -> None:
    assert parse_timespan(format_timespan(usec)) == usec
