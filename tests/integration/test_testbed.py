"""Proof that the beds run a real systemd: readiness, restarts, versions, D-Bus from the host."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
import time

import pytest

from tests.testbed import BED_PROJECT, SYSTEMD_OF_KIND, BedError, TestBed, version_problem

PROGRAMS = BED_PROJECT / "tests/integration/programs"


def test_notify_unit_start_waits_for_ready(bed: TestBed, unit_name: str) -> None:
    unit = f"{unit_name}.service"
    bed.install_unit(
        unit,
        f"""\
[Service]
Type=notify
ExecStart=/usr/bin/python3 {PROGRAMS}/notify_after.py 1 warmed-up
""",
    )
    started = time.monotonic()
    bed.systemctl("start", unit)
    elapsed = time.monotonic() - started
    assert elapsed >= 1.0
    props = bed.show(unit, "ActiveState", "SubState", "StatusText")
    assert props == {"ActiveState": "active", "SubState": "running", "StatusText": "warmed-up"}
    bed.systemctl("stop", unit)


def test_kill_9_restarts_on_failure_unit(bed: TestBed, unit_name: str) -> None:
    unit = f"{unit_name}.service"
    bed.install_unit(
        unit,
        """\
[Service]
ExecStart=/bin/sleep infinity
Restart=on-failure
RestartSec=100ms
""",
    )
    bed.systemctl("start", unit)
    before = bed.show(unit, "MainPID", "InvocationID", "NRestarts")
    assert before["NRestarts"] == "0"
    bed.run("kill", "-9", before["MainPID"])

    def restarted() -> bool:
        now = bed.show(unit, "MainPID", "ActiveState")
        return now["ActiveState"] == "active" and now["MainPID"] not in ("0", before["MainPID"])

    bed.wait_for(restarted, timeout=10)
    after = bed.show(unit, "MainPID", "InvocationID", "NRestarts")
    assert after["NRestarts"] == "1"
    assert after["InvocationID"] != before["InvocationID"]
    assert after["MainPID"] != before["MainPID"]
    log = bed.journal("-u", unit)
    assert "Scheduled restart job" in log
    bed.systemctl("stop", unit)


def test_restart_steps_known_only_to_254_and_later(bed: TestBed, unit_name: str) -> None:
    unit = f"{unit_name}.service"
    bed.install_unit(
        unit,
        """\
[Service]
ExecStart=/bin/true
Restart=on-failure
RestartSec=100ms
RestartSteps=3
RestartMaxDelaySec=1s
""",
    )
    props = bed.show(unit, "LoadState")
    assert props["LoadState"] == "loaded"
    verify = bed.run("systemd-analyze", "verify", f"/etc/systemd/system/{unit}", check=False)

    def complains(text: str) -> bool:
        return any("Unknown key" in line and "'RestartSteps'" in line for line in text.splitlines())

    if bed.systemd_version >= 254:
        assert bed.show(unit, "RestartSteps")["RestartSteps"] == "3"
        assert not complains(verify.stderr)
    else:
        assert bed.systemd_version == 252
        assert complains(verify.stderr)
        assert complains(bed.journal("-b", "--grep", "RestartSteps"))


def test_pystemd_on_the_host_reads_the_beds_manager_version(bed: TestBed) -> None:
    code = (
        "from pystemd.dbuslib import DBus\n"
        "with DBus() as bus:\n"
        "    print(bus.get_property(b'org.freedesktop.systemd1', b'/org/freedesktop/systemd1',"
        " b'org.freedesktop.systemd1.Manager', b'Version', b's').decode())\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        env={**os.environ, "DBUS_SYSTEM_BUS_ADDRESS": bed.bus_address},
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout.startswith(f"{bed.systemd_version}.")


def test_journal_raises_when_journalctl_fails(bed: TestBed) -> None:
    """An empty answer from a failed journalctl would pass every `not in` assertion."""
    with pytest.raises(BedError, match=r"journalctl --no-such-option exited 1"):
        bed.journal("--no-such-option")
    # --grep finding nothing is an answer (journalctl exits 1 for it), not a failure.
    assert "no entry holds this text" not in bed.journal("-b", "--grep", "no entry holds this text")


def test_a_bed_on_another_systemd_says_where_that_systemd_came_from(bed: TestBed) -> None:
    assert version_problem(bed) is None
    expected = SYSTEMD_OF_KIND[bed.kind]
    problem = version_problem(dataclasses.replace(bed, systemd_version=expected + 1))
    assert problem is not None
    assert f"the {bed.kind} bed runs systemd {expected + 1}" in problem
    assert f"Debian package systemd {expected}." in problem  # what the bed's dpkg says
    assert ("host's own /usr" if bed.kind == "debian12" else "Debian trixie root") in problem
    assert f"written for systemd {expected}" in problem
