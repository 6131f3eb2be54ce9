"""``smartrestart generate``: restart budgets from the rules, written as systemd drop-ins."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from smartrestart.cli.options import config_root_option, current_directory, rules_option
from smartrestart.errors import exit_codes_help

if TYPE_CHECKING:
    from smartrestart.budget.generate_run import GenerateOutcome

EPILOG = """Examples:

\b
  smartrestart generate                       # /etc/systemd/system, then daemon-reload
  smartrestart generate --check --diff        # CI, Ansible check mode: what would change
  smartrestart generate --root /srv/image --systemd-version 257

Exit codes (with --check, 1 means something would change):

""" + exit_codes_help()


@click.command("generate", epilog=EPILOG)
@rules_option
@config_root_option
@click.option(
    "--unit-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Write drop-ins under this directory instead of /etc/systemd/system.",
)
@click.option("--runtime", is_flag=True, help="Write under /run/systemd/system (lost at reboot).")
@click.option(
    "--root",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="An image: write under ROOT/etc/systemd/system and do not reload.",
)
@click.option(
    "--systemd-version",
    type=click.IntRange(min=200),
    help="Generate for this systemd version instead of asking the running manager.",
)
@click.option("--check", is_flag=True, help="Change nothing; exit 1 when something would change.")
@click.option("--diff", "show_diff", is_flag=True, help="Show what changes, as a unified diff.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.option("--no-reload", is_flag=True, help="Do not daemon-reload after changing drop-ins.")
def generate_command(
    rules_files: tuple[Path, ...],
    config_root: Path,
    unit_dir: Path | None,
    runtime: bool,
    root: Path | None,
    systemd_version: int | None,
    check: bool,
    show_diff: bool,
    as_json: bool,
    no_reload: bool,
) -> None:
    """Write one drop-in per budgeted unit: <unit>.d/50-smartrestart.conf.

    Each budget (restart type, intensity within period, backoff, watchdog,
    timeouts, fatal and non-retryable exit codes, cooldown, escalation)
    becomes directives systemd itself enforces. Unchanged files are not
    rewritten; drop-ins written earlier for units no longer budgeted are
    removed; systemd is reloaded (over D-Bus) only when something changed.
    """
    from smartrestart.budget.generate_run import image_systemd_version, run_generate, unit_dir_for
    from smartrestart.errors import UsageError
    from smartrestart.render.generate import render_json, render_text

    target = unit_dir_for(unit_dir, runtime, root)
    version = systemd_version
    if version is None and root is not None:
        version = image_systemd_version(root)
        if version is None:
            raise UsageError(f"cannot tell the systemd version of {root}: give --systemd-version")
    live = root is None and not check and not no_reload
    connect = None
    if version is None or live:
        from smartrestart.systemd.dbus import PystemdBackend  # pystemd only when systemd is asked

        if version is None:
            probe = PystemdBackend()
            try:
                version = probe.version()
            finally:
                probe.close()
        if live:
            connect = PystemdBackend
    outcome = run_generate(
        rules_files=rules_files,
        config_root=config_root,
        cwd=Path(current_directory()),
        unit_dir=target,
        systemd_version=version,
        check=check,
        connect=connect,
    )
    if outcome.applied:
        _log(outcome)
    for warning in outcome.warnings:
        click.echo(f"smartrestart: warning: {warning}", err=True)
    if show_diff:
        for plan in outcome.plans:
            click.echo(plan.diff(), nl=False)
    if as_json:
        import json

        click.echo(json.dumps(render_json(outcome, check=check), indent=2))
    elif not show_diff or not check:
        click.echo(render_text(outcome, check=check), nl=False)
    click.get_current_context().exit(1 if check and outcome.changed else 0)


def _log(outcome: GenerateOutcome) -> None:
    from smartrestart.journal import log_event

    touched = [p.unit for p in outcome.plans if p.change.value != "unchanged"]
    log_event(
        "dropins-generated",
        f"generate: drop-ins changed for {', '.join(touched)}",
        {
            "SMARTRESTART_UNITS": " ".join(touched),
            "SMARTRESTART_RULES": str(outcome.unit_dir),
            "SMARTRESTART_RELOADED": "yes" if outcome.reloaded else "no",
        },
    )
