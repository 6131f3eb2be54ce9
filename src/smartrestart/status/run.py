"""Everything ``status`` does, from rules and unit names to reports, without the CLI.

In order: the units (named, or every unit the rules' actions and budgets
name, template budgets' loaded instances included), their state from the
manager (over its private socket as root: ten property reads per unit), this
boot's entries systemd wrote about them (newest first, only until enough is
known), our own apply and cooldown entries, the failure handler's records.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from typing import NamedTuple

from smartrestart.errors import UsageError
from smartrestart.handle.model import CycleRecord, cycle_record
from smartrestart.handle.run import STATE_DIR
from smartrestart.journal.events import EVENTS, SYSLOG_IDENTIFIER
from smartrestart.journal.reader import (
    EntryStream,
    Query,
    Reader,
    monotonic_usec,
    read,
    realtime_usec,
)
from smartrestart.rules.model import RuleSet
from smartrestart.status.history import (
    SYSTEMD_EVENTS,
    DeployStep,
    UnitEvent,
    UnitHistory,
)
from smartrestart.status.model import (
    UnitReport,
    budget_for,
    budget_view,
    cooldown_of,
    last_start,
)
from smartrestart.systemd.backend import SystemdBackend, UnitState
from smartrestart.unitname import UnitNameKind, unit_name_kind, unit_name_problem

# How far back this boot's entries are read at most, when the units' own
# history does not say sooner that older entries change nothing. A run that
# started earlier still gets its cause, from NRestarts and our deploy entries.
HISTORY_USEC = 3600 * 1_000_000
RECORD_LIMIT = 64 * 1024
CHECK_EVERY = 64  # entries between checks of whether every unit's history is complete
DEPLOY_KINDS = ("unit-job-done", "unit-job-failed")
SYSTEMD_FIELDS = ("MESSAGE_ID", "UNIT", "INVOCATION_ID", "JOB_ID", "UNIT_RESULT")
OUR_FIELDS = (
    "MESSAGE_ID",
    "SMARTRESTART_UNIT",
    "SMARTRESTART_DEPLOY",
    "SMARTRESTART_ACTION",
    "SMARTRESTART_RESULT",
    "SMARTRESTART_TRIGGER",
    "SMARTRESTART_OLD_INVOCATION_ID",
    "SMARTRESTART_NEW_INVOCATION_ID",
    "SMARTRESTART_JOB",
)


# Both queries are the same whatever is asked: journalctl can start before anything else.
SYSTEMD_QUERY = Query(
    matches=[[("_PID", "1"), *(("MESSAGE_ID", mid) for mid in SYSTEMD_EVENTS)]],
    fields=SYSTEMD_FIELDS,
    this_boot=True,
    reverse=True,
)
OUR_KINDS = {EVENTS[k].message_id: k for k in (*DEPLOY_KINDS, "cooldown-restart")}
OUR_QUERY = Query(
    matches=[
        [
            ("SYSLOG_IDENTIFIER", SYSLOG_IDENTIFIER),
            ("_UID", "0"),
            *(("MESSAGE_ID", mid) for mid in OUR_KINDS),
        ]
    ],
    fields=OUR_FIELDS,
    reverse=True,
)


class StatusRequest(NamedTuple):
    units: Sequence[str] = ()
    rules_files: Sequence[str] = ()
    config_root: str = "/"


class StatusOutcome(NamedTuple):
    reports: tuple[UnitReport, ...]
    warnings: tuple[str, ...]
    now_usec: int  # realtime, when the state was read: relative times count from it


class Clock(NamedTuple):
    realtime: Callable[[], float] = time.time
    monotonic: Callable[[], float] = time.monotonic


SYSTEM_CLOCK = Clock()


def load_rules(request: StatusRequest, cwd: Path) -> RuleSet:
    """The rules; with units named and no rules anywhere, none (budgets are then unknown)."""
    from smartrestart.rules.schema import load_rule_set
    from smartrestart.rules.sources import rules_sources

    sources = rules_sources(
        request.rules_files, request.config_root, str(cwd), required=not request.units
    )
    return load_rule_set(sources) if sources else RuleSet(actions={})


def named_units(rule_set: RuleSet) -> list[str]:
    """Every unit the rules name: actions' units, then budgets (templates aside)."""
    names = [unit for action in rule_set.actions.values() for unit in action.units]
    names.extend(rule_set.budgets)
    return [n for n in dict.fromkeys(names) if unit_name_kind(n) is not UnitNameKind.TEMPLATE]


