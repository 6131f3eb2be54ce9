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

Each key's directives are declared with the key (:mod:`smartrestart.budget.keys`);
this module puts them together, adds the failure handler, and computes the
delays systemd will use and the warnings a person should read.
"""

from __future__ import annotations

from dataclasses import dataclass

from smartrestart.budget.backoff import (
    DEFAULT_RESTART_USEC,
    FIRST_WITH_RESTART_STEPS,
    LISTED_DELAYS,
    backoff_steps,
    systemd_delays,
)
from smartrestart.budget.keys import HANDLER_KEYS, KEYS
from smartrestart.budget.model import Budget, Directive, EscalationVerb, RestartType
from smartrestart.timespan import format_timespan

FAILURE_HANDLER = "smartrestart-failure@%n.service"
SOURCE_KEY = "X-SmartRestart-Source"
_SECTION_ORDER = {"Unit": 0, "Service": 1}


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


def handler_parameters(budget: Budget) -> list[Directive]:
    """The ``X-SmartRestart-*`` keys the failure handler reads back, from the key table."""
    directives: list[Directive] = []
    for key in HANDLER_KEYS:
        assert key.handler is not None
        value = getattr(budget, key.field)
        if value is not None and value != ():
            directives.append(Directive("Unit", key.handler.name, key.handler.to_text(value)))
    directives.append(Directive("Unit", SOURCE_KEY, str(budget.location)))
    return directives


def translate(budget: Budget, systemd_version: int) -> Translation:
    directives: list[Directive] = []
    for key in KEYS:
        if key.directives is not None:
            directives.extend(key.directives(budget, systemd_version))
    directives.append(Directive("Unit", "OnFailure", FAILURE_HANDLER))
    directives.extend(handler_parameters(budget))
    directives.sort(key=lambda d: _SECTION_ORDER[d.section])  # stable: keys keep their order
    warnings: list[str] = []
    delays = _delays(budget, systemd_version, warnings)
    _check_reachable(budget, delays, warnings)
    escalates = budget.on_exhausted.verb is not EscalationVerb.NONE
    if escalates and budget.restart is RestartType.TEMPORARY and not budget.fatal_exit_codes:
        warnings.append(
            f"{budget.unit}: on_exhausted only runs for fatal exit codes with restart: "
            "temporary, and none are listed"
        )
    return Translation(
        unit=budget.unit,
        directives=tuple(directives),
        warnings=tuple(warnings),
        delays_usec=tuple(delays),
    )


def _delays(budget: Budget, systemd_version: int, warnings: list[str]) -> list[int]:
    """The delays systemd will actually use, and what the person should know about them."""
    count = min(budget.intensity if budget.intensity is not None else 8, LISTED_DELAYS)
    if budget.restart is RestartType.TEMPORARY:
        return []
    backoff = budget.backoff
    if backoff is None:
        return [DEFAULT_RESTART_USEC] * count
    steps = backoff_steps(backoff.base_usec, backoff.max_usec, backoff.multiplier)
    if steps == 0:
        return [backoff.base_usec] * count
    if systemd_version < FIRST_WITH_RESTART_STEPS:
        warnings.append(
            f"{budget.unit}: systemd {FIRST_WITH_RESTART_STEPS} added RestartSteps= and "
            "RestartMaxDelaySec=; on this systemd the delay stays "
            f"{format_timespan(backoff.base_usec)} instead of growing by {backoff.multiplier:g}x "
            f"up to {format_timespan(backoff.max_usec)} (the exponential backoff is lost)"
        )
        return [backoff.base_usec] * count
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
