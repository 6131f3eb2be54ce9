"""Each budget key's errors, word for word: the line of the value at fault, its field path, the
problem and the hint; and the handler's X-SmartRestart-* values at the edges of their ranges."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from smartrestart.budget.keys import HANDLER_KEYS
from smartrestart.budget.model import Backoff, RestartType
from smartrestart.errors import ConfigError
from smartrestart.rules.schema import load_rule_set
from tests.helpers import write_rules

UNDER_A = "budgets:\n  a.service:\n"
NOT_A_SPAN = "is not a time span (expected e.g. 100ms, 30s, 5min, 1h 30min)"
ERRORS = [
    ("    backoff: 5", "3: budgets.a.service.backoff: expected a mapping, got integer", None),
    (
        "    backoff: {base: 1s, max: 2s, factor: 2}",
        "3: budgets.a.service.backoff.factor: unknown key (known keys: base, multiplier, max)",
        None,
    ),
    ("    backoff: {base: 1s}", "3: budgets.a.service.backoff.max: is required", None),
    (
        "    backoff:\n      max: 2s\n      base: soon",
        f"5: budgets.a.service.backoff.base: 'soon' {NOT_A_SPAN}",
        None,
    ),
    (
        "    backoff:\n      base: 1s\n      max: soon",
        f"5: budgets.a.service.backoff.max: 'soon' {NOT_A_SPAN}",
        None,
    ),
    (
        "    backoff:\n      base: 1s\n      max: 2s\n      multiplier: 0.5",
        "6: budgets.a.service.backoff.multiplier: must be at least 1, got 0.5",
        None,
    ),
    (
        "    backoff:\n      base: 2s\n      max: 1s",
        "5: budgets.a.service.backoff.max: must not be shorter than base",
        None,
    ),
    (
        "    fatal_exit_codes: 5",
        "3: budgets.a.service.fatal_exit_codes: expected a list, got integer",
        None,
    ),
    (
        "    fatal_exit_codes: [1, 256]",
        "3: budgets.a.service.fatal_exit_codes[1]: must be at most 255, got 256",
        None,
    ),
    (
        "    restart: transient\n    cooldown: 1min\n    max_cooldown_cycles: 0",
        "5: budgets.a.service.max_cooldown_cycles: must be at least 1, got 0",
        None,
    ),
    (
        "    restart: transient\n    cooldown: 1min\n    max_cooldown_cycles: 4294967296",
        "5: budgets.a.service.max_cooldown_cycles: must be at most 4294967295"
        " (an unsigned 32-bit counter), got 4294967296",
        None,
    ),
    (
        "    on_exhausted: 5",
        "3: budgets.a.service.on_exhausted: expected a string, got integer",
        None,
    ),
    (
        "    on_exhausted: stpo app.target",
        "3: budgets.a.service.on_exhausted: 'stpo' is not one of: none, stop UNIT, restart UNIT",
        "did you mean 'stop'?",
    ),
    (
        "    on_exhausted: stop a.service",
        "3: budgets.a.service.on_exhausted: 'stop a.service' acts on the unit whose budget ran"
        " out (a restart would make the budget endless, a stop does nothing)",
        "use restart: transient with cooldown to start it again later",
    ),
]


@pytest.mark.parametrize(("body", "message", "hint"), ERRORS)
def test_a_bad_budget_key_is_named_by_line_and_field(
    tmp_path: Path, body: str, message: str, hint: str | None
) -> None:
    path = write_rules(tmp_path, UNDER_A + body + "\n")
    with pytest.raises(ConfigError) as caught:
        load_rule_set([path])
    assert (caught.value.message, caught.value.hint) == (f"{path}:{message}", hint)


def test_values_at_the_edges_of_their_ranges_are_accepted(tmp_path: Path) -> None:
    text = """\
        budgets:
          a.service:
            restart: transient
            intensity: 3
            period: 1min
            backoff: {base: 2s, multiplier: 1.5, max: 2s}
            fatal_exit_codes: [255, 1, 255]
            cooldown: 1min
            max_cooldown_cycles: 1
        """
    budget = load_rule_set([write_rules(tmp_path, text)]).budgets["a.service"]
    assert budget.backoff == Backoff(2_000_000, 1.5, 2_000_000)
    assert (budget.fatal_exit_codes, budget.max_cooldown_cycles) == ((255, 1), 1)


HANDLER = {key.handler.name: key.handler.from_text for key in HANDLER_KEYS if key.handler}


def rejects(from_text: Callable[[str], Any], text: str) -> str:
    with pytest.raises(ValueError) as caught:
        from_text(text)
    return str(caught.value)


def test_handler_counts_are_ten_digits_from_1() -> None:
    cycles = HANDLER["X-SmartRestart-MaxCooldownCycles"]
    assert (cycles("1"), cycles("4294967295"), cycles("9999999999")) == (1, 4294967295, 9999999999)
    for bad in ("0", "x", "\u0661", "12345678901"):
        assert rejects(cycles, bad) == "expected a count of at least 1"


def test_handler_exit_statuses_are_1_to_255_in_at_most_three_digits() -> None:
    fatal = HANDLER["X-SmartRestart-FatalExitStatus"]
    assert fatal("1 78 255") == (1, 78, 255)
    for bad in ("0", "256", "0255"):
        assert rejects(fatal, bad) == f"{bad!r} is not an exit status from 1 to 255"


def test_handler_spans_are_longer_than_zero() -> None:
    cooldown = HANDLER["X-SmartRestart-Cooldown"]
    assert cooldown("1us") == 1
    assert rejects(cooldown, "0") == "must be longer than zero"


def test_handler_restart_types_are_named() -> None:
    restart = HANDLER["X-SmartRestart-Restart"]
    assert restart("transient") is RestartType.TRANSIENT
    assert rejects(restart, "forever") == "not one of permanent, transient, temporary"
