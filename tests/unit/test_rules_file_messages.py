"""Rules-file errors word for word (the line of the value at fault, its field path, the problem,
the hint), and what a valid file loads into, down to the line each part came from.

Values sit on another line than their parent key where the two could be confused, so an error
that named the parent's line instead would show.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from smartrestart.errors import ConfigError, Location
from smartrestart.rules.model import Action, Fallback, FallbackKind, ImportRoot, Mode, Rule
from smartrestart.rules.schema import load_rule_set
from tests.helpers import write_rules

UNITS = "actions:\n  a:\n    units: [a.service]\n"
DESCRIBED = "actions:\n  a:\n    description: d\n"
RUNS = "actions:\n  a:\n    run: /bin/true\n"
ERRORS = [
    ("", "1: file is empty; expected a mapping with 'actions' and 'rules'", None),
    ("- a\n", "1: expected a mapping, got list", None),
    ("rules: []\n1: x\n", "2: key 1 is not a string", None),
    (
        "rules: []\nactoins: {}\n",
        "2: actoins: unknown key (known keys: actions, rules, fallback, budgets, import_roots)",
        "did you mean 'actions'?",
    ),
    ("rules: []\nactions:\n  - a\n", "2: actions: expected a mapping, got list", None),
    ("actions: {}\nimport_roots:\n  a: b\n", "2: import_roots: expected a list, got mapping", None),
    (
        "actions: {}\nimport_roots:\n  - src\n  - 5\n",
        "4: import_roots[1]: expected a string, got integer",
        None,
    ),
    (
        "actions: {}\nimport_roots:\n  - src\n  - '  '\n",
        "4: import_roots[1]: must not be empty",
        None,
    ),
    (
        'actions: {}\nimport_roots:\n  - "a\\0b"\n',
        "3: import_roots[0]: is not a directory name",
        None,
    ),
    ("actions: {}\nrules:\n  a: b\n", "2: rules: expected a list, got mapping", None),
    ("actions: {}\nfallback:\n  a: b\n", "2: fallback: expected a list, got mapping", None),
    ("actions: {}\nbudgets:\n  - a\n", "2: budgets: expected a mapping, got list", None),
    ("actions:\n  a:\n  1:\n", "3: actions: expected a string, got integer", None),
    (
        "actions:\n  a:\n  b c:\n",
        "3: actions.b c: action names may use letters, digits and _ . : @ + - only",
        None,
    ),
    ("actions:\n  a: 5\n", "2: actions.a: expected a mapping, got integer", None),
    (UNITS + "    order: x\n", "4: actions.a.order: expected an integer, got string", None),
    (
        UNITS + "    mode: bounce\n",
        "4: actions.a.mode: 'bounce' is not one of restart, try-restart, reload-or-restart,"
        " reload, start",
        None,
    ),
    (DESCRIBED + "    mode: reload\n", "4: actions.a.mode: has no effect without 'units'", None),
    (DESCRIBED + "    run: []\n", "4: actions.a.run: must not be empty", None),
    (DESCRIBED + "    run: ''\n", "4: actions.a.run: must not be empty", None),
    (DESCRIBED + "    run: 5\n", "4: actions.a.run: expected a list, got integer", None),
    (DESCRIBED + "    run: [1]\n", "4: actions.a.run[0]: expected a string, got integer", None),
    (
        DESCRIBED + "    run: [bin/true]\n",
        "4: actions.a.run[0]: the program must be an absolute path, as systemd requires",
        None,
    ),
    (
        UNITS + "    run: /bin/true\n",
        "4: actions.a.run: an action has either 'units' or 'run', not both",
        "split it into two actions and order them",
    ),
    (RUNS + "    user: a b\n", "4: actions.a.user: 'a b' is not a valid user name or uid", None),
    (RUNS + "    user: true\n", "4: actions.a.user: expected a string, got boolean", None),
    (RUNS + "    user: [a]\n", "4: actions.a.user: expected a string, got list", None),
    (UNITS + "    user: bob\n", "4: actions.a.user: has no effect without 'run'", None),
    (
        UNITS + "    description: [x]\n",
        "4: actions.a.description: expected a string, got list",
        None,
    ),
    (DESCRIBED + "    units: 5\n", "4: actions.a.units: expected a list, got integer", None),
    (
        "actions:\n  a:\n    units: [a@.service]\n",
        "3: actions.a.units[0]: 'a@.service' is a template; name an instance such as 'a@1.service'",
        None,
    ),
    (
        "actions:\n  a:\n    units:\n      - a.service\n      - a.service\n",
        "5: actions.a.units[1]: 'a.service' is listed twice",
        None,
    ),
    ("rules:\n  - 5\n", "2: rules[0]: expected a mapping, got integer", None),
    (
        "rules:\n  - pattern: a\n    acts: [x]\n",
        "3: rules[0].acts: unknown key (known keys: pattern, actions)",
        "did you mean 'actions'?",
    ),
    ("rules:\n  - actions: []\n", "2: rules[0].pattern: is required", None),
    (
        "rules:\n  - actions: []\n    pattern: 5\n",
        "3: rules[0].pattern: expected a string, got integer",
        None,
    ),
    (
        "rules:\n  - pattern: a\n    actions: 5\n",
        "3: rules[0].actions: expected a list, got integer",
        None,
    ),
    (
        "fallback: alll\n",
        "1: fallback: 'alll' is not 'none', 'all' or a list of action names",
        "did you mean 'all'?",
    ),
    (
        "fallback: nnoe\n",
        "1: fallback: 'nnoe' is not 'none', 'all' or a list of action names",
        "did you mean 'none'?",
    ),
    (
        "rules:\n  - pattern: a\n    actions: [web]\n",
        "3: rules[0].actions[0]: names undeclared action 'web'",
        "declare it under 'actions:'",
    ),
]


@pytest.mark.parametrize(("text", "message", "hint"), ERRORS)
def test_an_error_names_the_line_and_field_at_fault(
    tmp_path: Path, text: str, message: str, hint: str | None
) -> None:
    path = write_rules(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_rule_set([path])
    assert (caught.value.message, caught.value.hint) == (f"{path}:{message}", hint)


def test_a_valid_file_loads_with_the_line_of_each_part(tmp_path: Path) -> None:
    path = write_rules(
        tmp_path,
        """\
        actions:
          bare:
          api:
            units: [api.service]
          migrate:
            order: 10
            run: [/usr/bin/migrate, --all]
            user: 1000
            description: schema
        rules:
          - pattern: "*.md"
          - pattern: "src/**"
            actions: [api, api]
        fallback:
          - migrate
        """,
    )
    rule_set = load_rule_set([path])
    assert dict(rule_set.actions) == {
        "bare": Action("bare", Location(path, 2)),
        "api": Action("api", Location(path, 3), units=("api.service",), mode=Mode.RESTART),
        "migrate": Action(
            "migrate",
            Location(path, 5),
            order=10,
            run=("/usr/bin/migrate", "--all"),
            user="1000",
            description="schema",
        ),
    }
    assert rule_set.rules == (
        Rule("*.md", (), Location(path, 11)),
        Rule("src/**", ("api",), Location(path, 12)),
    )
    assert rule_set.fallback == Fallback(FallbackKind.LIST, ("migrate",), Location(path, 14))
    assert rule_set.sources == (path,)


@pytest.mark.parametrize("kind", ["none", "all", ""])
def test_a_fallback_keeps_its_line(tmp_path: Path, kind: str) -> None:
    path = write_rules(tmp_path, f"actions: {{}}\nfallback: {kind}\n")
    fallback = Fallback(FallbackKind(kind or "none"), (), Location(path, 2))
    assert load_rule_set([path]).fallback == fallback


def test_fallbacks_unite_all_over_lists_and_lists_in_order(tmp_path: Path) -> None:
    actions = write_rules(tmp_path, "actions: {a: , b: , c: }\n", "actions.yaml")
    everything = write_rules(tmp_path, "fallback: all\n", "all.yaml")
    ab = write_rules(tmp_path, "\nfallback: [a, b]\n", "ab.yaml")
    cb = write_rules(tmp_path, "fallback: [c, b]\n", "cb.yaml")
    assert load_rule_set([actions, everything, ab]).fallback.kind is FallbackKind.ALL
    assert load_rule_set([actions, ab, everything]).fallback.kind is FallbackKind.ALL
    assert load_rule_set([actions, ab, cb]).fallback == Fallback(
        FallbackKind.LIST, ("a", "b", "c"), Location(ab, 2)
    )


def test_a_name_declared_in_two_files_names_both(tmp_path: Path) -> None:
    first = write_rules(tmp_path, "actions:\n  a:\nbudgets:\n  b.service: {}\n", "first.yaml")
    again = write_rules(tmp_path, "actions:\n  a:\n", "again.yaml")
    budget = write_rules(tmp_path, "budgets:\n  b.service: {}\n", "budget.yaml")
    for second, message in [
        (again, f"{again}:2: actions.a: duplicate action (already declared at {first}:2)"),
        (
            budget,
            f"{budget}:2: budgets.b.service: duplicate budget (already declared at {first}:4)",
        ),
    ]:
        with pytest.raises(ConfigError) as caught:
            load_rule_set([first, second])
        assert caught.value.message == message


def test_import_roots_load_as_written_with_their_lines(tmp_path: Path) -> None:
    path = write_rules(tmp_path, "actions: {}\nimport_roots:\n  - src\n  - /srv/app\n")
    assert load_rule_set([path]).import_roots == (
        ImportRoot("src", Location(path, 3)),
        ImportRoot("/srv/app", Location(path, 4)),
    )
