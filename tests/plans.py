"""Plans for the executor's tests, built as apply builds them: rules, decide, build_plan."""

from __future__ import annotations

from pathlib import Path

from smartrestart.apply.model import Plan, build_plan
from smartrestart.decide.model import decide
from smartrestart.errors import Location
from smartrestart.rules.model import Action, Rule, RuleSet

HERE = Location(Path("r.yaml"), 1)


def plan_of(*actions: Action, changed: tuple[str, ...] = ("changed.py",)) -> Plan:
    """The plan for ``changed`` under one rule matching everything with ``actions``."""
    rule_set = RuleSet(
        actions={a.name: a for a in actions},
        rules=(Rule("**", tuple(a.name for a in actions), HERE),),
    )
    return build_plan(decide(list(changed), rule_set))
