"""Without root, integration tests skip with one line; in CI that is a failure instead."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.testbed import PROJECT

AS_USER = """
import os, sys
os.geteuid = lambda: 1000  # pretend not to be root
import pytest
sys.exit(pytest.main(["-q", "-rs", "-p", "no:cacheprovider", "tests/integration/test_testbed.py"]))
"""


def run_as_user(ci: str | None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    if ci is not None:
        env["CI"] = ci
    return subprocess.run(
        [sys.executable, "-c", AS_USER],
        cwd=PROJECT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


def test_outside_ci_integration_tests_skip_with_one_clear_line() -> None:
    result = run_as_user(None)
    assert result.returncode == 0, result.stdout
    skips = [line for line in result.stdout.splitlines() if line.startswith("SKIPPED")]
    assert len(skips) == 1
    assert "integration tests need root to boot a systemd test bed" in skips[0]


def test_in_ci_a_bed_that_cannot_run_is_a_failure() -> None:
    result = run_as_user("true")
    assert result.returncode != 0
    assert "CI=true but the test beds cannot run" in result.stdout + result.stderr
