"""The restart delays systemd uses for a backoff, computed as systemd computes them.

Pure arithmetic, shared by the translation (which directives) and its
warnings (which delays systemd will really use).
"""

from __future__ import annotations

import math

FIRST_WITH_RESTART_STEPS = 254  # RestartSteps=, RestartMaxDelaySec=, RestartMode=
DEFAULT_RESTART_USEC = 100_000  # systemd's RestartSec= default
# Delays listed per budget: an intensity may be up to 2^32-2, and once
# RestartSteps= (at most 3000 here) are used up every delay is the maximum.
LISTED_DELAYS = 3001


def backoff_steps(base_usec: int, max_usec: int, multiplier: float) -> int:
    """``RestartSteps=`` whose geometric growth is closest to ``multiplier``.

    systemd grows the delay geometrically from RestartSec to the maximum over
    the given number of steps, so the steps are chosen to match the multiplier.
    """
    if multiplier <= 1.0 or max_usec <= base_usec:
        return 0
    return max(1, min(3000, round(math.log(max_usec / base_usec) / math.log(multiplier))))


def systemd_delays(base_usec: int, max_usec: int, steps: int, count: int) -> list[int]:
    """The delays systemd (>= 254) uses before restarts 1..count (service_restart_usec_next).

    At most :data:`LISTED_DELAYS` of them: the delays stop changing after ``steps``.
    """
    delays: list[int] = []
    for index in range(min(count, LISTED_DELAYS)):
        if steps == 0 or max_usec <= base_usec:
            delays.append(base_usec)
        elif index >= steps:
            delays.append(max_usec)
        else:
            delays.append(round(base_usec * (max_usec / base_usec) ** (index / steps)))
    return delays
