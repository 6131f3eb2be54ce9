"""``smartrestart handle``: the failure and cooldown handlers the shipped units run."""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from smartrestart.systemd.backend import SystemdBackend

    Handler = Callable[[SystemdBackend, str, Callable[[str, str, Mapping[str, object]], None]], Any]


@click.group("handle")
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
    from smartrestart.handle.run import handle_failure

    _run(handle_failure, unit)


@handle_command.command("cooldown")
@click.argument("unit")
def cooldown_command(unit: str) -> None:
    """UNIT's cooldown ended: reset its failed state and start counter, start it."""
    from smartrestart.handle.run import handle_cooldown

    _run(handle_cooldown, unit)


def _run(handler: Handler, unit: str) -> None:
    """Run ``handler``; any error is also a journal entry, since no one reads its stderr."""
    from smartrestart.errors import SmartRestartError, UsageError
    from smartrestart.journal.writer import log_event
    from smartrestart.unitname import unit_name_problem

    command = click.get_current_context().info_name or "handle"
    try:
        problem = unit_name_problem(unit)
        if problem:
            raise UsageError(problem)
        _call(handler, unit, log_event)
    except SmartRestartError as exc:
        log_event(
            "handler-failed",
            f"{unit}: the {command} handler could not act: {exc.message}",
            {
                "SMARTRESTART_UNIT": unit,
                "SMARTRESTART_HANDLER": command,
                "SMARTRESTART_ERROR": exc.message,
                "SMARTRESTART_EXIT_STATUS": int(exc.exit_code),
            },
        )
        raise


def _call(
    handler: Handler, unit: str, log: Callable[[str, str, Mapping[str, object]], None]
) -> None:
    from smartrestart.systemd.dbus import PystemdBackend

    backend = PystemdBackend()
    try:
        result = handler(backend, unit, log)
        # Under systemd the journal entry says it all; a person at a terminal gets a line.
        if result is not None and sys.stdout.isatty():
            click.echo(f"{unit}: {result.verdict.value}: {result.reason}")
    finally:
        backend.close()
