"""``smartrestart apply``: decide, then restart exactly those units through D-Bus."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from smartrestart.cli.options import Seconds, decide_inputs, user_option
from smartrestart.errors import exit_codes_help

if TYPE_CHECKING:
    from smartrestart.decide.run import DecideRequest

EPILOG = """Examples:

\b
  git pull && smartrestart apply --git ORIG_HEAD..HEAD
  smartrestart apply --from-dpkg myapp          # in a maintainer script
  smartrestart apply --pending                  # what Debian upgrades left pending
  smartrestart apply --json --root . src/lib/db.py
  smartrestart apply --check --diff --git A..B  # Ansible's check and diff modes
  smartrestart apply --settle 2 --git A..B      # fail a unit that dies right after starting

Before anything restarts, every unit is checked (valid name, loaded, not
masked); if one fails the check, nothing is done. Jobs of one order group run
at once and are awaited, Type=notify units until READY=1.

Exit codes:

""" + exit_codes_help()


@click.command(
    "apply",
    epilog=EPILOG,
    short_help="Decide, then restart or reload exactly those units, in order, verified.",
)
@decide_inputs
@click.option("--dry-run", is_flag=True, help="Print the plan; talk to no systemd, change nothing.")
@click.option(
    "--check",
    is_flag=True,
    help="Change nothing: check the units with systemd (read-only) and report what each step "
    "would do now; exit 1 when something would change.",
)
@click.option(
    "--settle",
    type=Seconds(min=0),
    default=0.0,
    show_default=True,
    metavar="SECONDS",
    help="Watch each unit a group started this long before the next group: one that stops, "
    "fails or is restarted by systemd meanwhile fails (a Type=simple start is done once forked).",
)
@click.option(
    "--diff",
    is_flag=True,
    help="Also report each unit's InvocationID, MainPID and ActiveEnterTimestamp before and after.",
)
@click.option(
    "--json", "as_json", is_flag=True, help="Print the report (and the decision) as JSON."
)
@click.option(
    "--timeout",
    type=Seconds(min=0.1),
    default=600.0,
    show_default=True,
    help="Seconds to wait for each job (and each group's jobs, which run at once).",
)
@click.option("--keep-going", is_flag=True, help="Run later order groups even after a failure.")
@click.option(
    "--wait-lock",
    type=Seconds(min=0),
    default=0.0,
    show_default=True,
    metavar="SECONDS",
    help="Wait this long for another apply to finish instead of exiting 4.",
)
@click.option(
    "--lock-file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="The host-wide lock that keeps applies from overlapping. Default: "
    "/run/smartrestart/apply.lock as root, else $XDG_RUNTIME_DIR/smartrestart/apply.lock.",
)
@click.option(
    "--pending",
    is_flag=True,
    help="Take the changed files from what Debian upgrades left pending "
    "(/var/lib/smartrestart/pending), ask policy-rc.d about each unit, and clear what was "
    "handled; what failed or was denied stays pending.",
)
@click.option(
    "--trigger",
    is_flag=True,
    help="Run as the dpkg trigger does (implies --pending): keep everything pending while "
    "SMARTRESTART_SUSPEND=1, without a running systemd or during a shutdown; exit 0 after a "
    "failure unless SMARTRESTART_STRICT=1.",
)
@user_option
def apply_command(
    request: DecideRequest,
    dry_run: bool,
    check: bool,
    settle: float,
    diff: bool,
    as_json: bool,
    timeout: float,
    keep_going: bool,
    wait_lock: float,
    lock_file: Path | None,
    pending: bool,
    trigger: bool,
    user: bool,
) -> None:
    """Decide which actions the changed PATHS need, then act on their units.

    Takes the same inputs as `decide`. Each action's units get the job its
    mode names (restart, try-restart, reload-or-restart, reload, start); an
    action with `run:` runs its command as a transient oneshot unit, so its
    output lands in the journal. Every job is logged to the journal with
    SMARTRESTART_* fields and a stable MESSAGE_ID.
    """
    from smartrestart.apply import output
    from smartrestart.apply.run import ApplyRequest, run_apply
    from smartrestart.paths import WorkingDirectory

    apply_request = ApplyRequest(
        request._replace(chains=as_json),
        dry_run=dry_run,
        timeout=timeout,
        keep_going=keep_going,
        wait_lock=wait_lock,
        lock_file=lock_file,
        user=user,
        check=check,
        settle=settle,
        diff=diff,
    )
    if pending or trigger:
        from smartrestart.cli.pending import apply_pending

        apply_pending(apply_request, trigger=trigger, as_json=as_json, warn=warn)
    outcome = run_apply(apply_request, sys.stdin.buffer, WorkingDirectory.current(), warn=warn)
    report = outcome.report
    if as_json:
        import json

        from smartrestart.decide.output import decision_json

        click.echo(json.dumps(output.report_json(report, decision_json(outcome.decided)), indent=2))
    else:
        click.echo(output.render_table(report), nl=False)
    click.get_current_context().exit(int(report.exit_code))


def warn(warning: str) -> None:
    click.echo(f"smartrestart: warning: {warning}", err=True)
