"""The failure handler's parameters, carried in the drop-in as ``X-SmartRestart-*`` keys.

One table maps each key to a budget field: the generator writes from it, the
handler reads with it. systemd ignores keys with an ``X-`` prefix, so the
drop-in stays the single place an administrator looks.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TypeVar

from smartrestart.budget.escalation import parse_escalation
from smartrestart.budget.model import (
    NO_ESCALATION,
    Budget,
    Escalation,
    RestartType,
)
from smartrestart.timespan import TimespanError, format_timespan, parse_timespan

Value = TypeVar("Value")

KEY_RESTART = "X-SmartRestart-Restart"
KEY_PERIOD = "X-SmartRestart-Period"
KEY_COOLDOWN = "X-SmartRestart-Cooldown"
KEY_MAX_CYCLES = "X-SmartRestart-MaxCooldownCycles"
KEY_ON_EXHAUSTED = "X-SmartRestart-OnExhausted"
KEY_FATAL = "X-SmartRestart-FatalExitStatus"
KEY_NON_RETRYABLE = "X-SmartRestart-NonRetryableExitStatus"
KEY_SOURCE = "X-SmartRestart-Source"


@dataclass(frozen=True, slots=True)
class HandlerParams:
    """What the failure handler needs to know about a unit's budget."""

    restart: RestartType = RestartType.PERMANENT
    period_usec: int | None = None
    cooldown_usec: int | None = None
    max_cooldown_cycles: int | None = None
    on_exhausted: Escalation = NO_ESCALATION
    fatal_exit_codes: tuple[int, ...] = ()
    non_retryable_exit_codes: tuple[int, ...] = ()


def handler_keys(budget: Budget) -> Iterator[tuple[str, str]]:
    """The ``X-SmartRestart-*`` key/value pairs of a budget, in a fixed order."""
    yield KEY_RESTART, budget.restart.value
    if budget.period_usec is not None:
        yield KEY_PERIOD, format_timespan(budget.period_usec)
    if budget.cooldown_usec is not None:
        yield KEY_COOLDOWN, format_timespan(budget.cooldown_usec)
    if budget.max_cooldown_cycles is not None:
        yield KEY_MAX_CYCLES, str(budget.max_cooldown_cycles)
    yield KEY_ON_EXHAUSTED, str(budget.on_exhausted)
    if budget.fatal_exit_codes:
        yield KEY_FATAL, " ".join(str(c) for c in budget.fatal_exit_codes)
    if budget.non_retryable_exit_codes:
        yield KEY_NON_RETRYABLE, " ".join(str(c) for c in budget.non_retryable_exit_codes)
    yield KEY_SOURCE, str(budget.location)


class ParamsError(ValueError):
    """A drop-in whose X-SmartRestart keys cannot be read."""


def parse_handler_params(text: str) -> HandlerParams:
    """Read the ``X-SmartRestart-*`` keys of a drop-in written by ``generate``.

    Every value is checked as strictly as the rules file was: a drop-in
    edited by hand must give a message naming the key, not a traceback in
    the handler unit (and not a wrong action).
    """
    values: dict[str, str] = {}
    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith("X-SmartRestart-") and "=" in line:
            key, _, value = line.partition("=")
            values[key.strip()] = value.strip()

    def read(key: str, parse: Callable[[str], Value], default: Value) -> Value:
        if key not in values:
            return default
        try:
            return parse(values[key])
        except (ValueError, TimespanError) as exc:
            raise ParamsError(f"{key}={values[key]}: {exc}") from None

    return HandlerParams(
        restart=read(KEY_RESTART, _restart, RestartType.PERMANENT),
        period_usec=read(KEY_PERIOD, _span, None),
        cooldown_usec=read(KEY_COOLDOWN, _span, None),
        max_cooldown_cycles=read(KEY_MAX_CYCLES, _cycles, None),
        on_exhausted=read(KEY_ON_EXHAUSTED, parse_escalation, NO_ESCALATION),
        fatal_exit_codes=read(KEY_FATAL, _codes, ()),
        non_retryable_exit_codes=read(KEY_NON_RETRYABLE, _codes, ()),
    )


def _restart(text: str) -> RestartType:
    try:
        return RestartType(text)
    except ValueError:
        choices = ", ".join(r.value for r in RestartType)
        raise ValueError(f"not one of {choices}") from None


def _span(text: str) -> int | None:
    usec = parse_timespan(text)
    if usec <= 0:
        raise ValueError("must be longer than zero")
    return usec


def _cycles(text: str) -> int | None:
    if not text.isascii() or not text.isdigit() or len(text) > 10 or int(text) < 1:
        raise ValueError("expected a count of at least 1")
    return int(text)


def _codes(text: str) -> tuple[int, ...]:
    codes: list[int] = []
    for word in text.split():
        if not (word.isascii() and word.isdigit() and len(word) <= 3 and 1 <= int(word) <= 255):
            raise ValueError(f"{word!r} is not an exit status from 1 to 255")
        codes.append(int(word))
    return tuple(codes)
