"""``smartrestart graph``: the rules as a picture, or the slice behind one decision."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import click

from smartrestart.cli.options import decide_inputs
from smartrestart.errors import UsageError, exit_codes_help

if TYPE_CHECKING:
    from smartrestart.decide.run import DecideRequest

EPILOG = """Examples:

\b
  smartrestart graph | dot -Tsvg > rules.svg
  smartrestart graph --format svg --root src src/lib/db.py > why.svg
  smartrestart graph --format mermaid --git ORIG_HEAD..HEAD

Without changed paths the whole rule set is drawn (stdin is not read; give
`-` to read paths from it). SVG and PNG need Graphviz's dot.

Exit codes:

""" + exit_codes_help()


@click.command(
    "graph",
    epilog=EPILOG,
    short_help="Rules -> actions -> units as a picture (DOT, Mermaid, SVG, PNG).",
)
@decide_inputs
@click.option(
    "--format",
    "form",
    type=click.Choice(["dot", "mermaid", "svg", "png"]),
    default="dot",
    show_default=True,
    help="DOT and Mermaid are text; SVG and PNG are drawn by Graphviz's dot.",
)
def graph_command(request: DecideRequest, form: str) -> None:
    """Draw rules -> actions -> units; with changed PATHS, only what is behind
    that decision: file -> import chain -> matched rule -> action -> unit.
    """
    from smartrestart.graph.run import GraphRequest, build, render
    from smartrestart.paths import WorkingDirectory

    if form == "png" and sys.stdout.isatty():
        raise UsageError("--format png is binary: redirect it to a file (> rules.png)")
    graph, warnings = build(
        GraphRequest(request, form), sys.stdin.buffer, WorkingDirectory.current()
    )
    for warning in warnings:
        click.echo(f"smartrestart: warning: {warning}", err=True)
    output = render(graph, form)
    sys.stdout.buffer.write(output)
