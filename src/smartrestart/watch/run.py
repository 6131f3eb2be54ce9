"""``watch`` in units mode: each settled batch of changes is decided and applied, in process.

The same decide and apply as the commands (``run_decide``, ``run_apply``), so
rules, import expansion, checks, verification, the lock, the journal entries
and systemd's restart budgets hold as always. One batch at a time: changes
that arrive during an apply are queued into the next batch by the watcher.
A unit that is still starting (or stopping) is waited for until it is up
before it is restarted again: a slow ``Type=notify`` service is never
restarted in a loop by a burst of saves.

A batch that fails (a rules file saved half-edited, a unit that failed to
start) is reported on one line and the watch goes on; only a problem at the
start (rules that do not load, no systemd to talk to) ends it.
"""

from __future__ import annotations

import io
import os
import time
from collections.abc import Callable, Sequence
from typing import NamedTuple

from smartrestart.decide.run import DecideRequest, load_rules, run_decide
from smartrestart.errors import SmartRestartError
from smartrestart.paths import WorkingDirectory
from smartrestart.watch import output
from smartrestart.watch.bytecode import drop_bytecode
from smartrestart.watch.watcher import settled_batches

# States in which a unit is between jobs: restarting it now would pile up starts.
BUSY_STATES = ("activating", "deactivating", "reloading")
BUSY_POLL = 0.1


class WatchRequest(NamedTuple):
    decide: DecideRequest  # rules, roots, cache; its sources are filled per batch
    user: bool = False
    settle: float = 0.1  # seconds without a change before a batch counts as settled
    ceiling: float = 2.0  # at most this long from a batch's first change
    timeout: float = 600.0  # for each apply's jobs, and for a busy unit to settle
    wait_lock: float = 600.0


def watched_directories(request: DecideRequest, cwd: WorkingDirectory) -> list[str]:
    """The rules files' directories and the roots, none inside another."""
    rules = request.rules_files or ("restart-rules.yaml",)
    candidates = [os.path.dirname(cwd.absolute(f)) for f in rules]  # noqa: PTH120
    candidates += [cwd.absolute(root) for root in request.roots]
    chosen: list[str] = []
    for directory in sorted(set(candidates), key=len):
        if not any(directory == c or directory.startswith(c.rstrip("/") + "/") for c in chosen):
            chosen.append(directory)
    return chosen


def run_watch_units(request: WatchRequest, say: Callable[[str], None]) -> None:
    """Watch until interrupted; raises only for what is wrong before watching starts."""
    from smartrestart import systemd

    cwd = WorkingDirectory.current()
    load_rules(request.decide, cwd)  # a broken rules file ends it here, with exit 2
    with systemd.connect(user=request.user) as manager:  # no systemd: exit 3, here
        manager.version()
    directories = watched_directories(request.decide, cwd)
    for paths in settled_batches(
        directories,
        settle_ms=max(1, round(request.settle * 1000)),
        ceiling_ms=max(1, round(request.ceiling * 1000)),
        warn=lambda text: say(output.warning(text)),
        watching=lambda: say(output.watching(directories, request.user)),
    ):
        files = [p for p in paths if not os.path.isdir(p)]  # noqa: PTH112
        if files:
            apply_batch(request, cwd, files, say)


def apply_batch(
    request: WatchRequest, cwd: WorkingDirectory, files: Sequence[str], say: Callable[[str], None]
) -> None:
    """Decide and apply one batch; every outcome is one or more lines, never an exception."""
    from smartrestart.apply.run import ApplyRequest, run_apply
    from smartrestart.decide.changes import ChangeSources
    from smartrestart.errors import ActionLedger

    relative = [cwd.relative(path) for path in files]
    decide = request.decide._replace(sources=ChangeSources(paths=tuple(relative)))
    started = time.monotonic()
    ActionLedger.reset()
    try:
        acts, units = _planned(decide, cwd)
        if not acts:
            say(output.nothing(relative))
            return
        _wait_until_settled(units, request)
        drop_bytecode(files)  # a same-second, same-size save would keep the old code
        outcome = run_apply(
            ApplyRequest(
                decide, timeout=request.timeout, wait_lock=request.wait_lock, user=request.user
            ),
            io.BytesIO(),
            cwd,
            warn=lambda text: say(output.warning(text)),
        )
    except SmartRestartError as exc:
        say(output.batch_error(relative, exc.message, exc.hint))
        return
    except Exception as exc:  # a bug must not end the watch; say it and go on
        say(output.batch_error(relative, f"internal error: {type(exc).__name__}: {exc}", None))
        return
    say(output.applied(relative, outcome.report, time.monotonic() - started))


def _planned(decide: DecideRequest, cwd: WorkingDirectory) -> tuple[bool, list[str]]:
    """Whether the batch needs any job or command, and the units it acts on."""
    from smartrestart.apply.model import build_plan

    plan = build_plan(run_decide(decide, io.BytesIO(), cwd).decision)
    return bool(plan.groups), list(plan.units)


def _wait_until_settled(units: Sequence[str], request: WatchRequest) -> None:
    """Until none of ``units`` is between jobs (a restart still starting, say)."""
    from smartrestart import systemd

    if not units:
        return
    deadline = time.monotonic() + request.timeout
    with systemd.connect(user=request.user) as manager:
        while time.monotonic() < deadline:
            states = manager.unit_states(units)
            if not any(s.active_state in BUSY_STATES for s in states.values()):
                return
            time.sleep(BUSY_POLL)
