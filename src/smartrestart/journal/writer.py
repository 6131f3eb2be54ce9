"""Writing journal entries: one per event, with its MESSAGE_ID and SMARTRESTART_* fields.

Entries go through ``pystemd.journal.sendv`` (libsystemd's
``sd_journal_sendv``), imported on first use only.
"""

from __future__ import annotations

from collections.abc import Mapping

from smartrestart.journal.events import EVENTS, SYSLOG_IDENTIFIER


def log_event(kind: str, message: str, fields: Mapping[str, object]) -> None:
    """Send one entry of ``kind``; silently nothing where there is no journal."""
    event = EVENTS[kind]
    try:
        from smartrestart.systemd.pystemdlib import sendv
    except ImportError:  # pragma: no cover - pystemd is a dependency
        return
    entries = [
        f"MESSAGE_ID={event.message_id}",
        f"PRIORITY={event.priority}",
        f"SYSLOG_IDENTIFIER={SYSLOG_IDENTIFIER}",
        f"MESSAGE={message}",
    ]
    entries.extend(f"{key}={value}" for key, value in fields.items() if value is not None)
    sendv(*entries)
