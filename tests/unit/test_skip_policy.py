"""Under CI=true a skip fails the run unless allow-listed (tests/skippolicy.py)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

from tests.skippolicy import SKIP_ALLOWED, skip_problem
from tests.testbed import PROJECT

SKIPPING = """
import pytest

def test_skips_itself():
    pytest.skip("no tool here")

@pytest.mark.skipif(True, reason="never on this machine")
def test_skipped_by_marker():
    pass

@pytest.fixture
def resource():
    pytest.skip("the fixture could not set up")

def test_skipped_by_its_fixture(resource):
    pass

@pytest.mark.xfail(reason="a known bug", strict=True)
def test_expected_to_fail():
    assert False

def test_runs():
    pass
"""
MODULE_SKIP = """
import pytest

pytest.skip("whole module", allow_module_level=True)

def test_never_collected():
    pass
"""


def run_pytest(
    tmp_path: Path, ci: str | None, source: str = SKIPPING
) -> subprocess.CompletedProcess[str]:
    (tmp_path / "test_skipping.py").write_text(textwrap.dedent(source))
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    env["PYTHONPATH"] = f"{PROJECT}:{PROJECT / 'src'}"
    if ci is not None:
        env["CI"] = ci
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "tests.skippolicy", "-p", "no:cacheprovider"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


def test_outside_ci_skips_are_skips(tmp_path: Path) -> None:
    result = run_pytest(tmp_path, None)
    assert result.returncode == 0, result.stdout
    assert "1 passed, 3 skipped, 1 xfailed" in result.stdout
    assert "1 skipped" in run_pytest(tmp_path, None, MODULE_SKIP).stdout


def test_in_ci_every_skip_fails_the_run_and_says_why(tmp_path: Path) -> None:
    result = run_pytest(tmp_path, "true")
    assert result.returncode == 1, result.stdout
    for reason in ("no tool here", "never on this machine", "the fixture could not set up"):
        assert f"skipped under CI=true ({reason})" in result.stdout, result.stdout
    # Each skip became a failure (of the test, or of its setup); an expected
    # failure is not a skip: it still counts as xfailed.
    assert "1 failed, 1 passed, 1 xfailed, 2 errors" in result.stdout
    # A module that skips itself while collected is a collection error.
    module = run_pytest(tmp_path, "true", MODULE_SKIP)
    assert module.returncode == 2
    assert "skipped under CI=true (whole module)" in module.stdout


def test_the_allow_list_accepts_what_it_names() -> None:
    allowed = {"tests/unit/test_x.py::test_needs_tool*": "the tool is optional"}
    assert skip_problem("tests/unit/test_x.py::test_needs_tool[a]", "no tool", allowed) is None
    problem = skip_problem("tests/unit/test_x.py::test_other", "no tool", allowed)
    assert problem is not None and "SKIP_ALLOWED" in problem


def test_every_allowed_skip_has_a_reason_and_names_an_existing_file() -> None:
    for pattern, reason in SKIP_ALLOWED.items():
        assert reason.strip(), pattern
        assert (PROJECT / pattern.split("::")[0]).is_file(), pattern
