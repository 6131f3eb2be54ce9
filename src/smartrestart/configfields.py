"""Typed reading of YAML values, each failure a ConfigError naming file, line and field.

Validation happens once, here at load time; everything downstream receives
immutable records (the rules' NamedTuples, the budget's frozen dataclasses)
and never re-checks a dict.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from enum import StrEnum
from typing import Any, TypeVar

from smartrestart.errors import ConfigError, Location
from smartrestart.yamlsource import YamlList, YamlMap

Choice = TypeVar("Choice", bound=StrEnum)


def type_name(value: object) -> str:
    """YAML's name for the type of ``value``, for messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "list"
    if isinstance(value, dict):
        return "mapping"
    return type(value).__name__


def did_you_mean(word: str, choices: Iterable[str]) -> str | None:
    """A hint naming the closest of ``choices``, if one is close enough."""
    import difflib  # only needed on the error path

    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f"did you mean {close[0]!r}?" if close else None


def check_keys(mapping: YamlMap, allowed: Iterable[str], context: str) -> None:
    """Refuse keys outside ``allowed``, suggesting the nearest allowed one."""
    allowed_list = list(allowed)
    for key in mapping:
        if key in allowed_list:
            continue
        where = mapping.location_of(key)
        if not isinstance(key, str):
            raise ConfigError(where, context, f"key {key!r} is not a string")
        known = ", ".join(allowed_list)
        raise ConfigError(
            where,
            f"{context}.{key}" if context else key,
            f"unknown key (known keys: {known})",
            hint=did_you_mean(key, allowed_list),
        )


def field_path(context: str, key: str) -> str:
    return f"{context}.{key}" if context else key


def require_map(value: Any, where: Location, field: str) -> YamlMap:
    if not isinstance(value, YamlMap):
        raise ConfigError(where, field, f"expected a mapping, got {type_name(value)}")
    return value


def require_list(value: Any, where: Location, field: str) -> YamlList:
    if not isinstance(value, YamlList):
        raise ConfigError(where, field, f"expected a list, got {type_name(value)}")
    return value


def require_str(value: Any, where: Location, field: str, *, allow_empty: bool = False) -> str:
    if not isinstance(value, str):
        raise ConfigError(where, field, f"expected a string, got {type_name(value)}")
    if not allow_empty and not value.strip():
        raise ConfigError(where, field, "must not be empty")
    return value


def require_int(
    value: Any,
    where: Location,
    field: str,
    *,
    minimum: int | None = None,
    maximum: int | None = None,
    limit: str | None = None,
) -> int:
    """An integer within bounds; ``limit`` says where ``maximum`` comes from, for the message."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(where, field, f"expected an integer, got {type_name(value)}")
    if minimum is not None and value < minimum:
        raise ConfigError(where, field, f"must be at least {minimum}, got {value}")
    if maximum is not None and value > maximum:
        why = f" ({limit})" if limit else ""
        raise ConfigError(where, field, f"must be at most {maximum}{why}, got {value}")
    return value


def require_number(value: Any, where: Location, field: str, *, minimum: float) -> float:
    """A finite number: YAML's ``.inf`` and ``.nan`` are numbers no setting can use."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(where, field, f"expected a number, got {type_name(value)}")
    if isinstance(value, float) and not math.isfinite(value):
        raise ConfigError(where, field, f"{value!r} is not a finite number")
    if value < minimum:
        raise ConfigError(where, field, f"must be at least {minimum:g}, got {value:g}")
    return float(value)


def require_str_list(value: Any, where: Location, field: str) -> list[tuple[str, Location]]:
    """A list of non-empty strings, each with its own location."""
    items = require_list(value, where, field)
    out: list[tuple[str, Location]] = []
    for index, item in enumerate(items):
        item_where = items.location_of(index)
        out.append((require_str(item, item_where, f"{field}[{index}]"), item_where))
    return out


def require_timespan(value: Any, where: Location, field: str, *, positive: bool = True) -> int:
    """Microseconds of a systemd time span given as a string or a number of seconds.

    Refuses what systemd would refuse (and then silently drop the directive):
    non-finite numbers and spans of ``USEC_INFINITY`` (2^64-1 µs) or more.
    """
    from smartrestart.timespan import TimespanError, parse_timespan

    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ConfigError(where, field, f"expected a time span such as 30s, got {type_name(value)}")
    try:
        usec = parse_timespan(value)
    except TimespanError as exc:
        raise ConfigError(where, field, str(exc)) from None
    if positive and usec <= 0:
        raise ConfigError(where, field, "must be longer than zero")
    return usec


def require_choice(value: Any, where: Location, field: str, choices: type[Choice]) -> Choice:
    """One of the values of the string enum ``choices``, suggesting the nearest on a typo."""
    text = require_str(value, where, field)
    try:
        return choices(text)
    except ValueError:
        names = [member.value for member in choices]
        raise ConfigError(
            where,
            field,
            f"{text!r} is not one of {', '.join(names)}",
            hint=did_you_mean(text, names),
        ) from None
