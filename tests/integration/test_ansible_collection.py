"""The Ansible collection on a fleet: ansible-playbook against three beds as three hosts.

The hosts are reached with community.docker's nsenter connection and run the
modules on the bed's own Python (tests/integration/fleet.py). The rolling-deploy
example (playbooks/rolling_deploy.yml) runs in batches of one host with a health
gate. Each fleet is three beds of one kind, so every claim holds on systemd 252
and 257.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests import testbed
from tests.integration.fleet import ROLLING_DEPLOY, Fleet, booted_fleet, failures, task_results
from tests.testbed import TestBed

APP = "/srv/app"
UNIT = "fleet-api.service"
RUNS = "[Service]\nExecStart=/bin/sleep infinity\n"
# Dies 0.3 s after each start: systemd's start job (Type=simple) is long done by then.
DIES = (
    "[Service]\n"
    "ExecStart=/bin/sh -c 'echo reading config; sleep 0.3; echo bad config >&2; exit 3'\n"
)
RULES = f"""\
actions:
  restart_api: {{units: [{UNIT}]}}
rules:
  - {{pattern: "src/**", actions: [restart_api]}}
"""


APPLY_TASK = "Restart exactly the units the changed files touch"


@pytest.fixture(scope="module", params=testbed.KINDS)
def fleet(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Fleet]:
    """Three beds of one kind as host1..host3, each with the app's rules."""
    with booted_fleet(request.param, tmp_path_factory.mktemp(f"fleet-{request.param}")) as fleet:
        for bed in fleet.beds:
            bed.write(f"{APP}/restart-rules.yaml", RULES)
        yield fleet


@pytest.fixture
def fresh(fleet: Fleet) -> Fleet:
    """Every host runs the healthy unit, freshly started, with release 1 in place."""
    for bed in fleet.beds:
        bed.install_unit(UNIT, RUNS)
        bed.systemctl("reset-failed", UNIT, check=False)
        bed.systemctl("restart", UNIT)
        bed.write(f"{APP}/src/app.py", "release = 1\n")
    return fleet


def release(version: int) -> dict[str, Any]:
    return {
        "deploy_hosts": "app",
        "deploy_files": [{"dest": "src/app.py", "content": f"release = {version}\n"}],
        "deploy_become": False,  # nsenter enters the bed as root
    }


def test_check_mode_predicts_the_rollout_which_restarts_every_host_and_then_nothing(
    fresh: Fleet,
) -> None:
    """One release three times: --check --diff, the real rollout, the same release again."""
    before = fresh.invocations(UNIT)
    checked = fresh.play(ROLLING_DEPLOY, release(2), "--check", "--diff")
    assert checked["rc"] == 0, failures(checked)
    assert fresh.invocations(UNIT) == before
    assert all(bed.read(f"{APP}/src/app.py") == "release = 1\n" for bed in fresh.beds)
    predicted = task_results(checked, APPLY_TASK)
    for result in predicted.values():
        assert result["changed"] is True
        (diff,) = result["diff"]
        assert diff["before_header"] == UNIT
        assert "InvocationID=(new)" in diff["after"]

    report = fresh.play(ROLLING_DEPLOY, release(2))
    assert report["rc"] == 0, failures(report)
    after = fresh.invocations(UNIT)
    assert all(after[host] != before[host] for host in before), (before, after)
    assert [len(play["tasks"][0]["hosts"]) for play in report["plays"]] == [1, 1, 1]  # serial: 1
    applied = task_results(report, APPLY_TASK)
    for host, result in applied.items():
        assert result["changed"] is True, host
        assert result["restarted"] == [UNIT]
        (step,) = result["steps"]
        assert (step["old_invocation_id"], step["new_invocation_id"]) == (before[host], after[host])
        assert len(result["deploy_id"]) == 16
    assert {host: stats["changed"] for host, stats in report["stats"].items()} == {
        "host1": 2,  # the file, the restart
        "host2": 2,
        "host3": 2,
    }
    # What check mode said is what the rollout did, host by host and step by step.
    assert {h: (r["changed"], r["restarted"]) for h, r in predicted.items()} == {
        h: (r["changed"], r["restarted"]) for h, r in applied.items()
    }
    assert [(h, s["unit"], s["result"]) for h, r in predicted.items() for s in r["steps"]] == [
        (h, s["unit"], s["result"]) for h, r in applied.items() for s in r["steps"]
    ]

    again = fresh.play(ROLLING_DEPLOY, release(2))
    assert again["rc"] == 0, failures(again)
    assert {host: stats["changed"] for host, stats in again["stats"].items()} == {
        "host1": 0,
        "host2": 0,
        "host3": 0,
    }
    assert fresh.invocations(UNIT) == after


def break_host2(fleet: Fleet) -> TestBed:
    """Host 2's unit now dies right after each start (a bad configuration, say)."""
    host2 = fleet.hosts["host2"]
    host2.install_unit(UNIT, DIES)
    return host2


def test_a_failing_host_stops_the_rollout_before_the_next_batch(fresh: Fleet) -> None:
    host2 = break_host2(fresh)
    before = fresh.invocations(UNIT)
    report = fresh.play(ROLLING_DEPLOY, release(4))
    assert report["rc"] != 0
    stats = report["stats"]
    assert stats["host2"]["failures"] == 1
    assert "host3" not in stats or stats["host3"]["ok"] + stats["host3"]["changed"] == 0
    assert fresh.invocations(UNIT)["host3"] == before["host3"]
    assert fresh.hosts["host3"].read(f"{APP}/src/app.py") == "release = 1\n"
    failed = task_results(report, APPLY_TASK)["host2"]
    assert failed["failed"] is True
    first = failed["msg"].splitlines()[0]
    assert first.startswith(f"{UNIT}: failed (Result: exit-code)"), failed["msg"]
    assert any(line.endswith("bad config") for line in failed["msg"].splitlines())
    assert host2.systemctl("is-active", UNIT, check=False).stdout.strip() == "failed"


def test_systemd_service_reports_success_for_the_unit_that_died(fresh: Fleet) -> None:
    host2 = break_host2(fresh)
    before = fresh.invocations(UNIT)
    variables = {**release(5), "deploy_app_dir": APP, "restart_units": [UNIT]}
    report = fresh.play(fresh.systemd_service_play(), variables)
    # Every host reported success and the rollout went on to host 3 ...
    assert report["rc"] == 0
    assert {h: s["failures"] for h, s in report["stats"].items()} == {
        "host1": 0,
        "host2": 0,
        "host3": 0,
    }
    (restarted,) = task_results(report, "Restart the units")["host2"]["results"]
    assert restarted["changed"] is True and not restarted.get("failed")
    # ... its "status" is the unit's state from before the restart ...
    assert restarted["status"]["InvocationID"] == before["host2"]
    # ... while host 2's unit is dead, and host 3 was restarted onto the release anyway.
    host2.wait_for(
        lambda: host2.systemctl("is-active", UNIT, check=False).stdout.strip() == "failed"
    )
    assert fresh.invocations(UNIT)["host3"] != before["host3"]
