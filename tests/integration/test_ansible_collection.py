"""The Ansible collection on a fleet: ansible-playbook against three beds as three hosts.

Each bed is a host, reached with community.docker's nsenter connection
(``ansible_nsenter_pid`` = the bed's init): the modules run inside it on the
bed's Python, and smartrestart runs there from the project's sources, as the
Debian package's ``/usr/bin/smartrestart`` would. The rolling-deploy example
(playbooks/rolling_deploy.yml) runs in batches of one host with a health gate.
Each fleet is three beds of one kind: systemd 252 and 257.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests import testbed
from tests.testbed import BED_PROJECT, CLEAN_PATH, PROJECT, TestBed

COLLECTIONS = PROJECT / "packaging/ansible"
ROLLING_DEPLOY = "smartrestart.systemd.rolling_deploy"
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


def smartrestart_command(bed: TestBed) -> str:
    """``/usr/local/bin/smartrestart`` in a bed: the project's sources on the bed's Python."""
    return f'#!/bin/sh\nPYTHONPATH={BED_PROJECT}/src exec {bed.python} -m smartrestart "$@"\n'


@dataclass
class Fleet:
    """Three beds as the hosts host1..host3 of one inventory."""

    beds: list[TestBed]
    work: Path

    @property
    def hosts(self) -> dict[str, TestBed]:
        return {f"host{n}": bed for n, bed in enumerate(self.beds, 1)}

    def inventory(self) -> Path:
        lines = ["[app]"]
        for name, bed in self.hosts.items():
            lines.append(
                f"{name} ansible_connection=community.docker.nsenter "
                f"ansible_nsenter_pid={bed.init_pid} ansible_python_interpreter={bed.python}"
            )
        path = self.work / "hosts.ini"
        path.write_text("\n".join(lines) + "\n")
        return path

    def play(self, playbook: str, variables: dict[str, Any], *extra: str) -> dict[str, Any]:
        """Run ``playbook`` on the fleet; ansible.posix.json's report (plays, stats)."""
        (self.work / "vars.json").write_text(json.dumps(variables))
        binaries = Path(sys.executable).parent
        result = subprocess.run(
            [
                str(binaries / "ansible-playbook"),
                "-i",
                str(self.inventory()),
                playbook,
                "-e",
                f"@{self.work / 'vars.json'}",
                *extra,
            ],
            capture_output=True,
            text=True,
            cwd=self.work,
            # What reaches the hosts: nsenter passes this environment into the beds.
            env={
                "PATH": f"{binaries}:{CLEAN_PATH}",
                "HOME": "/root",
                "LANG": "C.UTF-8",
                "ANSIBLE_COLLECTIONS_PATH": str(COLLECTIONS),
                "ANSIBLE_STDOUT_CALLBACK": "ansible.posix.json",
                "ANSIBLE_LOCAL_TEMP": str(self.work / "ansible-local"),
                "ANSIBLE_HOST_KEY_CHECKING": "False",
                "ANSIBLE_NOCOLOR": "1",
            },
            timeout=600,
            check=False,
        )
        try:
            report: dict[str, Any] = json.loads(result.stdout)
        except ValueError:
            raise AssertionError(result.stdout[-3000:] + result.stderr[-3000:]) from None
        report["rc"] = result.returncode
        return report

    def invocations(self) -> dict[str, str]:
        return {
            name: bed.show(UNIT, "InvocationID")["InvocationID"] for name, bed in self.hosts.items()
        }


def failures(report: dict[str, Any]) -> dict[str, str]:
    """What failed where: "host: task" -> its message, for assertion messages."""
    return {
        f"{host}: {entry['task']['name']}": " / ".join(
            [result.get("msg", "")] + [r.get("msg", "") for r in result.get("results", [])]
        )
        for play in report["plays"]
        for entry in play["tasks"]
        for host, result in entry["hosts"].items()
        if result.get("failed") or result.get("unreachable")
    }


def task_results(report: dict[str, Any], task: str) -> dict[str, dict[str, Any]]:
    """Each host's result of the task named ``task``, over every play (batch) of the run."""
    found: dict[str, dict[str, Any]] = {}
    for play in report["plays"]:
        for entry in play["tasks"]:
            if entry["task"]["name"] == task:
                found.update(entry["hosts"])
    return found


APPLY_TASK = "Restart exactly the units the changed files touch"


@pytest.fixture(scope="module", params=testbed.KINDS)
def fleet(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Fleet]:
    """Three beds of one kind, booted at once; each runs the app's unit under its rules."""
    with ThreadPoolExecutor(3) as pool:
        beds = list(pool.map(lambda _: testbed.boot(request.param), range(3)))
    try:
        for bed in beds:
            bed.write("/usr/local/bin/smartrestart", smartrestart_command(bed), mode=0o755)
            bed.write(f"{APP}/restart-rules.yaml", RULES)
            bed.write(f"{APP}/src/app.py", "release = 1\n")
        yield Fleet(beds, tmp_path_factory.mktemp(f"fleet-{request.param}"))
    finally:
        for bed in beds:
            bed.stop()


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


