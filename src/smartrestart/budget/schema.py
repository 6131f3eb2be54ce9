"""Validation of the ``budgets:`` map of a rules file into :class:`Budget` objects."""

from __future__ import annotations

from typing import Any

from smartrestart.budget.escalation import EscalationError, parse_escalation
from smartrestart.budget.model import (
    NO_ESCALATION,
    Backoff,
    Budget,
    Escalation,
    RestartType,
)
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
from smartrestart.unitname import unit_name_problem
from smartrestart.yamlsource import YamlMap

# One table of budget keys: the loader, `did you mean` and the docs use it.
BUDGET_KEYS: dict[str, str] = {
    "restart": "permanent | transient | temporary (default permanent)",
    "intensity": "at most this many restarts ...",
    "period": "... within any window of this time span",
    "backoff": "{base, multiplier, max}: restart delay base*multiplier^k, capped at max",
    "watchdog": "WatchdogSec=: the service must ping within this span",
    "startup_timeout": "TimeoutStartSec=",
    "stop_timeout": "TimeoutStopSec=",
    "fatal_exit_codes": "exit codes that never restart and escalate at once",
    "non_retryable_exit_codes": "exit codes that never restart; the budget counts as exhausted",
    "on_exhausted": "none | stop UNIT | restart UNIT: run when the unit gives up for good",
    "cooldown": "transient only: after exhaustion wait this long, then start again",
    "max_cooldown_cycles": "transient only: at most this many cooldowns, then stay failed",
}
BACKOFF_KEYS = ("base", "multiplier", "max")

# StartLimitBurst= (intensity + 1) is an unsigned int in systemd (config_parse_unsigned).
UINT32_MAX = 2**32 - 1
MAX_INTENSITY = UINT32_MAX - 1
INTENSITY_LIMIT = "StartLimitBurst= is intensity + 1, an unsigned 32-bit number"
MAX_COOLDOWN_CYCLES = UINT32_MAX
# OnFailure=smartrestart-failure@%n.service must itself be a valid unit name
# (at most 255 characters), or systemd drops it and the handler never runs.
UNIT_NAME_MAX = 255
FAILURE_HANDLER_AFFIXES = len("smartrestart-failure@.service")
MAX_BUDGET_UNIT_NAME = UNIT_NAME_MAX - FAILURE_HANDLER_AFFIXES


def parse_budgets(value: Any, where: Location) -> dict[str, Budget]:
    """All budgets of one rules file, keyed by unit name."""
    if value is None:
        return {}
    mapping = require_map(value, where, "budgets")
    budgets: dict[str, Budget] = {}
    for unit, spec in mapping.items():
        unit_where = mapping.location_of(unit)
        field = f"budgets.{unit}"
        unit_name = require_str(unit, unit_where, "budgets")
        problem = unit_name_problem(unit_name) or budget_unit_problem(unit_name)
        if problem:
            raise ConfigError(unit_where, field, problem)
        budgets[unit_name] = parse_budget(unit_name, spec, unit_where, field)
    return budgets


def budget_unit_problem(name: str) -> str | None:
    """Why a valid unit name cannot carry a budget, or None.

    Restart=, RestartSec=, WatchdogSec= and the timeouts are service
    settings: systemd ignores them in a socket's or timer's drop-in, so such
    a budget would be written and never enforced.
    """
    if not name.endswith(".service"):
        return (
            "budgets apply to .service units only (Restart=, RestartSec= and WatchdogSec= "
            "are service settings that systemd ignores elsewhere)"
        )
    if len(name) > MAX_BUDGET_UNIT_NAME:
        return (
            f"unit name is longer than {MAX_BUDGET_UNIT_NAME} characters: "
            f"smartrestart-failure@{name} would exceed systemd's {UNIT_NAME_MAX}"
        )
    return None


