"""sd_notify messages at the edges of what systemd accepts: the largest and smallest numbers and
names, a status cut to nothing but the ellipsis, and the words of a refusal."""

from __future__ import annotations

import errno
import time

import pytest

from smartrestart.notify import protocol
from smartrestart.notify.protocol import ELLIPSIS, MAX_DATAGRAM, MessageError


def test_numbers_at_both_ends_of_their_range_are_sent() -> None:
    assert [protocol.errno(0), protocol.errno(4095)] == [b"ERRNO=0", b"ERRNO=4095"]
    assert [protocol.exit_status(0), protocol.exit_status(255)] == [
        b"EXIT_STATUS=0",
        b"EXIT_STATUS=255",
    ]


@pytest.mark.parametrize("name", ["a b", " ", "~", "n" * 255])
def test_fd_names_systemd_accepts(name: str) -> None:
    assert protocol.fdstore(name) == b"FDSTORE=1\nFDNAME=" + name.encode()


@pytest.mark.parametrize("name", ["", "n" * 256, "a:b", "\x7f", "\x1f", "é"])
def test_fd_names_systemd_refuses(name: str) -> None:
    with pytest.raises(ValueError, match="invalid file descriptor name"):
        protocol.fdstore(name)


def test_reloading_carries_the_given_or_the_current_monotonic_time() -> None:
    assert protocol.reloading(5) == b"RELOADING=1\nMONOTONIC_USEC=5"
    before = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
    head, _, usec = protocol.reloading().partition(b"\nMONOTONIC_USEC=")
    assert head == b"RELOADING=1"
    assert before <= int(usec) <= time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000


def test_a_cut_right_after_a_lead_byte_drops_the_whole_character() -> None:
    assert protocol.shorten("é".encode() * 3, 4) == ELLIPSIS


def test_a_budget_of_the_ellipsis_alone_keeps_the_ellipsis() -> None:
    assert protocol.shorten(b"abcdef", 3) == ELLIPSIS
    assert protocol.shorten(b"abcdef", 2) == b""


def test_a_raw_status_with_room_for_the_ellipsis_only_is_cut_to_it() -> None:
    head = b"X=" + b"a" * (MAX_DATAGRAM - len(b"X=\nSTATUS=") - len(ELLIPSIS))
    fitted = protocol.fit(head + b"\nSTATUS=" + b"b" * 100)
    assert fitted == head + b"\nSTATUS=" + ELLIPSIS
    assert len(fitted) == MAX_DATAGRAM


def test_a_refused_message_says_why() -> None:
    with pytest.raises(MessageError) as nul:
        protocol.fit(b"A\0B\0")
    assert (nul.value.code, str(nul.value)) == (
        errno.EINVAL,
        "notify message has a NUL byte at offset 1; systemd ignores such a message",
    )
    with pytest.raises(MessageError) as long:
        protocol.fit(b"X=" + b"a" * MAX_DATAGRAM)
    assert (long.value.code, str(long.value)) == (
        errno.EMSGSIZE,
        "notify message of 4098 bytes exceeds systemd's limit of 4096 bytes and has no STATUS= "
        "text to shorten; systemd ignores such a message",
    )
