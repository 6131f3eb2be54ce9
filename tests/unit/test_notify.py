"""smartrestart.notify against a datagram socket of the test's own: the exact bytes sent."""

from __future__ import annotations

import array
import asyncio
import errno
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from smartrestart import notify
from smartrestart.notify import protocol

BIGGER_THAN_ANY_DATAGRAM = 1 << 16  # so a message over systemd's limit arrives whole, not cut


class Receiver:
    """The manager's side: an AF_UNIX datagram socket that collects messages and fds."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock

    def get(self, timeout: float = 2.0) -> bytes:
        self.sock.settimeout(timeout)
        return self.sock.recv(BIGGER_THAN_ANY_DATAGRAM)

    def get_with_fds(self) -> tuple[bytes, list[int]]:
        self.sock.settimeout(2.0)
        data, ancillary, _flags, _addr = self.sock.recvmsg(
            BIGGER_THAN_ANY_DATAGRAM, socket.CMSG_SPACE(16)
        )
        fds: list[int] = []
        for level, kind, payload in ancillary:
            assert (level, kind) == (socket.SOL_SOCKET, socket.SCM_RIGHTS)
            fds.extend(array.array("i", payload))
        return data, fds

    def empty(self) -> bool:
        self.sock.settimeout(0.05)
        try:
            self.sock.recv(BIGGER_THAN_ANY_DATAGRAM)
        except TimeoutError:
            return True
        return False


@pytest.fixture
def receiver(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Receiver]:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    path = tmp_path / "notify.sock"
    sock.bind(str(path))
    monkeypatch.setenv("NOTIFY_SOCKET", str(path))
    notify.reset_default_notifier()
    yield Receiver(sock)
    notify.reset_default_notifier()
    sock.close()


@pytest.fixture
def no_socket(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.delenv("NOTIFY_SOCKET", raising=False)
    notify.reset_default_notifier()
    yield
    notify.reset_default_notifier()


def test_ready_with_status(receiver: Receiver) -> None:
    assert notify.ready("listening on :8080") is True
    assert receiver.get() == b"READY=1\nSTATUS=listening on :8080"


def test_each_message_exact_bytes(receiver: Receiver, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(time, "clock_gettime_ns", lambda clock: 123_456_789_000)
    sends: list[tuple[Callable[..., bool], tuple[object, ...], bytes]] = [
        (notify.ready, (), b"READY=1"),
        (notify.status, ("half\nway ✓",), "STATUS=half way ✓".encode()),
        (notify.stopping, (), b"STOPPING=1"),
        (notify.reloading, (), b"RELOADING=1\nMONOTONIC_USEC=123456789"),
        (notify.extend_timeout, (2.5,), b"EXTEND_TIMEOUT_USEC=2500000"),
        (notify.errno, (2,), b"ERRNO=2"),
        (notify.exit_status, (78,), b"EXIT_STATUS=78"),
        (notify.watchdog, (), b"WATCHDOG=1"),
        (notify.watchdog_trigger, (), b"WATCHDOG=trigger"),
    ]
    for function, args, expected in sends:
        assert function(*args) is True
        assert receiver.get() == expected


def test_everything_is_a_silent_no_op_outside_systemd(no_socket: None) -> None:
    assert notify.ready() is False
    assert notify.status("x") is False
    assert notify.watchdog() is False
    assert notify.fdstore(0, "x") is False
    assert notify.default_notifier().last_error is None
    assert notify.Watchdog().enabled is False


def test_abstract_namespace_socket(monkeypatch: pytest.MonkeyPatch) -> None:
    name = f"smartrestart-test-{os.getpid()}"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind("\0" + name)
    monkeypatch.setenv("NOTIFY_SOCKET", "@" + name)
    notify.reset_default_notifier()
    try:
        assert notify.ready() is True
        assert Receiver(sock).get() == b"READY=1"
    finally:
        notify.reset_default_notifier()
        sock.close()


def test_descriptor_passing(receiver: Receiver, tmp_path: Path) -> None:
    with (tmp_path / "payload").open("w+") as handle:
        handle.write("kept across restarts")
        handle.flush()
        assert notify.fdstore(handle.fileno(), "db-conn") is True
        data, fds = receiver.get_with_fds()
    assert data == b"FDSTORE=1\nFDNAME=db-conn"
    assert len(fds) == 1
    with os.fdopen(fds[0]) as received:  # a real duplicate of the descriptor
        received.seek(0)
        assert received.read() == "kept across restarts"
    assert notify.fdstore_remove("db-conn") is True
    assert receiver.get() == b"FDSTOREREMOVE=1\nFDNAME=db-conn"


@pytest.mark.parametrize("name", ["", "a:b", "tab\there", "x" * 256])
def test_invalid_fd_names_are_refused(name: str) -> None:
    with pytest.raises(ValueError, match="file descriptor name"):
        protocol.fdstore(name)


def test_send_errors_are_reported_not_hidden(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "gone.sock"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(path))
    monkeypatch.setenv("NOTIFY_SOCKET", str(path))
    notify.reset_default_notifier()
    sock.close()  # the manager went away after we connected
    assert notify.ready() is False
    assert isinstance(notify.default_notifier().last_error, OSError)
    notify.reset_default_notifier()


def test_ready_with_a_long_status_still_sends_ready(receiver: Receiver) -> None:
    assert notify.ready(status="ü" * 5000) is True
    message = receiver.get()
    assert len(message) <= protocol.MAX_DATAGRAM
    assert message.startswith("READY=1\nSTATUS=üü".encode())
    assert message.decode().endswith("ü…")


def test_raw_message_with_a_nul_is_refused_not_sent(receiver: Receiver) -> None:
    assert notify.notify(b"READY=1\nSTATUS=a\0b") is False
    error = notify.default_notifier().last_error
    assert isinstance(error, OSError) and error.errno == errno.EINVAL
    assert "NUL byte at offset 16" in str(error)
    assert receiver.empty()
    assert notify.ready() is True  # the notifier still works
    assert receiver.get() == b"READY=1"


def test_raw_message_too_long_without_a_status_is_refused(receiver: Receiver) -> None:
    assert notify.notify(b"READY=1\nX_PAD=" + b"y" * 5000) is False
    error = notify.default_notifier().last_error
    assert isinstance(error, OSError) and error.errno == errno.EMSGSIZE
    assert receiver.empty()


def test_raw_message_with_a_long_status_is_shortened_and_sent(receiver: Receiver) -> None:
    assert notify.notify("STATUS=" + "x" * 5000 + "\nREADY=1") is True  # str is accepted
    message = receiver.get()
    assert len(message) == protocol.MAX_DATAGRAM
    assert message.endswith("x…\nREADY=1".encode())


def test_refusals_show_outside_systemd_too(no_socket: None) -> None:
    assert notify.notify(b"STATUS=\0") is False
    error = notify.default_notifier().last_error
    assert error is not None and error.errno == errno.EINVAL


def test_a_full_queue_never_blocks_the_sender(receiver: Receiver) -> None:
    sent = 0
    started = time.monotonic()
    while notify.watchdog():  # nobody reads: the queue fills up
        sent += 1
        assert sent < 100_000
    assert time.monotonic() - started < 5
    assert isinstance(notify.default_notifier().last_error, BlockingIOError)


LISTEN = """
import os
from smartrestart import notify
r, w = os.pipe()
for fd, source in ((3, r), (4, w), (5, r)):
    os.dup2(source, fd)
