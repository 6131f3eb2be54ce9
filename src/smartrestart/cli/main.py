"""``smartrestart``: the command group, and the one place errors become exit codes."""

from __future__ import annotations

import sys
from typing import Any

import click

from smartrestart import __version__
from smartrestart.errors import ExitCode, SmartRestartError, exit_codes_help


class SmartRestartGroup(click.Group):
    """A click group that turns :class:`SmartRestartError` into a message and its exit code."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except SmartRestartError as exc:
            click.echo(f"smartrestart: error: {exc.message}", err=True)
            if exc.hint:
                click.echo(f"smartrestart: hint: {exc.hint}", err=True)
            ctx.exit(int(exc.exit_code))
        except BrokenPipeError:
            # Output piped into `head` and closed early: not an error of ours.
            sys.stderr.close()
            ctx.exit(int(ExitCode.OK))


EPILOG = "Exit codes:\n\n" + exit_codes_help()


@click.group(
    cls=SmartRestartGroup,
    epilog=EPILOG,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.version_option(__version__, "-V", "--version", prog_name="smartrestart")
def cli() -> None:
    """Restart exactly the systemd units a change touched.

    \b
    decide    which actions a list of changed files needs (no systemd needed)
    apply     decide, then restart/reload those units through D-Bus, in order
    generate  write restart-budget drop-ins that systemd itself enforces
    """


def _register() -> None:
    from smartrestart.cli.apply_cmd import apply_command
    from smartrestart.cli.completion_cmd import completion_command
    from smartrestart.cli.decide_cmd import decide_command
    from smartrestart.cli.generate_cmd import generate_command
    from smartrestart.cli.handler_cmd import handle_command

    for command in (
        decide_command,
        apply_command,
        generate_command,
        handle_command,
        completion_command,
    ):
        cli.add_command(command)


_register()


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="smartrestart")
