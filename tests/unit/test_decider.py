"""The decider: first match wins, fallback for the rest, stable order."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from smartrestart.decide.globs import compile_glob, normalize_path
from smartrestart.decide.model import decide
from smartrestart.errors import Location
from smartrestart.rules.model import Action, Fallback, FallbackKind, Rule, RuleSet

HERE = Location("test.yaml", 1)


def matches(path: str, pattern: str) -> bool:
    """How the decider matches: the canonical path against the compiled pattern."""
    return compile_glob(pattern).match(normalize_path(path)) is not None


def rule_set(
    actions: dict[str, int] | None = None,
    rules: list[tuple[str, list[str]]] | None = None,
    fallback: str | list[str] = "none",
) -> RuleSet:
    orders = actions if actions is not None else {"pip_install": 10, "restart_api": 20}
    if isinstance(fallback, list):
        fb = Fallback(FallbackKind.LIST, tuple(fallback))
    else:
        fb = Fallback(FallbackKind(fallback))
    return RuleSet(
        actions={name: Action(name, HERE, order) for name, order in orders.items()},
        rules=tuple(Rule(p, tuple(a), HERE) for p, a in rules or []),
        fallback=fb,
    )


def test_no_changes_no_actions() -> None:
    decision = decide([], rule_set())
    assert decision.action_names == []
    assert decision.unmatched == ()
    assert decision.fallback_applied is False


def test_first_match_wins() -> None:
    rules = rule_set(
        rules=[("requirements.txt", ["pip_install", "restart_api"]), ("*.txt", ["restart_api"])]
    )
    decision = decide(["requirements.txt"], rules)
    assert decision.action_names == ["pip_install", "restart_api"]
    assert decision.actions[0].reasons[0].rule == rules.rules[0]


def test_actions_are_deduplicated_across_files() -> None:
    decision = decide(["src/a.py", "src/b.py"], rule_set(rules=[("src/**", ["restart_api"])]))
    assert decision.action_names == ["restart_api"]
    assert [r.file for r in decision.actions[0].reasons] == ["src/a.py", "src/b.py"]


def test_explicit_empty_rule_skips_and_is_not_unmatched() -> None:
    rules = rule_set(rules=[("**/*.md", []), ("src/**", ["restart_api"])], fallback="all")
    decision = decide(["README.md", "src/api.py"], rules)
    assert decision.action_names == ["restart_api"]
    assert decision.unmatched == ()
    assert decision.fallback_applied is False


def test_fallback_none() -> None:
    decision = decide(["unknown.bin"], rule_set(rules=[("src/**", ["restart_api"])]))
    assert decision.action_names == []
    assert decision.unmatched == ("unknown.bin",)
    assert decision.fallback_applied is False


def test_fallback_all() -> None:
    decision = decide(
        ["unknown.bin"], rule_set(rules=[("src/**", ["restart_api"])], fallback="all")
    )
    assert decision.action_names == ["pip_install", "restart_api"]
    assert decision.fallback_applied is True
    assert decision.actions[0].reasons[0].rule is None


def test_fallback_list() -> None:
    rules = rule_set(rules=[("src/**", ["restart_api"])], fallback=["restart_api"])
    assert decide(["unknown.bin"], rules).action_names == ["restart_api"]


def test_order_then_name() -> None:
    rules = rule_set(
        actions={"a": 30, "b": 10, "c": 20, "d": 10}, rules=[("x", ["a", "b", "c", "d"])]
    )
    assert decide(["x"], rules).action_names == ["b", "d", "c", "a"]


def test_paths_are_normalised() -> None:
    decision = decide(["./src//a.py", "src/a.py"], rule_set(rules=[("src/*.py", ["restart_api"])]))
    assert decision.files == ("src/a.py",)


def test_original_readme_basic_example() -> None:
    """The original README: four changed files, one unmatched, fallback fires."""
    rules = rule_set(
        rules=[
            ("requirements.txt", ["pip_install", "restart_api"]),
            ("src/**", ["restart_api"]),
            ("**/*.md", []),
        ],
        fallback=["restart_api"],
    )
    decision = decide(["src/api.py", "README.md", "requirements.txt", "config.toml"], rules)
    assert decision.action_names == ["pip_install", "restart_api"]
    assert decision.unmatched == ("config.toml",)
    assert decision.fallback_applied is True


def test_chain_is_kept_on_the_reason() -> None:
    rules = rule_set(rules=[("src/api/**", ["restart_api"]), ("src/lib/**", [])])
    decision = decide(
        ["src/lib/db.py", "src/api/h.py"],
        rules,
        chains={"src/api/h.py": ("src/lib/db.py", "src/api/h.py")},
    )
    assert decision.actions[0].reasons[0].chain == ("src/lib/db.py", "src/api/h.py")


# --- properties -----------------------------------------------------------------

NAMES = ["a", "b", "c", "d", "e"]
segment = st.sampled_from(["src", "lib", "api", "docs", "x.py", "y.md", "req.txt"])
paths = st.lists(segment, min_size=1, max_size=4).map("/".join)
patterns = st.sampled_from(["src/**", "**/*.md", "*.txt", "**/x.py", "lib/*", "api/**", "**"])
rules_strategy = st.lists(
    st.tuples(patterns, st.lists(st.sampled_from(NAMES), max_size=3, unique=True)), max_size=6
)
fallbacks = st.one_of(
    st.sampled_from(["none", "all"]), st.lists(st.sampled_from(NAMES), max_size=3, unique=True)
)
orders = st.fixed_dictionaries({name: st.integers(0, 3) for name in NAMES})


@given(rules_strategy, orders, fallbacks, st.lists(paths, max_size=8))
def test_adding_a_changed_file_never_removes_an_action(
    rules: list[tuple[str, list[str]]],
    order: dict[str, int],
    fallback: str | list[str],
    files: list[str],
) -> None:
    rs = rule_set(order, rules, fallback)
    before = set(decide(files, rs).action_names)
    for extra in ("src/new.py", "docs/z.md", "other.bin"):
        assert before <= set(decide([*files, extra], rs).action_names)


@given(rules_strategy, orders, fallbacks, st.lists(paths, max_size=8))
def test_output_order_is_stable_and_sorted(
    rules: list[tuple[str, list[str]]],
    order: dict[str, int],
    fallback: str | list[str],
    files: list[str],
) -> None:
    rs = rule_set(order, rules, fallback)
    names = decide(files, rs).action_names
    assert names == sorted(names, key=lambda n: (order[n], n))
    assert names == decide(list(reversed(files)), rs).action_names
    assert len(names) == len(set(names))


@given(rules_strategy, orders, st.lists(paths, min_size=1, max_size=8))
def test_each_file_contributes_only_its_first_matching_rule(
    rules: list[tuple[str, list[str]]], order: dict[str, int], files: list[str]
) -> None:
    rs = rule_set(order, rules, "none")
    decision = decide(files, rs)
    for decided in decision.actions:
        for reason in decided.reasons:
            assert reason.rule is not None
            first = next(r for r in rs.rules if matches(reason.file, r.pattern))
            assert reason.rule == first
