"""``apply --pending`` and ``apply --trigger``: the options' checks, the run, the report.

Kept apart from :mod:`smartrestart.cli.apply` so that a plain apply does not
pay for importing the spool's modules.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from typing import NoReturn

import click

from smartrestart import pathnames
from smartrestart.apply.run import ApplyRequest
from smartrestart.errors import UsageError

SUSPEND_VARIABLE = "SMARTRESTART_SUSPEND"
STRICT_VARIABLE = "SMARTRESTART_STRICT"


def apply_pending(
    request: ApplyRequest, *, trigger: bool, as_json: bool, warn: Callable[[str], None]
) -> NoReturn:
    """Run ``apply --pending`` (as the dpkg trigger with ``trigger``), print, exit."""
    from smartrestart.apply import output
    from smartrestart.apply.run_pending import PendingRequest, pending_exit_code, run_pending
    from smartrestart.apply.spool import spool_directory

    sources = request.decide.sources
    if sources.paths or sources.git_range is not None or sources.dpkg_package is not None:
        raise UsageError(
            "--pending takes the changed files from the spool: give no PATH, --git or --from-dpkg"
        )
    if request.user:
        raise UsageError("--pending acts on the system's units, as dpkg does: not with --user")
    if request.check or request.diff:
        raise UsageError("--pending acts on what is spooled: not with --check or --diff")
    # The pending run works from /, as dpkg does: files named here are named from here.
    here = os.getcwd()  # noqa: PTH109  (the request's paths are str)
    decide = request.decide._replace(
        rules_files=tuple(pathnames.join(here, path) for path in request.decide.rules_files),
        roots=tuple(pathnames.join(here, path) for path in request.decide.roots),
        config_root=pathnames.join(here, request.decide.config_root),
    )
    outcome = run_pending(
        PendingRequest(
            request._replace(decide=decide),
            spool=spool_directory(decide.config_root),
            trigger=trigger,
            suspended=os.environ.get(SUSPEND_VARIABLE) == "1",
        ),
        warn,
    )
    if as_json:
        click.echo(json.dumps(output.pending_json(outcome), indent=2))
    else:
        text, notes = output.render_pending(outcome, trigger=trigger)
        click.echo(text, nl=False)
        for note in notes:
            click.echo(f"smartrestart: {note}", err=True)
    strict = os.environ.get(STRICT_VARIABLE) == "1"
    click.get_current_context().exit(
        int(pending_exit_code(outcome, trigger=trigger, strict=strict))
    )
