"""``smartrestart status``: how units do against their budgets, from systemd's own truth."""

from __future__ import annotations

from pathlib import Path

import click

from smartrestart.cli.options import config_root_option, current_directory, rules_option
from smartrestart.errors import exit_codes_help

EPILOG = """Examples:

\b
  smartrestart status                         # every unit the rules name
  smartrestart status app-api.service --json
  smartrestart status || echo "a unit is down"

The restart count comes from the journal (systemd's own entries), so
`systemctl reset-failed` and daemon-reload do not reset it; a deploy's
restart is not counted against the crash budget. Reading the journal needs
root or the systemd-journal or adm group.

Exit codes (3 also when a unit shown is not active, as systemctl is-active):

""" + exit_codes_help()


@click.command(
    "status",
    epilog=EPILOG,
    short_help="State, restart budget, last restart and why, last deploy, per unit.",
)
@click.argument("units", nargs=-1, metavar="[UNIT]...")
@rules_option
@config_root_option
@click.option("--json", "as_json", is_flag=True, help='Print {"units": [...]} as JSON.')
def status_command(
    units: tuple[str, ...], rules_files: tuple[str, ...], config_root: str, as_json: bool
) -> None:
    """Show UNITs, or every unit the rules' actions and budgets name.

    Per unit: load, active and sub state, Result, since when, MainPID,
    InvocationID, StatusText, NRestarts; the budget (restarts used in the
    start-limit window against the intensity, whether it is exhausted, the
    next restart delay, the cooldown cycle); the last start and why
    (automatic with systemd's Result, manual, deploy, cooldown); the last
    deploy that touched the unit.
    """
    from smartrestart.status import output
    from smartrestart.status.model import exit_code
    from smartrestart.status.run import StatusRequest, run_status

    outcome = run_status(
        StatusRequest(units=units, rules_files=rules_files, config_root=config_root),
        Path(current_directory()),
    )
    for warning in outcome.warnings:
        click.echo(f"smartrestart: warning: {warning}", err=True)
    if as_json:
        import json

        click.echo(json.dumps(output.status_json(outcome), indent=2))
    else:
        click.echo(output.render_text(outcome), nl=False)
    click.get_current_context().exit(int(exit_code(outcome.reports)))