def test_rolling_deploy_restarts_the_unit_on_every_host_and_then_nothing(fresh: Fleet) -> None:
    before = fresh.invocations()
    report = fresh.play(ROLLING_DEPLOY, release(2))
    assert report["rc"] == 0, failures(report)
    after = fresh.invocations()
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

    again = fresh.play(ROLLING_DEPLOY, release(2))
    assert again["rc"] == 0
    assert {host: stats["changed"] for host, stats in again["stats"].items()} == {
        "host1": 0,
        "host2": 0,
        "host3": 0,
    }
    assert fresh.invocations() == after


def test_check_mode_changes_nothing_and_predicts_the_real_run(fresh: Fleet) -> None:
    before = fresh.invocations()
    checked = fresh.play(ROLLING_DEPLOY, release(3), "--check", "--diff")
    assert checked["rc"] == 0, failures(checked)
    assert fresh.invocations() == before
    assert all(bed.read(f"{APP}/src/app.py") == "release = 1\n" for bed in fresh.beds)
    predicted = task_results(checked, APPLY_TASK)
    for result in predicted.values():
        assert result["changed"] is True
        (diff,) = result["diff"]
        assert diff["before_header"] == UNIT
        assert "InvocationID=(new)" in diff["after"]

    real = fresh.play(ROLLING_DEPLOY, release(3))
    assert real["rc"] == 0
    done = task_results(real, APPLY_TASK)
    assert {h: (r["changed"], r["restarted"]) for h, r in predicted.items()} == {
        h: (r["changed"], r["restarted"]) for h, r in done.items()
    }
    assert [(s["unit"], s["result"]) for r in predicted.values() for s in r["steps"]] == [
        (s["unit"], s["result"]) for r in done.values() for s in r["steps"]
    ]


def break_host2(fleet: Fleet) -> TestBed:
    """Host 2's unit now dies right after each start (a bad configuration, say)."""
    host2 = fleet.hosts["host2"]
    host2.install_unit(UNIT, DIES)
    return host2


def test_a_failing_host_stops_the_rollout_before_the_next_batch(fresh: Fleet) -> None:
    host2 = break_host2(fresh)
    before = fresh.invocations()
    report = fresh.play(ROLLING_DEPLOY, release(4))
    assert report["rc"] != 0
    stats = report["stats"]
    assert stats["host2"]["failures"] == 1
    assert "host3" not in stats or stats["host3"]["ok"] + stats["host3"]["changed"] == 0
    assert fresh.invocations()["host3"] == before["host3"]
    assert fresh.hosts["host3"].read(f"{APP}/src/app.py") == "release = 1\n"
    failed = task_results(report, APPLY_TASK)["host2"]
    assert failed["failed"] is True
    first = failed["msg"].splitlines()[0]
    assert first.startswith(f"{UNIT}: failed (Result: exit-code)"), failed["msg"]
    assert any(line.endswith("bad config") for line in failed["msg"].splitlines())
    assert host2.systemctl("is-active", UNIT, check=False).stdout.strip() == "failed"


SYSTEMD_SERVICE_PLAY = f"""\
- name: The same rollout with ansible.builtin.systemd_service
  hosts: app
  serial: 1
  max_fail_percentage: 0
  gather_facts: false
  tasks:
    - name: Put the release's files in place
      ansible.builtin.copy:
        dest: "{APP}/src/app.py"
        content: "release = 5\\n"
        mode: "0644"
    - name: Restart the service
      ansible.builtin.systemd_service:
        name: {UNIT}
        state: restarted
"""


def test_systemd_service_reports_success_for_the_unit_that_died(fresh: Fleet) -> None:
    host2 = break_host2(fresh)
    before = fresh.invocations()
    playbook = fresh.work / "systemd_service.yml"
    playbook.write_text(SYSTEMD_SERVICE_PLAY)
    report = fresh.play(str(playbook), {})
    # Every host reported success and the rollout went on to host 3 ...
    assert report["rc"] == 0
    assert {h: s["failures"] for h, s in report["stats"].items()} == {
        "host1": 0,
        "host2": 0,
        "host3": 0,
    }
    restarted = task_results(report, "Restart the service")
    assert restarted["host2"]["changed"] is True and "failed" not in restarted["host2"]
    # ... its "status" is the unit's state from before the restart ...
    assert restarted["host2"]["status"]["InvocationID"] == before["host2"]
    # ... while host 2's unit is dead, and host 3 was restarted onto the release anyway.
    host2.wait_for(
        lambda: host2.systemctl("is-active", UNIT, check=False).stdout.strip() == "failed"
    )
    assert fresh.invocations()["host3"] != before["host3"]
