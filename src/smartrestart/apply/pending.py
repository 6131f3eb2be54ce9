"""Changes Debian upgrades recorded for later, as data: records, and which ones an apply settled.

A package built with ``dh $@ --with smartrestart`` does not restart its units
itself. Its postinst appends what the upgrade changed to the spool
(``/var/lib/smartrestart/pending``, one record per package upgrade, written by
``/usr/lib/smartrestart/dpkg-changes``) and activates smartrestart's dpkg
trigger, which runs ``apply --pending`` once at the end of the dpkg run. A
record looks like this::

    smartrestart-pending 1
    package hello-api
    from 1.0
    to 1.1

    /usr/lib/python3/dist-packages/hello_api/server.py

A record is cleared only once every unit its files led to was handled; a
failed, timed-out, not-run or policy-denied step keeps the files behind it
pending, so ``apply --pending`` (or the next trigger) can act on them later.
Pure: reading and writing the spool is :mod:`smartrestart.apply.spool`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING

from smartrestart.apply.model import OK_OUTCOMES, Group, Outcome, Plan, Report
from smartrestart.errors import ConfigError, Location
from smartrestart.records import NamedTuple
from smartrestart.rules.model import Mode

if TYPE_CHECKING:
    from pathlib import Path

    from smartrestart.systemd.backend import UnitState

PENDING_FORMAT = "smartrestart-pending 1"
HEADER_KEYS = ("package", "from", "to")
RETRY_COMMAND = "smartrestart apply --pending"
# What counts as done: whatever apply counts as no failure, but for a step
# policy-rc.d denied (it did not happen) and a dry run's plan. A unit left
# alone because it was not running is done: it starts with the new files.
HANDLED = OK_OUTCOMES - {Outcome.DENIED, Outcome.PLANNED}


class PendingRecord(NamedTuple):
    """One package upgrade's changed files (absolute), as its postinst recorded them."""

    name: str  # the record's file name in the spool
    package: str
    old_version: str
    new_version: str
    files: tuple[str, ...]

    @property
    def label(self) -> str:
        versions = f"{self.old_version} -> {self.new_version}" if self.old_version else ""
        return f"{self.package} {versions}".strip()


def parse_record(text: str, path: Path) -> PendingRecord:
    """A record from its text; anything else is a ConfigError naming the file and line."""
    file = str(path)
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    if not lines or lines[0] != PENDING_FORMAT:
        expected = f"not a pending record: expected {PENDING_FORMAT!r}"
        raise ConfigError(Location(file, 1), "", expected)
    blank = lines.index("") if "" in lines else len(lines)  # header, blank line, files
    header: dict[str, str] = {}
    for number, line in enumerate(lines[1:blank], start=2):
        key, _, value = line.partition(" ")
        if key not in HEADER_KEYS or key in header or not value:
            raise ConfigError(
                Location(file, number), key, f"expected one of {', '.join(HEADER_KEYS)} and a value"
            )
        header[key] = value
    if "package" not in header:
        raise ConfigError(Location(file, 2), "package", "is required")
    for number, line in enumerate(lines[blank + 1 :], start=blank + 2):
        if not line.startswith("/"):
            raise ConfigError(Location(file, number), "", f"not an absolute path: {line[:80]!r}")
    files = tuple(lines[blank + 1 :])
    return PendingRecord(
        path.name, header["package"], header.get("from", ""), header.get("to", ""), files
    )


def render_record(record: PendingRecord) -> str:
    """The text :func:`parse_record` reads back (what the dpkg helper writes)."""
    header = [f"package {record.package}"]
    header.extend(
        f"{key} {value}"
        for key, value in (("from", record.old_version), ("to", record.new_version))
        if value
    )
    return "\n".join([PENDING_FORMAT, *header, "", *record.files]) + "\n"


class Settlement(NamedTuple):
    """What an apply did to the spool's records."""

    cleared: tuple[PendingRecord, ...]  # every file handled: the record goes
    kept: tuple[PendingRecord, ...]  # only the files still pending, rewritten

    @property
    def kept_files(self) -> int:
        return sum(len(record.files) for record in self.kept)


def all_files(records: Iterable[PendingRecord]) -> list[str]:
    """Every file of the records, once, in order."""
    return list(dict.fromkeys(f for record in records for f in record.files))


def settle(
    records: Sequence[PendingRecord],
    report: Report,
    expanded: Mapping[str, tuple[str, ...]],
    canonical: Callable[[str], str],
) -> Settlement:
    """Which records an apply settled, and what stays pending of the others.

    A step that was not handled keeps the changed files behind it: the files
    that matched its rules, or, for a file import expansion added, the changed
    file its chain starts from (``expanded``: added file -> chain). Files are
    compared in the canonical form the decision used.
    """
    still_pending: set[str] = set()
    for result in report.results:
        if result.outcome in HANDLED:
            continue
        for file in result.step.trigger:
            chain = expanded.get(file, ())
            still_pending.add(chain[0] if chain else file)
    cleared: list[PendingRecord] = []
    kept: list[PendingRecord] = []
    for record in records:
        remaining = tuple(f for f in record.files if canonical(f) in still_pending)
        if remaining:
            kept.append(record._replace(files=remaining))
        else:
            cleared.append(record)
    return Settlement(tuple(cleared), tuple(kept))


def unhandled_units(report: Report) -> list[str]:
    """The units (or commands) whose step was not handled, once each."""
    return list(dict.fromkeys(r.step.label for r in report.results if r.outcome not in HANDLED))


def restart_failed(plan: Plan, states: Mapping[str, UnitState]) -> Plan:
    """The plan with try-restarts of failed units made restarts.

    try-restart leaves a stopped unit alone, so that an upgrade does not start
    what an administrator stopped; a failed unit was not stopped, it did not
    come back (after the last upgrade's restart, say), and the retry the
    trigger promises (``apply --pending``) must start it. Without this, the
    retry would find it "not running" and settle its changes unrestarted.
    """
    groups = []
    for group in plan.groups:
        steps = tuple(
            step._replace(mode=Mode.RESTART)
            if step.unit
            and step.mode is Mode.TRY_RESTART
            and step.unit in states
            and states[step.unit].active_state == "failed"
            else step
            for step in group.steps
        )
        groups.append(Group(group.order, steps))
    return plan._replace(groups=tuple(groups))
