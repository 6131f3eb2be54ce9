"""Reading the journal: ``journalctl -o json`` with field matches, one entry at a time.

Why journalctl rather than python-systemd's ``systemd.journal.Reader``,
measured on systemd 252 (2 cores, 55,000 entries, the matches ``status``
uses): journalctl streams a matching entry in about 27 µs (its JSON parsed
in Python included) after a 7 ms start; the Reader takes about 35 µs per
entry after a 16 ms import. So the Reader is no faster, it is a Debian
package (python3-systemd) that the Debian 13 bed and many hosts lack, and
journalctl is wherever systemd is. One finding shapes every query here:
matching 200 ``UNIT=`` values in journalctl made each entry 6x slower
(185 µs), so callers match a few fields (``_PID=1``, ``MESSAGE_ID=``,
``SYSLOG_IDENTIFIER=``) and pick their units in Python.

Entries written by anyone could carry our field names (any process may send
``SYSLOG_IDENTIFIER=smartrestart``); callers match the trusted fields the
journal sets itself (``_PID``, ``_UID``), which no sender can forge.
"""

from __future__ import annotations

import contextlib
import fcntl
import grp
import json
import os
import subprocess
from collections.abc import Callable, Generator, Iterator, Mapping, Sequence
from typing import Any, NamedTuple, Protocol

from smartrestart.errors import SystemdUnavailable

JOURNALCTL = "journalctl"
F_SETPIPE_SZ = 1031  # fcntl.F_SETPIPE_SZ, which Python has only since 3.10 on some builds
PIPE_SIZE = 1 << 20  # the default /proc/sys/fs/pipe-max-size
# Groups whose members read the whole system journal (journald's file ACLs).
READER_GROUPS = ("systemd-journal", "adm", "wheel")
Entry = Mapping[str, str]
# One conjunction of FIELD=value terms; a query ORs several (journalctl's "+").
Matches = Sequence[tuple[str, str]]


class Query(NamedTuple):
    """What to read: the entries matching any of ``matches``, newest first when ``reverse``."""

    matches: Sequence[Matches]
    fields: Sequence[str] = ()  # --output-fields (cursor and timestamps always come)
    since_usec: int | None = None  # realtime, microseconds
    until_usec: int | None = None
    this_boot: bool = False
    reverse: bool = False
    follow: bool = False
    lines: int | None = None  # the last N entries (with follow: before following)


class EntryStream(Protocol):
    """The entries of one query, as they are taken; ``close()`` stops journalctl."""

    def __iter__(self) -> Iterator[dict[str, str]]: ...

    def __next__(self) -> dict[str, str]: ...

    def close(self) -> None: ...


# What reads a query: :func:`read`, or a test's stand-in.
Reader = Callable[[Query], EntryStream]


def check_readable() -> None:
    """Refuse to read an incomplete journal: without root or a reader group, the
    system's entries are silently missing, and every count would be 0."""
    if os.geteuid() == 0:
        return
    names: set[str] = set()
    for gid in {os.getegid(), *os.getgroups()}:
        with contextlib.suppress(KeyError):
            names.add(grp.getgrgid(gid).gr_name)
    if not names.intersection(READER_GROUPS):
        raise SystemdUnavailable(
            "cannot read the system journal as this user: its entries would be missing",
            hint=f"run as root, or as a member of one of the groups {', '.join(READER_GROUPS)}",
        )


def sync() -> None:
    """Have journald write out what it has queued (``journalctl --sync``), as root.

    What a service printed just before it died may still sit in journald's
    stream buffers when the caller reads; without root, or where it fails,
    the read goes on with what is there.
    """
    if os.geteuid() != 0:
        return
    from smartrestart.decide.changes import SYSTEM_PATH

    with contextlib.suppress(OSError, subprocess.SubprocessError):
        subprocess.run(
            [JOURNALCTL, "--sync"],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            env={**os.environ, "PATH": SYSTEM_PATH},
            timeout=10,
            check=False,
        )


