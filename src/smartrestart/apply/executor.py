"""Running a plan against systemd: check first, act second, verify, report.

Check: every unit must be a valid name that systemd loads (not missing,
masked or broken) before any job is queued, so a typo stops the deploy with
nothing half-done. Act: per order group, every job is submitted at once and
then awaited (``JobRemoved``), which also awaits ``READY=1`` of
``Type=notify`` units. Verify: a restart must leave a new ``InvocationID``;
a job that reports ``done`` but restarted nothing is a failure.

Once anything has acted, nothing escapes as an exception: an error (the bus
gone, access denied mid-way, an interrupt, a bug) ends the apply with every
step accounted for in the report and the journal, and exit status 1.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping

from smartrestart.apply.model import (
    Group,
    Outcome,
    Plan,
    Step,
    StepKind,
    StepResult,
    UnitSnapshot,
    judge,
    merge_same_units,
    run_unit_name,
    will_start,
)
from smartrestart.apply.output import step_event
from smartrestart.apply.settle import watch_started
from smartrestart.apply.unitcheck import check_units
from smartrestart.errors import ActionLedger, SmartRestartError, SystemdUnavailable
from smartrestart.records import NamedTuple
from smartrestart.rules.model import Mode
from smartrestart.systemd.backend import JobEnd, JobMethod, SystemdBackend, UnitState

METHOD_OF_MODE: dict[Mode, JobMethod] = {
    Mode.RESTART: JobMethod.RESTART,
    Mode.TRY_RESTART: JobMethod.TRY_RESTART,
    Mode.RELOAD_OR_RESTART: JobMethod.RELOAD_OR_RESTART,
    Mode.RELOAD: JobMethod.RELOAD,
    Mode.START: JobMethod.START,
}

# Logs one journal entry: event kind, message, fields.
EventSink = Callable[[str, str, Mapping[str, object]], None]


def random_hex(count: int) -> str:
    """``count`` random bytes as hex: ``secrets.token_hex`` without importing hashlib."""
    return os.urandom(count).hex()


def new_deploy_id() -> str:
    """16 hex digits, logged as ``SMARTRESTART_DEPLOY=`` in every entry of one apply."""
    return random_hex(8)


class ApplyOptions(NamedTuple):
    """How to run one plan.

    ``deploy_id`` ties one apply's journal entries together (``smartrestart
    logs --deploy ID``): each apply draws its own (:func:`new_deploy_id`), so
    it has no default that two applies could share.
    """

    deploy_id: str
    timeout: float = 600.0
    keep_going: bool = False
    working_directory: str = "/"
    # Watch the units a group started this long before the next group (--settle).
    settle: float = 0.0
    # Each unit's state before and after, for --diff.
    diff: bool = False
    # A failed step carries this many of its last journal lines (0: the journal is not read).
    journal_lines: int = 0


class Execution(NamedTuple):
    """What running a plan did: the executor's whole output (a Report is built from it)."""

    plan: Plan  # with two names of one unit merged into one step
    results: tuple[StepResult, ...]
    daemon_reloaded: bool
    timing: dict[str, float]
    error: str | None  # why it stopped part-way after something had acted
    details: dict[str, UnitSnapshot]  # each unit before and after (--diff)


def describe_error(error: BaseException) -> str:
    if isinstance(error, SmartRestartError):
        return error.message
    if isinstance(error, KeyboardInterrupt):
        return "interrupted"
    return f"internal error: {type(error).__name__}: {error}"