def parse_budget(unit: str, value: Any, where: Location, field: str) -> Budget:
    """One unit's budget; rejects combinations that would have no effect."""
    spec = require_map(value, where, field)
    check_keys(spec, BUDGET_KEYS, field)

    def at(key: str) -> Location:
        return spec.location_of(key)

    restart = _restart_type(spec, field)
    intensity = None
    period = None
    if "intensity" in spec or "period" in spec:
        for key in ("intensity", "period"):
            if key not in spec:
                other = "period" if key == "intensity" else "intensity"
                raise ConfigError(at(other), f"{field}.{other}", f"needs {key!r} as well")
        intensity = require_int(
            spec["intensity"],
            at("intensity"),
            f"{field}.intensity",
            minimum=0,
            maximum=MAX_INTENSITY,
            limit=INTENSITY_LIMIT,
        )
        period = require_timespan(spec["period"], at("period"), f"{field}.period")
    backoff = (
        _backoff(spec["backoff"], at("backoff"), f"{field}.backoff") if "backoff" in spec else None
    )
    fatal = _exit_codes(spec, "fatal_exit_codes", field)
    non_retryable = _exit_codes(spec, "non_retryable_exit_codes", field)
    overlap = sorted(set(fatal) & set(non_retryable))
    if overlap:
        raise ConfigError(
            at("non_retryable_exit_codes"),
            f"{field}.non_retryable_exit_codes",
            f"exit codes {overlap} are also listed as fatal",
        )
    on_exhausted = _escalation(spec, field, unit)
    cooldown = None
    cycles = None
    if "cooldown" in spec:
        cooldown = require_timespan(spec["cooldown"], at("cooldown"), f"{field}.cooldown")
    if "max_cooldown_cycles" in spec:
        if cooldown is None:
            raise ConfigError(
                at("max_cooldown_cycles"),
                f"{field}.max_cooldown_cycles",
                "needs 'cooldown' as well",
            )
        cycles = require_int(
            spec["max_cooldown_cycles"],
            at("max_cooldown_cycles"),
            f"{field}.max_cooldown_cycles",
            minimum=1,
            maximum=MAX_COOLDOWN_CYCLES,
            limit="an unsigned 32-bit counter",
        )
    _refuse_ineffective(spec, restart, field)
    return Budget(
        unit=unit,
        location=where,
        restart=restart,
        intensity=intensity,
        period_usec=period,
        backoff=backoff,
        watchdog_usec=_optional_span(spec, "watchdog", field),
        startup_timeout_usec=_optional_span(spec, "startup_timeout", field),
        stop_timeout_usec=_optional_span(spec, "stop_timeout", field),
        fatal_exit_codes=fatal,
        non_retryable_exit_codes=non_retryable,
        on_exhausted=on_exhausted,
        cooldown_usec=cooldown,
        max_cooldown_cycles=cycles,
    )


def _restart_type(spec: YamlMap, field: str) -> RestartType:
    if "restart" not in spec:
        return RestartType.PERMANENT
    return require_choice(
        spec["restart"], spec.location_of("restart"), f"{field}.restart", RestartType
    )


def _refuse_ineffective(spec: YamlMap, restart: RestartType, field: str) -> None:
    """Keys that would silently do nothing are errors, not surprises at 3 a.m."""
    if restart is RestartType.TEMPORARY:
        for key in ("intensity", "period", "backoff", "cooldown", "non_retryable_exit_codes"):
            if key in spec:
                raise ConfigError(
                    spec.location_of(key),
                    f"{field}.{key}",
                    "has no effect with restart: temporary (the unit is never restarted)",
                )
    if "cooldown" in spec and restart is not RestartType.TRANSIENT:
        raise ConfigError(
            spec.location_of("cooldown"),
            f"{field}.cooldown",
            f"applies to restart: transient only, not {restart.value}",
            hint="a permanent unit escalates with on_exhausted when its budget runs out",
        )
    if "cooldown" in spec and "intensity" not in spec:
        raise ConfigError(
            spec.location_of("cooldown"),
            f"{field}.cooldown",
            "needs intensity and period: a cooldown starts when that budget is exhausted",
        )


def _optional_span(spec: YamlMap, key: str, field: str) -> int | None:
    if key not in spec:
        return None
    return require_timespan(spec[key], spec.location_of(key), f"{field}.{key}")


def _backoff(value: Any, where: Location, field: str) -> Backoff:
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


def _exit_codes(spec: YamlMap, key: str, field: str) -> tuple[int, ...]:
    if key not in spec:
        return ()
    where = spec.location_of(key)
    items = require_list(spec[key], where, f"{field}.{key}")
    codes: list[int] = []
    for index, item in enumerate(items):
        code = require_int(
            item, items.location_of(index), f"{field}.{key}[{index}]", minimum=1, maximum=255
        )
        if code not in codes:
            codes.append(code)
    return tuple(codes)


def _escalation(spec: YamlMap, field: str, unit: str) -> Escalation:
    if "on_exhausted" not in spec:
        return NO_ESCALATION
    where = spec.location_of("on_exhausted")
    name = f"{field}.on_exhausted"
    text = require_str(spec["on_exhausted"], where, name)
    try:
        return parse_escalation(text, unit)
    except EscalationError as exc:
        raise ConfigError(where, name, str(exc), hint=exc.hint) from None
