"""The sd_notify messages stay within what systemd accepts: size, NUL, state fields kept."""

from __future__ import annotations

import errno
from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smartrestart.notify import protocol
from smartrestart.notify.protocol import ELLIPSIS, MAX_DATAGRAM, MessageError

# Every state field the library sends, each at its longest where that varies.
STATE_FIELDS = [
    protocol.READY,
    protocol.STOPPING,
    protocol.reloading(2**63),
    protocol.exit_status(255),
    protocol.errno(4095),
    protocol.fdstore("n" * 255),
    protocol.fdstore_remove("n" * 255),
    protocol.extend_timeout(float("inf")),
    protocol.WATCHDOG,
    protocol.WATCHDOG_TRIGGER,
]

# Any text, long ones included: hypothesis draws short strings, repetition makes them long.
texts = st.builds(
    lambda text, times: text * times,
    st.text(st.characters(codec=None)),  # any code point, lone surrogates included
    st.integers(min_value=1, max_value=3000),
)


def assignments(message: bytes) -> list[bytes]:
    return message.split(b"\n")


def check_status(value: bytes, text: str) -> None:
    """``value`` is ``text`` flattened, or a prefix of it cut on a character and marked."""
    full = protocol.flatten(text)
    decoded = value.decode("utf-8")  # never cut inside a character
    if value != full:
        assert decoded.endswith("…")
        assert full.startswith(value[: -len(ELLIPSIS)])


@given(text=texts, fields=st.lists(st.sampled_from(STATE_FIELDS), max_size=4, unique=True))
def test_any_text_with_any_state_fields_fits_and_keeps_every_field(
    text: str, fields: list[bytes]
) -> None:
    message = protocol.compose(*fields, status=text)
    assert len(message) <= MAX_DATAGRAM
    assert b"\0" not in message
    *state, status = assignments(message)
    assert state == (b"\n".join(fields).split(b"\n") if fields else [])
    assert status.startswith(protocol.STATUS_KEY)
    check_status(status.removeprefix(protocol.STATUS_KEY), text)


BUILDERS: list[tuple[str, Callable[[str], bytes], list[bytes]]] = [
    ("ready", protocol.ready, [protocol.READY]),
    ("status", protocol.status, []),
]


@pytest.mark.parametrize(("name", "build", "fields"), BUILDERS, ids=[b[0] for b in BUILDERS])
@given(text=texts)
def test_each_message_with_text_fits_and_keeps_its_state_field(
    name: str, build: Callable[[str], bytes], fields: list[bytes], text: str
) -> None:
    message = build(text)
    assert len(message) <= MAX_DATAGRAM
    assert b"\0" not in message
    *state, status = assignments(message)
    assert state == fields
    check_status(status.removeprefix(protocol.STATUS_KEY), text)


def test_a_status_that_fits_exactly_is_sent_whole() -> None:
    room = MAX_DATAGRAM - len(b"READY=1\nSTATUS=")
    assert protocol.ready("x" * room) == b"READY=1\nSTATUS=" + b"x" * room
    shortened = protocol.ready("x" * (room + 1))
    assert len(shortened) == MAX_DATAGRAM
    assert shortened.endswith(b"x" * (room - 3) + ELLIPSIS)


@pytest.mark.parametrize("character", ["é", "✓", "😀"])  # 2, 3 and 4 bytes in UTF-8
@pytest.mark.parametrize("offset", range(4))
def test_the_cut_never_splits_a_character(character: str, offset: int) -> None:
    text = "a" * offset + character * 3000
    status = protocol.status(text).removeprefix(protocol.STATUS_KEY)
    decoded = status.decode("utf-8")
    assert decoded.endswith("…")
    assert text.startswith(decoded[:-1])
    assert len(protocol.STATUS_KEY) + len(status) > MAX_DATAGRAM - 4  # no more cut than needed


def test_text_is_flattened_to_one_line_without_nul() -> None:
    assert protocol.status("a\nb\r\nc\0d\n") == b"STATUS=a b c d"
    assert protocol.status("lone \udc80 surrogate") == b"STATUS=lone ? surrogate"


def test_raw_message_that_fits_is_sent_untouched() -> None:
    message = b"READY=1\nX_CUSTOM=" + b"y" * (MAX_DATAGRAM - 17)
    assert len(message) == MAX_DATAGRAM
    assert protocol.fit(message) is message


