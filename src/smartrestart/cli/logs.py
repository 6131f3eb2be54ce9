"""``smartrestart logs``: our journal entries, in a table or as JSON lines, or followed."""

from __future__ import annotations

import sys

import click

from smartrestart.errors import exit_codes_help

EPILOG = """Examples:

\b
  smartrestart logs --deploy 3f2a9c0d4b5e6f70   # one apply's entries (its deploy_id)
  smartrestart logs --unit app-api.service --since -1h
  smartrestart logs -f --json | jq .

Only entries written by root count (anyone can log SYSLOG_IDENTIFIER=
smartrestart). Following ends with exit status 0 on Ctrl-C or SIGTERM.
Reading the journal needs root or the systemd-journal or adm group.

Exit codes:

""" + exit_codes_help()


@click.command("logs", epilog=EPILOG, short_help="What smartrestart did, from the journal.")
@click.option(
    "--unit", metavar="UNIT", help="Only entries about UNIT, with its own lines around each."
)
@click.option("--deploy", metavar="ID", help="Only the entries of the apply with this deploy_id.")
@click.option(
    "--since",
    metavar="TIME",
    help="Only entries from TIME on: 2025-11-22, '2025-11-22 10:30', @EPOCH, today, "
    "yesterday, -1h, '90min ago'.",
)
@click.option("-f", "--follow", is_flag=True, help="Show new entries as they come.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per entry and line.")
def logs_command(
    unit: str | None, deploy: str | None, since: str | None, follow: bool, as_json: bool
) -> None:
    """Show smartrestart's journal entries: time, deploy, action, unit, result, duration.

    Every apply's entries share its deploy id (SMARTRESTART_DEPLOY=); the
    failure handler's entries (cooldowns, escalations) name their unit.
    """
    from smartrestart.logs.model import Row
    from smartrestart.logs.output import HEADER, json_line, table_line
    from smartrestart.logs.run import LogsRequest, run_logs

    shown: list[bool] = []

    def emit(row: Row) -> None:
        if not as_json and not shown:
            click.echo(HEADER)
        shown.append(True)
        click.echo(json_line(row) if as_json else table_line(row))
        sys.stdout.flush()  # followed: each entry as it comes, also into a pipe

    request = LogsRequest(unit=unit, deploy=deploy, since=since, follow=follow)
    if run_logs(request, emit) == 0 and not follow:
        click.echo("smartrestart: no entries", err=True)
