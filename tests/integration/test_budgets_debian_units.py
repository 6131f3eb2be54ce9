"""Budgets on units nobody here wrote: Debian's ssh (an alias) and a PostgreSQL instance.

Debian 13 bed only: its root has openssh-server (``ssh.service``, with
``Alias=sshd.service`` made a symlink when enabled) and postgresql (the
template ``postgresql@.service``, instance ``17-main``). Each test restores
the unit as it found it: drop-in removed, failed state cleared, stopped.
"""

from __future__ import annotations

import json
import textwrap
from collections.abc import Iterator
from typing import Any

import pytest

from tests.integration.test_budgets import entries, install_smartrestart
from tests.testbed import TestBed

SSH = "ssh.service"
POSTGRES = "postgresql@17-main.service"


@pytest.fixture(scope="module")
def debian_bed(debian13: TestBed) -> TestBed:
    """Debian's openssh-server and postgresql are in the debian13 bed."""
    install_smartrestart(debian13)
    return debian13


@pytest.fixture
def restored(debian_bed: TestBed) -> Iterator[list[str]]:
    """Units to put back as they were: no drop-in of ours, not failed, stopped."""
    units: list[str] = []
    yield units
    for unit in units:
        debian_bed.run("rm", "-rf", f"/etc/systemd/system/{unit}.d", check=False)
    debian_bed.systemctl("daemon-reload")
    for unit in units:
        debian_bed.systemctl("stop", unit, check=False)
        debian_bed.systemctl("reset-failed", unit, check=False)


def generate(bed: TestBed, name: str, budgets: str) -> dict[str, Any]:
    bed.write(f"/srv/{name}/rules.yaml", "budgets:\n" + textwrap.indent(budgets, "  "))
    result = bed.smartrestart(
        "generate",
        "-r",
        "rules.yaml",
        "--config-root",
        "/nonexistent",
        "--json",
        cwd=f"/srv/{name}",
    )
    assert result.returncode == 0, result.stderr
    data: dict[str, Any] = json.loads(result.stdout)
    data["files"] = [f for f in data["files"] if f["result"] != "orphan"]  # other tests' leftovers
    for file in data["files"]:
        verify = bed.run("systemd-analyze", "verify", "--man=no", file["unit"], check=False)
        assert verify.returncode == 0 and "smartrestart" not in verify.stderr, verify.stderr
    return data


def kill_main_process(bed: TestBed, unit: str) -> None:
    """SIGKILL the unit's main process, as a crash would."""
    pid = bed.show(unit, "MainPID")["MainPID"]
    assert pid != "0", f"{unit} has no main process"
    bed.run("kill", "-9", pid)
    bed.wait_for(lambda: bed.show(unit, "MainPID")["MainPID"] != pid, timeout=15)


def running_again(bed: TestBed, unit: str) -> bool:
    shown = bed.show(unit, "ActiveState", "MainPID")
    return shown["ActiveState"] == "active" and shown["MainPID"] != "0"


def test_a_dropin_under_the_alias_directory_is_lost_with_the_alias(
    debian_bed: TestBed, restored: list[str]
) -> None:
    """Why generate writes under ssh.service.d: Debian removes the alias on disable."""
    bed = debian_bed
    restored.append("sshd.service")
    bed.write("/etc/systemd/system/sshd.service.d/probe.conf", "[Service]\nEnvironment=PROBE=1\n")
    bed.systemctl("daemon-reload")
    shown = bed.show(SSH, "Names", "DropInPaths")
    assert shown["Names"] == "ssh.service sshd.service"
    assert shown["DropInPaths"] == "/etc/systemd/system/sshd.service.d/probe.conf"  # loaded
    bed.systemctl("disable", SSH)  # removes the sshd.service symlink
    try:
        bed.systemctl("daemon-reload")
        assert bed.show(SSH, "DropInPaths")["DropInPaths"] == ""  # silently gone
    finally:
        bed.systemctl("enable", SSH)


def test_a_budget_on_sshd_is_enforced_on_ssh_and_handled(
    debian_bed: TestBed, restored: list[str], unit_name: str
) -> None:
    bed = debian_bed
    restored.append(SSH)
    target = f"{unit_name}.target"
    bed.install_unit(target, "[Unit]\nDescription=stands for the application\n")
    bed.systemctl("start", target)
    report = generate(
        bed,
        unit_name,
        "sshd.service: {restart: permanent, intensity: 2, period: 60s, "
        f"on_exhausted: stop {target}}}\n",
    )
    (file,) = report["files"]
    assert (file["unit"], file["budget"]) == (SSH, "sshd.service")
    shown = bed.show(SSH, "DropInPaths", "StartLimitBurst", "Restart", "OnFailure")
    assert shown["DropInPaths"] == f"/etc/systemd/system/{SSH}.d/50-smartrestart.conf"
    assert (shown["StartLimitBurst"], shown["Restart"]) == ("3", "always")
    assert shown["OnFailure"] == f"smartrestart-failure@{SSH}.service"  # %n is the unit's id
    bed.systemctl("restart", "sshd.service")
    invocations = {bed.show(SSH, "InvocationID")["InvocationID"]}
    for _ in range(2):  # two crashes: restarted within the budget
        kill_main_process(bed, SSH)
        bed.wait_for(lambda: running_again(bed, SSH), timeout=15)
        invocations.add(bed.show(SSH, "InvocationID")["InvocationID"])
    assert len(invocations) == 3
    kill_main_process(bed, SSH)  # the third: budget spent
    bed.wait_for(lambda: len(entries(bed, "escalated", SSH)) == 1, timeout=15)
    shown = bed.show(SSH, "ActiveState", "Result", "NRestarts")
    assert (shown["ActiveState"], shown["Result"]) == ("failed", "signal")
    assert bed.show(target, "ActiveState")["ActiveState"] == "inactive"
    (entry,) = entries(bed, "escalated", SSH)
    assert entry["SMARTRESTART_REASON"] == "restart budget exhausted (signal)"


def test_a_budget_on_a_postgresql_instance_cools_down_and_starts_it_again(
    debian_bed: TestBed, restored: list[str], unit_name: str
) -> None:
    bed = debian_bed
    restored.append(POSTGRES)
    generate(
        bed,
        unit_name,
        f"{POSTGRES}: {{restart: transient, intensity: 1, period: 60s, cooldown: 3s, "
        "max_cooldown_cycles: 1}\n",
    )
    shown = bed.show(POSTGRES, "DropInPaths", "StartLimitBurst", "OnFailure")
    assert f"/etc/systemd/system/{POSTGRES}.d/50-smartrestart.conf" in shown["DropInPaths"]
    assert shown["StartLimitBurst"] == "2"
    assert shown["OnFailure"] == f"smartrestart-failure@{POSTGRES}.service"
    bed.systemctl("restart", POSTGRES)
    kill_main_process(bed, POSTGRES)  # one crash: restarted within the budget
    bed.wait_for(lambda: running_again(bed, POSTGRES), timeout=30)
    kill_main_process(bed, POSTGRES)  # the second: budget spent, a cooldown of 3 s
    bed.wait_for(lambda: len(entries(bed, "cooldown-scheduled", POSTGRES)) == 1, timeout=15)
    assert bed.show(POSTGRES, "ActiveState")["ActiveState"] == "failed"
    bed.wait_for(lambda: len(entries(bed, "cooldown-restart", POSTGRES)) == 1, timeout=15)
    bed.wait_for(lambda: running_again(bed, POSTGRES), timeout=30)
    ready = bed.run("pg_isready", "-h", "/run/postgresql", check=False)
    assert ready.returncode == 0, ready.stdout + ready.stderr
