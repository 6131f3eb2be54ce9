"""``smartrestart generate``: restart budgets from the rules, written as systemd drop-ins."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from smartrestart.cli.options import config_root_option, current_directory, rules_option
from smartrestart.errors import exit_codes_help

if TYPE_CHECKING:
    from smartrestart.generate.run import GenerateOutcome
    from smartrestart.systemd.backend import SystemdBackend

EPILOG = """Examples:

\b
  smartrestart generate                       # /etc/systemd/system, then daemon-reload
  smartrestart generate --check --diff        # CI, Ansible check mode: what would change
  smartrestart generate --root /srv/image     # an image: no reload
  smartrestart generate --unit-dir DIR --systemd-version 257 --reload

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
    reload: bool | None,
    remove_orphans: bool,
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
    from smartrestart.generate.output import render_json, render_text
    from smartrestart.generate.run import run_generate, unit_dir_for

    target = unit_dir_for(unit_dir, runtime, root)
    wants_reload = _wants_reload(reload, target.live, root)
    backend, version, warnings = _connect(
        target.live, root, systemd_version, wants_reload and not check
    )
    try:
        outcome = run_generate(
            rules_files=rules_files,
            config_root=config_root,
            cwd=Path(current_directory()),
            target=target,
            systemd_version=version,
            check=check,
            backend=backend,
            reload=wants_reload,
            remove_orphans=remove_orphans,
        )
    finally:
        if backend is not None:
            backend.close()
    if outcome.applied:
        _log(outcome)
    for warning in [*warnings, *outcome.warnings]:
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


def _wants_reload(reload: bool | None, live: bool, root: Path | None) -> bool:
    """An explicit directory means no reload unless asked; an image has no manager to reload."""
    from smartrestart.errors import UsageError

    if reload and root is not None:
        raise UsageError("--reload with --root: an image has no running manager to reload")
    return live if reload is None else reload


def _connect(
    live: bool, root: Path | None, version: int | None, must_reload: bool
) -> tuple[SystemdBackend | None, int, list[str]]:
    """The running manager when it is needed or useful, the systemd version, and warnings.

    Needed: to learn the version, or to reload (reached before anything is
    written, so an unreachable systemd leaves the unit directory untouched).
    Useful: in the manager's own directories, to resolve aliases.
    """
    from smartrestart.errors import SystemdUnavailable, UsageError
    from smartrestart.generate.run import image_systemd_version

    if version is None and root is not None:
        version = image_systemd_version(root)
        if version is None:
            raise UsageError(f"cannot tell the systemd version of {root}: give --systemd-version")
    if version is not None and not must_reload and not live:
        return None, version, []
    from smartrestart.systemd.dbus import PystemdBackend  # pystemd only when systemd is asked

    try:
        backend = PystemdBackend()
    except SystemdUnavailable as exc:
        if version is None or must_reload:
            raise
        return None, version, [f"{exc.message}: unit aliases not resolved"]
    try:
        return backend, version if version is not None else backend.version(), []
    except BaseException:
        backend.close()
        raise


def _log(outcome: GenerateOutcome) -> None:
    from smartrestart.journal.writer import log_event

    touched = [p.unit for p in outcome.plans if p.change.value in ("write", "remove")]
    log_event(
        "dropins-generated",
        f"generate: drop-ins changed for {', '.join(touched)}",
        {
            "SMARTRESTART_UNITS": " ".join(touched),
            "SMARTRESTART_RULES": " ".join(str(p) for p in outcome.rules_files),
            "SMARTRESTART_UNIT_DIR": str(outcome.unit_dir),
            "SMARTRESTART_RELOADED": "yes" if outcome.reloaded else "no",
        },
    )
