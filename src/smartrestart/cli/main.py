"""``smartrestart``: the command group, and the one place errors become exit codes."""

from __future__ import annotations

import contextlib
import gc
import importlib
import io
import os
import sys
from typing import Any, NoReturn

import click

from smartrestart import __version__
from smartrestart.errors import ActionLedger, ExitCode, SmartRestartError, exit_codes_help

DEBUG_VARIABLE = "SMARTRESTART_DEBUG"
REPORT_HINT = (
    f"this is a bug in smartrestart: please report it with the output of "
    f"{DEBUG_VARIABLE}=1 and the command line"
)

# Subcommand name -> "module:attribute". Each command's module is imported only
# when that command runs (or help lists it): building every command's click
# options costs milliseconds, and `decide` is measured against the bare import
# of click and yaml.
COMMANDS = {
    "decide": "smartrestart.cli.decide:decide_command",
    "apply": "smartrestart.cli.apply:apply_command",
    "generate": "smartrestart.cli.generate:generate_command",
    "handle": "smartrestart.cli.handle:handle_command",
    "status": "smartrestart.cli.status:status_command",
    "logs": "smartrestart.cli.logs:logs_command",
    "graph": "smartrestart.cli.graph:graph_command",
    "completion": "smartrestart.cli.completion:completion_command",
    "exec": "smartrestart.cli.exec:exec_command",
    "watch": "smartrestart.cli.watch:watch_command",
}
# Commands that may run for hours (a supervised program, a watch session, a
# followed journal): the console script starts with the cyclic garbage
# collector off (smartrestart.cli.entry says why); these turn it back on.
LONG_LIVED = frozenset({"exec", "watch", "logs"})


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

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        name, command, rest = super().resolve_command(ctx, args)
        if name in LONG_LIVED:
            collect_cycles()
        return name, command, rest

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.ClickException, click.Abort):
            raise  # click's own: usage errors (exit 2) and normal exits
        except BrokenPipeError:
            # Output piped into `head` and closed early: not an error of ours.
            sys.stderr.close()
            ctx.exit(int(ExitCode.OK))
        except BaseException as exc:  # every other way a command can end
            if isinstance(exc, SystemExit | GeneratorExit):
                raise
            fail(ctx, exc)


def describe(exc: BaseException) -> tuple[ExitCode, str, str | None]:
    """Exit code, one-line message and hint for any exception that ends a command."""
    if isinstance(exc, SmartRestartError):
        return exc.exit_code, exc.message, exc.hint
    if isinstance(exc, KeyboardInterrupt):
        return ExitCode.INTERRUPTED, "interrupted", None
    if isinstance(exc, RecursionError):
        return ExitCode.USAGE, "input nested too deeply to process", None
    if isinstance(exc, MemoryError):
        return ExitCode.USAGE, "out of memory while reading the input", None
    if isinstance(exc, OSError):
        where = f"{exc.filename}: " if exc.filename else ""
        return ExitCode.USAGE, f"{where}{exc.strerror or exc}", None
    return ExitCode.INTERNAL, f"internal error: {type(exc).__name__}: {exc}", REPORT_HINT


def fail(ctx: click.Context, exc: BaseException) -> NoReturn:
    """Print one line (and a hint) for ``exc``, then exit with the code that tells the truth.

    Codes 2, 3, 4, 70 and 130 promise that nothing acted; once something has
    (:class:`ActionLedger`), the error is reported as a failure, exit 1.
    """
    code, message, hint = describe(exc)
    if ActionLedger.acted and code not in (ExitCode.OK, ExitCode.FAILED):
        message += f" (after {ActionLedger.acted} had already acted)"
        code = ExitCode.FAILED
    click.echo(f"smartrestart: error: {message}", err=True)
    if hint:
        click.echo(f"smartrestart: hint: {hint}", err=True)
    if ctx.meta.get("smartrestart.debug") or os.environ.get(DEBUG_VARIABLE) == "1":
        import traceback

        traceback.print_exception(exc, file=sys.stderr)
    ctx.exit(int(code))


EPILOG = "Exit codes:\n\n" + exit_codes_help()


@click.group(
    cls=SmartRestartGroup,
    epilog=EPILOG,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.version_option(__version__, "-V", "--version", prog_name="smartrestart")
@click.option(
    "--debug",
    is_flag=True,
    help=f"Show the Python traceback of an error (also: {DEBUG_VARIABLE}=1).",
)
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """Restart exactly the systemd units a change touched.

    Every command below is listed from the command table; `smartrestart
    COMMAND --help` says more.
    """
    ctx.meta["smartrestart.debug"] = debug
    ActionLedger.reset()  # one command, one ledger (tests run many in one process)


def main() -> None:
    """Console-script entry point.

    Exits with ``os._exit`` once the output is flushed: tearing down a large
    import graph object by object takes longer than a warm decide itself,
    and nothing is left to clean up (no atexit handlers are ours).
    """
    # File names are bytes; paths that are not UTF-8 go back out as they came
    # in, on stdout and in the warnings and notes on stderr alike.
    for stream in (sys.stdout, sys.stderr):
        if isinstance(stream, io.TextIOWrapper):
            stream.reconfigure(errors="surrogateescape")
    try:
        cli(prog_name="smartrestart")
        code = 0
    except SystemExit as exit_request:
        code = exit_code_of(exit_request)
    with contextlib.suppress(BrokenPipeError):  # output piped into `head`: not ours
        sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def collect_cycles() -> None:
    """Turn the cyclic collector on, sparing it the objects built so far (all long-lived)."""
    if not gc.isenabled():
        gc.freeze()
        gc.enable()


def exit_code_of(exit_request: SystemExit) -> int:
    """The status ``sys.exit(...)`` asked for, as the interpreter would compute it."""
    if exit_request.code is None:
        return 0
    if isinstance(exit_request.code, int):
        return exit_request.code & 0xFF
    print(exit_request.code, file=sys.stderr)
    return 1
