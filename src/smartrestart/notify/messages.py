"""One function per sd_notify message, sent on the process-wide notifier.

Each returns whether the message was sent: False outside systemd (no
``NOTIFY_SOCKET``) and when a send failed (see ``default_notifier().last_error``).
``STATUS=`` text is flattened to one line and shortened (marked with "…") to
fit systemd's datagram limit, so the state field sent with it always arrives.
"""

from __future__ import annotations

from smartrestart.notify import protocol
from smartrestart.notify.sender import default_notifier


def notify(message: bytes | str, fds: tuple[int, ...] = ()) -> bool:
    """Send raw ``KEY=VALUE`` lines (and descriptors), as systemd would accept them.

    A ``STATUS=`` value too long for one datagram is shortened; a message with
    a NUL byte, or too long without a status to shorten, is not sent: False,
    with the reason in ``default_notifier().last_error``.
    """
    if isinstance(message, str):
        message = message.encode("utf-8", "replace")
    return default_notifier().send(message, fds)


def ready(status: str | None = None) -> bool:
    """``READY=1``: start-up finished; ``systemctl start`` of a Type=notify unit returns."""
    return default_notifier().send(protocol.ready(status))


def status(text: str) -> bool:
    """``STATUS=``: free text shown by ``systemctl status`` (property StatusText)."""
    return default_notifier().send(protocol.status(text))


def stopping() -> bool:
    """``STOPPING=1``: shutdown has begun."""
    return default_notifier().send(protocol.STOPPING)


def reloading() -> bool:
    """``RELOADING=1`` with ``MONOTONIC_USEC``; send ``ready()`` when the reload is done."""
    return default_notifier().send(protocol.reloading())


def extend_timeout(seconds: float) -> bool:
    """``EXTEND_TIMEOUT_USEC``: the running start/stop timeout ends ``seconds`` from now."""
    return default_notifier().send(protocol.extend_timeout(seconds))


def errno(number: int) -> bool:
    """``ERRNO=``: the error the service failed with (0-4095, else ValueError)."""
    return default_notifier().send(protocol.errno(number))


def exit_status(code: int) -> bool:
    """``EXIT_STATUS=``: the exit status the service is about to exit with (0-255)."""
    return default_notifier().send(protocol.exit_status(code))


def watchdog() -> bool:
    """One ``WATCHDOG=1`` ping; :class:`~smartrestart.notify.Watchdog` sends them on time."""
    return default_notifier().send(protocol.WATCHDOG)


def watchdog_trigger() -> bool:
    """``WATCHDOG=trigger``: ask systemd to act as if the watchdog expired (systemd >= 243)."""
    return default_notifier().send(protocol.WATCHDOG_TRIGGER)
