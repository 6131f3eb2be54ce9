"""The decider: changed files and rules in, ordered actions (with reasons) out.

A pure function. Each file is matched against the rules top-down and only the
first matching rule contributes; files no rule matches go to the fallback.
Actions come out sorted by ``(order, name)``, exactly as the original printed
them, so deploy scripts reading one name per line keep working.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from smartrestart.decide.globs import compile_glob, normalize_paths
from smartrestart.records import NamedTuple
from smartrestart.rules.model import Action, FallbackKind, Rule, RuleSet


class Reason(NamedTuple):
    """Why an action was chosen: this file matched this rule (or the fallback).

    ``chain`` is the import chain from a changed file to ``file`` when ``file``
    was added by import-graph expansion; it is empty for files that changed.
    """

    file: str
    rule: Rule | None
    chain: tuple[str, ...] = ()


class DecidedAction(NamedTuple):
    action: Action
    reasons: tuple[Reason, ...]


class Decision(NamedTuple):
    """The whole decision, enough to explain every action it contains."""

    actions: tuple[DecidedAction, ...]
    files: tuple[str, ...]
    unmatched: tuple[str, ...]
    fallback_applied: bool

    @property
    def action_names(self) -> list[str]:
        return [decided.action.name for decided in self.actions]


def first_matching_rule(path: str, rules: Sequence[Rule]) -> Rule | None:
    """The first rule whose pattern matches ``path``, or None."""
    for rule in rules:
        if compile_glob(rule.glob).match(path):
            return rule
    return None


def decide(
    changed: Sequence[str],
    rule_set: RuleSet,
    chains: Mapping[str, tuple[str, ...]] | None = None,
) -> Decision:
    """Decide which actions ``changed`` files need.

    ``chains`` maps files added by import expansion to the chain that added
    them; those files are matched like any other.
    """
    chains = chains or {}
    reasons: dict[str, list[Reason]] = {}
    unmatched: list[str] = []
    files: list[str] = []
    seen: set[str] = set()
    # Each rule's pattern compiled once, not once per file: an expansion adds thousands.
    matchers = [(compile_glob(rule.glob).match, rule) for rule in rule_set.rules]
    for path in normalize_paths(changed):
        if not path or path in seen:
            continue
        seen.add(path)
        files.append(path)
        rule = None
        for match, candidate in matchers:
            if match(path):
                rule = candidate
                break
        if rule is None:
            unmatched.append(path)
            continue
        reason = Reason(path, rule, chains.get(path, ()))
        for name in rule.actions:
            bucket = reasons.get(name)
            if bucket is None:
                reasons[name] = [reason]
            else:
                bucket.append(reason)

    fallback = rule_set.fallback
    fallback_applied = bool(unmatched) and fallback.kind is not FallbackKind.NONE
    if fallback_applied:
        names = rule_set.actions if fallback.kind is FallbackKind.ALL else fallback.actions
        for name in names:
            bucket = reasons.setdefault(name, [])
            bucket.extend(Reason(path, None, chains.get(path, ())) for path in unmatched)

    decided = sorted(
        (DecidedAction(rule_set.actions[name], tuple(why)) for name, why in reasons.items()),
        key=lambda d: d.action.sort_key,
    )
    return Decision(
        actions=tuple(decided),
        files=tuple(files),
        unmatched=tuple(unmatched),
        fallback_applied=fallback_applied,
    )
