"""Output forms of ``logs``: a table row per entry for people, one JSON object per line.

Rows are printed as they come (``-f`` follows), so the table's columns have
fixed widths instead of widths measured over all rows.
"""

from __future__ import annotations

import datetime
import json

from smartrestart.logs.model import Row
from smartrestart.status.output import iso

# Entries of one step of an apply: their action is the step's; other entries show their kind.
STEP_KINDS = frozenset({"unit-job-done", "unit-job-failed", "run-done", "run-failed"})
HEADER = f"{'TIME':<19}  {'DEPLOY':<16}  {'ACTION':<18}  {'UNIT':<28}  {'RESULT':<14}  DURATION"


def table_line(row: Row) -> str:
    moment = datetime.datetime.fromtimestamp(row.realtime_usec / 1e6, tz=datetime.UTC)
    time = moment.astimezone().strftime("%Y-%m-%d %H:%M:%S")
    if row.kind == "unit-line":
        return f"{time}  {'':<16}  | {row.unit or '-'}: {row.message}"
    action = (row.action or "-") if row.kind in STEP_KINDS else row.kind
    duration = f"{row.duration_usec / 1e6:.2f}s" if row.duration_usec is not None else "-"
    return (
        f"{time}  {row.deploy_id or '-':<16}  {action:<18}  {row.unit or '-':<28}  "
        f"{row.result or '-':<14}  {duration}"
    ).rstrip()


def json_line(row: Row) -> str:
    return json.dumps(
        {
            "time": iso(row.realtime_usec),
            "kind": row.kind,
            "deploy_id": row.deploy_id,
            "action": row.action,
            "unit": row.unit,
            "result": row.result,
            "duration_sec": round(row.duration_usec / 1e6, 6)
            if row.duration_usec is not None
            else None,
            "message": row.message,
        }
    )
