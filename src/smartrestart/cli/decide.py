"""``smartrestart decide``: print the actions a change needs, one per line."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import click

from smartrestart.cli.options import decide_inputs
from smartrestart.errors import exit_codes_help

if TYPE_CHECKING:
    from smartrestart.decide.run import DecideRequest

EPILOG = """Examples:

\b
  git diff --name-only HEAD~1 HEAD | smartrestart decide -r restart-rules.yaml
  smartrestart decide --root . --git ORIG_HEAD..HEAD --explain
  smartrestart decide --json src/utils/db.py

Exit codes:

""" + exit_codes_help()


@click.command(
    "decide", epilog=EPILOG, short_help="Which actions the changed files need (no systemd needed)."
)
@decide_inputs
@click.option(
    "--show-expanded", is_flag=True, help="Print files added by import expansion to stderr."
)
@click.option("--show-unmatched", is_flag=True, help="Print files no rule matched to stderr.")
@click.option("--json", "as_json", is_flag=True, help="Print the whole decision as JSON.")
@click.option("--explain", is_flag=True, help="Explain every action: files, rules, import chains.")
def decide_command(
    request: DecideRequest,
    show_expanded: bool,
    show_unmatched: bool,
    as_json: bool,
    explain: bool,
) -> None:
    """Decide which actions the changed PATHS need.

    Paths come from arguments, --git, --from-dpkg, or stdin (one per line, or
    NUL-separated with -z). Each file is matched against the rules top-down;
    the first matching rule wins and files matching none go to the fallback.
    Actions print one per line, sorted by order then name, as the original
    smart-restart printed them. Never talks to systemd.
    """
    from smartrestart.decide import output as render
    from smartrestart.decide.run import run_decide
    from smartrestart.paths import WorkingDirectory

    if as_json and explain:
        raise click.UsageError("--json and --explain are exclusive")
    request = request._replace(chains=as_json or explain)  # chains cost: only when shown
    outcome = run_decide(request, sys.stdin.buffer, WorkingDirectory.current())
    for warning in outcome.warnings:
        click.echo(f"smartrestart: warning: {warning}", err=True)
    if show_expanded:
        click.echo(render.expansion_note(outcome), err=True, nl=False)
    if show_unmatched:
        click.echo(render.unmatched_note(outcome), err=True, nl=False)
    if as_json:
        import json

        click.echo(json.dumps(render.decision_json(outcome), indent=2))
    elif explain:
        click.echo(render.explain(outcome), nl=False)
    else:
        click.echo(render.action_lines(outcome), nl=False)