class Executor:
    """Runs one plan; one instance per apply. :meth:`run` returns an :class:`Execution`."""

    def __init__(
        self,
        backend: SystemdBackend,
        options: ApplyOptions,
        log: EventSink,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.backend = backend
        self.options = options
        self.log = log
        self.clock = clock
        self._results: list[StepResult] = []
        self._timing: dict[str, float] = {}
        self._daemon_reloaded = False
        self._error: str | None = None

    def _add_time(self, phase: str, seconds: float) -> None:
        self._timing[phase] = self._timing.get(phase, 0.0) + seconds

    def run(self, plan: Plan) -> Execution:
        started = self.clock()
        cpu_started = time.process_time()
        states = check_units(plan, self.backend)
        plan = merge_same_units(plan, {name: state.id for name, state in states.items()})
        stale = self.backend.need_daemon_reload(list(states))
        if stale:
            self.backend.reload_manager()
            ActionLedger.record("a daemon-reload")
            self._daemon_reloaded = True
            self.log(
                "daemon-reloaded",
                f"reloaded systemd: {', '.join(stale)} changed on disk",
                {
                    "SMARTRESTART_UNIT": " ".join(stale),
                    "SMARTRESTART_DEPLOY": self.options.deploy_id,
                },
            )
        self._add_time("check", self.clock() - started)
        before = self._details(plan.units) if self.options.diff else {}
        # What the check read is what the first group starts from, unless a
        # daemon-reload came between: one read of every unit fewer.
        known = None if self._daemon_reloaded else states
        failed = False
        for index, group in enumerate(plan.groups):
            if failed and not self.options.keep_going:
                self._results.extend(
                    StepResult(step, group.order, Outcome.NOT_RUN, "an earlier group failed")
                    for step in group.steps
                )
                continue
            results: dict[int, StepResult] = {}
            try:
                self._run_group(group.order, group.steps, results, known if index == 0 else None)
            except BaseException as error:
                if isinstance(error, SystemExit | GeneratorExit) or not ActionLedger.acted:
                    raise  # nothing acted yet: the ordinary error path tells the truth
                self._abort(plan.groups[index:], results, error)
                break
            self._results.extend(results[i] for i in range(len(group.steps)))
            failed = failed or any(not r.ok for r in results.values())
        # CPU time of this process: smartrestart's own work, whatever systemd was doing.
        self._add_time("cpu", time.process_time() - cpu_started)
        after = self._details(list(before)) if before and self._error is None else {}
        return Execution(
            plan,
            tuple(self._results),
            self._daemon_reloaded,
            dict(self._timing),
            self._error,
            {unit: UnitSnapshot(state, after.get(unit)) for unit, state in before.items()},
        )

    def _details(self, units: list[str]) -> dict[str, UnitState]:
        return {unit: self.backend.unit_details(unit) for unit in units}

    def _abort(
        self,
        groups: tuple[Group, ...],
        done: dict[int, StepResult],
        error: BaseException,
    ) -> None:
        """Account for every step after an error mid-apply: results, journal, no exception."""
        reason = describe_error(error)
        self._error = reason
        first, *later = groups
        for index, step in enumerate(first.steps):
            result = done.get(index)
            if result is None:
                result = StepResult(step, first.order, Outcome.FAILED, f"apply stopped: {reason}")
                self._log_result(result)
            self._results.append(result)
        for group in later:
            self._results.extend(
                StepResult(step, group.order, Outcome.NOT_RUN, f"apply stopped: {reason}")
                for step in group.steps
            )

    def _run_group(
        self,
        order: int,
        steps: tuple[Step, ...],
        results: dict[int, StepResult],
        known: Mapping[str, UnitState] | None = None,
    ) -> None:
        """Submit every job of the group, then wait for all, then verify each.

        Finished steps land in ``results`` (by index) as they are known, so an
        error part-way keeps them. The time spent in each phase is kept by
        phase: ``wait`` is systemd working, everything else is smartrestart's
        own overhead.
        """
        phase_start = self.clock()
        units = [s.unit for s in steps if s.unit]
        before = known if known is not None else self.backend.unit_states(units)
        # Read only where it decides something: whether a reload-or-restart reloads.
        can_reload = {
            step.unit: self.backend.can_reload(step.unit)
            for step in steps
            if step.unit and step.mode is Mode.RELOAD_OR_RESTART and before[step.unit].is_active
        }
        submitted: dict[int, tuple[str, float, str | None]] = {}  # index -> (job, start, run unit)
        for step in steps:
            if (
                step.unit
                and step.mode
                and will_start(step.mode, before[step.unit], can_reload.get(step.unit, False))
            ):
                # StartLimitBurst counts every start, manual ones too, so a
                # burst of deploys could exhaust a unit's crash budget and end
                # in start-limit-hit. A deploy is a deliberate fresh start:
                # clear the counter (and a failed state) first. All resets go
                # before the first job, while the manager is still idle.
                # Not recorded as acting: no unit started, stopped or reloaded yet.
                self.backend.reset_failed(step.unit)
        for index, step in enumerate(steps):
            started = self.clock()
            try:
                job, run_unit = self._submit(step)
            except SystemdUnavailable:
                raise  # no bus, or access denied: not this step's problem alone
            except SmartRestartError as exc:  # systemd refused this job: the others go on
                results[index] = StepResult(step, order, Outcome.FAILED, exc.message)
                self._log_result(results[index])
                continue
            ActionLedger.record(f"the job for {step.label}")
            submitted[index] = (job, started, run_unit)
        waiting = self.clock()
        self._add_time("submit", waiting - phase_start)
        ends = self.backend.wait_jobs(
            [job for job, _, _ in submitted.values()], self.options.timeout
        )
        verifying = self.clock()
        self._add_time("wait", verifying - waiting)
        after = self.backend.unit_states(units)
        finished: dict[int, StepResult] = {}
        for index, (job, started, run_unit) in submitted.items():
            step = steps[index]
            end = ends.get(job)
            if step.kind is StepKind.RUN:
                finished[index] = self._finish_run(step, order, run_unit or "", end, started)
            else:
                assert step.unit is not None
                finished[index] = self._finish_unit(
                    step,
                    order,
                    (before[step.unit], after[step.unit]),
                    can_reload.get(step.unit, False),
                    end,
                    started,
                )
        self._add_time("verify", self.clock() - verifying)
        if self.options.settle > 0:
            settling = self.clock()
            finished = watch_started(self.backend, finished, self.options.settle, self.clock)
            self._add_time("settle", self.clock() - settling)
        for index, result in finished.items():
            results[index] = self._with_journal(result)
            self._log_result(results[index])

    def _with_journal(self, result: StepResult) -> StepResult:
        """A failed step with the last lines its new invocation (or its run unit) logged."""
        if result.ok or not self.options.journal_lines:
            return result
        from smartrestart.logs.run import invocation_lines

        lines = invocation_lines(
            result.new_invocation_id if result.step.kind is StepKind.UNIT else "",
            result.run_unit,
            self.options.journal_lines,
        )
        return result._replace(journal=tuple(lines))

    def _submit(self, step: Step) -> tuple[str, str | None]:
        if step.kind is StepKind.RUN:
            assert step.command is not None
            name = run_unit_name(step.actions[0], random_hex(4))
            job = self.backend.start_transient(
                name,
                step.command,
                description=f"smartrestart action {step.actions[0]}",
                working_directory=self.options.working_directory,
                user=step.user,
                environment=(
                    f"SMARTRESTART_ACTION={step.actions[0]}",
                    f"SMARTRESTART_DEPLOY={self.options.deploy_id}",
                ),
            )
            return job, name
        assert step.unit is not None and step.mode is not None
        return self.backend.submit(METHOD_OF_MODE[step.mode], step.unit), None

    def _finish_unit(
        self,
        step: Step,
        order: int,
        states: tuple[UnitState, UnitState],
        can_reload: bool,
        end: JobEnd | None,
        started: float,
    ) -> StepResult:
        assert step.unit is not None
        before, after = states
        if not after.is_active:  # a failure, or a finished oneshot: Result and Type tell which
            after = self.backend.unit_details(step.unit)
        if end is None:
            outcome = Outcome.TIMED_OUT
            detail = (
                f"no result within {self.options.timeout:g} s; the job is still queued in systemd"
            )
            seconds = self.clock() - started
        else:
            outcome, detail = judge(step, before, after, end.result, can_reload=can_reload)
            seconds = end.finished_at - started
        return StepResult(
            step,
            order,
            outcome,
            detail,
            job_result=end.result if end else None,
            seconds=seconds,
            old_invocation_id=before.invocation_id,
            new_invocation_id=after.invocation_id,
            unit_result=after.result or "",
            unit_id=after.id or before.id,
        )

    def _finish_run(
        self, step: Step, order: int, unit: str, end: JobEnd | None, started: float
    ) -> StepResult:
        if end is None:
            return StepResult(
                step,
                order,
                Outcome.TIMED_OUT,
                f"{unit} did not finish within {self.options.timeout:g} s; it keeps running",
                seconds=self.clock() - started,
                run_unit=unit,
            )
        if end.result == "done":
            return StepResult(
                step,
                order,
                Outcome.SUCCEEDED,
                "",
                job_result=end.result,
                seconds=end.finished_at - started,
                run_unit=unit,
            )
        state = self.backend.unit_details(unit)
        detail = f"{state.result or end.result}"
        if state.result == "exit-code":
            detail = f"exit status {state.exec_main_status}"
        elif state.result == "signal":
            detail = f"killed by signal {state.exec_main_status}"
        if state.load_state == "loaded":
            self.backend.reset_failed(unit)  # let systemd collect the failed transient unit
        return StepResult(
            step,
            order,
            Outcome.FAILED,
            detail,
            job_result=end.result,
            seconds=end.finished_at - started,
            run_unit=unit,
            unit_result=state.result or "",
        )

    def _log_result(self, result: StepResult) -> None:
        self.log(*step_event(result, self.options.deploy_id))
