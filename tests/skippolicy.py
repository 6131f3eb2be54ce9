"""Under ``CI=true`` a skipped test fails the run, unless :data:`SKIP_ALLOWED` names it.

A skip is a test that proved nothing. Outside CI it is a convenience (no root,
no man-db, no ansible-core on a laptop) and says so in one line; in CI, where
``make test`` is the gate, it would let a run pass that never exercised what
the test guards. So there every skip is a failure, except those listed below,
each with the reason why skipping it there is right.

tests/conftest.py installs the two hooks; ``in_ci()`` is the one test of the
variable, shared by the fixtures that fail instead of skipping in CI.
"""

from __future__ import annotations

import fnmatch
import os

import pytest

# node id pattern (fnmatch) -> why a skip of it is acceptable in a CI run.
# Empty: CI runs `make test` as root after `make setup`, which brings all that
# the suite's skip conditions ask for (root, systemd-nspawn, man-db,
# ansible-core, the Debian package's build tools).
SKIP_ALLOWED: dict[str, str] = {}


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def skip_problem(nodeid: str, reason: str, allowed: dict[str, str] | None = None) -> str | None:
    """Why a skip of ``nodeid`` fails a CI run; None when the allow-list accepts it."""
    table = SKIP_ALLOWED if allowed is None else allowed
    if any(fnmatch.fnmatchcase(nodeid, pattern) for pattern in table):
        return None
    return (
        f"skipped under CI=true ({reason}): a CI run must run every test; make it run "
        "here, or add it with a reason to SKIP_ALLOWED in tests/skippolicy.py"
    )


def _reason(report: pytest.CollectReport | pytest.TestReport) -> str:
    longrepr = report.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        return str(longrepr[2]).removeprefix("Skipped: ")
    return str(longrepr)


def _fail_if_not_allowed(report: pytest.CollectReport | pytest.TestReport) -> None:
    if not report.skipped or hasattr(report, "wasxfail") or not in_ci():
        return
    problem = skip_problem(report.nodeid, _reason(report))
    if problem is not None:
        report.outcome = "failed"
        report.longrepr = problem


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> object:
    outcome = yield
    _fail_if_not_allowed(outcome.get_result())  # type: ignore[attr-defined]
    return None


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector: pytest.Collector) -> object:
    outcome = yield
    _fail_if_not_allowed(outcome.get_result())  # type: ignore[attr-defined]
    return None
