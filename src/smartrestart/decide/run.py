"""Everything ``decide`` does, from inputs to a :class:`Decision`, without the CLI.

``apply`` runs exactly this first, so both commands decide the same way.
Heavy parts are imported only when used: the import graph only with
``--root``, so a plain ``decide`` starts about as fast as click and yaml allow.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import TYPE_CHECKING, BinaryIO

from smartrestart import pathnames
from smartrestart.decide.changes import ChangeSources, gather_changes
from smartrestart.decide.model import Decision, decide
from smartrestart.errors import ConfigError
from smartrestart.paths import WorkingDirectory, canonical_pattern
from smartrestart.records import NamedTuple
from smartrestart.rules.model import RuleSet
from smartrestart.rules.schema import load_rule_set
from smartrestart.rules.sources import rules_sources

if TYPE_CHECKING:
    from smartrestart.importgraph.graph import BuildStats

MAX_PROBLEMS_SHOWN = 10


class DecideRequest(NamedTuple):
    # Paths as pathlib would spell them (smartrestart.pathnames): messages show them.
    rules_files: Sequence[str] = ()
    config_root: str = "/"
    roots: Sequence[str] = ()
    # None: the default cache directory, when an import graph is built at all.
    cache_dir: str | None = None
    no_cache: bool = False
    include_type_checking: bool = False
    sources: ChangeSources = ChangeSources()
    # Build import chains (for --explain and --json): costs time per added file.
    chains: bool = False
    # The project's interpreter, for the syntax check of changed files.
    python: str | None = None


class DecideOutcome(NamedTuple):
    rule_set: RuleSet
    changed: tuple[str, ...]
    decision: Decision
    # Files added by import expansion -> chain from a changed file, all cwd-relative.
    expanded: Mapping[str, tuple[str, ...]] = MappingProxyType({})
    warnings: tuple[str, ...] = ()
    graph_stats: BuildStats | None = None


def load_rules(request: DecideRequest, cwd: WorkingDirectory) -> RuleSet:
    """The merged rule set named by the request (``--rules`` plus fragments).

    Absolute patterns are matched in the canonical form changed paths take.
    """
    sources = rules_sources(request.rules_files, request.config_root, cwd.logical)
    rule_set = load_rule_set(sources)
    rules = tuple(
        rule._replace(canonical=canonical) if canonical != rule.pattern else rule
        for rule in rule_set.rules
        for canonical in (canonical_pattern(rule.pattern),)
    )
    return rule_set._replace(rules=rules)


def run_decide(request: DecideRequest, stdin: BinaryIO, cwd: WorkingDirectory) -> DecideOutcome:
    """Load rules, gather changes, expand through imports, decide."""
    rule_set = load_rules(request, cwd)
    changed = gather_changes(request.sources, stdin, cwd)
    roots = graph_roots(request, rule_set, cwd)
    if not roots:
        return DecideOutcome(rule_set, tuple(changed), decide(changed, rule_set))

    from smartrestart.decide.syntax import SyntaxCheck

    absolute = [cwd.absolute(path) for path in changed]
    # The roots as the graph will name them: where a pyproject.toml may say
    # which Python the project targets.
    project_dirs = [cwd.physical, *map(os.path.realpath, roots)]
    # Under way while the graph is built; started before the graph's modules are
    # imported, so that a forked child shares fewer pages with this process.
    with SyntaxCheck(
        absolute, cwd.relative, python=request.python, project_dirs=project_dirs
    ) as syntax:
        from smartrestart.importgraph.build import build_graph
        from smartrestart.importgraph.cache import default_cache_dir

        cache_dir = None if request.no_cache else request.cache_dir or default_cache_dir()
        graph = build_graph(
            roots, cache_dir=cache_dir, include_type_checking=request.include_type_checking
        )
        expansion = graph.expand(absolute)
        if request.chains:
            chains = {
                cwd.relative(added): tuple(cwd.relative(step) for step in chain)
                for added, chain in expansion.chains().items()
            }
        else:
            chains = {
                added: ()
                for directory, names in expansion.by_root()
                for added in cwd.relative_under(directory, names)
            }
        known = set(changed)
        chains = {added: chains[added] for added in sorted(chains) if added not in known}
        warnings = (
            graph.notes
            + _graph_warnings(graph.problems, cwd)
            + _walk_warnings(graph.unreadable, cwd)
            + syntax.warnings()
        )
    decision = decide([*changed, *chains], rule_set, chains)
    return DecideOutcome(rule_set, tuple(changed), decision, chains, tuple(warnings), graph.stats)


def graph_roots(request: DecideRequest, rule_set: RuleSet, cwd: WorkingDirectory) -> list[str]:
    """``--root`` directories, then the rules files' ``import_roots``, absolute, once each.

    A root a rules file names must be a directory: a typo would otherwise
    silently leave every importer below it unrestarted.
    """
    roots = [cwd.absolute(root) for root in request.roots]
    for index, root in enumerate(rule_set.import_roots):
        path = cwd.absolute(root.path)
        if not pathnames.is_dir(path):
            raise ConfigError(root.location, f"import_roots[{index}]", f"{path} is not a directory")
        roots.append(path)
    return list(dict.fromkeys(roots))


def _limited(lines: list[str], what: str) -> list[str]:
    if len(lines) <= MAX_PROBLEMS_SHOWN:
        return lines
    hidden = len(lines) - MAX_PROBLEMS_SHOWN
    return [*lines[:MAX_PROBLEMS_SHOWN], f"... and {hidden} more such {what}"]


def _graph_warnings(problems: dict[str, str], cwd: WorkingDirectory) -> list[str]:
    from smartrestart.importgraph.graph import CONSERVATIVE_NOTE

    lines = [
        f"{cwd.relative(path)}: {problem}; {CONSERVATIVE_NOTE}"
        for path, problem in sorted(problems.items())
    ]
    return _limited(lines, "files")


def _walk_warnings(unreadable: dict[str, str], cwd: WorkingDirectory) -> list[str]:
    """Entries under a root the walk could not read: said, never silently left out."""
    lines = [
        f"{cwd.relative(path)}: {problem}; not in the import graph"
        for path, problem in sorted(unreadable.items())
    ]
    return _limited(lines, "entries")
