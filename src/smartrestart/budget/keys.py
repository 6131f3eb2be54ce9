"""Every budget key, declared once: name, parser, field, directives, handler parameter, doc.

Parsing (:mod:`smartrestart.budget.schema`), translation into directives
(:mod:`smartrestart.budget.translate`), the failure handler's parameters (the
``X-SmartRestart-*`` keys of :mod:`smartrestart.budget.dropin`) and the key
tables of the README and the man page are all derived from :data:`KEYS`, as
mkosi derives its settings from one declaration each. Adding a key is one
entry here (and, for a key that combines with others, a rule in the schema).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

from smartrestart.budget.backoff import FIRST_WITH_RESTART_STEPS, backoff_steps
from smartrestart.budget.escalation import EscalationError, parse_escalation
from smartrestart.budget.model import Backoff, Budget, Directive, RestartType
from smartrestart.configfields import (
    check_keys,
    require_choice,
    require_int,
    require_list,
    require_map,
    require_number,
    require_str,
    require_timespan,
)
from smartrestart.errors import ConfigError, Location
from smartrestart.timespan import format_timespan, parse_timespan

# StartLimitBurst= (intensity + 1) is an unsigned int in systemd (config_parse_unsigned).
UINT32_MAX = 2**32 - 1
MAX_INTENSITY = UINT32_MAX - 1
INTENSITY_LIMIT = "StartLimitBurst= is intensity + 1, an unsigned 32-bit number"
MAX_COOLDOWN_CYCLES = UINT32_MAX
RESTART_OF_TYPE = {
    RestartType.PERMANENT: "always",
    RestartType.TRANSIENT: "on-failure",
    RestartType.TEMPORARY: "no",
}
BACKOFF_KEYS = ("base", "multiplier", "max")

# (value from the rules file, its location, its field path, the budgeted unit) -> value
Parser = Callable[[Any, Location, str, str], Any]
# (budget, systemd version) -> the directives this key becomes
Directives = Callable[[Budget, int], list[Directive]]


class HandlerParameter(NamedTuple):
    """How a key travels to the failure handler: ``X-SmartRestart-<name>=`` in the drop-in."""

    name: str
    to_text: Callable[[Any], str]
    from_text: Callable[[str], Any]  # raises ValueError with the reason


class BudgetKey(NamedTuple):
    name: str  # in the rules file
    field: str  # of :class:`~smartrestart.budget.model.Budget`
    parse: Parser
    doc: str  # one line, for the README and the man page
    enforced_by: str  # what systemd is given, in words, for the same tables
    directives: Directives | None = None  # None: another key's directives include it
    handler: HandlerParameter | None = None


# --- parsers ------------------------------------------------------------------------


def _restart(value: Any, where: Location, field: str, unit: str) -> RestartType:
    return require_choice(value, where, field, RestartType)


def _intensity(value: Any, where: Location, field: str, unit: str) -> int:
    return require_int(value, where, field, minimum=0, maximum=MAX_INTENSITY, limit=INTENSITY_LIMIT)


def _span(value: Any, where: Location, field: str, unit: str) -> int:
    return require_timespan(value, where, field)


def _cycles(value: Any, where: Location, field: str, unit: str) -> int:
    return require_int(
        value,
        where,
        field,
        minimum=1,
        maximum=MAX_COOLDOWN_CYCLES,
        limit="an unsigned 32-bit counter",
    )


def _backoff(value: Any, where: Location, field: str, unit: str) -> Backoff:
    spec = require_map(value, where, field)
    check_keys(spec, BACKOFF_KEYS, field)
    for key in ("base", "max"):
        if key not in spec:
            raise ConfigError(where, f"{field}.{key}", "is required")
    base = require_timespan(spec["base"], spec.location_of("base"), f"{field}.base")
    maximum = require_timespan(spec["max"], spec.location_of("max"), f"{field}.max")
    multiplier = 2.0
    if "multiplier" in spec:
        multiplier = require_number(
            spec["multiplier"], spec.location_of("multiplier"), f"{field}.multiplier", minimum=1.0
        )
    if maximum < base:
        raise ConfigError(spec.location_of("max"), f"{field}.max", "must not be shorter than base")
    return Backoff(base_usec=base, multiplier=multiplier, max_usec=maximum)


def _exit_codes(value: Any, where: Location, field: str, unit: str) -> tuple[int, ...]:
    items = require_list(value, where, field)
    codes: list[int] = []
    for index, item in enumerate(items):
        code = require_int(
            item, items.location_of(index), f"{field}[{index}]", minimum=1, maximum=255
        )
        if code not in codes:
            codes.append(code)
    return tuple(codes)


def _escalation(value: Any, where: Location, field: str, unit: str) -> Any:
    try:
        return parse_escalation(require_str(value, where, field), unit)
    except EscalationError as exc:
        raise ConfigError(where, field, str(exc), hint=exc.hint) from None


# --- directives ---------------------------------------------------------------------


def _restart_directives(budget: Budget, version: int) -> list[Directive]:
    directives = [Directive("Service", "Restart", RESTART_OF_TYPE[budget.restart])]
    if version >= FIRST_WITH_RESTART_STEPS and budget.restart is not RestartType.TEMPORARY:
        # Straight back to activating between automatic restarts: OnFailure= then
        # fires only when restarts stopped (the handler checks anyway).
        directives.append(Directive("Service", "RestartMode", "direct"))
    return directives


def _start_limit(budget: Budget, version: int) -> list[Directive]:
    if budget.intensity is None or budget.period_usec is None:
        return []
    # The limit counts starts, the first one included: N restarts need N + 1.
    return [
        Directive("Unit", "StartLimitIntervalSec", format_timespan(budget.period_usec)),
        Directive("Unit", "StartLimitBurst", str(budget.intensity + 1)),
    ]


def _backoff_directives(budget: Budget, version: int) -> list[Directive]:
    backoff = budget.backoff
    if backoff is None or budget.restart is RestartType.TEMPORARY:
        return []
    directives = [Directive("Service", "RestartSec", format_timespan(backoff.base_usec))]
    steps = backoff_steps(backoff.base_usec, backoff.max_usec, backoff.multiplier)
    if steps and version >= FIRST_WITH_RESTART_STEPS:
        directives.append(Directive("Service", "RestartSteps", str(steps)))
        directives.append(
            Directive("Service", "RestartMaxDelaySec", format_timespan(backoff.max_usec))
        )
    return directives


def _prevented(budget: Budget, version: int) -> list[Directive]:
    codes = [*budget.fatal_exit_codes, *budget.non_retryable_exit_codes]
    if not codes:
        return []
    return [Directive("Service", "RestartPreventExitStatus", " ".join(map(str, codes)))]


def _service_span(key: str, field: str) -> Directives:
    def directives(budget: Budget, version: int) -> list[Directive]:
        value = getattr(budget, field)
        return [] if value is None else [Directive("Service", key, format_timespan(value))]

    return directives


# --- handler parameters -------------------------------------------------------------


def _restart_from_text(text: str) -> RestartType:
    try:
        return RestartType(text)
    except ValueError:
        raise ValueError(f"not one of {', '.join(r.value for r in RestartType)}") from None


def _span_from_text(text: str) -> int:
    usec = parse_timespan(text)
    if usec <= 0:
        raise ValueError("must be longer than zero")
    return usec


def _count_from_text(text: str) -> int:
    if not text.isascii() or not text.isdigit() or len(text) > 10 or int(text) < 1:
        raise ValueError("expected a count of at least 1")
    return int(text)


def _codes_from_text(text: str) -> tuple[int, ...]:
    codes: list[int] = []
    for word in text.split():
        if not (word.isascii() and word.isdigit() and len(word) <= 3 and 1 <= int(word) <= 255):
            raise ValueError(f"{word!r} is not an exit status from 1 to 255")
        codes.append(int(word))
    return tuple(codes)


def _codes_to_text(codes: tuple[int, ...]) -> str:
    return " ".join(map(str, codes))


SPAN = HandlerParameter("", format_timespan, _span_from_text)


def _named(parameter: HandlerParameter, name: str) -> HandlerParameter:
    return parameter._replace(name=f"X-SmartRestart-{name}")


# --- the table ----------------------------------------------------------------------

KEYS: tuple[BudgetKey, ...] = (
    BudgetKey(
        "restart",
        "restart",
        _restart,
        "permanent | transient | temporary (default permanent): OTP's restart types",
        "`Restart=always / on-failure / no`; `RestartMode=direct` on systemd >= 254",
        _restart_directives,
        HandlerParameter("X-SmartRestart-Restart", str, _restart_from_text),
    ),
    BudgetKey(
        "intensity",
        "intensity",
        _intensity,
        "at most this many restarts ...",
        "`StartLimitBurst=N+1`: the limit counts starts, the first one included",
        _start_limit,
    ),
    BudgetKey(
        "period",
        "period_usec",
        _span,
        "... within a window of this time span",
        "`StartLimitIntervalSec=`",
        None,
        _named(SPAN, "Period"),
    ),
    BudgetKey(
        "backoff",
        "backoff",
        _backoff,
        "{base, multiplier, max}: restart delay base*multiplier^k, capped at max",
        "`RestartSec=base`; on systemd >= 254 also `RestartSteps=` and `RestartMaxDelaySec=max`"
        " (on 252 the delay stays base, and generate warns)",
        _backoff_directives,
    ),
    BudgetKey(
        "watchdog",
        "watchdog_usec",
        _span,
        "the service must ping the watchdog within this span",
        "`WatchdogSec=`",
        _service_span("WatchdogSec", "watchdog_usec"),
    ),
    BudgetKey(
        "startup_timeout",
        "startup_timeout_usec",
        _span,
        "how long starting may take",
        "`TimeoutStartSec=`",
        _service_span("TimeoutStartSec", "startup_timeout_usec"),
    ),
    BudgetKey(
        "stop_timeout",
        "stop_timeout_usec",
        _span,
        "how long stopping may take",
        "`TimeoutStopSec=`",
        _service_span("TimeoutStopSec", "stop_timeout_usec"),
    ),
    BudgetKey(
        "fatal_exit_codes",
        "fatal_exit_codes",
        _exit_codes,
        "exit codes that never restart and escalate at once",
        "`RestartPreventExitStatus=`",
        _prevented,
        HandlerParameter("X-SmartRestart-FatalExitStatus", _codes_to_text, _codes_from_text),
    ),
    BudgetKey(
        "non_retryable_exit_codes",
        "non_retryable_exit_codes",
        _exit_codes,
        "exit codes that never restart; the budget counts as exhausted",
        "`RestartPreventExitStatus=`",
        None,
        HandlerParameter("X-SmartRestart-NonRetryableExitStatus", _codes_to_text, _codes_from_text),
    ),
    BudgetKey(
        "on_exhausted",
        "on_exhausted",
        _escalation,
        "none | stop UNIT | restart UNIT: run when the unit gives up for good",
        "the failure handler, through `OnFailure=smartrestart-failure@%n.service`",
        None,
        HandlerParameter("X-SmartRestart-OnExhausted", str, parse_escalation),
    ),
    BudgetKey(
        "cooldown",
        "cooldown_usec",
        _span,
        "transient only: after exhaustion wait this long, then start again",
        "the failure handler, which starts a transient timer",
        None,
        _named(SPAN, "Cooldown"),
    ),
    BudgetKey(
        "max_cooldown_cycles",
        "max_cooldown_cycles",
        _cycles,
        "transient only: at most this many cooldowns, then stay failed",
        "the failure handler",
        None,
        HandlerParameter("X-SmartRestart-MaxCooldownCycles", str, _count_from_text),
    ),
)
KEY_NAMES = tuple(key.name for key in KEYS)
HANDLER_KEYS = tuple(key for key in KEYS if key.handler is not None)


def markdown_table() -> str:
    """The README's table of budget keys."""
    rows = ["| key | meaning | systemd gets |", "| --- | --- | --- |"]
    rows.extend(
        f"| `{k.name}` | {k.doc.replace('|', chr(92) + '|')} | {k.enforced_by} |" for k in KEYS
    )
    return "\n".join(rows) + "\n"


def roff_list() -> str:
    """The man page's list of budget keys (between its BUDGET KEYS markers)."""
    out: list[str] = []
    for key in KEYS:
        text = f"{key.doc}; {key.enforced_by.replace('`', '')}.".replace("-", "\\-")
        out.append(f".TP\n.B {key.name}\n\\&{text}")  # \& : a line may start with "."
    return "\n".join(out) + "\n"