os.environ.update(LISTEN_PID=str(os.getpid()), LISTEN_FDS="3", LISTEN_FDNAMES="http:http:metrics")
print(notify.listen_fds(), "LISTEN_FDS" in os.environ, os.get_inheritable(3))
"""


def test_listen_fds() -> None:
    # In a child process: descriptors 3-5 of the test process belong to pytest.
    result = subprocess.run(
        [sys.executable, "-c", LISTEN], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "{'http': [3, 4], 'metrics': [5]} False False"


def test_listen_fds_for_another_process_are_ignored(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LISTEN_PID", "1")
    monkeypatch.setenv("LISTEN_FDS", "2")
    assert notify.listen_fds(unset_environment=False) == {}


def test_watchdog_interval_and_pid(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WATCHDOG_USEC", "2000000")
    monkeypatch.delenv("WATCHDOG_PID", raising=False)
    assert notify.watchdog_interval() == 1.0
    monkeypatch.setenv("WATCHDOG_PID", str(os.getpid()))
    assert notify.watchdog_interval() == 1.0
    monkeypatch.setenv("WATCHDOG_PID", "1")
    assert notify.watchdog_interval() is None
    monkeypatch.delenv("WATCHDOG_USEC")
    assert notify.watchdog_interval() is None


def test_watchdog_thread_pings_only_while_healthy(
    receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WATCHDOG_USEC", "100000")  # pings every 50 ms
    healthy = threading.Event()
    healthy.set()
    with notify.Watchdog(health_check=healthy.is_set):
        assert receiver.get() == b"WATCHDOG=1"
        assert receiver.get() == b"WATCHDOG=1"
        healthy.clear()
        status = b"STATUS=health check failing: watchdog pings stopped"
        # At most one ping already under way, then the status, then silence.
        first = receiver.get()
        assert first in (b"WATCHDOG=1", status)
        if first != status:
            assert receiver.get() == status
        assert receiver.empty() and receiver.empty() and receiver.empty()  # 150 ms: 3 intervals
        healthy.set()
        assert receiver.get() == b"WATCHDOG=1"  # pings resume once healthy again


def test_health_check_that_raises_counts_as_failing(receiver: Receiver) -> None:
    def broken() -> bool:
        raise RuntimeError("db down")

    watchdog = notify.Watchdog(health_check=broken, interval=1.0)
    assert watchdog.ping() is False


def test_watchdog_as_asyncio_task(receiver: Receiver, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WATCHDOG_USEC", "60000")

    async def service() -> None:
        watchdog = notify.Watchdog()
        watchdog.start_task()
        await asyncio.sleep(0.1)
        watchdog.stop()

    asyncio.run(service())
    assert receiver.get() == b"WATCHDOG=1"
    assert receiver.get() == b"WATCHDOG=1"


def drained_after(seconds: float) -> bool:
    time.sleep(seconds)
    return True


def never_drained(seconds: float) -> bool:
    time.sleep(seconds)
    return False


def test_graceful_shutdown_order_extension_and_overrun(
    receiver: Receiver, capsys: pytest.CaptureFixture[str]
) -> None:
    order: list[str] = []
    drained = threading.Event()

    def slow_join(seconds: float) -> bool:
        drained.wait(seconds)
        return drained.is_set()

    shutdown = notify.GracefulShutdown(extend_every=0.1, extend_margin=1.0)
    shutdown.register("pool", lambda: order.append("pool"), timeout=1.0)
    shutdown.register(
        "server",
        lambda: order.append("server"),
        join=lambda seconds: drained_after(0.25),
        timeout=1.0,
    )
    shutdown.register("hung", lambda: order.append("hung"), join=slow_join, timeout=0.3)
    reports = shutdown.shutdown()
    assert order == ["hung", "server", "pool"]  # reverse registration
    assert [(r.name, r.overran) for r in reports] == [
        ("hung", True),
        ("server", False),
        ("pool", False),
    ]
    assert receiver.get() == b"STOPPING=1\nSTATUS=stopping"
    assert "component 'hung' did not finish within its 0.3 s" in capsys.readouterr().err


def test_graceful_shutdown_extends_the_timeout_while_draining(receiver: Receiver) -> None:
    shutdown = notify.GracefulShutdown(extend_every=0.1, extend_margin=1.0)
    shutdown.register("drain", lambda: None, join=never_drained, timeout=0.35)
    shutdown.shutdown()
    messages = []
    while True:
        try:
            messages.append(receiver.get(timeout=0.2))
        except TimeoutError:
            break
    extends = [m for m in messages if m.startswith(b"EXTEND_TIMEOUT_USEC=")]
    assert len(extends) >= 3  # once up front, then after every slice
    assert int(extends[0].split(b"=")[1]) == 1_350_000  # the allowance plus the margin
    assert all(int(m.split(b"=")[1]) <= 1_350_000 for m in extends)


def test_graceful_shutdown_on_signal(receiver: Receiver) -> None:
    shutdown = notify.GracefulShutdown()
    previous = signal.getsignal(signal.SIGTERM)
    try:
        shutdown.install([signal.SIGTERM])
        os.kill(os.getpid(), signal.SIGTERM)
        assert shutdown.wait(2) is True
        assert shutdown.signal_received == signal.SIGTERM
    finally:
        signal.signal(signal.SIGTERM, previous)


def test_graceful_shutdown_asyncio(receiver: Receiver) -> None:
    stopped: list[str] = []

    async def service() -> list[notify.ComponentReport]:
        shutdown = notify.GracefulShutdown(extend_every=0.05)
        requested = shutdown.install_asyncio([signal.SIGUSR1])
        finished = asyncio.Event()

        async def stop() -> None:
            stopped.append("worker")
            finished.set()

        async def join() -> None:
            await finished.wait()

        shutdown.register("worker", stop, join=join, timeout=1.0)
        shutdown.register("never", lambda: None, join=asyncio.Event().wait, timeout=0.2)
        os.kill(os.getpid(), signal.SIGUSR1)
        await asyncio.wait_for(requested.wait(), 2)
        return await shutdown.shutdown_async()

    reports = asyncio.run(service())
    assert stopped == ["worker"]
    assert [(r.name, r.overran) for r in reports] == [("never", True), ("worker", False)]


RUN = """
import sys
from smartrestart import notify

