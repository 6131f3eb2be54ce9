"""systemd time spans (``100ms``, ``30s``, ``5min``, ``1h 30min``) parsed to microseconds.

Parsing follows ``parse_time()`` in systemd's ``time-util.c``, in integers
only, so a large value is never rounded the way a float would round it:
components may be separated by spaces or written together (``1h30min``),
numbers may carry a fraction (``1.5s``, ``.5s``; each fraction digit adds
``digit * (unit // 10**position)``, truncated as systemd truncates it) and a
bare number means seconds, as in ``RestartSec=``.

systemd keeps time spans in an unsigned 64-bit count of microseconds whose
largest value, ``USEC_INFINITY``, means "infinity"; any span that adds up to
it or more is refused with "Numerical result out of range" and the directive
is dropped. So a span is valid here only below that limit.
"""

from __future__ import annotations

import math
import re

USEC_PER_MSEC = 1_000
USEC_PER_SEC = 1_000_000
USEC_PER_MINUTE = 60 * USEC_PER_SEC
USEC_PER_HOUR = 60 * USEC_PER_MINUTE
USEC_PER_DAY = 24 * USEC_PER_HOUR
USEC_PER_WEEK = 7 * USEC_PER_DAY
USEC_PER_MONTH = 2_629_800 * USEC_PER_SEC
USEC_PER_YEAR = 31_557_600 * USEC_PER_SEC
# src/basic/time-util.h: ((usec_t) UINT64_MAX); every valid span is smaller.
USEC_INFINITY = 2**64 - 1
MAX_TIMESPAN_USEC = USEC_INFINITY - 1
LIMIT_TEXT = (
    "systemd's time spans must stay below USEC_INFINITY "
    f"(2^64-1 microseconds, about {USEC_INFINITY // USEC_PER_YEAR} years)"
)

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
    "μs": 1,  # U+03BC GREEK SMALL LETTER MU
    "µs": 1,  # U+00B5 MICRO SIGN
}

# Longest unit names first so that "min" is not read as "m" followed by "in".
_UNIT_ALTERNATION = "|".join(sorted((re.escape(u) for u in UNITS), key=len, reverse=True))
# As strtoll() then the fraction loop read it: "3", "3.5", ".5"; not "3." (systemd: EINVAL).
_COMPONENT = re.compile(
    rf"\s*(?:(\d*)\.(\d+)|(\d+))\s*({_UNIT_ALTERNATION})?(?![A-Za-zμµ])", re.ASCII
)
# strtoll() would overflow beyond this many digits, and no valid span needs more.
_MAX_INTEGER_DIGITS = 20

_FORMAT_STEPS: tuple[tuple[str, int], ...] = (
    ("d", USEC_PER_DAY),
    ("h", USEC_PER_HOUR),
    ("min", USEC_PER_MINUTE),
    ("s", USEC_PER_SEC),
    ("ms", USEC_PER_MSEC),
    ("us", 1),
)


class TimespanError(ValueError):
    """A string that is not a systemd time span, or one systemd cannot hold."""


def parse_timespan(text: str | int | float) -> int:
    """Microseconds in ``text``; numbers without a unit are seconds.

    Raises :class:`TimespanError` for anything systemd would refuse, the
    message naming systemd's limit when the span is too long.
    """
    if isinstance(text, bool):
        raise TimespanError(f"{text!r} is not a time span")
    if isinstance(text, int):
        return _checked(text * USEC_PER_SEC if text >= 0 else -1, text)
    if isinstance(text, float):
        if not math.isfinite(text):
            raise TimespanError(f"{text!r} is not a finite number")
        # repr() is the shortest decimal that reads back as this float, so
        # 0.1 means 100000 microseconds exactly, as the file says.
        from decimal import Decimal  # only for YAML floats; the usual spans are strings

        return _checked(int(Decimal(repr(text)) * USEC_PER_SEC) if text >= 0 else -1, text)
    return _checked(_parse_text(text), text)


def _parse_text(text: str) -> int:
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
        whole, fraction, plain, unit = match.groups()
        digits = (plain if plain is not None else whole).lstrip("0")
        if len(digits) > _MAX_INTEGER_DIGITS:
            raise TimespanError(f"{text!r} is too long: {LIMIT_TEXT}")
        multiplier = UNITS[unit] if unit else USEC_PER_SEC
        total += int(digits or "0") * multiplier
        for position, digit in enumerate(fraction or "", start=1):
            share = multiplier // 10**position
            if share == 0:
                break
            total += int(digit) * share
        if total > MAX_TIMESPAN_USEC:
            raise TimespanError(f"{text!r} is too long: {LIMIT_TEXT}")
        pos = match.end()
        while pos < len(stripped) and stripped[pos].isspace():
            pos += 1
    return total


def _checked(usec: int, given: object) -> int:
    if usec < 0:
        raise TimespanError(f"{given!r} is negative")
    if usec > MAX_TIMESPAN_USEC:
        raise TimespanError(f"{given!r} is too long: {LIMIT_TEXT}")
    return usec


def format_timespan(usec: int) -> str:
    """Exact systemd spelling of ``usec``, e.g. ``1min 30s`` or ``250ms``.

    systemd refuses a component whose count reaches ``USEC_INFINITY / unit``
    (integer division: ``213503982d`` is out of range although it is less
    than USEC_INFINITY microseconds). Near the limit, one unit is carried to
    the next smaller one (``213503981d 32h ...``), so every span below
    USEC_INFINITY gets a spelling systemd accepts (seen on 252 and 257).
    """
    if usec == 0:
        return "0"
    parts: list[str] = []
    remaining = usec
    for suffix, size in _FORMAT_STEPS:
        count, remaining = divmod(remaining, size)
        if count >= USEC_INFINITY // size:
            count -= 1
            remaining += size
        if count:
            parts.append(f"{count}{suffix}")
    return " ".join(parts)
