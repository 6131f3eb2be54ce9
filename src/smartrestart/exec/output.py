"""What ``exec`` says: lines on stderr (the unit's journal) and its two journal events.

Under systemd, stderr is a journal stream; a ``<N>`` prefix there sets the
line's priority (``SyslogLevelPrefix=``, on by default), so a failed probe is
a warning in ``journalctl -p warning`` and not lost among the program's lines.
The events with their own MESSAGE_ID are sent only when something went wrong,
so their module (and pystemd) is imported only then.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Sequence

from smartrestart.journal.events import PRIORITY_ERR, PRIORITY_INFO, PRIORITY_WARNING

PREFIX = "smartrestart exec: "
__all__ = ["PRIORITY_ERR", "PRIORITY_INFO", "PRIORITY_WARNING", "program_name", "say"]


def _stderr_is_journal() -> bool:
    """Whether stderr is the journal stream systemd gave us (``JOURNAL_STREAM=dev:ino``)."""
    stream = os.environ.get("JOURNAL_STREAM", "")
    try:
        stat = os.fstat(2)
    except OSError:
        return False
    return stream == f"{stat.st_dev}:{stat.st_ino}"


_JOURNAL = _stderr_is_journal()


def say(priority: int, text: str) -> None:
    """One line of ours on stderr, with its priority where the journal reads it."""
    line = (f"<{priority}>" if _JOURNAL else "") + PREFIX + text + "\n"
    with contextlib.suppress(OSError, ValueError):
        sys.stderr.write(line)
        sys.stderr.flush()


def program_name(argv: Sequence[str]) -> str:
    return os.path.basename(argv[0]) if argv else "?"  # noqa: PTH119


def log_not_ready(argv: Sequence[str], probe: str, reason: str) -> None:
    """The start failed: a line, and the ``exec-not-ready`` event."""
    say(PRIORITY_ERR, f"{program_name(argv)} not ready: {reason}")
    _event(
        "exec-not-ready",
        f"{program_name(argv)} not ready: {reason}",
        {
            "SMARTRESTART_PROGRAM": " ".join(argv),
            "SMARTRESTART_PROBE": probe,
            "SMARTRESTART_REASON": reason,
        },
    )


def log_unhealthy(argv: Sequence[str], probe: str, failures: int, reason: str, action: str) -> None:
    """The health probe failed ``failures`` times in a row: a line, and ``exec-unhealthy``."""
    text = f"{program_name(argv)} unhealthy: {probe} failed {failures} times in a row ({reason}); "
    say(PRIORITY_WARNING, text + action)
    _event(
        "exec-unhealthy",
        text + action,
        {
            "SMARTRESTART_PROGRAM": " ".join(argv),
            "SMARTRESTART_PROBE": probe,
            "SMARTRESTART_FAILURES": failures,
            "SMARTRESTART_REASON": reason,
        },
    )


def _event(kind: str, message: str, fields: dict[str, object]) -> None:
    try:
        from smartrestart.journal.writer import log_event

        log_event(kind, message, fields)
    except Exception as exc:  # the line on stderr already said it; never die of logging
        say(PRIORITY_WARNING, f"could not write the journal entry: {exc}")
