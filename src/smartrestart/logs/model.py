"""What ``logs`` shows, as data: our journal entries as rows, the time they ask for.

Pure: a journal entry (a mapping of fields) in, a :class:`Row` out; a
``--since`` text in, microseconds out; our events' times in, the spans of a
unit's own lines to show around them out.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Iterable, Mapping
from typing import NamedTuple

from smartrestart.errors import UsageError
from smartrestart.journal.events import EVENTS, SYSLOG_IDENTIFIER
from smartrestart.timespan import TimespanError, parse_timespan

KIND_OF_MESSAGE_ID = {event.message_id: kind for kind, event in EVENTS.items()}
DEPLOY_ID = re.compile(r"[0-9a-f]{16}")
# A unit's own lines shown around one of our events: from this long before the
# job began to this long after it ended (a service logs its start-up trouble
# within seconds of its restart).
BEFORE_USEC = 2_000_000
AFTER_USEC = 5_000_000


class Row(NamedTuple):
    """One line of ``logs``: one of our entries, or (with ``--unit``) one of the unit's own."""

    realtime_usec: int
    kind: str  # our event kind (apply-started, unit-job-done, ...), or "unit-line"
    deploy_id: str | None
    action: str | None
    unit: str | None
    result: str | None
    duration_usec: int | None
    message: str
    cursor: str = ""  # the journal's, to tell an entry shown twice


def row_of(entry: Mapping[str, str]) -> Row:
    """One journal entry as a row: ours by its MESSAGE_ID, anything else as a unit's line."""
    ours = entry.get("SYSLOG_IDENTIFIER") == SYSLOG_IDENTIFIER and entry.get("_UID") == "0"
    kind = KIND_OF_MESSAGE_ID.get(entry.get("MESSAGE_ID", ""), "unit-line") if ours else "unit-line"
    duration = entry.get("SMARTRESTART_DURATION_USEC", "")
    unit = entry.get("SMARTRESTART_UNIT") or entry.get("SMARTRESTART_UNITS")
    if kind == "unit-line":
        unit = entry.get("UNIT") or entry.get("_SYSTEMD_UNIT")
    return Row(
        realtime_usec=_number(entry.get("__REALTIME_TIMESTAMP", "")) or 0,
        kind=kind,
        deploy_id=entry.get("SMARTRESTART_DEPLOY") or None,
        action=entry.get("SMARTRESTART_ACTION") or entry.get("SMARTRESTART_ACTIONS") or None,
        unit=unit or None,
        result=entry.get("SMARTRESTART_RESULT") or entry.get("SMARTRESTART_REASON") or None,
        duration_usec=_number(duration),
        message=entry.get("MESSAGE", ""),
        cursor=entry.get("__CURSOR", ""),
    )


def line_of(entry: Mapping[str, str]) -> str:
    """An entry as ``journalctl -o short`` shows it, less the host: time, sender, message."""
    moment = datetime.datetime.fromtimestamp(
        (_number(entry.get("__REALTIME_TIMESTAMP", "")) or 0) / 1e6, tz=datetime.UTC
    ).astimezone()
    sender = entry.get("SYSLOG_IDENTIFIER") or entry.get("_COMM") or "?"
    pid = entry.get("SYSLOG_PID") or entry.get("_PID")
    return f"{moment:%H:%M:%S} {sender}{f'[{pid}]' if pid else ''}: {entry.get('MESSAGE', '')}"


def _number(text: str) -> int | None:
    return int(text) if text.isascii() and text.isdigit() else None


def around(rows: Iterable[Row]) -> list[tuple[int, int]]:
    """The spans (realtime µs) of a unit's lines to show around our events, merged."""
    spans = sorted(
        (row.realtime_usec - (row.duration_usec or 0) - BEFORE_USEC, row.realtime_usec + AFTER_USEC)
        for row in rows
        if row.kind != "unit-line"
    )
    merged: list[tuple[int, int]] = []
    for start, end in spans:
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def check_deploy_id(text: str) -> str:
    if not DEPLOY_ID.fullmatch(text):
        raise UsageError(
            f"--deploy: {text!r} is not a deploy id (16 hex digits, as `apply --json` "
            "reports in deploy_id and the journal in SMARTRESTART_DEPLOY=)"
        )
    return text


def parse_since(text: str, now: datetime.datetime) -> int:
    """``--since``: a time as journalctl takes it, as realtime µs.

    ``2025-11-22``, ``2025-11-22 10:30[:15]`` (local time) or ISO 8601 with an
    offset; ``@EPOCH``; ``today``, ``yesterday``, ``now``; ``-1h`` or
    ``90min ago`` (a systemd time span back from now).
    """
    words = text.strip()
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    named = {"now": now, "today": midnight, "yesterday": midnight - datetime.timedelta(days=1)}
    if words in named:
        return _usec(named[words])
    if words.startswith("@") and re.fullmatch(r"@\d{1,12}(\.\d{1,6})?", words):
        return round(float(words[1:]) * 1_000_000)
    back = words[1:] if words.startswith("-") else words.removesuffix(" ago")
    if back != words:
        try:
            return _usec(now) - parse_timespan(back.strip())
        except TimespanError as exc:
            raise UsageError(f"--since: {text!r}: {exc}") from None
    try:
        moment = datetime.datetime.fromisoformat(words)
    except ValueError:
        raise UsageError(
            f"--since: {text!r} is not a time: give 2025-11-22, '2025-11-22 10:30', "
            "@EPOCH, today, yesterday, -1h or '90min ago'"
        ) from None
    if moment.tzinfo is None:
        moment = moment.astimezone()  # a time without an offset is local, as journalctl reads it
    return _usec(moment)


def _usec(moment: datetime.datetime) -> int:
    return round(moment.timestamp() * 1_000_000)
