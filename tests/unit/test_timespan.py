from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smartrestart.timespan import (
    MAX_TIMESPAN_USEC,
    UNITS,
    USEC_INFINITY,
    TimespanError,
    format_timespan,
    parse_timespan,
)


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
        (".5s", 500_000),
        ("500us", 500),
        ("500µs", 500),  # MICRO SIGN, as newer systemd spells it
        ("1d", 86_400_000_000),
        ("1w", 604_800_000_000),
        (" 2 min ", 120_000_000),
        ("007s", 7_000_000),
        (30, 30_000_000),
        (0.25, 250_000),
        (0.1, 100_000),  # the decimal the file says, not the float's binary neighbour
    ],
)
def test_parse(text: str | int | float, usec: int) -> None:
    assert parse_timespan(text) == usec


@pytest.mark.parametrize("text", ["", "abc", "5mins", "1 fortnight", "-3s", "1h x", "3.", "3.s"])
def test_parse_rejects(text: str) -> None:
    with pytest.raises(TimespanError):
        parse_timespan(text)


def test_fractions_are_truncated_per_digit_as_systemd_does() -> None:
    # parse_time(): each fraction digit adds digit * (unit / 10^position), integer division.
    assert parse_timespan("1.9999999us") == 1
    assert parse_timespan("0.123456789s") == 123_456
    assert parse_timespan("1.5M") == 1_5 * 2_629_800 * 100_000


def test_large_values_are_exact_not_float_rounded() -> None:
    assert parse_timespan("584542y") == 584_542 * 31_557_600 * 10**6
    assert parse_timespan("18446744073709551614us") == MAX_TIMESPAN_USEC
    assert parse_timespan(2**40) == 2**40 * 10**6


@pytest.mark.parametrize(
    "value",
    [
        "18446744073709551615us",  # USEC_INFINITY itself: systemd's "infinity", out of range
        "99999999999999999999y",
        "600000y",
        "584542y 1y",
        "9" * 5000 + "s",  # no int() of a 5000-digit string (Python refuses those)
        2**64,
        1e300,
    ],
)
def test_spans_systemd_cannot_hold_name_the_limit(value: str | int | float) -> None:
    with pytest.raises(TimespanError, match="USEC_INFINITY"):
        parse_timespan(value)


@pytest.mark.parametrize("value", [float("inf"), float("-inf"), float("nan")])
def test_non_finite_numbers_are_refused(value: float) -> None:
    with pytest.raises(TimespanError, match="not a finite number"):
        parse_timespan(value)


def systemd_would_parse(text: str) -> bool:
    """parse_time()'s range checks: each count below USEC_INFINITY // unit, the sum below it."""
    total = 0
    for part in text.split():
        count = int(part.rstrip("abcdefghijklmnopqrstuvwxyz"))
        unit = UNITS[part[len(str(count)) :]]
        if count >= USEC_INFINITY // unit or count * unit >= USEC_INFINITY - total:
            return False
        total += count * unit
    return True


def test_the_largest_span_formats_to_text_that_parses_back() -> None:
    text = format_timespan(MAX_TIMESPAN_USEC)
    assert text == "213503981d 32h 1min 49s 551ms 614us"  # 213503982d is out of range
    assert systemd_would_parse(text)
    assert parse_timespan(text) == MAX_TIMESPAN_USEC == USEC_INFINITY - 1
    assert not systemd_would_parse("213503982d 8h 1min 49s 551ms 615us")


def test_format_examples() -> None:
    assert format_timespan(90_000_000) == "1min 30s"
    assert format_timespan(250_000) == "250ms"
    assert format_timespan(0) == "0"


@given(
    st.one_of(
        st.integers(min_value=0, max_value=MAX_TIMESPAN_USEC),
        st.integers(min_value=MAX_TIMESPAN_USEC - 10**12, max_value=MAX_TIMESPAN_USEC),
    )
)
def test_format_round_trips_in_a_spelling_systemd_accepts(usec: int) -> None:
    text = format_timespan(usec)
    assert parse_timespan(text) == usec
    assert usec == 0 or systemd_would_parse(text)
