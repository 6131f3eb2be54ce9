"""Validation of the ``budgets:`` map of a rules file into :class:`Budget` objects."""

from __future__ import annotations

from typing import Any

from smartrestart.budget.keys import KEY_NAMES, KEYS
from smartrestart.budget.model import Budget, RestartType
from smartrestart.configfields import check_keys, require_map, require_str
from smartrestart.errors import ConfigError, Location
from smartrestart.unitname import unit_name_problem
from smartrestart.yamlsource import YamlMap

# OnFailure=smartrestart-failure@%n.service must itself be a valid unit name
# (at most 255 characters), or systemd drops it and the handler never runs.
UNIT_NAME_MAX = 255
FAILURE_HANDLER_AFFIXES = len("smartrestart-failure@.service")
MAX_BUDGET_UNIT_NAME = UNIT_NAME_MAX - FAILURE_HANDLER_AFFIXES
# Keys that mean nothing without another: (key, the key it needs).
NEEDS = (("intensity", "period"), ("period", "intensity"), ("max_cooldown_cycles", "cooldown"))


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
    """One unit's budget, each key parsed as :data:`~smartrestart.budget.keys.KEYS` declares it.

    Then the rules between keys: pairs that need each other, and keys that
    would have no effect together.
    """
    spec = require_map(value, where, field)
    check_keys(spec, KEY_NAMES, field)
    values = {
        key.field: key.parse(
            spec[key.name], spec.location_of(key.name), f"{field}.{key.name}", unit
        )
        for key in KEYS
        if key.name in spec
    }
    for key, partner in (
        ("intensity", "period"),
        ("period", "intensity"),
        ("max_cooldown_cycles", "cooldown"),
    ):
        if key in spec and partner not in spec:
            raise ConfigError(spec.location_of(key), f"{field}.{key}", f"needs {partner!r} as well")
    overlap = sorted(
        set(values.get("fatal_exit_codes", ())) & set(values.get("non_retryable_exit_codes", ()))
    )
    if overlap:
        raise ConfigError(
            spec.location_of("non_retryable_exit_codes"),
            f"{field}.non_retryable_exit_codes",
            f"exit codes {overlap} are also listed as fatal",
        )
    _refuse_ineffective(spec, values.get("restart", RestartType.PERMANENT), field)
    return Budget(unit=unit, location=where, **values)


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
