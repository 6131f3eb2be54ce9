"""The restart budget of one unit, in the terms of an Erlang/OTP supervisor."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from smartrestart.errors import Location


class RestartType(StrEnum):
    """OTP child restart types."""

    PERMANENT = "permanent"  # restarted whenever it exits
    TRANSIENT = "transient"  # restarted only when it fails
    TEMPORARY = "temporary"  # never restarted


class EscalationVerb(StrEnum):
    """What happens when a unit gives up for good."""

    NONE = "none"
    STOP = "stop"
    RESTART = "restart"


@dataclass(frozen=True, slots=True)
class Escalation:
    """``on_exhausted``: ``none``, ``stop UNIT`` or ``restart UNIT``."""

    verb: EscalationVerb = EscalationVerb.NONE
    unit: str | None = None

    def __str__(self) -> str:
        return self.verb.value if self.unit is None else f"{self.verb.value} {self.unit}"


NO_ESCALATION = Escalation()


@dataclass(frozen=True, slots=True)
class Backoff:
    """Restart delay ``base * multiplier**k``, capped at ``max``."""

    base_usec: int
    multiplier: float
    max_usec: int


@dataclass(frozen=True, slots=True)
class Budget:
    """Restart budget for one unit name (plain, template or instance)."""

    unit: str
    location: Location
    restart: RestartType = RestartType.PERMANENT
    intensity: int | None = None
    period_usec: int | None = None
    backoff: Backoff | None = None
    watchdog_usec: int | None = None
    startup_timeout_usec: int | None = None
    stop_timeout_usec: int | None = None
    fatal_exit_codes: tuple[int, ...] = ()
    non_retryable_exit_codes: tuple[int, ...] = ()
    on_exhausted: Escalation = NO_ESCALATION
    cooldown_usec: int | None = None
    max_cooldown_cycles: int | None = None


@dataclass(frozen=True, slots=True)
class Directive:
    """One line of a drop-in: ``key=value`` in ``[section]``."""

    section: str
    key: str
    value: str