def journalctl_argv(query: Query) -> list[str]:
    argv = [JOURNALCTL, "--no-pager", "--quiet", "-o", "json"]
    if query.fields:
        argv.append(f"--output-fields={','.join(query.fields)}")
    # Whole seconds (floor, ceiling): callers that need microseconds filter the entries.
    if query.since_usec is not None:
        argv.append(f"--since=@{max(0, query.since_usec) // 1_000_000}")
    if query.until_usec is not None:
        argv.append(f"--until=@{-(-max(0, query.until_usec) // 1_000_000)}")
    if query.this_boot:
        argv.append("--boot")
    if query.reverse:
        argv.append("--reverse")
    if query.follow:
        argv.append("--follow")
    if query.lines is not None:
        argv.append(f"--lines={query.lines}")
    for index, conjunction in enumerate(query.matches):
        if index:
            argv.append("+")
        argv.extend(f"{field}={value}" for field, value in conjunction)
    return argv


def text_of(value: Any) -> str | None:
    """A field's value as text: journalctl writes binary values as byte lists, a
    field that occurs twice as a list of values (the last one counts), and one
    over its size threshold as null."""
    if isinstance(value, str):
        return value
    if isinstance(value, list) and value and all(isinstance(b, int) for b in value):
        return bytes(b & 0xFF for b in value).decode("utf-8", "replace")
    if isinstance(value, list) and value:
        return text_of(value[-1])
    return None


def parse_line(line: bytes) -> dict[str, str] | None:
    """One entry of ``journalctl -o json``; None for a line that is not one."""
    try:
        raw = json.loads(line)
    except ValueError:
        return None
    if not isinstance(raw, dict):
        return None
    entry: dict[str, str] = {}
    for key, value in raw.items():
        text = text_of(value)
        if text is not None:
            entry[key] = text
    return entry


def read(query: Query) -> EntryStream:
    """Start journalctl for ``query`` now; the entries as they are taken.

    journalctl starts at once, so that it seeks and formats while the caller
    does other work (``status`` reads the manager meanwhile), writing ahead
    into a pipe of up to :data:`PIPE_SIZE`. It is stopped when the caller
    stops early. An error of journalctl (its first line) raises
    :class:`SystemdUnavailable` once the stream ends, so a partial read is
    never taken for the whole.
    """
    check_readable()
    env = None
    if os.geteuid() == 0:  # root runs the system's journalctl, not one found on its PATH
        from smartrestart.decide.changes import SYSTEM_PATH

        env = {**os.environ, "PATH": SYSTEM_PATH}
    try:
        process = subprocess.Popen(
            journalctl_argv(query),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
        )
    except FileNotFoundError:
        raise SystemdUnavailable(
            "cannot read the journal: journalctl is not installed",
            hint="smartrestart reads the journal with systemd's journalctl",
        ) from None
    assert process.stdout is not None
    with contextlib.suppress(OSError):  # a larger pipe lets journalctl write further ahead
        fcntl.fcntl(process.stdout.fileno(), F_SETPIPE_SZ, PIPE_SIZE)
    return _Stream(process)


class _Stream:
    """journalctl's entries; closing stops it, also before the first entry was taken."""

    def __init__(self, process: subprocess.Popen[bytes]) -> None:
        self._process = process
        self._entries = _entries(process)

    def __iter__(self) -> Iterator[dict[str, str]]:
        return self

    def __next__(self) -> dict[str, str]:
        return next(self._entries)

    def close(self) -> None:
        self._entries.close()  # a started stream cleans up in _entries itself
        if self._process.poll() is None:
            self._process.kill()
            self._process.wait()
        for pipe in (self._process.stdout, self._process.stderr):
            if pipe is not None:
                pipe.close()


def _entries(process: subprocess.Popen[bytes]) -> Generator[dict[str, str], None, None]:
    assert process.stdout is not None and process.stderr is not None
    finished = False
    try:
        for line in process.stdout:
            entry = parse_line(line)
            if entry is not None:
                yield entry
        finished = True
    finally:
        if not finished:  # the caller stopped early (or was interrupted): not an error
            process.kill()
        process.stdout.close()
        error = process.stderr.read().decode("utf-8", "replace").strip()
        process.stderr.close()
        status = process.wait()
    if finished and status != 0:
        first = error.splitlines()[0] if error else f"exit status {status}"
        raise SystemdUnavailable(f"cannot read the journal: {first}")


def _number(text: str) -> int:
    return int(text) if text.isascii() and text.isdigit() else 0


def realtime_usec(entry: Entry) -> int:
    return _number(entry.get("__REALTIME_TIMESTAMP", ""))


def monotonic_usec(entry: Entry) -> int:
    return _number(entry.get("__MONOTONIC_TIMESTAMP", ""))
