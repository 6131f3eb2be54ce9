"""Everything ``logs`` does: read our journal entries (and a unit's own lines), or follow them.

Only entries written by root (``_UID=0``) count as ours: anyone may send
``SYSLOG_IDENTIFIER=smartrestart``. ``--unit`` also shows the unit's own
lines (its processes' output and what systemd logged about it) around each
of our events; following, they are shown as they come.

Following ends cleanly on Ctrl-C and on SIGTERM (exit 0): it is how one
stops following, not a failure, and the journalctl behind it is stopped.
"""

from __future__ import annotations

import datetime
import signal
from collections.abc import Callable, Iterator, Mapping, Sequence
from types import FrameType
from typing import NamedTuple

from smartrestart.errors import UsageError
from smartrestart.journal.events import SYSLOG_IDENTIFIER
from smartrestart.journal.reader import (
    EntryStream,
    Matches,
    Query,
    Reader,
    read,
    realtime_usec,
    sync,
)
from smartrestart.logs.model import Row, around, check_deploy_id, line_of, parse_since, row_of
from smartrestart.unitname import unit_name_problem

FOLLOW_BACKLOG = 10  # entries shown before following, as journalctl -f does


class LogsRequest(NamedTuple):
    unit: str | None = None
    deploy: str | None = None
    since: str | None = None
    follow: bool = False


class Wanted(NamedTuple):
    """Which followed entries to show: ours (of the unit and deploy), and the unit's own lines."""

    names: Sequence[str]  # the unit's names (as given, its id); empty: every unit
    deploy: str | None
    since: int | None

    def __call__(self, entry: Mapping[str, str]) -> bool:
        if not _after(entry, self.since):
            return False
        if entry.get("SYSLOG_IDENTIFIER") == SYSLOG_IDENTIFIER and entry.get("_UID") == "0":
            unit_ok = not self.names or entry.get("SMARTRESTART_UNIT") in self.names
            return unit_ok and self.deploy in (None, entry.get("SMARTRESTART_DEPLOY"))
        if not self.names:
            return False
        unit = self.names[-1]
        return entry.get("_SYSTEMD_UNIT") == unit or (
            entry.get("_PID") == "1" and entry.get("UNIT") == unit
        )


class StopFollowing(Exception):
    """SIGTERM while following: end as Ctrl-C ends it."""


def our_matches(unit_names: Sequence[str], deploy: str | None) -> list[Matches]:
    """One conjunction per name of the unit (or one for all units)."""
    base = [("SYSLOG_IDENTIFIER", SYSLOG_IDENTIFIER), ("_UID", "0")]
    if deploy is not None:
        base.append(("SMARTRESTART_DEPLOY", deploy))
    if not unit_names:
        return [base]
    return [[*base, ("SMARTRESTART_UNIT", name)] for name in unit_names]


def unit_line_matches(unit_id: str) -> list[Matches]:
    """The unit's own lines: its processes' output, and systemd's entries about it."""
    return [[("_SYSTEMD_UNIT", unit_id)], [("_PID", "1"), ("UNIT", unit_id)]]


def invocation_matches(invocation_id: str) -> list[Matches]:
    """What one run of a unit logged: its processes' output, and systemd's entries about it.

    Both carry the InvocationID: ``_SYSTEMD_INVOCATION_ID`` is set by journald
    itself; ``INVOCATION_ID`` is trusted only in systemd's own (``_PID=1``).
    """
    return [
        [("_SYSTEMD_INVOCATION_ID", invocation_id)],
        [("_PID", "1"), ("INVOCATION_ID", invocation_id)],
    ]


def invocation_lines(
    invocation_id: str,
    unit: str,
    count: int,
    *,
    read_journal: Reader = read,
    flush: Callable[[], None] = sync,
) -> list[str]:
    """The last ``count`` lines one invocation (or else ``unit``) logged, oldest first.

    For a step that failed: what the service said before it died, and
    systemd's word on how it ended. Never raises: a journal that cannot be
    read is one line saying so, as the apply has already acted.
    """
    from smartrestart.errors import SmartRestartError

    if invocation_id:
        matches = invocation_matches(invocation_id)
    elif unit:
        matches = unit_line_matches(unit)
    else:
        return []
    try:
        flush()
        newest = read_journal(Query(matches, reverse=True, lines=count))
        return [line_of(entry) for entry in newest][::-1]
    except SmartRestartError as error:
        return [f"(journal not read: {error.message})"]


