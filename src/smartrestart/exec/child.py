"""The program as our child: spawned, signalled, reaped, and its output relayed.

``exec`` stays the service's main process (``NotifyAccess=main`` accepts only
its messages), so it must do what an init does for its one child: pass on
the signals systemd or a person sends, reap every process that ends up as
its child (it is a child subreaper, so orphaned grandchildren come to it, not
to PID 1), and end with the program's exit status.

Signals are handled without races: each handler forwards at once (also while
a probe waits on a socket) and writes to a wake-up pipe
(``signal.set_wakeup_fd``), which the loop's ``select`` watches; SIGCHLD
only wakes the loop, which reaps with ``waitpid(-1, WNOHANG)``.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import re
import signal
import subprocess
import sys
from collections.abc import Callable, Sequence
from types import FrameType

from smartrestart.exec.model import FORWARDED_SIGNALS, Ending, ending_from_wait_status

PR_SET_CHILD_SUBREAPER = 36
# The environment that belongs to exec, not to the program: with NotifyAccess=main
# its own sd_notify messages would be refused (and logged) by systemd anyway.
OWN_VARIABLES = ("NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID")
MAX_LINE = 64 * 1024  # a longer "line" is matched in pieces of this size


def become_subreaper() -> bool:
    """Orphans of our descendants become our children (Linux >= 3.4); False if refused."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return int(libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)) == 0
    except (OSError, AttributeError):
        return False


class Child:
    """The running program, with the pipes of its output when log probes read it."""

    def __init__(self, argv: Sequence[str], *, capture: bool) -> None:
        environment = {k: v for k, v in os.environ.items() if k not in OWN_VARIABLES}
        foreground = _terminal_foreground()
        pipe = subprocess.PIPE if capture else None
        # Its own process group: a terminal's Ctrl-C then reaches the program
        # once (we hand it the terminal), not twice (directly and forwarded).
        self.process = subprocess.Popen(
            list(argv),
            env=environment,
            stdout=pipe,
            stderr=pipe,
            process_group=0,
        )
        self.pid = self.process.pid
        self.ending: Ending | None = None
        if foreground is not None:
            _give_terminal(foreground, self.pid)
        self.outputs: dict[int, int] = {}  # our read end -> the descriptor we copy it to
        if capture:
            assert self.process.stdout is not None and self.process.stderr is not None
            for stream, target in ((self.process.stdout, 1), (self.process.stderr, 2)):
                os.set_blocking(stream.fileno(), False)
                self.outputs[stream.fileno()] = target

    def signal(self, number: int) -> None:
        if self.ending is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, number)

    def reap(self) -> Ending | None:
        """Collect every ended child (grandchildren included); the program's ending once seen."""
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if pid == 0:
                break
            if pid == self.pid:
                self.ending = ending_from_wait_status(status)
                self.process.returncode = self.ending.shell_status  # Popen must not wait again
        return self.ending


class OutputRelay:
    """Copies the program's output unchanged and hands each complete line to ``on_line``."""

    def __init__(self, on_line: Callable[[str], None]) -> None:
        self.on_line = on_line
        self._partial: dict[int, bytes] = {}

    def pump(self, source: int, target: int) -> bool:
        """Copy what ``source`` has; False once it reached end of file."""
        try:
            data = os.read(source, 65536)
        except BlockingIOError:
            return True
        if not data:
            rest = self._partial.pop(source, b"")
            if rest:
                self.on_line(rest.decode("utf-8", "replace"))
            return False
        _write_all(target, data)
        lines = re.split(rb"\r?\n", self._partial.get(source, b"") + data)
        self._partial[source] = lines.pop()
        if len(self._partial[source]) > MAX_LINE:
            lines.append(self._partial[source])
            self._partial[source] = b""
        for line in lines:
            self.on_line(line.decode("utf-8", "replace"))
        return True


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        try:
            written = os.write(fd, view)
        except BlockingIOError:
            import select

            select.select([], [fd], [])
            continue
        except OSError:
            return  # nobody reads our output any more: the program's output is lost, not us
        view = view[written:]


class Signals:
    """Forwarding handlers for :data:`FORWARDED_SIGNALS`, and the loop's wake-up pipe."""

    def __init__(self, on_signal: Callable[[int], None]) -> None:
        self.read_end, self._write_end = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        self.on_signal = on_signal
        self.child: Child | None = None
        self.pending: list[int] = []  # arrived before the program was started
        signal.set_wakeup_fd(self._write_end, warn_on_full_buffer=False)
        for number in FORWARDED_SIGNALS:
            signal.signal(number, self._forward)
        signal.signal(signal.SIGCHLD, self._wake)

    def _forward(self, number: int, frame: FrameType | None) -> None:
        if self.child is None:
            self.pending.append(number)
        else:
            self.child.signal(number)
        self.on_signal(number)

    @staticmethod
    def _wake(number: int, frame: FrameType | None) -> None:
        """SIGCHLD: nothing to do here; the wake-up pipe makes the loop reap."""

    def attach(self, child: Child) -> None:
        self.child = child
        for number in self.pending:
            child.signal(number)
        self.pending.clear()

    def drain(self) -> None:
        with contextlib.suppress(BlockingIOError):
            while os.read(self.read_end, 4096):
                pass


def die_like(ending: Ending) -> int:
    """End as the program ended: by its signal (so systemd sees a clean SIGTERM) or its code.

    Returns the exit status to use when the signal does not end us (a stop
    signal, say): 128 + the signal number, as a shell reports it.
    """
    if ending.signal is None:
        return ending.shell_status
    sys.stdout.flush()
    sys.stderr.flush()
    import resource

    # Dying by SIGSEGV or SIGABRT would dump *our* core, which helps nobody.
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_CORE, (0, resource.getrlimit(resource.RLIMIT_CORE)[1]))
    with contextlib.suppress(OSError, ValueError):
        signal.signal(ending.signal, signal.SIG_DFL)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, [ending.signal])
        os.kill(os.getpid(), ending.signal)
    return ending.shell_status


def _terminal_foreground() -> int | None:
    """Our terminal's descriptor when we are its foreground process group, else None."""
    try:
        if os.isatty(0) and os.tcgetpgrp(0) == os.getpgrp():
            return 0
    except OSError:
        pass
    return None


def _give_terminal(fd: int, pgid: int) -> None:
    """Make ``pgid`` the terminal's foreground group (SIGTTOU ignored while we do it)."""
    previous = signal.signal(signal.SIGTTOU, signal.SIG_IGN)
    try:
        with contextlib.suppress(OSError):
            os.tcsetpgrp(fd, pgid)
    finally:
        signal.signal(signal.SIGTTOU, previous)
