"""The failure handler's parameters, carried in the drop-in as ``X-SmartRestart-*`` keys.

One table maps each key to a budget field: the generator writes from it, the
handler reads with it. systemd ignores keys with an ``X-`` prefix, so the
drop-in stays the single place an administrator looks.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from smartrestart.budget.model import (
    NO_ESCALATION,
    Budget,
    Escalation,
    EscalationVerb,
    RestartType,
)
from smartrestart.timespan import TimespanError, format_timespan, parse_timespan

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
    """Read the ``X-SmartRestart-*`` keys of a drop-in written by ``generate``."""
    values: dict[str, str] = {}
    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith("X-SmartRestart-") and "=" in line:
            key, _, value = line.partition("=")
            values[key.strip()] = value.strip()
    try:
        return HandlerParams(
            restart=RestartType(values.get(KEY_RESTART, "permanent")),
            period_usec=_span(values.get(KEY_PERIOD)),
            cooldown_usec=_span(values.get(KEY_COOLDOWN)),
            max_cooldown_cycles=int(values[KEY_MAX_CYCLES]) if KEY_MAX_CYCLES in values else None,
            on_exhausted=_escalation(values.get(KEY_ON_EXHAUSTED, "none")),
            fatal_exit_codes=_codes(values.get(KEY_FATAL)),
            non_retryable_exit_codes=_codes(values.get(KEY_NON_RETRYABLE)),
        )
    except (ValueError, TimespanError) as exc:
        raise ParamsError(f"unreadable X-SmartRestart key: {exc}") from None


def _span(text: str | None) -> int | None:
    return parse_timespan(text) if text else None


def _codes(text: str | None) -> tuple[int, ...]:
    return tuple(int(c) for c in text.split()) if text else ()


def _escalation(text: str) -> Escalation:
    words = text.split()
    verb = EscalationVerb(words[0])
    return NO_ESCALATION if verb is EscalationVerb.NONE else Escalation(verb, words[1])