class ConfigProblem(Exception): pass
class BadInput(ValueError): pass
class Unprintable(Exception):
    def __str__(self): raise RuntimeError("no")

def main():
    kind = sys.argv[1]
    if kind == "fatal": raise ConfigProblem("no database url")
    if kind == "non-retryable": raise BadInput("cannot parse job")
    if kind == "oserror": raise FileNotFoundError(2, "missing", "/etc/app.conf")
    if kind == "code": return 3
    if kind == "max": return 255
    if kind == "long": raise ConfigProblem("x" * 10_000)
    if kind == "odd-errno": raise OSError("not a number", "odd")
    if kind == "unprintable": raise Unprintable()
    if kind == "returned": return eval(sys.argv[2])
    return None

notify.run(main, fatal=(ConfigProblem,), non_retryable=(BadInput,))
"""


@pytest.mark.parametrize(
    ("kind", "code", "messages"),
    [
        ("fatal", 78, b"EXIT_STATUS=78\nSTATUS=fatal: ConfigProblem: no database url"),
        ("non-retryable", 65, b"EXIT_STATUS=65\nSTATUS=non-retryable: BadInput: cannot parse job"),
        ("oserror", 1, b"EXIT_STATUS=1\nERRNO=2\nSTATUS=failure: FileNotFoundError: "),
        ("odd-errno", 1, b"EXIT_STATUS=1\nSTATUS=failure: OSError: "),
        ("unprintable", 1, b"EXIT_STATUS=1\nSTATUS=failure: Unprintable: <unprintable message>"),
        ("code", 3, None),
        ("max", 255, None),
        ("ok", 0, None),
    ],
)
def test_run_maps_exceptions_to_exit_codes(
    receiver: Receiver, kind: str, code: int, messages: bytes | None
) -> None:
    result = subprocess.run(
        [sys.executable, "-c", RUN, kind], capture_output=True, text=True, check=False
    )
    assert result.returncode == code
    if messages is None:
        assert receiver.empty()
    else:
        assert receiver.get().startswith(messages)
        assert "Traceback" in result.stderr


def test_run_with_a_huge_exception_message_still_sends_its_exit_status(
    receiver: Receiver,
) -> None:
    result = subprocess.run(
        [sys.executable, "-c", RUN, "long"], capture_output=True, text=True, check=False
    )
    assert result.returncode == 78
    message = receiver.get()
    assert len(message) <= protocol.MAX_DATAGRAM
    assert message.startswith(b"EXIT_STATUS=78\nSTATUS=fatal: ConfigProblem: xxx")
    assert message.endswith("x…".encode())


@pytest.mark.parametrize(
    ("returned", "problem"),
    [
        ("256", "main returned 256, outside the exit statuses 0-255 (the kernel would keep 0)"),
        ("-1", "main returned -1, outside the exit statuses 0-255 (the kernel would keep 255)"),
        ("True", "main returned True, which is not an exit status (an int 0-255, or None for 0)"),
        ("'done'", "main returned 'done', which is not an exit status"),
        ("3.0", "main returned 3.0, which is not an exit status"),
    ],
)
def test_run_says_so_when_main_returns_no_exit_status(
    receiver: Receiver, returned: str, problem: str
) -> None:
    result = subprocess.run(
        [sys.executable, "-c", RUN, "returned", returned],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 1
    assert f"run: {problem}" in result.stderr
    assert result.stderr.rstrip().endswith("; exiting 1")
    assert receiver.get().startswith(b"EXIT_STATUS=1\nSTATUS=failure: " + problem.encode())


def test_run_refuses_exit_statuses_it_could_not_exit_with() -> None:
    with pytest.raises(ValueError, match="exit statuses are 0-255, not 300"):
        notify.run(lambda: None, fatal_exit=300)


def test_run_accepts_a_coroutine_function(no_socket: None) -> None:
    async def main() -> int:
        await asyncio.sleep(0)
        return 4

    with pytest.raises(SystemExit) as caught:
        notify.run(main)
    assert caught.value.code == 4


def test_importing_notify_pulls_in_no_cli_libraries() -> None:
    code = (
        "import sys, smartrestart.notify\n"
        "heavy = ('click', 'yaml', 'pystemd', 'lxml')\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in heavy))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"
