"""``smartrestart watch``: restart on save, the units a change reaches or a program itself."""

from __future__ import annotations

import sys
from collections.abc import Callable

import click

from smartrestart.cli.options import PathName, config_root_option, rules_option, user_option
from smartrestart.cli.timespans import TimeSpan
from smartrestart.errors import exit_codes_help

EPILOG = """Examples:

\b
  smartrestart watch --user --root src          # units mode, systemctl --user units
  smartrestart watch --root src -- python -m myapp.server --port 8080
  smartrestart watch -- python app.py           # process mode, the tree is .

Units mode decides and applies each settled batch of changes exactly as
`apply` does (rules, import graph, checks, verification, budgets). Process
mode needs no systemd: it restarts PROGRAM only when a changed file is in its
import closure. Both ignore .git, __pycache__, swap and backup files; an
editor's atomic save counts as a change of the file saved. When inotify
watches run out, watch says which sysctl to raise and goes on by polling.

Exit codes:

""" + exit_codes_help()


@click.command(
    "watch",
    epilog=EPILOG,
    short_help="Watch the tree; on each change restart the units it reaches, or a program.",
    context_settings={"allow_interspersed_args": False},
)
@rules_option
@config_root_option
@click.option(
    "--root",
    "roots",
    multiple=True,
    type=PathName(exists=True, file_okay=False),
    help="Follow imports in this tree (repeatable); watched too. Process mode: default '.'.",
)
@click.option(
    "--include-type-checking", is_flag=True, help="Count imports under `if TYPE_CHECKING:`."
)
@click.option(
    "--cache-dir",
    type=PathName(file_okay=False),
    help="Where parsed imports are cached. Default: $XDG_CACHE_HOME/smartrestart.",
)
@click.option("--no-cache", is_flag=True, help="Neither read nor write the import cache.")
@user_option
@click.option(
    "--debounce",
    type=TimeSpan(minimum=0.001),
    default="100ms",
    show_default=True,
    help="A batch of changes is settled after this long without another change ...",
)
@click.option(
    "--debounce-max",
    type=TimeSpan(minimum=0.001),
    default="2s",
    show_default=True,
    help="... or at the latest this long after its first change.",
)
@click.option(
    "--timeout",
    type=TimeSpan(minimum=0.1),
    default="10min",
    show_default=True,
    help="Units mode: how long each apply's jobs (and a unit still starting) may take.",
)
@click.option(
    "--entry",
    metavar="FILE",
    help="Process mode: the file whose imports decide a restart "
    "(default: from `python FILE` or `python -m MODULE` in the command line).",
)
@click.option(
    "--stop-timeout",
    type=TimeSpan(),
    default="10s",
    show_default=True,
    help="Process mode: SIGTERM, then SIGKILL this much later.",
)
@click.option(
    "--restart-delay",
    type=TimeSpan(),
    default="0",
    show_default=True,
    help="Process mode: wait this long between the stop and the new start.",
)
@click.argument("argv", nargs=-1, type=click.UNPROCESSED, metavar="[-- PROGRAM [ARGS]...]")
def watch_command(
    rules_files: tuple[str, ...],
    config_root: str,
    roots: tuple[str, ...],
    include_type_checking: bool,
    cache_dir: str | None,
    no_cache: bool,
    user: bool,
    debounce: float,
    debounce_max: float,
    timeout: float,
    entry: str | None,
    stop_timeout: float,
    restart_delay: float,
    argv: tuple[str, ...],
) -> None:
    """Watch the tree and restart what a change touched, until stopped.

    Without PROGRAM (units mode): the rules files' directories and the --root
    trees are watched; each settled batch runs decide and apply, one apply at
    a time (changes arriving meanwhile make the next batch), and a unit still
    starting is waited for before it is restarted again.

    With PROGRAM (process mode): runs it, and restarts it (SIGTERM, then
    SIGKILL after --stop-timeout) only when a changed file is its entry
    module or imported by it, transitively.
    """
    from smartrestart.errors import UsageError
    from smartrestart.watch.watcher import stop_on_signals

    if argv and (rules_files or user):
        raise UsageError("process mode (-- PROGRAM) takes no --rules or --user")
    if entry is not None and not argv:
        raise UsageError("--entry is for process mode (-- PROGRAM)")
    if not no_cache and cache_dir is None:
        from smartrestart.importgraph.cache import default_cache_dir

        cache_dir = default_cache_dir()
    cache = None if no_cache else cache_dir
    say = _printer()
    stop_on_signals()
    code = 0
    try:
        if argv:
            from smartrestart.watch.process import ProcessRequest, run_watch_process

            code = run_watch_process(
                ProcessRequest(
                    argv,
                    roots,
                    entry,
                    cache,
                    include_type_checking,
                    debounce,
                    debounce_max,
                    stop_timeout,
                    restart_delay,
                ),
                say,
            )
        else:
            from smartrestart.decide.run import DecideRequest
            from smartrestart.watch.run import WatchRequest, run_watch_units

            decide = DecideRequest(
                rules_files=rules_files,
                config_root=config_root,
                roots=roots,
                cache_dir=cache,
                include_type_checking=include_type_checking,
            )
            run_watch_units(WatchRequest(decide, user, debounce, debounce_max, timeout), say)
    except KeyboardInterrupt:  # Ctrl-C, SIGTERM, SIGHUP: the way a watch ends
        say("smartrestart watch: stopped")
    click.get_current_context().exit(code)


def _printer() -> Callable[[str], None]:
    """Lines as they happen: flushed at once, also into a pipe or the journal."""

    def say(line: str) -> None:
        click.echo(line)
        sys.stdout.flush()

    return say