def template_patterns(rule_set: RuleSet) -> list[str]:
    return [
        name.replace("@.", "@*.", 1)
        for name in rule_set.budgets
        if unit_name_kind(name) is UnitNameKind.TEMPLATE
    ]


def cooldown_timer(unit: str) -> str:
    return f"smartrestart-cooldown@{unit}.timer"


def run_status(
    request: StatusRequest,
    cwd: Path,
    *,
    connect: Callable[[], AbstractContextManager[SystemdBackend]] | None = None,
    read_journal: Reader = read,
    state_dir: Path = STATE_DIR,
    clock: Clock = SYSTEM_CLOCK,
) -> StatusOutcome:
    """Read the units' state, their journal and the handler's records; report each unit."""
    problems = [p for p in map(unit_name_problem, request.units) if p]
    if problems:
        raise UsageError("; ".join(problems))
    templates = [u for u in request.units if unit_name_kind(u) is UnitNameKind.TEMPLATE]
    if templates:
        raise UsageError(f"{templates[0]} is a template: name an instance, or its budget's rules")
    # journalctl starts first and reads ahead while the rules load and the manager answers.
    systemd_entries, our_entries = read_journal(SYSTEMD_QUERY), read_journal(OUR_QUERY)
    try:
        return _status(request, cwd, connect, (systemd_entries, our_entries), state_dir, clock)
    finally:
        systemd_entries.close()
        our_entries.close()


def _status(
    request: StatusRequest,
    cwd: Path,
    connect: Callable[[], AbstractContextManager[SystemdBackend]] | None,
    streams: tuple[EntryStream, EntryStream],
    state_dir: Path,
    clock: Clock,
) -> StatusOutcome:
    from smartrestart import systemd

    rule_set = load_rules(request, cwd)
    names = list(dict.fromkeys(request.units)) or named_units(rule_set)
    with (connect or (lambda: systemd.connect(private=True)))() as manager:
        if not request.units:
            names.extend(n for n in manager.unit_names_matching(template_patterns(rule_set)))
            names = list(dict.fromkeys(names))
        if not names:
            raise UsageError("the rules name no units: name the units to show")
        states = manager.unit_statuses(names)
        units = _by_id(names, states)
        budgets = {key: budget_for((*n, key), rule_set.budgets) for key, n in units.items()}
        timers = [cooldown_timer(k) for k, b in budgets.items() if b and b.cooldown_usec]
        timer_states = manager.unit_statuses(timers) if timers else {}
    now_mono, now_real = round(clock.monotonic() * 1e6), round(clock.realtime() * 1e6)
    ids = {key: states[n[0]] for key, n in units.items()}
    histories = {
        key: UnitHistory(
            state.invocation_id, state.start_limit_interval_usec if budgets[key] else 0
        )
        for key, state in ids.items()
    }
    warnings, reach = _read_history(histories, streams[0], now_mono, now_real)
    deploys, cooldown_jobs = _read_ours(units, streams[1], reach)
    reports: list[UnitReport] = []
    for key, known_as in units.items():
        state, budget = ids[key], budgets[key]
        steps = deploys.get(key, [])
        starts = histories[key].starts(steps, cooldown_jobs)
        view = None
        if budget is not None:
            timer = timer_states.get(cooldown_timer(key))
            record = _record(key, state_dir, warnings) if budget.cooldown_usec else None
            elapse = timer.timer_next_elapse_usec if timer and timer.is_active else None
            cooldown = cooldown_of(budget, record, elapse, now_mono)
            view, mismatch = budget_view(budget, state, starts, cooldown, now_mono)
            warnings.extend(mismatch)
        last_deploy = steps[0] if steps else None
        reports.append(
            UnitReport(known_as, state, view, last_start(state, starts, steps), last_deploy)
        )
    return StatusOutcome(tuple(reports), tuple(warnings), now_real)


def _by_id(names: Sequence[str], states: Mapping[str, UnitState]) -> dict[str, tuple[str, ...]]:
    """Unit id -> the names it was asked by, in order: an alias and its unit are one unit."""
    units: dict[str, tuple[str, ...]] = {}
    for name in names:
        key = states[name].id or name
        units[key] = (*units.get(key, ()), name)
    return units


