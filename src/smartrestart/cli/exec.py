"""``smartrestart exec``: run a program that cannot speak sd_notify, with probes for it."""

from __future__ import annotations

import click

from smartrestart.cli.timespans import TimeSpan

EPILOG = """Probes: tcp:HOST:PORT, unix:PATH, http://... and https://... (status below 400),
file:PATH (exists), cmd:COMMAND (exits 0), log:REGEX (a line the program prints).

Examples:

\b
  [Service]
  Type=notify
  ExecStart=/usr/bin/smartrestart exec --ready tcp:127.0.0.1:8080 \\
      --health http://127.0.0.1:8080/health -- /usr/bin/myapp --port 8080
  WatchdogSec=10s
  KillMode=mixed

\b
  smartrestart exec --ready 'log:listening on' -- node server.js

The exit status is the program's: its code, or, when a signal killed it, exec
dies by the same signal (a shell shows 128 + its number). It is 2 for a
mistake on exec's own command line or a program that cannot be run (nothing
ran), and the program's status (or 1) when it ended or timed out before it
was ready.
"""


@click.command(
    "exec",
    epilog=EPILOG,
    short_help="Run a program, tell systemd when it is ready and whether it is healthy.",
    context_settings={"allow_interspersed_args": False},
)
@click.option(
    "--ready",
    "ready",
    multiple=True,
    metavar="PROBE",
    help="Send READY=1 once this probe passes (repeatable: all of them, in order).",
)
@click.option(
    "--ready-body",
    metavar="REGEX",
    help="An http(s) ready probe passes only when the body matches this too.",
)
@click.option(
    "--ready-timeout",
    type=TimeSpan(minimum=0.001),
    default="90s",
    show_default=True,
    help="Give up (and fail the start) when not ready by then.",
)
@click.option(
    "--ready-interval",
    type=TimeSpan(minimum=0.001),
    default="100ms",
    show_default=True,
    help="Time between tries of a ready probe.",
)
@click.option("--health", metavar="PROBE", help="Ping the watchdog only while this probe passes.")
@click.option(
    "--health-interval",
    type=TimeSpan(minimum=0.001),
    default="5s",
    show_default=True,
    help="Time between health probes.",
)
@click.option(
    "--health-timeout",
    type=TimeSpan(minimum=0.001),
    default="1s",
    show_default=True,
    help="How long one probe (health or ready) may take before it counts as failed.",
)
@click.option(
    "--health-retries",
    type=click.IntRange(min=1),
    default=3,
    show_default=True,
    help="Consecutive health failures that stop the pings and trigger the watchdog.",
)
@click.option(
    "--stop-timeout",
    type=TimeSpan(),
    default="10s",
    show_default=True,
    help="After --ready-timeout: SIGTERM, then SIGKILL this much later.",
)
@click.argument("argv", nargs=-1, type=click.UNPROCESSED, metavar="-- PROGRAM [ARGS]...")
def exec_command(
    ready: tuple[str, ...],
    ready_body: str | None,
    health: str | None,
    argv: tuple[str, ...],
    **timing: float,
) -> None:
    """Run PROGRAM as exec's child and speak sd_notify for it.

    exec stays the main process (NotifyAccess=main works): READY=1 once every
    --ready probe passed (STATUS= names the one it waits for, EXTEND_TIMEOUT_USEC
    keeps the start timeout open up to --ready-timeout); with --health and
    WatchdogSec=, WATCHDOG=1 at half the watchdog interval while the probe
    passes, and WATCHDOG=trigger after --health-retries failures in a row.
    SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1 and SIGUSR2 go on to PROGRAM.
    Durations use systemd's syntax (500ms, 90s, 2min).
    """
    from smartrestart.exec.model import build_options
    from smartrestart.exec.run import run_exec

    options = build_options(argv, ready, ready_body, health, **timing)
    click.get_current_context().exit(run_exec(options))
