"""Sending sd_notify messages: on sdnotify's connection, with what it lacks added.

The socket is made by the ``sdnotify`` package (``SystemdNotifier``), which
reads ``NOTIFY_SOCKET`` (an ``@`` prefix meaning the abstract namespace) and
connects once, which keeps each send cheap. What sdnotify lacks, and this adds:

* **Descriptor passing** (``SCM_RIGHTS``), which ``FDSTORE=1`` needs;
  sdnotify can only send text.
* **Send errors are reported, not hidden**: sdnotify swallows every
  exception, so a service never learns that READY=1 or a watchdog ping was
  lost. Here every send returns whether it went out, and ``last_error`` keeps
  the reason.
* **It never blocks the service**: the socket is non-blocking. A blocking send
  to a busy systemd with a full queue would freeze the thread that sent a
  watchdog ping (libsystemd-based bindings even keep the GIL while waiting);
  a send that would block is reported as failed instead.
* **UTF-8**, where sdnotify encodes Latin-1 and drops a STATUS it cannot encode.
* **Only messages systemd accepts**: systemd silently ignores a datagram over
  ``protocol.MAX_DATAGRAM`` bytes or with a NUL byte, so a message whose
  ``STATUS=`` text is too long is shortened, and one that cannot be repaired
  is refused: ``send`` returns False and ``last_error`` is an OSError
  (``EINVAL`` for a NUL, ``EMSGSIZE`` for the size) saying why. It never raises.

Without ``NOTIFY_SOCKET`` (a terminal, a test, another init) every send is a
silent no-op returning False.
"""

from __future__ import annotations

import array
import os
import socket
from collections.abc import Sequence

import sdnotify

from smartrestart.notify import protocol

_MAX_DATAGRAM = protocol.MAX_DATAGRAM


class Notifier:
    """A connection to the service manager's notification socket."""

    def __init__(self) -> None:
        self.address = os.environ.get("NOTIFY_SOCKET")
        self.last_error: OSError | None = None
        self._socket: socket.socket | None = None
        if not self.address:
            return
        try:
            notifier = sdnotify.SystemdNotifier(debug=True)  # reads NOTIFY_SOCKET, connects
        except OSError as exc:
            self.last_error = exc
            return
        self._socket = notifier.socket
        self._socket.setblocking(False)

    @property
    def enabled(self) -> bool:
        """Whether there is a manager to talk to."""
        return self._socket is not None

    def send(self, message: bytes, fds: Sequence[int] = ()) -> bool:
        """Send one message (and descriptors); True when the datagram went out.

        A message systemd would ignore is refused even outside systemd, so a
        test run in a terminal sees the mistake (in ``last_error``) too.
        """
        if len(message) > _MAX_DATAGRAM or 0 in message:  # inline and memchr: cheap
            try:
                message = protocol.fit(message)
            except protocol.MessageError as exc:
                self.last_error = OSError(exc.code, str(exc))
                return False
        sock = self._socket
        if sock is None:
            return False
        try:
            if fds:
                rights = array.array("i", fds).tobytes()
                sock.sendmsg([message], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, rights)])
            else:
                sock.send(message)
        except OSError as exc:  # BlockingIOError when the manager's queue is full
            self.last_error = exc
            return False
        return True

    def close(self) -> None:
        if self._socket is not None:
            self._socket.close()
            self._socket = None


class _Default:
    """Holder of the process-wide notifier (created on first use)."""

    notifier: Notifier | None = None


def default_notifier() -> Notifier:
    """The process-wide notifier, connected on first use."""
    if _Default.notifier is None:
        _Default.notifier = Notifier()
    return _Default.notifier


def reset_default_notifier() -> None:
    """Forget the process-wide notifier, so the next send reads NOTIFY_SOCKET again."""
    if _Default.notifier is not None:
        _Default.notifier.close()
    _Default.notifier = None
