"""The rules as a graph: rules -> actions -> units, or the slice behind one decision.

Pure: a rule set (and a decision) in, nodes and edges out. The slice of a
decision is every reason behind it: a changed file, the import chain that
carried the change to a file a rule matched (each file imported by the
next), that rule (or the fallback), the action, its units or its command.
"""

from __future__ import annotations

import os
from collections.abc import Collection, Iterable
from enum import StrEnum
from typing import NamedTuple

from smartrestart.decide.model import Decision
from smartrestart.rules.model import Action, FallbackKind, Rule, RuleSet
from smartrestart.status.model import budget_for
from smartrestart.timespan import format_timespan


class NodeKind(StrEnum):
    FILE = "file"
    RULE = "rule"
    FALLBACK = "fallback"
    ACTION = "action"
    UNIT = "unit"
    COMMAND = "command"


class Node(NamedTuple):
    id: str
    kind: NodeKind
    label: str  # lines separated by "\n"


class Edge(NamedTuple):
    source: str
    target: str
    label: str = ""


class Graph(NamedTuple):
    nodes: tuple[Node, ...]
    edges: tuple[Edge, ...]


class _Builder:
    """Nodes by identity (kind and key), numbered in the order they first appear."""

    def __init__(self, rule_set: RuleSet) -> None:
        self.rule_set = rule_set
        self.nodes: dict[tuple[NodeKind, str], Node] = {}
        self.edges: dict[Edge, None] = {}

    def node(self, kind: NodeKind, key: str, label: str | None = None) -> str:
        found = self.nodes.get((kind, key))
        if found is None:
            found = Node(f"n{len(self.nodes)}", kind, key if label is None else label)
            self.nodes[(kind, key)] = found
        return found.id

    def edge(self, source: str, target: str, label: str = "") -> None:
        self.edges.setdefault(Edge(source, target, label))

    def rule(self, rule: Rule | None) -> str:
        if rule is None:
            return self.node(NodeKind.FALLBACK, "fallback", "fallback\n(no rule matched)")
        where = f"{os.path.basename(rule.location.file)}:{rule.location.line}"  # noqa: PTH119
        skip = "" if rule.actions else "\nrestarts nothing"
        return self.node(NodeKind.RULE, str(rule.location), f"{rule.pattern}\n{where}{skip}")

    def action(self, action: Action) -> str:
        node = self.node(NodeKind.ACTION, action.name, f"{action.name}\norder {action.order}")
        for unit in action.units:
            self.edge(node, self.unit(unit), action.mode.value)
        if action.run:
            as_user = f" (as {action.user})" if action.user else ""
            command = self.node(
                NodeKind.COMMAND, action.name, f"run{as_user}: {' '.join(action.run)}"
            )
            self.edge(node, command)
        return node

    def unit(self, unit: str) -> str:
        budget = budget_for((unit,), self.rule_set.budgets)
        label = unit
        if budget is not None and budget.intensity is not None and budget.period_usec is not None:
            label += f"\nbudget {budget.intensity} in {format_timespan(budget.period_usec)}"
        elif budget is not None:
            label += f"\nbudget: restart {budget.restart.value}"
        return self.node(NodeKind.UNIT, unit, label)

    def graph(self) -> Graph:
        return Graph(tuple(self.nodes.values()), tuple(self.edges))


def whole_graph(rule_set: RuleSet) -> Graph:
    """Every rule, the fallback, every action and unit."""
    build = _Builder(rule_set)
    for rule in rule_set.rules:
        node = build.rule(rule)
        for name in rule.actions:
            build.edge(node, build.action(rule_set.actions[name]))
    fallback = rule_set.fallback
    names: Iterable[str] = ()
    if fallback.kind is FallbackKind.ALL:
        names = rule_set.actions
    elif fallback.kind is FallbackKind.LIST:
        names = fallback.actions
    for name in names:
        build.edge(build.rule(None), build.action(rule_set.actions[name]))
    for action in rule_set.actions.values():
        build.action(action)  # actions no rule names still appear
    return build.graph()


def decision_graph(rule_set: RuleSet, decision: Decision, changed: Collection[str]) -> Graph:
    """Only what is behind ``decision``: file -> import chain -> rule -> action -> unit."""
    build = _Builder(rule_set)

    def file(path: str) -> str:
        return build.node(NodeKind.FILE, path, f"{path}\n(changed)" if path in changed else path)

    for decided in decision.actions:
        action = build.action(decided.action)
        for reason in decided.reasons:
            chain = reason.chain or (reason.file,)
            previous = file(chain[0])
            for importer in chain[1:]:
                current = file(importer)
                build.edge(previous, current, "imported by")
                previous = current
            rule = build.rule(reason.rule)
            build.edge(previous, rule, "matches")
            build.edge(rule, action)
    return build.graph()
