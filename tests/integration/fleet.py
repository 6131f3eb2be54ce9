"""Three beds as three Ansible hosts: the inventory, ansible-playbook runs, their JSON reports.

Each bed is reached with community.docker's nsenter connection
(``ansible_nsenter_pid`` = the bed's init), so the modules run inside it on the
bed's Python; smartrestart runs there from the project's sources through
``/usr/local/bin/smartrestart``, as the Debian package's ``/usr/bin/smartrestart``
would. Used by tests/integration/test_ansible_collection.py and
bench/ansible_rollout.py.
"""

from __future__ import annotations

import contextlib
import json
import shlex
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests import bedcoverage, testbed
from tests.testbed import BED_PROJECT, CLEAN_PATH, PROJECT, TestBed

COLLECTIONS = PROJECT / "packaging/ansible"
ROLLING_DEPLOY = "smartrestart.systemd.rolling_deploy"
HOSTS = 3
# What a rollout without smartrestart does: the same copy as rolling_deploy, then
# ansible.builtin.systemd_service: state=restarted for each of ``restart_units``.
SYSTEMD_SERVICE_PLAY = """\
- name: Rolling deploy with ansible.builtin.systemd_service
  hosts: app
  serial: 1
  max_fail_percentage: 0
  gather_facts: false
  tasks:
    - name: Put the release's files in place
      ansible.builtin.copy:
        dest: "{{ deploy_app_dir }}/{{ item.dest }}"
        content: "{{ item.content }}"
        mode: "0644"
      loop: "{{ deploy_files }}"
    - name: Restart the units
      ansible.builtin.systemd_service:
        name: "{{ item }}"
        state: restarted
      loop: "{{ restart_units }}"
"""


def smartrestart_command(bed: TestBed) -> str:
    """``/usr/local/bin/smartrestart`` in a bed: the project's sources on the bed's Python.

    Under ``make test`` it carries the coverage measurement in (tests/bedcoverage.py),
    as the modules run it with Ansible's environment, not the bed's.
    """
    variables = {"PYTHONPATH": f"{BED_PROJECT}/src"}
    variables.update(bedcoverage.environment(PROJECT, BED_PROJECT, bed.kind))
    exports = " ".join(f"{name}={shlex.quote(value)}" for name, value in variables.items())
    return f'#!/bin/sh\nexport {exports}\nexec {bed.python} -m smartrestart "$@"\n'


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

    def systemd_service_play(self) -> str:
        """The path of :data:`SYSTEMD_SERVICE_PLAY`, written in the fleet's directory."""
        path = self.work / "systemd_service.yml"
        path.write_text(SYSTEMD_SERVICE_PLAY)
        return str(path)

    def invocations(self, unit: str) -> dict[str, str]:
        """Each host's InvocationID of ``unit``."""
        return {
            name: bed.show(unit, "InvocationID")["InvocationID"] for name, bed in self.hosts.items()
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


@contextlib.contextmanager
def booted_fleet(kind: str, work: Path) -> Iterator[Fleet]:
    """Three beds of ``kind``, booted at once, each with the smartrestart command; stopped after."""
    with ThreadPoolExecutor(HOSTS) as pool:
        beds = list(pool.map(lambda _: testbed.boot(kind), range(HOSTS)))
    try:
        for bed in beds:
            bed.write("/usr/local/bin/smartrestart", smartrestart_command(bed), mode=0o755)
        yield Fleet(beds, work)
    finally:
        for bed in beds:
            bed.stop()
