"""From a decision to the jobs ``apply`` will run: pure, no systemd needed.

Actions of equal ``order`` form one group; groups run in ascending order and
the jobs of one group run at once. A unit named by several actions of one
group gets one job, of the strongest of their modes, so two actions never
queue conflicting jobs that would replace each other.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from enum import StrEnum
from itertools import groupby

from smartrestart.decide.model import Decision
from smartrestart.rules.model import Action, Mode

# Strongest first: a restart subsumes a reload, a reload-or-restart a try-restart...
MODE_STRENGTH = (Mode.RESTART, Mode.RELOAD_OR_RESTART, Mode.TRY_RESTART, Mode.RELOAD, Mode.START)


class StepKind(StrEnum):
    UNIT = "unit"
    RUN = "run"


@dataclass(frozen=True, slots=True)
class Step:
    """One job: a mode applied to a unit, or a command run as a transient unit."""

    kind: StepKind
    actions: tuple[str, ...]
    trigger: tuple[str, ...]  # the changed files behind it
    unit: str | None = None
    mode: Mode | None = None
    command: tuple[str, ...] | None = None
    user: str | None = None  # the account a command runs as (None: root)

    @property
    def label(self) -> str:
        return self.unit if self.unit else f"run: {' '.join(self.command or ())}"


@dataclass(frozen=True, slots=True)
class Group:
    order: int
    steps: tuple[Step, ...]


@dataclass(frozen=True, slots=True)
class Plan:
    groups: tuple[Group, ...]
    # Actions with neither units nor run: nothing for apply to do.
    external: tuple[str, ...] = ()

    @property
    def units(self) -> list[str]:
        """Every unit the plan acts on, once, in plan order."""
        seen: dict[str, None] = {}
        for group in self.groups:
            for step in group.steps:
                if step.unit:
                    seen.setdefault(step.unit)
        return list(seen)

    @property
    def steps(self) -> list[Step]:
        return [step for group in self.groups for step in group.steps]


def build_plan(decision: Decision) -> Plan:
    """Group the decided actions by order and turn them into steps."""
    groups: list[Group] = []
    external: list[str] = []
    triggers = {
        d.action.name: tuple(dict.fromkeys(r.file for r in d.reasons)) for d in decision.actions
    }
    actions = [d.action for d in decision.actions]  # already sorted by (order, name)
    for order, members in groupby(actions, key=lambda a: a.order):
        steps = _group_steps(list(members), triggers, external)
        if steps:
            groups.append(Group(order=order, steps=tuple(steps)))
    return Plan(groups=tuple(groups), external=tuple(external))


def _group_steps(
    actions: list[Action], triggers: dict[str, tuple[str, ...]], external: list[str]
) -> list[Step]:
    units: dict[str, list[Action]] = {}
    steps: list[Step] = []
    for action in actions:
        if action.run:
            steps.append(
                Step(
                    StepKind.RUN,
                    (action.name,),
                    triggers[action.name],
                    command=action.run,
                    user=action.user,
                )
            )
        elif action.units:
            for unit in action.units:
                units.setdefault(unit, []).append(action)
        else:
            external.append(action.name)
    for unit, named_by in units.items():
        mode = strongest(a.mode for a in named_by)
        files = tuple(dict.fromkeys(f for a in named_by for f in triggers[a.name]))
        steps.append(
            Step(StepKind.UNIT, tuple(a.name for a in named_by), files, unit=unit, mode=mode)
        )
    return steps


def strongest(modes: Iterable[Mode | None]) -> Mode:
    """The mode that does what all of ``modes`` would: a restart covers a reload..."""
    given = set(modes)
    return next(m for m in MODE_STRENGTH if m in given)


def merge_same_units(plan: Plan, unit_ids: Mapping[str, str]) -> Plan:
    """One step per unit and group when two names denote one unit.

    ``unit_ids`` maps each name the rules use to the unit's id as systemd
    reports it: ``sshd.service`` and ``ssh.service`` are one unit on Debian,
    and two jobs for it in one group would replace each other.
    """
    groups: list[Group] = []
    for group in plan.groups:
        steps: list[Step] = []
        position: dict[str, int] = {}
        for step in group.steps:
            key = unit_ids.get(step.unit, step.unit) if step.unit else None
            if key is None or key not in position:
                if key is not None:
                    position[key] = len(steps)
                steps.append(step)
                continue
            first = steps[position[key]]
            steps[position[key]] = replace(
                first,
                actions=tuple(dict.fromkeys(first.actions + step.actions)),
                trigger=tuple(dict.fromkeys(first.trigger + step.trigger)),
                mode=strongest((first.mode, step.mode)),
            )
        groups.append(Group(group.order, tuple(steps)))
    return replace(plan, groups=tuple(groups))
