"""Watching the units a group started, for a while: a start systemd calls done may die at once.

systemd ends the start job of a ``Type=simple`` service once its process is
forked (``Type=exec``: once it is executed): a program that exits 0.3 s later
on a bad configuration still made the job "done", and apply's verification
saw an active unit with a new InvocationID. ``apply --settle SECONDS`` polls
every unit the group restarted or started until SECONDS have passed; one that
stopped, failed, or runs another invocation by then fails its step (the
verdict is :func:`smartrestart.apply.model.judge_settled`), before the next
group runs. Polling ends early once every watched unit has failed.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping

from smartrestart.apply.model import SETTLED_OUTCOMES, StepResult, judge_settled
from smartrestart.systemd.backend import SystemdBackend

POLL_INTERVAL = 0.05  # seconds between two reads of the watched units' states


def watch_started(
    backend: SystemdBackend,
    results: Mapping[int, StepResult],
    seconds: float,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> dict[int, StepResult]:
    """``results`` with the steps whose unit did not stay up for ``seconds`` failed."""
    settled = dict(results)
    watched = {
        index: result
        for index, result in results.items()
        if result.outcome in SETTLED_OUTCOMES and result.step.unit
    }
    deadline = clock() + seconds
    while watched:
        now = backend.unit_states([r.step.unit for r in watched.values() if r.step.unit])
        for index, result in list(watched.items()):
            assert result.step.unit is not None
            state = now[result.step.unit]
            if state.is_active and state.invocation_id == result.new_invocation_id:
                continue
            # Stopped or restarted: the service fields (Type, Result) tell which.
            state = backend.unit_details(result.step.unit)
            verdict = judge_settled(result, state, seconds)
            if verdict is not None:
                outcome, detail = verdict
                # After an automatic restart, Result= is the new invocation's.
                same = state.invocation_id == result.new_invocation_id
                settled[index] = result._replace(
                    outcome=outcome,
                    detail=detail,
                    unit_result=state.result or "" if same else "",
                )
            del watched[index]
        remaining = deadline - clock()
        if not watched or remaining <= 0:
            break
        sleep(min(POLL_INTERVAL, remaining))
    return settled
