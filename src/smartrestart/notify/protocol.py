"""The sd_notify(3) messages, as bytes: pure functions, nothing sent.

Each message is newline-separated ``KEY=VALUE`` assignments. Values must not
contain a newline (it would start a new assignment), so text is flattened.
"""

from __future__ import annotations

import time

READY = b"READY=1"
STOPPING = b"STOPPING=1"
WATCHDOG = b"WATCHDOG=1"
WATCHDOG_TRIGGER = b"WATCHDOG=trigger"  # systemd >= 243: act as if the watchdog expired
FDSTORE = b"FDSTORE=1"


def _flat(text: str) -> bytes:
    return " ".join(text.splitlines()).encode("utf-8", "replace")


def ready(status: str | None = None) -> bytes:
    return READY if status is None else READY + b"\nSTATUS=" + _flat(status)


def status(text: str) -> bytes:
    return b"STATUS=" + _flat(text)


def reloading(monotonic_usec: int | None = None) -> bytes:
    """``RELOADING=1`` with ``MONOTONIC_USEC=`` in the same datagram.

    ``Type=notify-reload`` (systemd 253) matches the reload by this timestamp;
    sent in a separate message, ``systemctl reload`` waits forever.
    """
    usec = (
        monotonic_usec
        if monotonic_usec is not None
        else time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
    )
    return b"RELOADING=1\nMONOTONIC_USEC=" + str(usec).encode()


def extend_timeout(seconds: float) -> bytes:
    """Extend the running start/stop/runtime timeout to ``seconds`` from now (systemd >= 236)."""
    if seconds <= 0:
        raise ValueError("extend_timeout needs a positive number of seconds")
    return b"EXTEND_TIMEOUT_USEC=" + str(round(seconds * 1_000_000)).encode()


def errno(number: int) -> bytes:
    return b"ERRNO=" + str(int(number)).encode()


def exit_status(code: int) -> bytes:
    return b"EXIT_STATUS=" + str(int(code)).encode()


def fdstore(name: str | None = None) -> bytes:
    """Store the descriptors sent along (``FileDescriptorStoreMax=`` must be > 0)."""
    if name is None:
        return FDSTORE
    check_fd_name(name)
    return FDSTORE + b"\nFDNAME=" + name.encode()


def fdstore_remove(name: str) -> bytes:
    check_fd_name(name)
    return b"FDSTOREREMOVE=1\nFDNAME=" + name.encode()


def check_fd_name(name: str) -> None:
    """systemd's ``fdname_is_valid()``: printable ASCII, no ``:``, at most 255 characters."""
    if not 0 < len(name) <= 255 or any(not 32 <= ord(c) < 127 or c == ":" for c in name):
        raise ValueError(f"invalid file descriptor name {name!r}")


def join(*messages: bytes) -> bytes:
    return b"\n".join(messages)
