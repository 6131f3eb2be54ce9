"""Building blocks for integration tests: units, an app directory with rules, apply runs."""

from __future__ import annotations

import json
import subprocess
import textwrap
from typing import Any

from tests.testbed import BED_PROJECT, TestBed

PROGRAMS = BED_PROJECT / "tests/integration/programs"


def notify_service(delay: float = 0.0, extra: str = "") -> str:
    """A Type=notify unit that becomes ready ``delay`` seconds after it starts."""
    return (
        textwrap.dedent(
            f"""\
        [Service]
        Type=notify
        ExecStart=/usr/bin/python3 {PROGRAMS}/notify_after.py {delay}
        """
        )
        + extra
    )


def make_app(bed: TestBed, name: str, rules: str) -> str:
    """A directory inside the bed holding ``restart-rules.yaml``; returns its path."""
    app = f"/srv/{name}"
    bed.write(f"{app}/restart-rules.yaml", textwrap.dedent(rules))
    return app


def one_unit_rules(unit: str) -> str:
    """Rules with one action restarting ``unit`` for any changed file."""
    return f"actions:\n  a: {{units: [{unit}]}}\nrules:\n  - {{pattern: '**', actions: [a]}}\n"


def apply(
    bed: TestBed, app: str, *args: str, timeout: float = 120.0
) -> subprocess.CompletedProcess[str]:
    """``smartrestart apply`` inside the bed, from ``app``, ignoring any rules.d of the bed."""
    return bed.smartrestart(
        "apply", "--config-root", "/nonexistent", *args, cwd=app, timeout=timeout
    )


def apply_json(bed: TestBed, app: str, *args: str) -> tuple[int, dict[str, Any]]:
    result = apply(bed, app, "--json", *args)
    assert result.stdout, result.stderr
    data: dict[str, Any] = json.loads(result.stdout)
    return result.returncode, data


def invocation(bed: TestBed, unit: str) -> str:
    return bed.show(unit, "InvocationID")["InvocationID"]
