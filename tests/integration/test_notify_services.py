"""Services written with smartrestart.notify, run by a real systemd."""

from __future__ import annotations

import errno
import json
import subprocess
import time

from smartrestart.notify import protocol
from tests.integration.helpers import PROGRAMS
from tests.integration.programs.notify_service import long_status
from tests.testbed import BED_PROJECT, TestBed


def service(bed: TestBed, mode: str, *args: str, extra: str = "", kind: str = "notify") -> str:
    argv = " ".join([bed.python, str(PROGRAMS / "notify_service.py"), mode, *args])
    return (
        f"[Service]\nType={kind}\nExecStart={argv}\n"
        f"Environment=PYTHONPATH={BED_PROJECT / 'src'} PYTHONUNBUFFERED=1\n{extra}"
    )


def test_start_returns_after_ready_and_status_shows(bed: TestBed, unit_name: str) -> None:
    unit = f"{unit_name}.service"
    bed.install_unit(unit, service(bed, "ready", "1.5", "'warm caches loaded'"))
    started = time.monotonic()
    bed.systemctl("start", unit)
    assert time.monotonic() - started >= 1.5
    props = bed.show(unit, "ActiveState", "SubState", "StatusText")
    assert props == {
        "ActiveState": "active",
        "SubState": "running",
        "StatusText": "warm caches loaded",
    }
    bed.systemctl("stop", unit)


def test_watchdog_keeps_it_alive_until_the_health_check_fails(bed: TestBed, unit_name: str) -> None:
    unit = f"{unit_name}.service"
    health = f"/run/{unit_name}.healthy"
    bed.write(health, "")
    bed.install_unit(
        unit,
        service(
            bed, "watchdog", health, extra="WatchdogSec=1s\nRestart=on-failure\nRestartSec=2s\n"
        ),
    )
    bed.systemctl("start", unit)
    pid = bed.show(unit, "MainPID")["MainPID"]
    time.sleep(10)  # ten watchdog periods: the pings keep it alive
    assert bed.show(unit, "MainPID", "NRestarts", "ActiveState") == {
        "MainPID": pid,
        "NRestarts": "0",
        "ActiveState": "active",
    }
    bed.run("rm", health)
    killed_at = time.monotonic()
    bed.wait_for(lambda: "Watchdog timeout" in bed.journal("-u", unit), timeout=5)
    assert time.monotonic() - killed_at < 3
    bed.write(health, "")  # healthy again before the restart comes
    bed.wait_for(lambda: bed.show(unit, "NRestarts")["NRestarts"] == "1", timeout=10)
    bed.wait_for(lambda: bed.show(unit, "ActiveState")["ActiveState"] == "active", timeout=10)
    log = bed.journal("-u", unit)
    assert "Failed with result 'watchdog'" in log
    assert bed.show(unit, "MainPID")["MainPID"] != pid
    bed.systemctl("stop", unit)


def test_graceful_drain_outlasts_the_stop_timeout(bed: TestBed, unit_name: str) -> None:
    unit = f"{unit_name}.service"
    bed.install_unit(unit, service(bed, "drain", "4", extra="TimeoutStopSec=2s\n"))
    bed.systemctl("start", unit)
    started = time.monotonic()
    bed.systemctl("stop", unit)
    elapsed = time.monotonic() - started
    assert elapsed >= 4.0
    log = bed.journal("-u", unit)
    assert "drain finished: [('worker', 4." in log
    assert "SIGKILL" not in log and "Killing" not in log and "timed out" not in log
    assert bed.show(unit, "Result")["Result"] == "success"


