"""Loading and validating rules files: every failure names file, line and field."""

from __future__ import annotations

from pathlib import Path

import pytest

from smartrestart.errors import ConfigError, ExitCode
from smartrestart.rules.model import FallbackKind, Mode
from smartrestart.rules.schema import load_rule_set
from tests.helpers import write_rules

ORIGINAL_README_RULES = """\
actions:
  pip_install:
    order: 10        # lower = runs earlier
  restart_api:
    order: 20

rules:
  - pattern: "requirements.txt"
    actions: [pip_install, restart_api]
  - pattern: "src/**"
    actions: [restart_api]
  - pattern: "**/*.md"
    actions: []      # explicitly do nothing

fallback: [restart_api]   # for files that match no rule
"""


def load_error(tmp_path: Path, text: str) -> ConfigError:
    path = write_rules(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_rule_set([path])
    return caught.value


def test_original_readme_rules_load_unchanged(tmp_path: Path) -> None:
    rule_set = load_rule_set([write_rules(tmp_path, ORIGINAL_README_RULES)])
    assert rule_set.actions["pip_install"].order == 10
    assert rule_set.actions["restart_api"].order == 20
    assert [r.pattern for r in rule_set.rules] == ["requirements.txt", "src/**", "**/*.md"]
    assert rule_set.fallback.kind is FallbackKind.LIST
    assert rule_set.fallback.actions == ("restart_api",)


def test_action_with_null_settings_defaults_to_order_100(tmp_path: Path) -> None:
    rule_set = load_rule_set([write_rules(tmp_path, "actions:\n  a:\nrules: []\n")])
    assert rule_set.actions["a"].order == 100


def test_apply_keys_are_part_of_the_schema(tmp_path: Path) -> None:
    rule_set = load_rule_set(
        [
            write_rules(
                tmp_path,
                """\
                actions:
                  restart_api: {order: 20, units: [app-api.service]}
                  reload_web: {order: 30, units: [nginx.service], mode: reload}
                  migrate: {run: "manage.py migrate", description: schema}
                  seed: {run: [/usr/bin/env, seed]}
                rules: []
                budgets:
                  app-api.service: {restart: permanent}
                """,
            )
        ]
    )
    assert rule_set.actions["restart_api"].units == ("app-api.service",)
    assert rule_set.actions["reload_web"].mode is Mode.RELOAD
    assert rule_set.actions["migrate"].run == ("/bin/sh", "-c", "manage.py migrate")
    assert rule_set.actions["seed"].run == ("/usr/bin/env", "seed")
    assert "app-api.service" in rule_set.budgets


def test_yaml_syntax_error_names_line(tmp_path: Path) -> None:
    error = load_error(tmp_path, "actions:\n  a: {order: 1\nrules: []\n")
    assert error.exit_code is ExitCode.USAGE
    assert "YAML syntax error" in error.message
    assert error.location.line >= 2


def test_undeclared_action_names_rule_line_and_suggests(tmp_path: Path) -> None:
    error = load_error(
        tmp_path,
        """\
        actions:
          restart_api: {order: 20}
        rules:
          - pattern: "src/**"
            actions: [restart_apu]
        """,
    )
    assert error.location.line == 5
    assert error.field == "rules[0].actions[0]"
    assert "undeclared action 'restart_apu'" in error.message
    assert error.hint == "did you mean 'restart_api'?"


def test_duplicate_action_key_in_one_file(tmp_path: Path) -> None:
    error = load_error(tmp_path, "actions:\n  a: {}\n  a: {order: 3}\nrules: []\n")
    assert error.location.line == 3
    assert "duplicate key (first defined at line 2)" in error.message


def test_duplicate_action_across_files(tmp_path: Path) -> None:
    first = write_rules(tmp_path, "actions:\n  a: {}\n", "one.yaml")
    second = write_rules(tmp_path, "rules: []\nactions:\n  a: {}\n", "two.yaml")
    with pytest.raises(ConfigError) as caught:
        load_rule_set([first, second])
    assert caught.value.location.file == second
    assert caught.value.location.line == 3
    assert "already declared at" in caught.value.message
    assert str(first) in caught.value.message


def test_duplicate_budget_across_files(tmp_path: Path) -> None:
    first = write_rules(tmp_path, "budgets:\n  api.service: {restart: permanent}\n", "one.yaml")
    second = write_rules(
        tmp_path, "budgets:\n  web.service: {}\n  api.service: {restart: temporary}\n", "two.yaml"
    )
    with pytest.raises(ConfigError) as caught:
        load_rule_set([first, second])
    assert (caught.value.location.file, caught.value.location.line) == (second, 3)
    assert caught.value.field == "budgets.api.service"
    assert f"duplicate budget (already declared at {first}:2)" in caught.value.message


@pytest.mark.parametrize(
    ("text", "field", "fragment"),
    [
        ("actions:\n  a: {order: ten}\n", "actions.a.order", "expected an integer, got string"),
        ("actions:\n  a: {order: true}\n", "actions.a.order", "expected an integer, got boolean"),
        ("actions: [a, b]\n", "actions", "expected a mapping, got list"),
        ("rules: {a: b}\n", "rules", "expected a list, got mapping"),
        ("rules:\n  - {actions: []}\n", "rules[0].pattern", "is required"),
        ("fallback: sometimes\n", "fallback", "not 'none', 'all' or a list"),
        ("actions:\n  a: {units: app.service}\n", "actions.a.units", "expected a list"),
        ("actions:\n  a: {mode: reload}\n", "actions.a.mode", "no effect without 'units'"),
        (
            "actions:\n  a: {units: [x.service], mode: bounce}\n",
            "actions.a.mode",
            "'bounce' is not one of restart, try-restart",
        ),
        (
            "actions:\n  a: {units: [x.service], run: /bin/true}\n",
            "actions.a.run",
            "either 'units' or 'run'",
        ),
        ("actions:\n  a: {run: [env, x]}\n", "actions.a.run[0]", "absolute path"),
        ("actions:\n  a: {run: [true]}\n", "actions.a.run[0]", "expected a string, got boolean"),
        ("actions:\n  'bad name': {}\n", "actions.bad name", "letters, digits"),
    ],
)
def test_wrong_types_and_values(tmp_path: Path, text: str, field: str, fragment: str) -> None:
    error = load_error(tmp_path, text)
    assert error.field == field
    assert fragment in error.message
    assert error.location.line >= 1


def test_unknown_key_with_did_you_mean(tmp_path: Path) -> None:
    error = load_error(tmp_path, "actions:\n  a: {ordr: 3}\n")
    assert error.field == "actions.a.ordr"
    assert error.location.line == 2
    assert "unknown key" in error.message
    assert error.hint == "did you mean 'order'?"


def test_unknown_top_level_key(tmp_path: Path) -> None:
    error = load_error(tmp_path, "actions: {}\nrule: []\n")
    assert error.field == "rule"
    assert error.hint == "did you mean 'rules'?"


@pytest.mark.parametrize(
    ("unit", "fragment"),
    [
        ("app api.service", "characters"),
        ("app", "no type suffix"),
        ("app.servic", "unknown type"),
        ("app@.service", "is a template"),
    ],
)
def test_invalid_unit_names(tmp_path: Path, unit: str, fragment: str) -> None:
    error = load_error(tmp_path, f"actions:\n  a:\n    units:\n      - '{unit}'\n")
    assert error.field == "actions.a.units[0]"
    assert error.location.line == 4
    assert fragment in error.message


@pytest.mark.parametrize("content", ["", "\n", "# only a comment\n"])
def test_empty_file(tmp_path: Path, content: str) -> None:
    error = load_error(tmp_path, content)
    assert "empty" in error.message


def test_non_mapping_document(tmp_path: Path) -> None:
    error = load_error(tmp_path, "- a\n- b\n")
    assert "expected a mapping" in error.message


def test_oversized_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "big.yaml"
    path.write_bytes(b"# " + b"x" * (1024 * 1024) + b"\n")
    with pytest.raises(ConfigError, match="larger than"):
        load_rule_set([str(path)])


def test_unsafe_yaml_tags_are_refused(tmp_path: Path) -> None:
    error = load_error(tmp_path, "actions: !!python/object/apply:os.system ['true']\n")
    assert "YAML" in error.message


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_rule_set([f"{tmp_path}/absent.yaml"])


def test_fallbacks_of_several_files_unite(tmp_path: Path) -> None:
    one = write_rules(tmp_path, "actions: {a: {}, b: {}, c: {}}\nfallback: [a]\n", "1.yaml")
    two = write_rules(tmp_path, "fallback: [b, a]\n", "2.yaml")
    three = write_rules(tmp_path, "fallback: none\n", "3.yaml")
    rule_set = load_rule_set([one, two, three])
    assert rule_set.fallback.actions == ("a", "b")
    everything = write_rules(tmp_path, "fallback: all\n", "4.yaml")
    assert load_rule_set([one, everything]).fallback.kind is FallbackKind.ALL


def test_rule_may_reference_action_declared_in_another_fragment(tmp_path: Path) -> None:
    declares = write_rules(tmp_path, "actions: {restart_api: {order: 5}}\n", "10-app.yaml")
    uses = write_rules(
        tmp_path, "rules:\n  - {pattern: 'x', actions: [restart_api]}\n", "20-x.yaml"
    )
    rule_set = load_rule_set([uses, declares])
    assert rule_set.rules[0].actions == ("restart_api",)


def test_run_user_is_validated_and_needs_run(tmp_path: Path) -> None:
    from smartrestart.rules.schema import load_rule_set

    good = write_rules(
        tmp_path, "actions:\n  m: {run: 'true', user: app}\n  n: {run: 'true', user: 1000}\n"
    )
    rule_set = load_rule_set([good])
    assert (rule_set.actions["m"].user, rule_set.actions["n"].user) == ("app", "1000")
    for bad, problem in (
        ("actions:\n  m: {units: [a.service], user: app}\n", "has no effect without 'run'"),
        ("actions:\n  m: {run: 'true', user: 'a b'}\n", "is not a valid user name"),
        ("actions:\n  m: {run: 'true', user: ''}\n", "must not be empty"),
    ):
        with pytest.raises(ConfigError, match=problem):
            load_rule_set([write_rules(tmp_path, bad)])
