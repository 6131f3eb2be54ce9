"""A restart budget, translated into the systemd directives that enforce it.

Pure: budget and systemd version in, directives and warnings out.

The mapping, and why:

* ``restart``: permanent -> ``Restart=always``, transient -> ``Restart=on-failure``
  (non-zero exit, unclean signal, timeout, watchdog), temporary -> ``Restart=no``.
* ``intensity N`` within ``period P`` -> ``StartLimitBurst=N+1`` and
  ``StartLimitIntervalSec=P``: the start limit counts *starts*, the first
  start included, so N restarts need N+1 (measured on 252 and 257: a burst
  of B gives exactly B executions). systemd's window opens at the first start
  and lasts P; a new one opens at the first start after it closed.
* ``backoff`` -> ``RestartSec=base`` and, on systemd >= 254,
  ``RestartSteps``/``RestartMaxDelaySec``: systemd grows the delay
  geometrically from RestartSec to the maximum over the given steps, so the
  step count is chosen to make that growth closest to the requested multiplier.
* fatal and non-retryable exit codes -> ``RestartPreventExitStatus=``.
* ``OnFailure=smartrestart-failure@%n.service`` runs the failure handler that
  does cooldowns and escalation; ``RestartMode=direct`` (>= 254) keeps the
  unit out of the failed state between automatic restarts, so the handler
  only runs when restarts really stopped (it checks anyway: 252 has no
  RestartMode=, and 257 without it fires OnFailure= on every failure).
* The handler's own parameters travel as ``X-SmartRestart-*`` keys, which
  systemd ignores by design (the ``X-`` prefix).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from smartrestart.budget.model import Budget, EscalationVerb, RestartType
from smartrestart.budget.params import handler_keys
from smartrestart.timespan import format_timespan

RESTART_OF_TYPE = {
    RestartType.PERMANENT: "always",
    RestartType.TRANSIENT: "on-failure",
    RestartType.TEMPORARY: "no",
}
FAILURE_HANDLER = "smartrestart-failure@%n.service"
FIRST_WITH_RESTART_STEPS = 254  # RestartSteps=, RestartMaxDelaySec=, RestartMode=
DEFAULT_RESTART_USEC = 100_000  # systemd's RestartSec= default
# Delays listed per budget: an intensity may be up to 2^32-2, and once
# RestartSteps= (at most 3000 here) are used up every delay is the maximum.
LISTED_DELAYS = 3001


@dataclass(frozen=True, slots=True)
class Directive:
    section: str
    key: str
    value: str


@dataclass(frozen=True, slots=True)
class Translation:
    """What one budget becomes for one systemd version."""

    unit: str
    directives: tuple[Directive, ...]
    warnings: tuple[str, ...]
    # Restart delays systemd will use, in microseconds, for the restarts that
    # count against the budget (the first 8 when there is no intensity), at
    # most LISTED_DELAYS of them: every later delay equals the last listed.
    delays_usec: tuple[int, ...]


def backoff_steps(base_usec: int, max_usec: int, multiplier: float) -> int:
    """``RestartSteps=`` whose geometric growth is closest to ``multiplier``."""
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


def translate(budget: Budget, systemd_version: int) -> Translation:
    unit_directives: list[Directive] = []
    service: list[Directive] = []
    warnings: list[str] = []
    modern = systemd_version >= FIRST_WITH_RESTART_STEPS

    service.append(Directive("Service", "Restart", RESTART_OF_TYPE[budget.restart]))
    if budget.intensity is not None and budget.period_usec is not None:
        unit_directives.append(
            Directive("Unit", "StartLimitIntervalSec", format_timespan(budget.period_usec))
        )
        unit_directives.append(Directive("Unit", "StartLimitBurst", str(budget.intensity + 1)))

    delays = _backoff(budget, modern, service, warnings)
    prevent = [*budget.fatal_exit_codes, *budget.non_retryable_exit_codes]
    if prevent:
        service.append(
            Directive("Service", "RestartPreventExitStatus", " ".join(str(c) for c in prevent))
        )
    if modern and budget.restart is not RestartType.TEMPORARY:
        service.append(Directive("Service", "RestartMode", "direct"))
    for key, value in (
        ("WatchdogSec", budget.watchdog_usec),
        ("TimeoutStartSec", budget.startup_timeout_usec),
        ("TimeoutStopSec", budget.stop_timeout_usec),
    ):
        if value is not None:
            service.append(Directive("Service", key, format_timespan(value)))

    unit_directives.append(Directive("Unit", "OnFailure", FAILURE_HANDLER))
    unit_directives.extend(Directive("Unit", key, value) for key, value in handler_keys(budget))
    _check_reachable(budget, delays, warnings)
    escalates = budget.on_exhausted.verb is not EscalationVerb.NONE
    if escalates and budget.restart is RestartType.TEMPORARY and not budget.fatal_exit_codes:
        warnings.append(
            f"{budget.unit}: on_exhausted only runs for fatal exit codes with restart: "
            "temporary, and none are listed"
        )
    return Translation(
        unit=budget.unit,
        directives=(*unit_directives, *service),
        warnings=tuple(warnings),
        delays_usec=tuple(delays),
    )


def _backoff(
    budget: Budget, modern: bool, service: list[Directive], warnings: list[str]
) -> list[int]:
    """Add the restart-delay directives; return the delays systemd will actually use."""
    count = min(budget.intensity if budget.intensity is not None else 8, LISTED_DELAYS)
    if budget.restart is RestartType.TEMPORARY:
        return []
    backoff = budget.backoff
    if backoff is None:
        return [DEFAULT_RESTART_USEC] * count
    service.append(Directive("Service", "RestartSec", format_timespan(backoff.base_usec)))
    steps = backoff_steps(backoff.base_usec, backoff.max_usec, backoff.multiplier)
    if steps == 0:
        return [backoff.base_usec] * count
    if not modern:
        warnings.append(
            f"{budget.unit}: systemd {FIRST_WITH_RESTART_STEPS} added RestartSteps= and "
            "RestartMaxDelaySec=; on this systemd the delay stays "
            f"{format_timespan(backoff.base_usec)} instead of growing by {backoff.multiplier:g}x "
            f"up to {format_timespan(backoff.max_usec)} (the exponential backoff is lost)"
        )
        return [backoff.base_usec] * count
    service.append(Directive("Service", "RestartSteps", str(steps)))
    service.append(Directive("Service", "RestartMaxDelaySec", format_timespan(backoff.max_usec)))
    effective = (backoff.max_usec / backoff.base_usec) ** (1 / steps)
    if abs(effective - backoff.multiplier) / backoff.multiplier > 0.05:
        warnings.append(
            f"{budget.unit}: systemd grows restart delays geometrically from base to max in whole "
            f"steps; {steps} step(s) give a multiplier of {effective:.3g} instead of "
            f"{backoff.multiplier:g}"
        )
    return systemd_delays(backoff.base_usec, backoff.max_usec, steps, count)


def _check_reachable(budget: Budget, delays: list[int], warnings: list[str]) -> None:
    """Warn when the delays alone make the intensity unreachable within the period."""
    if budget.intensity is None or budget.period_usec is None or not budget.intensity:
        return
    unlisted = budget.intensity - len(delays)  # each as long as the last one listed
    waiting = sum(delays[: budget.intensity]) + max(0, unlisted) * (delays[-1] if delays else 0)
    if waiting > budget.period_usec:
        warnings.append(
            f"{budget.unit}: {budget.intensity} restarts wait at least "
            f"{format_timespan(waiting)} in restart delays, longer than the period of "
            f"{format_timespan(budget.period_usec)}: the budget can never be exhausted "
            "(raise period or lower intensity or backoff)"
        )
