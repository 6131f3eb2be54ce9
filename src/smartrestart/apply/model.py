"""What ``apply`` does, as data and decisions: pure, no systemd needed.

The plan: actions of equal ``order`` form one group; groups run in ascending
order and the jobs of one group run at once. A unit named by several actions
of one group gets one job, of the strongest of their modes, so two actions
never queue conflicting jobs that would replace each other.

The verdicts: what a finished job did (:func:`judge`), judged from the unit's
state before and after it, and whether a job will start a unit
(:func:`will_start`), which decides whether its start counter is cleared.
The results and the report they make.

NamedTuples, not dataclasses: see :class:`smartrestart.errors.Location`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from enum import StrEnum
from itertools import groupby
from types import MappingProxyType

from smartrestart.decide.model import Decision
from smartrestart.errors import ExitCode
from smartrestart.records import NamedTuple
from smartrestart.rules.model import Action, Mode
from smartrestart.systemd.backend import UnitState
from smartrestart.unitname import escaped_unit_name

# Strongest first: a restart subsumes a reload, a reload-or-restart a try-restart...
MODE_STRENGTH = (Mode.RESTART, Mode.RELOAD_OR_RESTART, Mode.TRY_RESTART, Mode.RELOAD, Mode.START)


class StepKind(StrEnum):
    UNIT = "unit"
    RUN = "run"


class Step(NamedTuple):
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


class Group(NamedTuple):
    order: int
    steps: tuple[Step, ...]


class Plan(NamedTuple):
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
            steps[position[key]] = first._replace(
                actions=tuple(dict.fromkeys(first.actions + step.actions)),
                trigger=tuple(dict.fromkeys(first.trigger + step.trigger)),
                mode=strongest((first.mode, step.mode)),
            )
        groups.append(Group(group.order, tuple(steps)))
    return plan._replace(groups=tuple(groups))


class Outcome(StrEnum):
    RESTARTED = "restarted"
    RELOADED = "reloaded"
    STARTED = "started"
    ALREADY_ACTIVE = "already-active"  # start of a running unit: nothing to do
    NOT_RUNNING = "not-running"  # try-restart of a stopped unit: left alone
    SUCCEEDED = "succeeded"  # a run: command exited 0
    FAILED = "failed"
    TIMED_OUT = "timed-out"
    NOT_RUN = "not-run"  # after an earlier group failed
    PLANNED = "planned"  # --dry-run
    DENIED = "denied-by-policy"  # /usr/sbin/policy-rc.d forbade it (apply --from-dpkg)


OK_OUTCOMES = frozenset(
    {
        Outcome.RESTARTED,
        Outcome.RELOADED,
        Outcome.STARTED,
        Outcome.ALREADY_ACTIVE,
        Outcome.NOT_RUNNING,
        Outcome.SUCCEEDED,
        Outcome.PLANNED,
        Outcome.DENIED,
    }
)
CHANGING_OUTCOMES = frozenset(
    {Outcome.RESTARTED, Outcome.RELOADED, Outcome.STARTED, Outcome.SUCCEEDED}
)


class StepResult(NamedTuple):
    step: Step
    order: int
    outcome: Outcome
    detail: str = ""
    job_result: str | None = None
    seconds: float = 0.0
    old_invocation_id: str = ""
    new_invocation_id: str = ""
    unit_result: str = ""
    run_unit: str = ""
    unit_id: str = ""  # the unit systemd acted on: the id behind an alias
    # A failed step's last journal lines: what its new invocation (or run unit) logged.
    journal: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return self.outcome in OK_OUTCOMES


class Report(NamedTuple):
    """What one apply did, assembled once at its end (by :mod:`smartrestart.apply.run`)."""

    plan: Plan
    results: tuple[StepResult, ...] = ()
    dry_run: bool = False
    daemon_reloaded: bool = False
    seconds: float = 0.0
    # Seconds per phase: check, submit, wait (systemd's work), verify, cpu.
    timing: Mapping[str, float] = MappingProxyType({})
    # Why the apply stopped part-way after something had acted, if it did.
    error: str | None = None
    # Every journal entry of this apply carries it; None when nothing was logged
    # (a dry run, nothing to do, every step denied by policy).
    deploy_id: str | None = None
    # apply --check: the results are predictions from each unit's state now.
    check: bool = False
    # apply --diff: each unit's state before and after the apply (after: None in a check).
    details: Mapping[str, UnitSnapshot] = MappingProxyType({})

    @property
    def failed(self) -> list[StepResult]:
        """Steps that failed or timed out (steps not run because of them are not listed)."""
        return [r for r in self.results if r.outcome in (Outcome.FAILED, Outcome.TIMED_OUT)]

    @property
    def changed(self) -> bool:
        return self.daemon_reloaded or any(r.outcome in CHANGING_OUTCOMES for r in self.results)

    @property
    def exit_code(self) -> ExitCode:
        """1 when a step failed; with --check (as generate's): 1 when something would change."""
        if self.check:
            return ExitCode.FAILED if self.changed else ExitCode.OK
        return ExitCode.FAILED if self.failed or self.error else ExitCode.OK


def planned(plan: Plan) -> list[StepResult]:
    """Results of a dry run: every step as planned, nothing touched."""
    return [
        StepResult(step, group.order, Outcome.PLANNED)
        for group in plan.groups
        for step in group.steps
    ]


def predict(step: Step, now: UnitState | None, *, can_reload: bool = False) -> tuple[Outcome, str]:
    """What a job of ``step`` would do to a unit in state ``now`` (``apply --check``).

    The verdict :func:`judge` gives a job that succeeds, by the same rules,
    so the check cannot drift from what the real run reports. A reload of a
    unit that is not running is refused by systemd, so it would fail.
    """
    if step.kind is StepKind.RUN:
        return Outcome.SUCCEEDED, ""
    assert now is not None, "a unit's step is predicted from the unit's state"
    if step.mode is Mode.RELOAD and not now.is_active:
        return Outcome.FAILED, f"unit is {now.active_state}: systemd refuses to reload it"
    started = now._replace(active_state="active", invocation_id=PREDICTED_INVOCATION)
    return judge(step, now, started, "done", can_reload=can_reload)


PREDICTED_INVOCATION = "predicted"  # stands for the new invocation a start would make


def judge_settled(result: StepResult, now: UnitState, seconds: float) -> tuple[Outcome, str] | None:
    """Whether a unit started by ``result`` still runs ``seconds`` later; None when it does.

    A start of a ``Type=simple`` service is done once the process was forked:
    a program that exits right after still made the job "done" (Ansible's
    systemd module reports such a start as a success, ansible/ansible#24450).
    Another InvocationID means systemd started it again (``Restart=``) after
    the one apply started ended; a finished oneshot is fine, as in :func:`judge`.
    """
    if now.invocation_id != result.new_invocation_id:
        return (
            Outcome.FAILED,
            f"the invocation apply started ended within {seconds:g} s; "
            "systemd started the unit again (Restart=)",
        )
    finished_oneshot = now.service_type == "oneshot" and now.result == "success"
    if now.is_active or finished_oneshot:
        return None
    return (
        Outcome.FAILED,
        f"unit is {now.active_state} ({now.result or now.sub_state}) within {seconds:g} s "
        "after it started",
    )


SETTLED_OUTCOMES = frozenset({Outcome.RESTARTED, Outcome.STARTED})


class UnitSnapshot(NamedTuple):
    """A unit's state before and after an apply (``--diff``); after is None in a check."""

    before: UnitState
    after: UnitState | None


def judge(
    step: Step, before: UnitState, after: UnitState, job: str, *, can_reload: bool = False
) -> tuple[Outcome, str]:
    """What a finished unit job did, from the unit's state before and after it.

    A restart that left the same InvocationID did not happen; a oneshot
    service restarts into ``inactive`` with ``Result=success``. ``can_reload``
    says whether a reload-or-restart of a running unit reloaded it.
    """
    if job != "done":
        return Outcome.FAILED, f"job {job}"
    new_invocation = after.invocation_id not in (before.invocation_id, "")
    finished_oneshot = after.service_type == "oneshot" and after.result == "success"
    running = after.is_active or finished_oneshot
    mode = step.mode
    if mode is Mode.TRY_RESTART and not before.is_active:
        return Outcome.NOT_RUNNING, "unit was not running, so try-restart left it alone"
    if mode is Mode.START and before.is_active:
        return (Outcome.ALREADY_ACTIVE, "") if after.is_active else (Outcome.FAILED, "stopped")
    reloads = mode is Mode.RELOAD or (
        mode is Mode.RELOAD_OR_RESTART and before.is_active and can_reload
    )
    if reloads:
        if not after.is_active:
            return Outcome.FAILED, f"unit is {after.active_state} after reload"
        return Outcome.RELOADED, ""
    if not running:
        return Outcome.FAILED, f"unit is {after.active_state} ({after.result or after.sub_state})"
    if not new_invocation:
        return Outcome.FAILED, "job done but the unit kept its InvocationID: it did not restart"
    return (Outcome.STARTED if not before.is_active else Outcome.RESTARTED), ""


STOPPED_STATES = frozenset({"inactive", "failed", "deactivating"})
RUN_UNIT_PREFIX = "smartrestart-run-"


def will_start(mode: Mode, state: UnitState, can_reload: bool) -> bool:
    """Whether a job of ``mode`` starts the unit (and so counts against its start limit).

    Only then is the unit's start counter cleared first: a try-restart of a
    failed unit does nothing, and clearing would hide the failure
    (``systemctl --failed`` would no longer list it).
    """
    stopped = state.active_state in STOPPED_STATES
    if mode is Mode.RESTART:
        return True
    if mode is Mode.START:
        return stopped
    if mode is Mode.TRY_RESTART:
        return not stopped
    if mode is Mode.RELOAD_OR_RESTART:
        return stopped or not can_reload
    return False  # reload


def run_unit_name(action: str, token: str) -> str:
    """The transient unit of a ``run:`` action: the action name escaped as systemd-escape does."""
    return escaped_unit_name(RUN_UNIT_PREFIX, action, f"-{token}.service")
