"""``smartrestart exec`` as a Type=notify unit's main process, on systemd 252 and 257."""

from __future__ import annotations

import time

from tests.integration.helpers import PROGRAMS
from tests.testbed import BED_PROJECT, TestBed


def exec_unit(bed: TestBed, options: str, program: str, extra: str = "") -> str:
    """A Type=notify unit running ``program`` (a slow_http.py command line) under exec."""
    return (
        "[Service]\nType=notify\nKillMode=mixed\n"
        f"Environment=PYTHONPATH={BED_PROJECT / 'src'} PYTHONUNBUFFERED=1\n"
        f"ExecStart={bed.python} -m smartrestart exec {options} -- "
        f"/usr/bin/python3 {PROGRAMS / 'slow_http.py'} {program}\n{extra}"
    )


def port_of(unit_name: str) -> int:
    return 20000 + int(unit_name[-6:], 16) % 20000


def test_start_returns_once_the_port_listens(bed: TestBed, unit_name: str) -> None:
    unit, port = f"{unit_name}.service", port_of(unit_name)
    bed.install_unit(unit, exec_unit(bed, f"--ready tcp:127.0.0.1:{port}", f"{port} 2"))
    started = time.monotonic()
    bed.systemctl("start", unit)
    assert time.monotonic() - started >= 2.0
    props = bed.show(unit, "ActiveState", "SubState", "StatusText", "MainPID")
    assert props["ActiveState"] == "active", props
    assert props["StatusText"].startswith(f"ready: tcp:127.0.0.1:{port} passed after 2."), props
    # exec is the main process; the program is its child.
    children = bed.run("ps", "-o", "args=", "--ppid", props["MainPID"]).stdout
    assert "slow_http.py" in children
    bed.systemctl("stop", unit)


def test_a_hung_program_is_killed_by_the_watchdog_and_restarted(
    bed: TestBed, unit_name: str
) -> None:
    unit, port = f"{unit_name}.service", port_of(unit_name)
    options = (
        f"--ready tcp:127.0.0.1:{port} --health http://127.0.0.1:{port}/ "
        "--health-interval 1s --health-timeout 500ms --health-retries 3"
    )
    bed.install_unit(
        unit,
        exec_unit(bed, options, f"{port} 0.5", "WatchdogSec=3s\nRestart=on-failure\n"),
    )
    bed.systemctl("start", unit)
    main_pid = bed.show(unit, "MainPID")["MainPID"]
    time.sleep(4)  # healthy for longer than WatchdogSec: the pings keep it alive
    assert bed.show(unit, "MainPID", "NRestarts") == {"MainPID": main_pid, "NRestarts": "0"}
    child = bed.run("pgrep", "-P", main_pid, "-f", "slow_http").stdout.split()[0]
    bed.run("kill", "-STOP", child)
    stopped_at = time.monotonic()
    # Within the watchdog time plus the retries (3 x (1 s + 500 ms)), with slack.
    bed.wait_for(lambda: bed.show(unit, "NRestarts")["NRestarts"] == "1", timeout=3 + 4.5 + 4)
    assert time.monotonic() - stopped_at < 3 + 4.5 + 2
    journal = bed.journal("-u", unit)
    assert "Failed with result 'watchdog'" in journal
    assert "health probe" in journal and "sent WATCHDOG=trigger" in journal
    bed.wait_for(lambda: bed.show(unit, "ActiveState")["ActiveState"] == "active", timeout=10)
    bed.systemctl("stop", unit)


def test_stop_sends_sigterm_to_the_program(bed: TestBed, unit_name: str) -> None:
    unit, port = f"{unit_name}.service", port_of(unit_name)
    marker = f"/run/{unit_name}.term"
    bed.install_unit(
        unit, exec_unit(bed, f"--ready tcp:127.0.0.1:{port}", f"{port} 0 never {marker}")
    )
    bed.systemctl("start", unit)
    bed.systemctl("stop", unit)
    assert bed.read(marker) == "TERM"
    props = bed.show(unit, "ActiveState", "Result")
    assert props == {"ActiveState": "inactive", "Result": "success"}


def test_the_programs_exit_status_is_the_units(bed: TestBed, unit_name: str) -> None:
    unit, port = f"{unit_name}.service", port_of(unit_name)
    bed.install_unit(unit, exec_unit(bed, f"--ready tcp:127.0.0.1:{port}", f"{port} 0 7"))
    bed.systemctl("start", unit)
    bed.wait_for(lambda: bed.show(unit, "ActiveState")["ActiveState"] == "failed", timeout=10)
    props = bed.show(unit, "ExecMainStatus", "ExecMainCode", "Result")
    assert props == {"ExecMainStatus": "7", "ExecMainCode": "1", "Result": "exit-code"}


def test_a_program_that_exits_before_ready_fails_the_start(bed: TestBed, unit_name: str) -> None:
    unit, port = f"{unit_name}.service", port_of(unit_name)
    bed.install_unit(unit, exec_unit(bed, f"--ready tcp:127.0.0.1:{port}", f"{port} -0.5"))
    result = bed.systemctl("start", unit, check=False)
    assert result.returncode != 0
    assert bed.show(unit, "ActiveState", "ExecMainStatus") == {
        "ActiveState": "failed",
        "ExecMainStatus": "3",
    }
    journal = bed.journal("-u", unit)
    assert "giving up before listening" in journal  # the program's own output, unchanged
    assert (
        f"slow_http.py not ready: it exited with status 3 before tcp:127.0.0.1:{port} passed"
        not in journal
    )
    assert f"python3 not ready: it exited with status 3 before tcp:127.0.0.1:{port} passed" in (
        journal
    )
    entries = bed.journal("-o", "cat", "SMARTRESTART_PROBE=tcp:127.0.0.1:" + str(port))
    assert "not ready" in entries