def test_raw_message_has_its_first_status_shortened() -> None:
    message = b"READY=1\nSTATUS=" + "é".encode() * 3000 + b"\nSTATUS=second\nERRNO=5"
    fitted = protocol.fit(message)
    assert len(fitted) <= MAX_DATAGRAM
    lines = fitted.split(b"\n")
    assert lines[0] == b"READY=1" and lines[2:] == [b"STATUS=second", b"ERRNO=5"]
    assert lines[1].decode().endswith("é…")


@pytest.mark.parametrize(
    "message", [b"STATUS=a\0b", b"READY=1\0", b"\0", b"STATUS=" + b"x" * 5000 + b"\0"]
)
def test_raw_message_with_a_nul_is_refused(message: bytes) -> None:
    with pytest.raises(MessageError, match="NUL byte at offset") as caught:
        protocol.fit(message)
    assert caught.value.code == errno.EINVAL


@pytest.mark.parametrize(
    "message",
    [
        b"X_CUSTOM=" + b"y" * MAX_DATAGRAM,  # no status to shorten
        b"STATUS=short\nX_CUSTOM=" + b"y" * MAX_DATAGRAM,  # shortening it is not enough
    ],
)
def test_raw_message_too_long_to_repair_is_refused(message: bytes) -> None:
    with pytest.raises(MessageError, match="exceeds systemd's limit of 4096 bytes") as caught:
        protocol.fit(message)
    assert caught.value.code == errno.EMSGSIZE


@given(
    lines=st.lists(
        st.one_of(
            st.binary(max_size=300),
            st.builds(lambda b, n: protocol.STATUS_KEY + b * n, st.binary(), st.integers(0, 3000)),
        ),
        max_size=20,
    )
)
def test_fit_sends_only_what_systemd_accepts(lines: list[bytes]) -> None:
    message = b"\n".join(lines)
    before = message.split(b"\n")
    try:
        fitted = protocol.fit(message)
    except MessageError as exc:
        if b"\0" in message:
            assert exc.code == errno.EINVAL
        else:  # too long, and even an empty status would not make it fit
            assert exc.code == errno.EMSGSIZE
            first = next((x for x in before if x.startswith(protocol.STATUS_KEY)), b"")
            assert len(message) - len(first) + len(protocol.STATUS_KEY + ELLIPSIS) > MAX_DATAGRAM
        return
    assert len(fitted) <= MAX_DATAGRAM
    assert b"\0" not in fitted
    # Only the first STATUS= value may change, and only by being cut.
    after = fitted.split(b"\n")
    changed = [i for i, (old, new) in enumerate(zip(before, after, strict=True)) if old != new]
    assert len(changed) <= 1
    for i in changed:
        assert i == next(j for j, x in enumerate(before) if x.startswith(protocol.STATUS_KEY))
        assert after[i].endswith(ELLIPSIS)
        assert before[i].startswith(after[i][: -len(ELLIPSIS)])


@pytest.mark.parametrize(
    ("seconds", "expected"),
    [
        (2.5, b"EXTEND_TIMEOUT_USEC=2500000"),
        (float("inf"), b"EXTEND_TIMEOUT_USEC=18446744073709551614"),  # USEC_INFINITY - 1
        (1e300, b"EXTEND_TIMEOUT_USEC=18446744073709551614"),
    ],
)
def test_extend_timeout_stays_below_usec_infinity(seconds: float, expected: bytes) -> None:
    assert protocol.extend_timeout(seconds) == expected


@pytest.mark.parametrize("seconds", [0, -1, float("nan"), float("-inf")])
def test_extend_timeout_needs_a_positive_span(seconds: float) -> None:
    with pytest.raises(ValueError, match="positive number of seconds"):
        protocol.extend_timeout(seconds)


@pytest.mark.parametrize(
    ("build", "bad"),
    [(protocol.exit_status, 256), (protocol.exit_status, -1), (protocol.errno, 4096)],
)
def test_numbers_systemd_would_not_parse_are_refused(
    build: Callable[[int], bytes], bad: int
) -> None:
    with pytest.raises(ValueError, match="must be 0-"):
        build(bad)