def resolve_unit(unit: str) -> tuple[str, ...]:
    """The names our entries may use for ``unit``: as given, and its id behind an alias.

    apply logs units as the rules name them, the failure handler by their
    id. Without a reachable systemd, the name as given is all there is.
    """
    from smartrestart import systemd
    from smartrestart.errors import SmartRestartError

    try:
        with systemd.connect(private=True) as manager:
            unit_id = manager.unit_id(unit)
    except SmartRestartError:
        return (unit,)
    return tuple(dict.fromkeys((unit, unit_id)))


def run_logs(
    request: LogsRequest,
    emit: Callable[[Row], None],
    *,
    read_journal: Reader = read,
    resolve: Callable[[str], tuple[str, ...]] = resolve_unit,
    now: Callable[[], datetime.datetime] = lambda: datetime.datetime.now().astimezone(),
) -> int:
    """Show the entries (``emit`` each row, in time order); the number of rows."""
    if request.unit is not None and (problem := unit_name_problem(request.unit)):
        raise UsageError(f"--unit: {problem}")
    deploy = check_deploy_id(request.deploy) if request.deploy is not None else None
    since = parse_since(request.since, now()) if request.since is not None else None
    names = resolve(request.unit) if request.unit is not None else ()
    ours = our_matches(names, deploy)
    if request.follow:
        # Started first, so that nothing logged during the backlog's read is missed.
        stream = read_journal(Query([], follow=True, lines=0))
        try:
            backlog = _backlog(ours, names, since, read_journal)
        except BaseException:
            stream.close()
            raise
        for row in backlog:
            emit(row)
        wanted = Wanted(names, deploy, since)
        seen = {row.cursor for row in backlog}
        return len(backlog) + _follow(stream, wanted, seen, emit)
    rows = [row_of(e) for e in read_journal(Query(ours, since_usec=since)) if _after(e, since)]
    if names:
        rows.extend(_unit_lines(names[-1], rows, read_journal))
        rows.sort(key=lambda row: row.realtime_usec)
    for row in rows:
        emit(row)
    return len(rows)


def _backlog(
    ours: list[Matches], names: Sequence[str], since: int | None, read_journal: Reader
) -> list[Row]:
    """What ``-f`` shows first: the entries since ``since``, or the last few, oldest first."""
    matches = [*ours, *unit_line_matches(names[-1])] if names else ours
    if since is not None:
        entries = read_journal(Query(matches, since_usec=since))
        return [row_of(e) for e in entries if _after(e, since)]
    newest = read_journal(Query(matches, reverse=True, lines=FOLLOW_BACKLOG))
    return [row_of(e) for e in newest][::-1]


def _after(entry: Mapping[str, str], since: int | None) -> bool:
    return since is None or realtime_usec(entry) >= since


def _unit_lines(unit_id: str, rows: list[Row], read_journal: Reader) -> Iterator[Row]:
    for start, end in around(rows):
        query = Query(unit_line_matches(unit_id), since_usec=start, until_usec=end)
        for entry in read_journal(query):
            if start <= realtime_usec(entry) <= end:
                yield row_of(entry)._replace(kind="unit-line")


def _follow(
    stream: EntryStream,
    wanted: Wanted,
    seen: set[str],
    emit: Callable[[Row], None],
) -> int:
    """Emit wanted entries as they come until Ctrl-C or SIGTERM; journalctl is stopped either way.

    The stream is the whole journal, filtered here: journalctl 252 following
    ``UNIT=`` or ``_SYSTEMD_UNIT=`` matches missed new entries that an apply
    caused (seen in the 252 bed; 257 showed them), while following without
    matches sees them all.
    """

    def stop(signum: int, frame: FrameType | None) -> None:
        raise StopFollowing

    previous = signal.signal(signal.SIGTERM, stop)
    shown = 0
    try:
        for entry in stream:
            if wanted(entry) and entry.get("__CURSOR") not in seen:
                emit(row_of(entry))
                shown += 1
    except (KeyboardInterrupt, StopFollowing):
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
        stream.close()
    return shown