def test_listening_socket_survives_restart_in_the_fd_store(bed: TestBed, unit_name: str) -> None:
    unit = f"{unit_name}.service"
    port = "18080"
    bed.install_unit(unit, service(bed, "fdstore", port, extra="FileDescriptorStoreMax=1\n"))
    bed.systemctl("start", unit)
    first = bed.show(unit, "StatusText", "MainPID")
    assert first["StatusText"].endswith(" new")
    inode = first["StatusText"].split()[0]
    client = f"{PROGRAMS}/connect_loop.py"
    stop = f"/run/{unit_name}.stop"
    loop = subprocess.Popen(
        ["nsenter", "-t", str(bed.init_pid), "-a", "/usr/bin/python3", client, port, stop],
        env=bed.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    time.sleep(1)  # connections reach the old process first
    bed.systemctl("restart", unit)  # returns once the new process sent READY=1
    time.sleep(1)  # and let the new process answer for a while
    bed.write(stop, "")
    out, err = loop.communicate(timeout=60)
    assert loop.returncode == 0, err
    made, refused, lost, servers = (int(x) for x in out.split())
    second = bed.show(unit, "StatusText", "MainPID")
    assert second["MainPID"] != first["MainPID"]
    assert second["StatusText"] == f"{inode} from the fd store"  # the very same socket
    assert refused == 0, out  # the socket never closed
    assert lost == 0, out  # and no accepted connection went unanswered
    assert made > 50, out
    assert servers == 2  # answered by the old process, then by the new one
    bed.systemctl("stop", unit)


def test_state_survives_restart(bed: TestBed, unit_name: str) -> None:
    unit = f"{unit_name}.service"
    bed.install_unit(unit, service(bed, "counter", extra=f"StateDirectory={unit_name}\n"))
    bed.systemctl("start", unit)
    assert bed.show(unit, "StatusText")["StatusText"] == "starts=1"
    bed.systemctl("restart", unit)
    assert bed.show(unit, "StatusText")["StatusText"] == "starts=2"
    assert json.loads(bed.read(f"/var/lib/{unit_name}/counter.json")) == {"starts": 2}
    bed.systemctl("stop", unit)


KILL_LOOP = """
import json, random, subprocess, sys, time
unit, state = sys.argv[1], sys.argv[2]
loaded = 0
for attempt in range(50):
    subprocess.run(["systemctl", "start", unit], check=True)
    time.sleep(random.uniform(0.05, 0.25))
    subprocess.run(["systemctl", "kill", "--signal=SIGKILL", unit], check=True)
    while subprocess.run(["systemctl", "is-active", "--quiet", unit]).returncode == 0:
        time.sleep(0.01)
    with open(state) as f:
        data = json.load(f)  # must always parse: never a half-written file
    assert data["padding"] == "x" * (4096 + data["n"] % 5000)
    loaded += 1
print(loaded)
"""


def test_kill_9_during_writes_always_leaves_a_loadable_file(bed: TestBed, unit_name: str) -> None:
    unit = f"{unit_name}.service"
    # 50 starts in a row: lift the default start limit (5 per 10 s), which
    # counts manual starts too.
    unit_file = service(bed, "burst", extra=f"StateDirectory={unit_name}\n")
    bed.install_unit(unit, "[Unit]\nStartLimitIntervalSec=0\n" + unit_file)
    bed.write(f"/srv/{unit_name}/kill_loop.py", KILL_LOOP)
    result = bed.run(
        "/usr/bin/python3",
        f"/srv/{unit_name}/kill_loop.py",
        unit,
        f"/var/lib/{unit_name}/burst.json",
        timeout=300,
    )
    assert result.stdout.strip() == "50"
    leftovers = bed.run("ls", "-A", f"/var/lib/{unit_name}").stdout.split()
    assert "burst.json" in leftovers


def test_run_fatal_exception_exits_with_the_fatal_status(bed: TestBed, unit_name: str) -> None:
    unit = f"{unit_name}.service"
    bed.install_unit(unit, service(bed, "fatal", kind="simple"))
    bed.systemctl("start", unit, check=False)
    bed.wait_for(lambda: bed.show(unit, "ActiveState")["ActiveState"] in ("failed", "inactive"))
    props = bed.show(unit, "Result", "ExecMainStatus")
    assert props == {"Result": "exit-code", "ExecMainStatus": "78"}
    assert "ConfigurationMissing: DATABASE_URL is not set" in bed.journal("-u", unit)


def raw_sender(bed: TestBed, *datagrams: str, extra: str = "") -> str:
    """A Type=notify unit whose process sends ``datagrams`` itself (notify_raw.py)."""
    argv = " ".join([bed.python, str(PROGRAMS / "notify_raw.py"), *datagrams])
    return f"[Service]\nType=notify\nExecStart={argv}\n{extra}"


def test_systemd_acts_on_datagrams_of_at_most_max_datagram_bytes(
    bed: TestBed, unit_name: str
) -> None:
    """The measurements behind protocol.MAX_DATAGRAM and USEC_MAX.

    4096 bytes accepted, 4097 and an embedded NUL ignored whole; a time span
    over 2^64-1 and an errno over 4095 dropped, USEC_MAX and ERRNO_MAX taken.
    """
    limit = protocol.MAX_DATAGRAM
    accepted, ignored, lost = (f"{unit_name}-{n}.service" for n in ("max", "over", "ready"))
    numbers = [f"EXTEND_TIMEOUT_USEC={usec}" for usec in (2**64, protocol.USEC_MAX)]
    numbers += [f"ERRNO={number}" for number in (protocol.ERRNO_MAX + 1, protocol.ERRNO_MAX)]
    bed.install_unit(
        accepted, raw_sender(bed, "STATUS=before", f"status:{limit}", *numbers, "READY=1")
    )
    bed.install_unit(
        ignored, raw_sender(bed, "STATUS=before", f"status:{limit + 1}", "nul", "READY=1")
    )
    bed.install_unit(lost, raw_sender(bed, f"ready:{limit + 1}", extra="TimeoutStartSec=1s\n"))
    bed.systemctl("start", accepted, ignored)
    assert bed.show(accepted, "StatusText")["StatusText"] == "x" * (limit - len("STATUS="))
    assert bed.show(ignored, "StatusText")["StatusText"] == "before"  # both ignored whole
    assert bed.systemctl("start", lost, check=False).returncode != 0  # READY=1 never arrived
    assert bed.show(lost, "Result")["Result"] == "timeout"
    log = bed.journal("-b", "-o", "cat")
    assert "embedded NUL" in log
    assert f"Failed to parse EXTEND_TIMEOUT_USEC={2**64}" in log
    assert f"Failed to parse EXTEND_TIMEOUT_USEC={protocol.USEC_MAX}" not in log
    assert f"Failed to parse ERRNO= field value '{protocol.ERRNO_MAX + 1}'" in log
    assert f"Failed to parse ERRNO= field value '{protocol.ERRNO_MAX}'" not in log
    bed.systemctl("stop", accepted, ignored)


def test_ready_with_a_5000_character_status_becomes_active(bed: TestBed, unit_name: str) -> None:
    unit = f"{unit_name}.service"
    bed.install_unit(unit, service(bed, "long-ready", "5000", extra="TimeoutStartSec=5s\n"))
    started = time.monotonic()
    bed.systemctl("start", unit)
    assert time.monotonic() - started < 4  # READY=1 arrived: no start timeout
    props = bed.show(unit, "ActiveState", "StatusText")
    assert props["ActiveState"] == "active"
    text = props["StatusText"]
    full = long_status(5000)
    assert text.endswith("…") and full.startswith(text[:-1])
    room = protocol.MAX_DATAGRAM - len(b"READY=1\nSTATUS=")
    assert room - 6 < len(text.encode()) <= room  # cut to fit, no shorter than it must
    bed.systemctl("stop", unit)


def test_run_with_a_10000_character_exception_message_exits_fatal_and_says_why(
    bed: TestBed, unit_name: str
) -> None:
    unit = f"{unit_name}.service"
    bed.install_unit(
        unit, service(bed, "fatal", "10000", kind="simple", extra="NotifyAccess=main\n")
    )
    bed.systemctl("start", unit, check=False)
    bed.wait_for(lambda: bed.show(unit, "ActiveState")["ActiveState"] in ("failed", "inactive"))
    props = bed.show(unit, "Result", "ExecMainStatus", "StatusText")
    assert (props["Result"], props["ExecMainStatus"]) == ("exit-code", "78")
    text = props["StatusText"]
    assert text.startswith("fatal: ConfigurationMissing: DATABASE_URL is not setxxx")
    assert text.endswith("x…")
    assert len(text.encode()) <= protocol.MAX_DATAGRAM


def test_raw_messages_systemd_would_drop_are_refused(bed: TestBed, unit_name: str) -> None:
    unit = f"{unit_name}.service"
    bed.install_unit(unit, service(bed, "raw-refusals"))
    bed.systemctl("start", unit)
    assert bed.show(unit, "StatusText")["StatusText"] == (
        f"nul: sent=False errno={errno.EINVAL}; oversize: sent=False errno={errno.EMSGSIZE}"
    )
    bed.systemctl("stop", unit)


def test_reloading_under_type_notify_reload_makes_systemctl_reload_wait(
    debian13: TestBed, unit_name: str
) -> None:
    """Type=notify-reload is systemd 253+: RELOADING=1 needs MONOTONIC_USEC in the same datagram."""
    bed = debian13
    unit = f"{unit_name}.service"
    bed.install_unit(
        unit, service(bed, "reload", "1.5", kind="notify-reload", extra="TimeoutStartSec=6s\n")
    )
    bed.systemctl("start", unit)
    pid = bed.show(unit, "MainPID")["MainPID"]
    started = time.monotonic()
    bed.systemctl("reload", unit)  # SIGHUP, then waits for RELOADING=1 ... READY=1
    waited = time.monotonic() - started
    assert 1.5 <= waited < 5, waited
    shown = bed.show(unit, "MainPID", "ActiveState", "StatusText")
    assert shown == {"MainPID": pid, "ActiveState": "active", "StatusText": "reloads=1"}
    assert "Reloaded" in bed.journal("-u", unit)
    bed.systemctl("stop", unit)


def test_watchdog_trigger_makes_systemd_act_at_once(bed: TestBed, unit_name: str) -> None:
    unit = f"{unit_name}.service"
    pulled = f"/run/{unit_name}.pull"
    bed.install_unit(unit, service(bed, "trigger", pulled, extra="WatchdogSec=1h\n"))
    bed.systemctl("start", unit)
    bed.write(pulled, "")
    pulled_at = time.monotonic()
    bed.wait_for(lambda: bed.show(unit, "ActiveState")["ActiveState"] == "failed", timeout=10)
    assert time.monotonic() - pulled_at < 5  # not the hour WatchdogSec= allows
    assert bed.show(unit, "Result")["Result"] == "watchdog"
    assert "Watchdog request (last status: waiting for the trigger)!" in bed.journal("-u", unit)


def test_fdstoreremove_drops_a_stored_descriptor_by_name(bed: TestBed, unit_name: str) -> None:
    unit = f"{unit_name}.service"
    bed.install_unit(unit, service(bed, "fdstore-remove", extra="FileDescriptorStoreMax=4\n"))
    bed.systemctl("start", unit)
    assert bed.show(unit, "StatusText")["StatusText"] == "passed="
    bed.wait_for(lambda: bed.show(unit, "NFileDescriptorStore")["NFileDescriptorStore"] == "1")
    bed.systemctl("restart", unit)
    assert bed.show(unit, "StatusText")["StatusText"] == "passed=keep"  # "drop" is gone
    bed.systemctl("stop", unit)


def test_errno_is_what_systemd_shows_as_status_errno(bed: TestBed, unit_name: str) -> None:
    unit = f"{unit_name}.service"
    bed.install_unit(unit, service(bed, "errno", str(errno.EADDRINUSE)))
    bed.systemctl("start", unit)
    assert bed.show(unit, "StatusErrno")["StatusErrno"] == str(errno.EADDRINUSE)
    bed.systemctl("stop", unit)
    # run() sends ERRNO= for an OSError before exiting.
    failing = f"{unit_name}-oserror.service"
    bed.install_unit(
        failing,
        service(bed, "oserror", str(errno.ENOENT), kind="simple", extra="NotifyAccess=main\n"),
    )
    bed.systemctl("start", failing, check=False)
    bed.wait_for(lambda: bed.show(failing, "ActiveState")["ActiveState"] == "failed")
    shown = bed.show(failing, "StatusErrno", "ExecMainStatus")
    assert shown == {"StatusErrno": str(errno.ENOENT), "ExecMainStatus": "1"}


def test_asyncio_watchdog_keeps_it_alive_until_the_health_check_fails(
    bed: TestBed, unit_name: str
) -> None:
    unit = f"{unit_name}.service"
    health = f"/run/{unit_name}.healthy"
    bed.write(health, "")
    bed.install_unit(unit, service(bed, "async-watchdog", health, extra="WatchdogSec=1s\n"))
    bed.systemctl("start", unit)
    pid = bed.show(unit, "MainPID")["MainPID"]
    time.sleep(5)  # five watchdog periods: the task's pings keep it alive
    assert bed.show(unit, "MainPID", "ActiveState") == {"MainPID": pid, "ActiveState": "active"}
    bed.run("rm", health)
    stopped = time.monotonic()
    bed.wait_for(lambda: bed.show(unit, "ActiveState")["ActiveState"] == "failed", timeout=10)
    assert time.monotonic() - stopped < 4
    assert bed.show(unit, "Result")["Result"] == "watchdog"
    assert "Watchdog timeout" in bed.journal("-u", unit)
