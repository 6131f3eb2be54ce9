"""exec's loop with a real program and a notify socket of our own (no systemd)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src"


@pytest.fixture
def notify_socket(tmp_path: Path) -> Iterator[socket.socket]:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(tmp_path / "notify"))
    sock.settimeout(10)
    yield sock
    sock.close()


def start_exec(
    tmp_path: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.Popen[str]:
    environment = {
        **os.environ,
        "PYTHONPATH": str(SRC),
        "NOTIFY_SOCKET": str(tmp_path / "notify"),
        **(env or {}),
    }
    return subprocess.Popen(
        [sys.executable, "-m", "smartrestart", "exec", *args],
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def messages_until(sock: socket.socket, wanted: bytes) -> list[bytes]:
    seen = []
    while True:
        message = sock.recv(4096)
        seen.append(message)
        if wanted in message:
            return seen


def test_ready_after_the_log_line_and_the_file(
    tmp_path: Path, notify_socket: socket.socket
) -> None:
    flag = tmp_path / "flag"
    program = (
        "import time; time.sleep(0.3); print('up', flush=True); time.sleep(0.3); "
        f"open({str(flag)!r}, 'w'); time.sleep(30)"
    )
    process = start_exec(
        tmp_path,
        "--ready",
        "log:^up$",
        "--ready",
        f"file:{flag}",
        "--",
        sys.executable,
        "-c",
        program,
    )
    started = time.monotonic()
    seen = messages_until(notify_socket, b"READY=1")
    assert time.monotonic() - started >= 0.5
    assert any(m.startswith(b"EXTEND_TIMEOUT_USEC=") for m in seen)
    assert b"STATUS=waiting for log:^up$ (1 of 2)" in seen
    assert seen[-1].startswith(b"READY=1\nSTATUS=ready: log:^up$, file:")
    process.send_signal(signal.SIGTERM)
    out, _ = process.communicate(timeout=10)
    assert out == "up\n"  # the program's output, unchanged
    assert process.returncode == -signal.SIGTERM  # it died of SIGTERM: so do we
    assert notify_socket.recv(4096) == b"STOPPING=1\nSTATUS=stopping"


def test_the_program_does_not_see_exec_s_notify_socket(
    tmp_path: Path, notify_socket: socket.socket
) -> None:
    program = "import os, sys; sys.exit(7 if 'NOTIFY_SOCKET' in os.environ else 5)"
    process = start_exec(tmp_path, "--", sys.executable, "-c", program)
    assert process.wait(timeout=10) == 5
    assert notify_socket.recv(4096).startswith(b"READY=1")


def test_health_failures_trigger_the_watchdog(tmp_path: Path, notify_socket: socket.socket) -> None:
    health = tmp_path / "healthy"
    health.write_text("")
    process = start_exec(
        tmp_path,
        "--health",
        f"file:{health}",
        "--health-interval",
        "100ms",
        "--health-retries",
        "2",
        "--",
        "sleep",
        "30",
        env={"WATCHDOG_USEC": "400000"},
    )
    seen = messages_until(notify_socket, b"WATCHDOG=1")
    health.unlink()
    seen = messages_until(notify_socket, b"WATCHDOG=trigger")
    assert b"WATCHDOG=1" not in seen[-1:]
    process.terminate()
    _, err = process.communicate(timeout=10)
    assert "failed 2 times in a row (no such file); stopped the watchdog pings" in err


def test_not_ready_in_time_stops_the_program_and_fails(tmp_path: Path) -> None:
    process = start_exec(
        tmp_path, "--ready", "tcp:127.0.0.1:1", "--ready-timeout", "300ms", "--", "sleep", "30"
    )
    _, err = process.communicate(timeout=20)
    assert process.returncode == 1
    assert "not ready: tcp:127.0.0.1:1 did not pass within 0.3 s (last: Connection refused)" in err


def test_a_grandchild_left_behind_does_not_hold_the_exit(tmp_path: Path) -> None:
    # The shell leaves a background sleep behind and exits: its status is ours at once.
    process = start_exec(tmp_path, "--", "sh", "-c", "sleep 0.2 & exit 4")
    assert process.wait(timeout=10) == 4
