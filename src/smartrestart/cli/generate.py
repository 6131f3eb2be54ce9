"""``smartrestart generate``: restart budgets from the rules, written as systemd drop-ins."""

from __future__ import annotations

from pathlib import Path

import click

from smartrestart.cli.options import (
    config_root_option,
    current_directory,
    rules_option,
    user_option,
)
from smartrestart.errors import exit_codes_help

EPILOG = """Examples:

\b
  smartrestart generate                       # /etc/systemd/system, then daemon-reload
  smartrestart generate --check --diff        # CI, Ansible check mode: what would change
  smartrestart generate --root /srv/image     # an image: no reload
  smartrestart generate --unit-dir DIR --systemd-version 257 --reload

Exit codes (with --check, 1 means something would change):

""" + exit_codes_help()


@click.command(
    "generate",
    epilog=EPILOG,
    short_help="Write restart-budget drop-ins that systemd itself enforces.",
)
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
@click.option(
    "--diff",
    "show_diff",
    is_flag=True,
    help="Show what changes, as a unified diff (with --json: each file's in the JSON).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.option(
    "--reload/--no-reload",
    default=None,
    help="daemon-reload after a change [default: reload for /etc/systemd/system and "
    "--runtime, not for --unit-dir; never for --root].",
)
@click.option(
    "--remove-orphans",
    is_flag=True,
    help="Also remove drop-ins of ours whose rules file no longer exists.",
)
@user_option
def generate_command(
    rules_files: tuple[str, ...],
    config_root: str,
    unit_dir: Path | None,
    runtime: bool,
    root: Path | None,
    systemd_version: int | None,
    check: bool,
    show_diff: bool,
    as_json: bool,
    reload: bool | None,
    remove_orphans: bool,
    user: bool,
) -> None:
    """Write one drop-in per budgeted unit: <unit>.d/50-smartrestart.conf.

    Each budget (restart type, intensity within period, backoff, watchdog,
    timeouts, fatal and non-retryable exit codes, cooldown, escalation)
    becomes directives systemd itself enforces. Unchanged files are not
    rewritten. Each drop-in records the rules file it came from; drop-ins
    generated from the rules files read now are removed when their budget
    is gone, those of other rules files are left alone. systemd is reloaded
    (over D-Bus) only when something changed in its own directories.
    """
    from smartrestart.generate.output import render_json, render_text, unified_diff
    from smartrestart.generate.run import GenerateRequest, run_generate

    request = GenerateRequest(
        rules_files=rules_files,
        config_root=config_root,
        unit_dir=unit_dir,
        runtime=runtime,
        root=root,
        systemd_version=systemd_version,
        check=check,
        reload=reload,
        remove_orphans=remove_orphans,
        user=user,
    )
    outcome = run_generate(request, Path(current_directory()))
    for warning in outcome.warnings:
        click.echo(f"smartrestart: warning: {warning}", err=True)
    if show_diff and not as_json:  # with --json, each file's diff is in the JSON
        for plan in outcome.plans:
            click.echo(unified_diff(plan), nl=False)
    if as_json:
        import json

        report = render_json(outcome, check=check, diff=show_diff)
        click.echo(json.dumps(report, indent=2))
    elif not show_diff or not check:
        click.echo(render_text(outcome, check=check), nl=False)
    click.get_current_context().exit(1 if check and outcome.changed else 0)
