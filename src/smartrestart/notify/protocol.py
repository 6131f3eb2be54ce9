"""The sd_notify(3) messages, as bytes: pure functions, nothing sent.

Each message is newline-separated ``KEY=VALUE`` assignments in one datagram.
systemd ignores a whole datagram it does not like, and the sender never
learns of it: READY=1 lost that way ends in a start timeout. So every message
built here is one systemd accepts:

* at most :data:`MAX_DATAGRAM` bytes. The only free text, ``STATUS=``, is
  shortened to fit (cut on a UTF-8 character boundary and marked with
  :data:`ELLIPSIS`), so the state fields beside it always go out;
* no NUL byte, and no newline inside a value (it would start a new
  assignment): text is flattened, each line break or NUL becoming a space;
* numbers within the ranges systemd parses (exit status 0-255, errno
  0-4095, time spans capped at :data:`USEC_MAX`); builders raise ValueError
  for arguments out of range, which is a bug in the caller.

:func:`fit` applies the same rules to a raw message; what it cannot repair
raises :class:`MessageError`.
"""

from __future__ import annotations

import errno as errnos
import math
import time

MAX_DATAGRAM = 4096
"""The largest notify datagram systemd acts on, in bytes.

systemd reads notifications into a buffer of NOTIFY_BUFFER_MAX (4096) bytes.
Measured in the test beds on systemd 252 and 257
(tests/integration/test_notify_services.py): a datagram of exactly 4096 bytes
is accepted, one of 4097 bytes is ignored whole (252 logs "Received notify
message exceeded maximum size. Ignoring.", 257 "Got message with truncated
payload data, ignoring."), and so is one with an embedded NUL byte ("Received
notify message with embedded NUL bytes. Ignoring.").
"""

ELLIPSIS = "…".encode()  # marks STATUS= text cut to fit (3 bytes)
EXIT_STATUS_MAX = 255  # an exit status is 8 bits; exit(256) is exit 0
ERRNO_MAX = 4095  # ERRNO=4096 is dropped: "Numerical result out of range" (252, 257)
# The largest finite time span. Above 2^64-1 (USEC_INFINITY) systemd logs "Failed to parse
# EXTEND_TIMEOUT_USEC=" and drops the field (measured on 252 and 257).
USEC_MAX = 2**64 - 2

READY = b"READY=1"
STOPPING = b"STOPPING=1"
WATCHDOG = b"WATCHDOG=1"
WATCHDOG_TRIGGER = b"WATCHDOG=trigger"  # systemd >= 243: act as if the watchdog expired
FDSTORE = b"FDSTORE=1"
STATUS_KEY = b"STATUS="


class MessageError(ValueError):
    """A message systemd would ignore, and that cannot be repaired; ``code`` is an errno."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code = code


# --- free text -------------------------------------------------------------------------


def flatten(text: str) -> bytes:
    """``text`` as one line of UTF-8: line breaks and NUL become spaces."""
    return " ".join(text.replace("\0", " ").splitlines()).encode("utf-8", "replace")


def shorten(value: bytes, budget: int) -> bytes:
    """``value`` cut to at most ``budget`` bytes, the cut marked, never inside a UTF-8 character."""
    if len(value) <= budget:
        return value
    if budget < len(ELLIPSIS):
        return b""
    cut = budget - len(ELLIPSIS)
    for _ in range(3):  # a UTF-8 character has at most 3 continuation bytes
        if cut == 0 or (value[cut] & 0xC0) != 0x80:
            break
        cut -= 1  # value[cut] continues a character: cut before its lead byte
    return value[:cut] + ELLIPSIS


def compose(*fields: bytes, status: str | None = None) -> bytes:
    """State ``fields`` (kept whole) and a ``STATUS=`` text shortened to fit one datagram."""
    head = b"\n".join(fields)
    if status is None:
        return head
    if head:
        head += b"\n"
    head += STATUS_KEY
    return head + shorten(flatten(status), MAX_DATAGRAM - len(head))


# --- raw messages ----------------------------------------------------------------------


def fit(message: bytes) -> bytes:
    """``message`` as systemd will accept it, its ``STATUS=`` value shortened if need be.

    Raises :class:`MessageError` for a NUL byte, and for a message still over
    :data:`MAX_DATAGRAM` once its status text is gone.
    """
    if len(message) <= MAX_DATAGRAM and 0 not in message:  # an int: memchr, 10x faster
        return message
    nul = message.find(0)
    if nul >= 0:
        raise MessageError(
            errnos.EINVAL,
            f"notify message has a NUL byte at offset {nul}; systemd ignores such a message",
        )
    lines = message.split(b"\n")
    # systemd reads the first STATUS= assignment: that is the one to shorten.
    where = next((i for i, line in enumerate(lines) if line.startswith(STATUS_KEY)), None)
    if where is not None:
        others = len(message) - len(lines[where])
        budget = MAX_DATAGRAM - others - len(STATUS_KEY)
        if budget >= len(ELLIPSIS):
            lines[where] = STATUS_KEY + shorten(lines[where][len(STATUS_KEY) :], budget)
            return b"\n".join(lines)
    raise MessageError(
        errnos.EMSGSIZE,
        f"notify message of {len(message)} bytes exceeds systemd's limit of {MAX_DATAGRAM} "
        "bytes and has no STATUS= text to shorten; systemd ignores such a message",
    )


# --- the messages ----------------------------------------------------------------------


def ready(status: str | None = None) -> bytes:
    return compose(READY, status=status)


def status(text: str) -> bytes:
    return compose(status=text)


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
    """Extend the running start/stop/runtime timeout to ``seconds`` from now (systemd >= 236).

    Spans beyond what systemd can represent are capped at :data:`USEC_MAX`:
    a larger number would be dropped, not taken as "a long time".
    """
    if not seconds > 0:  # also NaN
        raise ValueError(f"extend_timeout needs a positive number of seconds, not {seconds!r}")
    usec = USEC_MAX if math.isinf(seconds) else min(round(seconds * 1_000_000), USEC_MAX)
    return b"EXTEND_TIMEOUT_USEC=" + str(usec).encode()


def errno(number: int) -> bytes:
    if not 0 <= number <= ERRNO_MAX:
        raise ValueError(f"ERRNO= must be 0-{ERRNO_MAX}, not {number!r}")
    return b"ERRNO=" + str(int(number)).encode()


def exit_status(code: int) -> bytes:
    if not 0 <= code <= EXIT_STATUS_MAX:
        raise ValueError(f"EXIT_STATUS= must be 0-{EXIT_STATUS_MAX}, not {code!r}")
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