def _read_history(
    histories: Mapping[str, UnitHistory], stream: EntryStream, now_mono: int, now_real: int
) -> tuple[list[str], int]:
    """Feed this boot's entries of systemd about the units, newest first, until enough.

    Returns warnings and the realtime of the oldest entry read (how far back
    our own entries must be read to classify the starts seen).
    """
    periods = [h.period for h in histories.values() if h.period]
    horizon = now_mono - max([HISTORY_USEC, *(3 * p for p in periods)])
    pending = set(histories)
    position, reach, read_count = now_mono, now_real, 0
    try:
        for entry in stream:
            position, reach, read_count = (
                monotonic_usec(entry),
                realtime_usec(entry),
                read_count + 1,
            )
            history = histories.get(entry.get("UNIT", ""))
            kind = SYSTEMD_EVENTS.get(entry.get("MESSAGE_ID", ""))
            invocation = entry.get("INVOCATION_ID", "")
            if history is not None and kind is not None and invocation:
                event = UnitEvent(
                    kind,
                    invocation,
                    position,
                    reach,
                    entry.get("JOB_ID", ""),
                    entry.get("UNIT_RESULT", ""),
                )
                history.add(event)
            if read_count % CHECK_EVERY == 0 or position < horizon:
                pending = {u for u in pending if not histories[u].complete(position, now_mono)}
                if not pending or position < horizon:
                    break
        else:
            for history in histories.values():
                history.ended = True
    finally:
        stream.close()
    warnings = [
        f"{unit}: no start-limit window could be placed in this boot's last "
        f"{(now_mono - horizon) // 60_000_000} min of the journal; the restart count "
        "starts at the oldest start read"
        for unit, history in histories.items()
        if not history.ended and not history.anchored(position, now_mono)
    ]
    return warnings, reach


def _read_ours(
    units: Mapping[str, Sequence[str]], stream: EntryStream, reach: int
) -> tuple[dict[str, list[DeployStep]], set[str]]:
    """Our apply steps per unit (newest first) back to ``reach`` (realtime) and at least the
    last one of every unit, and the start jobs our cooldown handler queued."""
    key_of = {name: key for key, names in units.items() for name in (key, *names)}
    deploys: dict[str, list[DeployStep]] = {}
    cooldown_jobs: set[str] = set()
    try:
        for entry in stream:
            key = key_of.get(entry.get("SMARTRESTART_UNIT", ""))
            kind = OUR_KINDS.get(entry.get("MESSAGE_ID", ""))
            if key is not None and kind == "cooldown-restart":
                cooldown_jobs.add(entry.get("SMARTRESTART_JOB", "").rpartition("/")[2])
            elif key is not None and kind is not None:
                deploys.setdefault(key, []).append(_deploy_step(entry))
            if realtime_usec(entry) < reach and len(deploys) == len(units):
                break
    finally:
        stream.close()
    return deploys, cooldown_jobs


def _deploy_step(entry: Mapping[str, str]) -> DeployStep:
    return DeployStep(
        deploy_id=entry.get("SMARTRESTART_DEPLOY", ""),
        realtime_usec=realtime_usec(entry),
        action=entry.get("SMARTRESTART_ACTION", ""),
        result=entry.get("SMARTRESTART_RESULT", ""),
        files=tuple(entry.get("SMARTRESTART_TRIGGER", "").split()),
        old_invocation=entry.get("SMARTRESTART_OLD_INVOCATION_ID", ""),
        new_invocation=entry.get("SMARTRESTART_NEW_INVOCATION_ID", ""),
    )


def _record(unit: str, state_dir: Path, warnings: list[str]) -> CycleRecord | None:
    """The failure handler's record of ``unit`` (read only: no directory is made)."""
    from smartrestart.regularfile import read_regular

    path = state_dir / f"{unit}.json"
    try:
        raw = read_regular(path, RECORD_LIMIT, follow_symlinks=False)
    except FileNotFoundError:
        return None
    except OSError as exc:
        warnings.append(f"{unit}: cannot read the failure handler's record {path}: {exc.strerror}")
        return None
    try:
        return cycle_record(json.loads(raw))
    except (UnicodeDecodeError, ValueError):
        warnings.append(f"{unit}: the failure handler's record {path} is not JSON")
        return None
