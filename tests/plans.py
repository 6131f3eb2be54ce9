"""For the executor's tests: plans built as apply builds them (rules, decide,
build_plan), and a journal sink that keeps what was logged."""

from __future__ import annotations

from collections.abc import Mapping

from smartrestart.apply.model import Plan, build_plan
from smartrestart.decide.model import decide
from smartrestart.errors import Location
from smartrestart.rules.model import Action, Rule, RuleSet

HERE = Location("r.yaml", 1)


def plan_of(*actions: Action, changed: tuple[str, ...] = ("changed.py",)) -> Plan:
    """The plan for ``changed`` under one rule matching everything with ``actions``."""
    rule_set = RuleSet(
        actions={a.name: a for a in actions},
        rules=(Rule("**", tuple(a.name for a in actions), HERE),),
    )
    return build_plan(decide(list(changed), rule_set))


class Journal:
    """An event sink (``journal.writer.log_event``'s signature) that keeps every entry."""

    def __init__(self) -> None:
        self.entries: list[tuple[str, str, dict[str, object]]] = []

    def __call__(self, kind: str, message: str, fields: Mapping[str, object]) -> None:
        self.entries.append((kind, message, dict(fields)))

    def kinds(self) -> list[str]:
        return [kind for kind, _, _ in self.entries]
