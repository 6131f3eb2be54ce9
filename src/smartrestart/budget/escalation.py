"""``on_exhausted``: what happens when a unit gives up for good, parsed in one place.

The rules loader and the failure handler (which reads it back from the
drop-in's ``X-SmartRestart-OnExhausted=``) share this parser, so a value the
handler meets is held to the same rules as one in a rules file.
"""

from __future__ import annotations

from smartrestart.budget.model import NO_ESCALATION, Escalation, EscalationVerb
from smartrestart.configfields import did_you_mean
from smartrestart.unitname import UnitNameKind, unit_name_kind, unit_name_problem


class EscalationError(ValueError):
    """An ``on_exhausted`` value that names no action systemd can carry out."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.hint = hint


def parse_escalation(text: str, unit: str | None = None) -> Escalation:
    """``none``, ``stop UNIT`` or ``restart UNIT``; shared by the loader and the handler.

    ``unit`` is the budgeted unit, which cannot be its own escalation: once
    its budget is spent, restarting it would make the budget endless and
    stopping it does nothing.
    """
    words = text.split()
    verbs = [v.value for v in EscalationVerb]
    if not words:
        raise EscalationError("must not be empty")
    if words[0] not in verbs:
        raise EscalationError(
            f"{words[0]!r} is not one of: none, stop UNIT, restart UNIT",
            hint=did_you_mean(words[0], verbs),
        )
    verb = EscalationVerb(words[0])
    if verb is EscalationVerb.NONE:
        if len(words) != 1:
            raise EscalationError("'none' takes no unit")
        return NO_ESCALATION
    if len(words) != 2:
        raise EscalationError(
            f"'{verb.value}' needs exactly one unit, e.g. '{verb.value} app.target'"
        )
    target = words[1]
    problem = unit_name_problem(target)
    if problem:
        raise EscalationError(problem)
    if unit_name_kind(target) is UnitNameKind.TEMPLATE:
        raise EscalationError(
            f"{target} is a template, which systemd cannot {verb.value}; name an instance "
            f"such as {target.replace('@.', '@1.', 1)}"
        )
    if target == unit:
        raise EscalationError(
            f"'{verb.value} {target}' acts on the unit whose budget ran out "
            "(a restart would make the budget endless, a stop does nothing)",
            hint="use restart: transient with cooldown to start it again later",
        )
    return Escalation(verb=verb, unit=target)
