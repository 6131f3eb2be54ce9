"""Everything ``decide`` does, from inputs to a :class:`Decision`, without the CLI.

``apply`` runs exactly this first, so both commands decide the same way.
Heavy parts are imported only when used: the import graph only with
``--root``, so a plain ``decide`` starts about as fast as click and yaml allow.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, BinaryIO, NamedTuple

from smartrestart.changes import ChangeSources, gather_changes, relative_to
from smartrestart.decider import Decision, decide
from smartrestart.rules.model import RuleSet
from smartrestart.rules.schema import load_rule_set
from smartrestart.rules.sources import rules_sources

if TYPE_CHECKING:
    from smartrestart.importgraph.graph import BuildStats

MAX_PROBLEMS_SHOWN = 10


class DecideRequest(NamedTuple):
    rules_files: Sequence[Path] = ()
    config_root: Path = Path("/")
    roots: Sequence[Path] = ()
    cache_dir: Path | None = None
    include_type_checking: bool = False
    sources: ChangeSources = ChangeSources()


class DecideOutcome(NamedTuple):
    rule_set: RuleSet
    changed: tuple[str, ...]
    decision: Decision
    # Files added by import expansion -> chain from a changed file, all cwd-relative.
    expanded: Mapping[str, tuple[str, ...]] = MappingProxyType({})
    warnings: tuple[str, ...] = ()
    graph_stats: BuildStats | None = None


def load_rules(request: DecideRequest, cwd: str) -> RuleSet:
    """The merged rule set named by the request (``--rules`` plus fragments)."""
    return load_rule_set(rules_sources(request.rules_files, request.config_root, Path(cwd)))


def run_decide(request: DecideRequest, stdin: BinaryIO, cwd: str) -> DecideOutcome:
    """Load rules, gather changes, expand through imports, decide."""
    rule_set = load_rules(request, cwd)
    changed = gather_changes(request.sources, stdin, cwd)
    if not request.roots:
        return DecideOutcome(rule_set, tuple(changed), decide(changed, rule_set))

    from smartrestart.importgraph.graph import build_graph

    graph = build_graph(
        request.roots,
        cache_dir=request.cache_dir,
        include_type_checking=request.include_type_checking,
    )
    absolute = [os.path.normpath(Path(cwd, path)) for path in changed]
    chains = {
        relative_to(cwd, added): tuple(relative_to(cwd, step) for step in chain)
        for added, chain in graph.expand(absolute).items()
    }
    chains = {added: chain for added, chain in sorted(chains.items()) if added not in changed}
    warnings = _graph_warnings(graph.problems, cwd) + _syntax_warnings(absolute, cwd)
    decision = decide([*changed, *chains], rule_set, chains)
    return DecideOutcome(rule_set, tuple(changed), decision, chains, tuple(warnings), graph.stats)


def _graph_warnings(problems: dict[str, str], cwd: str) -> list[str]:
    from smartrestart.importgraph.graph import CONSERVATIVE_NOTE

    lines = [
        f"{relative_to(cwd, path)}: {problem}; {CONSERVATIVE_NOTE}"
        for path, problem in sorted(problems.items())[:MAX_PROBLEMS_SHOWN]
    ]
    if len(problems) > MAX_PROBLEMS_SHOWN:
        lines.append(f"... and {len(problems) - MAX_PROBLEMS_SHOWN} more such files")
    return lines


def _syntax_warnings(paths: Sequence[str], cwd: str) -> list[str]:
    """Changed Python files that will not even compile: worth knowing before a restart."""
    warnings: list[str] = []
    for path in paths:
        if not path.endswith(".py"):
            continue
        try:
            source = Path(path).read_bytes()
        except OSError:
            continue  # deleted in the diff
        try:
            compile(source, path, "exec", dont_inherit=True)
        except SyntaxError as exc:
            where = f"{relative_to(cwd, path)}:{exc.lineno or 0}"
            warnings.append(f"{where}: syntax error: {exc.msg} (the changed file will not import)")
        except ValueError as exc:
            warnings.append(f"{relative_to(cwd, path)}: cannot compile: {exc}")
    return warnings
