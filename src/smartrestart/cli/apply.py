"""``smartrestart apply``: decide, then restart exactly those units through D-Bus."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

import click

from smartrestart.cli.options import Seconds, decide_inputs
from smartrestart.errors import exit_codes_help

if TYPE_CHECKING:
    from smartrestart.apply.model import Plan
    from smartrestart.apply.report import Report
    from smartrestart.decide.run import DecideOutcome, DecideRequest
    from smartrestart.paths import WorkingDirectory

EPILOG = """Examples:

\b
  git pull && smartrestart apply --git ORIG_HEAD..HEAD
  smartrestart apply --from-dpkg myapp          # in a maintainer script
  smartrestart apply --json --root . src/lib/db.py

Before anything restarts, every unit is checked (valid name, loaded, not
masked); if one fails the check, nothing is done. Jobs of one order group run
at once and are awaited, Type=notify units until READY=1.

Exit codes:

""" + exit_codes_help()


@click.command("apply", epilog=EPILOG)
@decide_inputs
@click.option("--dry-run", is_flag=True, help="Print the plan; talk to no systemd, change nothing.")
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
def apply_command(
    request: DecideRequest,
    dry_run: bool,
    as_json: bool,
    timeout: float,
    keep_going: bool,
    wait_lock: float,
    lock_file: Path | None,
) -> None:
    """Decide which actions the changed PATHS need, then act on their units.

    Takes the same inputs as `decide`. Each action's units get the job its
    mode names (restart, try-restart, reload-or-restart, reload, start); an
    action with `run:` runs its command as a transient oneshot unit, so its
    output lands in the journal. Every job is logged to the journal with
    SMARTRESTART_* fields and a stable MESSAGE_ID.
    """
    from smartrestart.apply.model import build_plan
    from smartrestart.apply.report import Report, planned, render_table
    from smartrestart.decide.output import decision_json
    from smartrestart.decide.run import run_decide
    from smartrestart.paths import WorkingDirectory

    started = time.monotonic()
    cwd = WorkingDirectory.current()
    outcome = run_decide(request._replace(chains=as_json), sys.stdin.buffer, cwd)
    for warning in outcome.warnings:
        click.echo(f"smartrestart: warning: {warning}", err=True)
    plan = build_plan(outcome.decision)
    report = Report(plan=plan, dry_run=dry_run)
    if dry_run:
        report.results = planned(plan)
    elif plan.groups:
        if request.sources.dpkg_package:  # a maintainer script: ask policy-rc.d first
            plan = _apply_policy(plan, report)
        if plan.groups:
            _act(plan, report, outcome, cwd, timeout, keep_going, wait_lock, lock_file)
    report.seconds = time.monotonic() - started
    if as_json:
        import json

        click.echo(json.dumps(report.to_json(decision_json(outcome)), indent=2))
    else:
        click.echo(render_table(report), nl=False)
    click.get_current_context().exit(int(report.exit_code))


def _apply_policy(plan: Plan, report: Report) -> Plan:
    """Report the steps policy-rc.d forbids and return the plan without them."""
    from smartrestart.apply.policy import POLICY_HELPER, denied_steps, without
    from smartrestart.apply.report import Outcome, StepResult

    denied = denied_steps(plan)
    order = {step: group.order for group in plan.groups for step in group.steps}
    report.results.extend(
        StepResult(step, order[step], Outcome.DENIED, f"{POLICY_HELPER} returned 101")
        for step in denied
    )
    return without(plan, denied)


def _act(
    plan: Plan,
    report: Report,
    outcome: DecideOutcome,
    cwd: WorkingDirectory,
    timeout: float,
    keep_going: bool,
    wait_lock: float,
    lock_file: Path | None,
) -> None:
    """Lock, connect, run the plan, log start and end to the journal."""
    from smartrestart.apply.executor import ApplyOptions, Executor
    from smartrestart.apply.lock import HostLock
    from smartrestart.journal import log_event
    from smartrestart.systemd.dbus import PystemdBackend  # pystemd costs ~50 ms: apply only

    options = ApplyOptions(timeout=timeout, keep_going=keep_going, working_directory=cwd.physical)
    with HostLock(lock_file, wait_lock):
        backend = PystemdBackend()
        try:
            actions = ", ".join(outcome.decision.action_names)
            log_event(
                "apply-started",
                f"apply: {actions} on {', '.join(plan.units) or 'no units'}",
                {
                    "SMARTRESTART_ACTIONS": " ".join(outcome.decision.action_names),
                    "SMARTRESTART_UNITS": " ".join(plan.units),
                    "SMARTRESTART_TRIGGER": " ".join(outcome.decision.files),
                    "SMARTRESTART_RUN_ID": options.run_id,
                },
            )
            started = time.monotonic()
            result = "refused"  # the executor raised: nothing acted (see its docstring)
            try:
                Executor(backend, options, log_event).run(plan, report)
                result = "failed" if report.exit_code else "success"
            finally:
                detail = f": {report.error}" if report.error else ""
                log_event(
                    "apply-finished",
                    f"apply finished: {result}{detail}",
                    {
                        "SMARTRESTART_RESULT": result,
                        "SMARTRESTART_DURATION_USEC": round((time.monotonic() - started) * 1e6),
                        "SMARTRESTART_RUN_ID": options.run_id,
                        "SMARTRESTART_UNITS": " ".join(plan.units),
                        "SMARTRESTART_ERROR": report.error,
                    },
                )
        finally:
            backend.close()
