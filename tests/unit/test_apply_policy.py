"""policy-rc.d as deb-systemd-invoke reads it: 101 forbids, 0 and 104 allow, the rest warns.

The helper here is a script in a temporary directory; that systemd leaves a
forbidden unit alone is proven in the beds (tests/integration/test_apply.py).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from smartrestart.apply import policy
from smartrestart.apply.model import Outcome
from smartrestart.apply.run import apply_policy
from smartrestart.rules.model import Action, Mode
from tests.plans import HERE, plan_of

PLAN = plan_of(
    Action("api", HERE, 10, units=("api.service",)),
    Action("web", HERE, 20, units=("nginx.service",), mode=Mode.RELOAD),
    Action("migrate", HERE, 30, run=("/bin/true",)),
)


def helper(tmp_path: Path, body: str, mode: int = 0o755) -> Path:
    """A policy-rc.d that logs its arguments to ``asked`` and then runs ``body``."""
    script = tmp_path / "policy-rc.d"
    script.write_text(f'#!/bin/sh\necho "$@" >> {tmp_path / "asked"}\n{body}\n')
    script.chmod(mode)
    return script


def asked(tmp_path: Path) -> list[str]:
    log = tmp_path / "asked"
    return log.read_text().splitlines() if log.exists() else []


@pytest.mark.parametrize("exit_status", [0, 104])
def test_0_and_104_allow(tmp_path: Path, exit_status: int) -> None:
    answers = policy.ask_policy(PLAN, helper(tmp_path, f"exit {exit_status}"))
    assert answers == ([], [])
    # Every unit step is asked about, with its action; a run: step is no unit.
    assert asked(tmp_path) == ["api.service restart", "nginx.service reload"]


def test_101_forbids_that_unit_only(tmp_path: Path) -> None:
    script = helper(tmp_path, '[ "$1" = nginx.service ] && exit 101; exit 0')
    denied, warnings = policy.ask_policy(PLAN, script)
    assert [step.unit for step in denied] == ["nginx.service"]
    assert warnings == []
    kept = policy.without(PLAN, denied)
    assert [group.order for group in kept.groups] == [10, 30]  # the emptied group is gone


def test_no_helper_or_one_not_executable_allows_everything(tmp_path: Path) -> None:
    assert policy.ask_policy(PLAN, tmp_path / "missing") == ([], [])
    assert policy.ask_policy(PLAN, helper(tmp_path, "exit 101", mode=0o644)) == ([], [])
    assert asked(tmp_path) == []  # never run


@pytest.mark.parametrize("exit_status", [1, 100, 102, 105, 106])
def test_other_answers_warn_and_allow(tmp_path: Path, exit_status: int) -> None:
    denied, warnings = policy.ask_policy(PLAN, helper(tmp_path, f"exit {exit_status}"))
    assert denied == []
    assert len(warnings) == 2
    assert f"policy-rc.d api.service restart exited {exit_status}" in warnings[0]
    assert "acting anyway, as deb-systemd-invoke does" in warnings[0]


def test_what_the_helper_prints_becomes_a_warning_not_output(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    script = helper(tmp_path, 'echo "policy-rc.d denied execution of $2."; exit 101')
    denied, warnings = policy.ask_policy(PLAN, script)
    assert len(denied) == 2
    assert warnings[0].endswith("said: policy-rc.d denied execution of restart.")
    assert capfd.readouterr().out == ""  # --json stays one JSON document


def test_a_helper_that_cannot_run_warns_and_allows(tmp_path: Path) -> None:
    script = tmp_path / "policy-rc.d"
    script.write_text("#!/nonexistent/interpreter\nexit 101\n")
    script.chmod(0o755)
    denied, warnings = policy.ask_policy(PLAN, script)
    assert denied == []
    assert "cannot run" in warnings[0] and "acting anyway" in warnings[0]


def test_apply_reports_denied_steps_and_passes_the_warnings_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    script = helper(tmp_path, '[ "$1" = api.service ] && exit 101; exit 7')
    monkeypatch.setattr(policy, "POLICY_HELPER", script)
    heard: list[str] = []
    kept, results = apply_policy(PLAN, heard.append)
    assert [s.unit for s in kept.steps] == ["nginx.service", None]
    (denied,) = results
    assert (denied.step.unit, denied.order, denied.outcome) == ("api.service", 10, Outcome.DENIED)
    assert denied.detail == f"{script} returned 101"
    assert len(heard) == 1 and "nginx.service reload exited 7" in heard[0]
