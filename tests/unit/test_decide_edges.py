"""The decider's edges: paths that are almost canonical, wildcard runs collapsed before
matching, and the import chain every reason carries (empty for a file that changed)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smartrestart.decide.globs import compile_glob, normalize_path, normalize_paths
from smartrestart.decide.model import Reason, decide
from smartrestart.errors import Location
from smartrestart.rules.model import Action, Fallback, FallbackKind, Rule, RuleSet

HERE = Location("rules.yaml", 1)


@pytest.mark.parametrize(
    ("raw", "normal"),
    [("src/", "src"), ("src/.", "src"), (".", ""), ("", ""), ("/", "/"), ("src/a.py", "src/a.py")],
)
def test_trailing_slashes_and_lone_dots_are_not_canonical(raw: str, normal: str) -> None:
    assert normalize_path(raw) == normal


@pytest.mark.parametrize(
    ("pattern", "regex"),
    [
        ("a/**/**/b", r"a/(?:.*/)?b\Z"),
        ("a/**/**", r"a/.*\Z"),
        ("a/***.py", r"a/.*\.py\Z"),
    ],
)
def test_runs_of_wildcards_collapse_to_one(pattern: str, regex: str) -> None:
    compile_glob.cache_clear()  # compiled afresh, not as an earlier test left it
    assert compile_glob(pattern).pattern == regex


def test_reasons_carry_the_import_chain_of_each_file() -> None:
    rule = Rule("src/**", ("api",), HERE)
    rules = RuleSet(
        actions={"api": Action("api", HERE), "all": Action("all", HERE)},
        rules=(rule,),
        fallback=Fallback(FallbackKind.LIST, ("all",)),
    )
    chains = {"src/b.py": ("lib/c.py", "src/b.py"), "docs/d.md": ("lib/c.py", "docs/d.md")}
    decision = decide(["src/a.py", "src/b.py", "docs/d.md", "e.txt"], rules, chains)
    assert {d.action.name: d.reasons for d in decision.actions} == {
        "api": (Reason("src/a.py", rule, ()), Reason("src/b.py", rule, chains["src/b.py"])),
        "all": (Reason("docs/d.md", None, chains["docs/d.md"]), Reason("e.txt", None, ())),
    }


@given(st.lists(st.text(alphabet="a/.\n", max_size=8), max_size=6))
def test_many_paths_normalize_as_each_alone(paths: list[str]) -> None:
    """The one look at all paths misses nothing the look at each path finds."""
    assert list(normalize_paths(paths)) == [normalize_path(path) for path in paths]
