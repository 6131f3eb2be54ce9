"""A unit's starts, read back from systemd's own journal entries, and why each happened.

systemd (PID 1) logs, with the unit's id in ``UNIT=`` and the run in
``INVOCATION_ID=`` (seen on 252 and 257 alike):

* ``Starting``/``Started``/``Failed to start`` when a start job begins or ends,
  already with the new invocation's id: the first entry of an invocation is its start;
* ``Failed with result 'R'`` (``UNIT_RESULT=R``) when a run fails;
* ``Scheduled restart job, restart counter is at N`` when an automatic restart
  is queued, with the id of the run that ended. It is also logged for the
  restart that the start limit then refuses: that one is followed by
  ``Failed to start`` with the *same* invocation id, since no new run began.

So a start is **automatic** when the entry just before it (of that unit) is a
scheduled restart; **deploy** when an apply step of ours recorded the new
invocation; **cooldown** when its start job is the one our cooldown handler
queued; **manual** otherwise (systemctl, a dependency, boot). Nothing here
depends on systemd's own counters, which ``reset-failed`` clears and a manual
restart resets (``NRestarts``): the journal keeps what happened.

Entries are fed newest first; :meth:`UnitHistory.complete` says when enough
has been read: the current invocation's start (to say why it started), and a
start that surely opened a start-limit window (to count the restarts in it).
"""

from __future__ import annotations

import itertools
from collections.abc import Collection, Mapping
from enum import StrEnum
from typing import NamedTuple


class EventKind(StrEnum):
    STARTING = "starting"
    STARTED = "started"
    START_FAILED = "start-failed"
    FAILED = "failed"
    RESTART_SCHEDULED = "restart-scheduled"


# systemd's MESSAGE_IDs (sd-messages.h) of the entries a unit's history is read from.
SYSTEMD_EVENTS: Mapping[str, EventKind] = {
    "7d4958e842da4a758f6c1cdc7b36dcc5": EventKind.STARTING,  # SD_MESSAGE_UNIT_STARTING
    "39f53479d3a045ac8e11786248231fbf": EventKind.STARTED,  # SD_MESSAGE_UNIT_STARTED
    "be02cf6855d2428ba40df7e9d022f03d": EventKind.START_FAILED,  # SD_MESSAGE_UNIT_FAILED
    "d9b373ed55a64feb8242e02dbe79a49c": EventKind.FAILED,  # SD_MESSAGE_UNIT_FAILURE_RESULT
    "5eb03494b6584870a536b337290809b3": EventKind.RESTART_SCHEDULED,
}


class UnitEvent(NamedTuple):
    """One of systemd's entries about a unit."""

    kind: EventKind
    invocation: str
    monotonic_usec: int
    realtime_usec: int
    job_id: str = ""
    unit_result: str = ""


class Cause(StrEnum):
    AUTOMATIC = "automatic"  # systemd's Restart=
    MANUAL = "manual"  # anything else: systemctl, a dependency, boot
    DEPLOY = "deploy"  # smartrestart apply
    COOLDOWN = "cooldown"  # the failure handler, after a cooldown


# A deploy or a cooldown clears the start counter first (ResetFailedUnit): a new window.
RESETTING = frozenset({Cause.DEPLOY, Cause.COOLDOWN})


class DeployStep(NamedTuple):
    """One apply step on a unit, from our ``unit-job-done``/``unit-job-failed`` entry."""

    deploy_id: str
    realtime_usec: int
    action: str
    result: str
    files: tuple[str, ...]
    old_invocation: str
    new_invocation: str


class Start(NamedTuple):
    """One run of a unit: when it started and why."""

    invocation: str
    monotonic_usec: int
    realtime_usec: int
    cause: Cause
    result: str | None = None  # automatic: the Result that made systemd restart it
    deploy_id: str | None = None


class UnitHistory:
    """The events of one unit (one boot), fed newest first, and what they tell."""

    def __init__(self, current_invocation: str, period_usec: int | None) -> None:
        self.current = current_invocation
        self.period = period_usec or None  # 0: no start limit, no window to anchor
        self.runs: list[list[UnitEvent]] = []  # per invocation, newest run first
        self.ended = False  # the stream ended: the oldest run's first entry was read too

    def add(self, event: UnitEvent) -> None:
        if self.runs and self.runs[-1][0].invocation == event.invocation:
            self.runs[-1].append(event)
        else:
            self.runs.append([event])

    def _known_runs(self) -> list[list[UnitEvent]]:
        """Runs whose first entry was read: all but the oldest, unless the stream ended."""
        return self.runs if self.ended else self.runs[:-1]

    def complete(self, position_usec: int, now_usec: int) -> bool:
        """Whether entries older than ``position_usec`` (monotonic) can change nothing."""
        known = self._known_runs()
        if self.current and not any(run[0].invocation == self.current for run in known):
            return False
        return self.anchored(position_usec, now_usec)

    def anchored(self, position: int, now: int) -> bool:
        """Whether a start is known that surely opened a window (or none is open).

        systemd opens a window at a start more than one period after the
        window before opened; a start with no other start in the period before
        it is such a start, whatever came earlier.
        """
        if self.period is None or self.ended:
            return True  # no limit; or the oldest start read is this boot's first
        starts = [run[-1].monotonic_usec for run in self._known_runs()]  # newest first
        partial = self.runs[-1][-1].monotonic_usec if self.runs else None
        newest = starts[0] if starts else partial
        if newest is None:
            return position < now - self.period  # no start at all within the last period
        if newest < now - self.period:
            return True  # the newest start is older than a period: no window is open
        for newer, older in itertools.pairwise(starts):
            if older < newer - self.period:
                return True
        if not starts:
            return False
        assert partial is not None  # runs exist, and the oldest is partial
        return partial < starts[-1] - self.period

    def starts(
        self, deploys: Collection[DeployStep], cooldown_jobs: Collection[str]
    ) -> list[Start]:
        """Every start whose first entry was read, oldest first, with its cause."""
        by_new_invocation = {step.new_invocation: step for step in deploys}
        known = self._known_runs()
        found: list[Start] = []
        for index, run in enumerate(known):
            first = run[-1]
            before = self.runs[index + 1] if index + 1 < len(self.runs) else None
            cause, result, deploy_id = Cause.MANUAL, None, None
            if before is not None and before[0].kind is EventKind.RESTART_SCHEDULED:
                cause = Cause.AUTOMATIC
                result = next((e.unit_result for e in before if e.kind is EventKind.FAILED), None)
                result = result or None
            elif first.invocation in by_new_invocation:
                cause, deploy_id = Cause.DEPLOY, by_new_invocation[first.invocation].deploy_id
            elif any(e.job_id in cooldown_jobs for e in run if e.job_id):
                cause = Cause.COOLDOWN
            found.append(
                Start(
                    first.invocation,
                    first.monotonic_usec,
                    first.realtime_usec,
                    cause,
                    result,
                    deploy_id,
                )
            )
        found.reverse()
        return found
