"""Everything ``graph`` does: the rules (or a decision), the graph, its text or picture.

With changed paths (arguments, ``-`` for stdin, ``--git``, ``--from-dpkg``)
the decision is made exactly as ``decide`` makes it, import chains
included; without any, the whole rule set is drawn and stdin is not read.
SVG and PNG come from Graphviz's ``dot``, run on the DOT text.
"""

from __future__ import annotations

import os
import subprocess
from typing import BinaryIO, NamedTuple

from smartrestart.decide.run import DecideRequest, load_rules, run_decide
from smartrestart.errors import UsageError
from smartrestart.graph.model import Graph, decision_graph, whole_graph
from smartrestart.graph.output import render_dot, render_mermaid
from smartrestart.paths import WorkingDirectory

TEXT_FORMATS = {"dot": render_dot, "mermaid": render_mermaid}
PICTURE_FORMATS = ("svg", "png")
FORMATS = (*TEXT_FORMATS, *PICTURE_FORMATS)
DOT_TIMEOUT = 120.0


class GraphRequest(NamedTuple):
    decide: DecideRequest
    format: str = "dot"


def build(
    request: GraphRequest, stdin: BinaryIO, cwd: WorkingDirectory
) -> tuple[Graph, tuple[str, ...]]:
    """The graph, and the decision's warnings (none for the whole rule set)."""
    sources = request.decide.sources
    if sources.paths or sources.git_range is not None or sources.dpkg_package is not None:
        outcome = run_decide(request.decide._replace(chains=True), stdin, cwd)
        graph = decision_graph(outcome.rule_set, outcome.decision, outcome.changed)
        return graph, outcome.warnings
    return whole_graph(load_rules(request.decide, cwd)), ()


def render(graph: Graph, form: str) -> bytes:
    if form in TEXT_FORMATS:
        return TEXT_FORMATS[form](graph).encode()
    return picture(render_dot(graph), form)


def picture(dot_source: str, form: str) -> bytes:
    """``dot -T<form>`` of the DOT text; a clear refusal where Graphviz is missing."""
    env = None
    if os.geteuid() == 0:  # root runs the system's dot, not one found on its PATH
        from smartrestart.decide.changes import SYSTEM_PATH

        env = {**os.environ, "PATH": SYSTEM_PATH}
    try:
        done = subprocess.run(
            ["dot", f"-T{form}"],
            input=dot_source.encode(),
            capture_output=True,
            env=env,
            timeout=DOT_TIMEOUT,
            check=False,
        )
    except FileNotFoundError:
        raise UsageError(
            f"--format {form} needs Graphviz's dot, which is not installed",
            hint="apt-get install graphviz; --format dot and mermaid print text without it",
        ) from None
    except subprocess.TimeoutExpired:
        raise UsageError(f"dot -T{form} did not finish within {DOT_TIMEOUT:g} s") from None
    if done.returncode != 0:
        detail = done.stderr.decode("utf-8", "replace").strip().splitlines()
        raise UsageError(f"dot -T{form} failed: {detail[0] if detail else done.returncode}")
    return done.stdout
