"""systemd time spans (``100ms``, ``30s``, ``5min``, ``1h 30min``) parsed to microseconds.

Parsing follows ``parse_time()`` in systemd's ``time-util.c``: components may
be separated by spaces or written together (``1h30min``), numbers may carry a
fraction (``1.5s``) and a bare number means seconds, as in ``RestartSec=``.
"""

from __future__ import annotations

import re

USEC_PER_MSEC = 1_000
USEC_PER_SEC = 1_000_000
USEC_PER_MINUTE = 60 * USEC_PER_SEC
USEC_PER_HOUR = 60 * USEC_PER_MINUTE
USEC_PER_DAY = 24 * USEC_PER_HOUR
USEC_PER_WEEK = 7 * USEC_PER_DAY
USEC_PER_MONTH = 2_629_800 * USEC_PER_SEC
USEC_PER_YEAR = 31_557_600 * USEC_PER_SEC

UNITS: dict[str, int] = {
    "seconds": USEC_PER_SEC,
    "second": USEC_PER_SEC,
    "sec": USEC_PER_SEC,
    "s": USEC_PER_SEC,
    "minutes": USEC_PER_MINUTE,
    "minute": USEC_PER_MINUTE,
    "min": USEC_PER_MINUTE,
    "months": USEC_PER_MONTH,
    "month": USEC_PER_MONTH,
    "M": USEC_PER_MONTH,
    "msec": USEC_PER_MSEC,
    "ms": USEC_PER_MSEC,
    "m": USEC_PER_MINUTE,
    "hours": USEC_PER_HOUR,
    "hour": USEC_PER_HOUR,
    "hr": USEC_PER_HOUR,
    "h": USEC_PER_HOUR,
    "days": USEC_PER_DAY,
    "day": USEC_PER_DAY,
    "d": USEC_PER_DAY,
    "weeks": USEC_PER_WEEK,
    "week": USEC_PER_WEEK,
    "w": USEC_PER_WEEK,
    "years": USEC_PER_YEAR,
    "year": USEC_PER_YEAR,
    "y": USEC_PER_YEAR,
    "usec": 1,
    "us": 1,
    "μs": 1,
}

# Longest unit names first so that "min" is not read as "m" followed by "in".
_UNIT_ALTERNATION = "|".join(sorted((re.escape(u) for u in UNITS), key=len, reverse=True))
_COMPONENT = re.compile(rf"\s*(\d+(?:\.\d*)?|\.\d+)\s*({_UNIT_ALTERNATION})?(?![A-Za-zμ])")

_FORMAT_STEPS: tuple[tuple[str, int], ...] = (
    ("d", USEC_PER_DAY),
    ("h", USEC_PER_HOUR),
    ("min", USEC_PER_MINUTE),
    ("s", USEC_PER_SEC),
    ("ms", USEC_PER_MSEC),
    ("us", 1),
)


class TimespanError(ValueError):
    """A string that is not a systemd time span."""


def parse_timespan(text: str | int | float) -> int:
    """Microseconds in ``text``; numbers without a unit are seconds."""
    if isinstance(text, bool):
        raise TimespanError(f"{text!r} is not a time span")
    if isinstance(text, int | float):
        if text < 0:
            raise TimespanError(f"{text!r} is negative")
        return round(text * USEC_PER_SEC)
    stripped = text.strip()
    if not stripped:
        raise TimespanError("empty time span")
    total = 0
    pos = 0
    while pos < len(stripped):
        match = _COMPONENT.match(stripped, pos)
        if match is None:
            raise TimespanError(
                f"{text!r} is not a time span (expected e.g. 100ms, 30s, 5min, 1h 30min)"
            )
        number, unit = match.groups()
        multiplier = UNITS[unit] if unit else USEC_PER_SEC
        total += round(float(number) * multiplier)
        pos = match.end()
        while pos < len(stripped) and stripped[pos].isspace():
            pos += 1
    return total


def format_timespan(usec: int) -> str:
    """Exact systemd spelling of ``usec``, e.g. ``1min 30s`` or ``250ms``."""
    if usec == 0:
        return "0"
    parts: list[str] = []
    remaining = usec
    for suffix, size in _FORMAT_STEPS:
        count, remaining = divmod(remaining, size)
        if count:
            parts.append(f"{count}{suffix}")
    return " ".join(parts)


def format_seconds(usec: int) -> str:
    """Human-readable seconds for messages, e.g. ``1.5 s``."""
    return f"{usec / USEC_PER_SEC:g} s"
