"""``smartrestart handle``: the failure and cooldown handlers the shipped units run."""

from __future__ import annotations

import sys

import click


@click.group("handle", short_help="The failure and cooldown handlers of budgeted units.")
def handle_command() -> None:
    """Act on a budgeted unit's failure (run by smartrestart's own units).

    \b
    smartrestart-failure@UNIT.service   runs: smartrestart handle failure UNIT
    smartrestart-cooldown@UNIT.service  runs: smartrestart handle cooldown UNIT

    Each run writes one journal entry saying what it decided.
    """


@handle_command.command("failure")
@click.argument("unit")
def failure_command(unit: str) -> None:
    """UNIT failed: ignore (still restarting), cool down, escalate or give up."""
    _run("failure", unit)


@handle_command.command("cooldown")
@click.argument("unit")
def cooldown_command(unit: str) -> None:
    """UNIT's cooldown ended: reset its failed state and start counter, start it."""
    _run("cooldown", unit)


def _run(kind: str, unit: str) -> None:
    from smartrestart.handle.run import run_handler

    line = run_handler(kind, unit)
    # Under systemd the journal entry says it all; a person at a terminal gets a line.
    if line is not None and sys.stdout.isatty():
        click.echo(line)
