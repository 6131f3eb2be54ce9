"""``smartrestart``: the command group, and the one place errors become exit codes."""

from __future__ import annotations

import importlib
import sys
from typing import Any

import click

from smartrestart import __version__
from smartrestart.errors import ExitCode, SmartRestartError, exit_codes_help

# Subcommand name -> "module:attribute". Each command's module is imported only
# when that command runs (or help lists it): building every command's click
# options costs milliseconds, and `decide` is measured against the bare import
# of click and yaml.
COMMANDS = {
    "decide": "smartrestart.cli.decide_cmd:decide_command",
    "apply": "smartrestart.cli.apply_cmd:apply_command",
    "generate": "smartrestart.cli.generate_cmd:generate_command",
    "handle": "smartrestart.cli.handler_cmd:handle_command",
    "completion": "smartrestart.cli.completion_cmd:completion_command",
}


class SmartRestartGroup(click.Group):
    """A click group that loads subcommands lazily and turns errors into exit codes.

    :class:`SmartRestartError` becomes a message and its exit code here, the
    one place that knows about exit codes.
    """

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None:
            return None
        module_name, attribute = target.split(":")
        command = getattr(importlib.import_module(module_name), attribute)
        assert isinstance(command, click.Command)
        return command

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


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="smartrestart")
