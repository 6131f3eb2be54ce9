"""A scripted stand-in for systemd, implementing the backend Protocol, for fast tests.

It keeps our own orchestration (groups, resets, keep-going, timeouts, partial
failure, verification, the failure policy) in the unit suite, the way
pip-tools' FakeRepository stands in for PyPI. It never stands in for a claim
about what systemd does: those are proven in the beds (tests/integration).

Job semantics follow systemd's for the cases the tests script: a restart
starts a new invocation, try-restart leaves a stopped unit alone, start leaves
a running one alone, reload keeps the invocation, reload-or-restart reloads
what can reload. A unit's ``script`` says how its next jobs end.
"""

from __future__ import annotations

import fnmatch
import itertools
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field

from smartrestart.errors import JobFailed, SystemdUnavailable
from smartrestart.systemd.backend import JobEnd, JobMethod, UnitState

STARTING = frozenset(
    {JobMethod.RESTART, JobMethod.START, JobMethod.TRY_RESTART, JobMethod.RELOAD_OR_RESTART}
)
_invocations = (f"{n:032x}" for n in itertools.count(1))


@dataclass
class FakeUnit:
    """One unit's state and how its next jobs end."""

    id: str
    aliases: tuple[str, ...] = ()
    load_state: str = "loaded"
    load_error: str = ""  # LoadError's message, when load_state is not "loaded"
    active_state: str = "active"
    sub_state: str = "running"
    can_reload: bool = False
    need_daemon_reload: bool = False
    service_type: str = "simple"
    result: str = "success"
    exec_main_status: int = 0
    # How the next jobs end, in order: "done", "failed" (the unit ends failed),
    # "hang" (no JobRemoved before the timeout), "refuse" (the submit call
    # itself fails), "bus-gone" (the bus breaks on submit), "no-op-done"
    # (done, but nothing restarted), "dies" (done and active, then failed by
    # the second read of its state: a Type=simple program exiting right after
    # its start), "crash-restarted" (the same, but systemd starts it again).
    # Then "done".
    script: list[str] = field(default_factory=list)
    invocation_id: str = field(default_factory=lambda: next(_invocations))
    starts: int = 0  # counted like systemd's start limit, cleared by reset-failed
    dropins: list[str] = field(default_factory=list)  # DropInPaths
    timers: list[tuple[str, int]] = field(default_factory=list)
    # What unit_statuses() reports besides the state (smartrestart status):
    n_restarts: int = 0
    main_pid: int = 0
    status_text: str = ""
    start_limit_burst: int = 5
    start_limit_interval_usec: int = 10_000_000
    restart_delay_usec: int = 100_000
    state_change_usec: int = 0
    exec_main_start_usec: int = 0
    timer_next_elapse_usec: int | None = None
    active_enter_usec: int = 0
    # Reads of the state left before a "dies" or "crash-restarted" start ends.
    dies_after_reads: int | None = None
    crash_restarts: bool = False

    def read(self) -> None:
        """One read of the state: a unit scripted to die does so on its second."""
        if self.dies_after_reads is None:
            return
        if self.dies_after_reads > 0:
            self.dies_after_reads -= 1
            return
        self.dies_after_reads = None
        if self.crash_restarts:
            self.invocation_id = next(_invocations)
            return
        self.active_state, self.sub_state, self.result = "failed", "failed", "exit-code"
        self.exec_main_status = 3

    def state(self, asked: str) -> UnitState:
        return UnitState(
            name=asked,
            load_state=self.load_state,
            active_state=self.active_state,
            sub_state=self.sub_state,
            invocation_id=self.invocation_id if self.load_state == "loaded" else "",
            need_daemon_reload=self.need_daemon_reload,
            can_reload=self.can_reload,
            load_error=self.load_error,
            service_type=self.service_type,
            result=self.result,
            exec_main_code=1 if self.result == "exit-code" else 0,
            exec_main_status=self.exec_main_status,
            id=self.id,
            job_pending=False,
            main_pid=self.main_pid if self.active_state == "active" else 0,
            active_enter_usec=self.active_enter_usec,
        )


@dataclass
class FakeSystemd:
    """The backend Protocol over :class:`FakeUnit` objects; records every call."""

    units: dict[str, FakeUnit] = field(default_factory=dict)
    manager_version: int = 257
    # Commands of run: steps -> exit status (0 when not listed); "hang" never ends,
    # "signal:N" is killed by signal N.
    commands: dict[tuple[str, ...], int | str] = field(default_factory=dict)
    calls: list[tuple[str, str]] = field(default_factory=list)
    # A method name whose next call raises this error (the bus gone mid-apply).
    fail_next: dict[str, Exception] = field(default_factory=dict)
    _jobs: dict[str, JobEnd | None] = field(default_factory=dict)
    _counter: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    reloads: int = 0
    closed: bool = False
    users: dict[str, str | None] = field(default_factory=dict)  # transient unit -> User=
    shutting_down: str = ""  # what shutdown_pending() answers

    def add(self, unit: FakeUnit) -> FakeUnit:
        self.units[unit.id] = unit
        return unit

    def lookup(self, name: str) -> FakeUnit | None:
        for unit in self.units.values():
            if name == unit.id or name in unit.aliases:
                return unit
        return None

    def _record(self, method: str, name: str) -> None:
        self.calls.append((method, name))
        error = self.fail_next.pop(method, None)
        if error is not None:
            raise error

    def calls_of(self, method: str) -> list[str]:
        return [name for called, name in self.calls if called == method]

    # --- the Protocol ------------------------------------------------------------

    def version(self) -> int:
        return self.manager_version

    def unit_states(self, names: Sequence[str]) -> dict[str, UnitState]:
        states: dict[str, UnitState] = {}
        for name in names:
            self._record("unit_states", name)
            unit = self.lookup(name)
            if unit is None:
                states[name] = UnitState(name, "not-found", "inactive", "dead", "", id=name)
            else:
                unit.read()
                states[name] = unit.state(name)
        return states

    def unit_names_matching(self, patterns: Sequence[str]) -> list[str]:
        loaded = [unit.id for unit in self.units.values() if unit.load_state == "loaded"]
        return sorted(u for u in loaded if any(fnmatch.fnmatchcase(u, p) for p in patterns))

    def unit_id(self, name: str) -> str:
        unit = self.lookup(name)
        return unit.id if unit is not None else name

    def unit_details(self, name: str) -> UnitState:
        self._record("unit_details", name)
        unit = self.lookup(name)
        if unit is None:
            return UnitState(name, "not-found", "inactive", "dead", "", id=name)
        return unit.state(name)

    def unit_statuses(self, names: Sequence[str]) -> dict[str, UnitState]:
        states = self.unit_states(names)
        for name, state in states.items():
            unit = self.lookup(name)
            if unit is None:
                continue
            service = name.endswith(".service")
            states[name] = state._replace(
                state_change_usec=unit.state_change_usec,
                n_restarts=unit.n_restarts if service else None,
                main_pid=unit.main_pid if service else None,
                status_text=unit.status_text if service else None,
                start_limit_burst=unit.start_limit_burst if service else None,
                start_limit_interval_usec=unit.start_limit_interval_usec if service else None,
                restart_delay_usec=unit.restart_delay_usec if service else None,
                exec_main_start_usec=unit.exec_main_start_usec if service else None,
                timer_next_elapse_usec=unit.timer_next_elapse_usec,
                service_type=unit.service_type if service else None,
                result=unit.result if service else None,
            )
        return states

    def need_daemon_reload(self, names: Sequence[str]) -> list[str]:
        return [n for n in names if (u := self.lookup(n)) is not None and u.need_daemon_reload]

    def can_reload(self, name: str) -> bool:
        unit = self.lookup(name)
        return unit is not None and unit.can_reload

    def reload_manager(self) -> None:
        self._record("reload_manager", "")
        self.reloads += 1
        for unit in self.units.values():
            unit.need_daemon_reload = False

    def shutdown_pending(self) -> str:
        self._record("shutdown_pending", "")
        return self.shutting_down

    def reset_failed(self, name: str) -> None:
        self._record("reset_failed", name)
        unit = self.lookup(name)
        if unit is not None:
            unit.starts = 0
            if unit.active_state == "failed":
                unit.active_state, unit.sub_state = "inactive", "dead"

    def submit(self, method: JobMethod, name: str) -> str:
        self._record(f"submit:{method.value}", name)
        unit = self.lookup(name)
        if unit is None:
            raise JobFailed(f"{method.value} {name}: Unit {name} not found.")
        outcome = unit.script.pop(0) if unit.script else "done"
        if outcome == "refuse":
            raise JobFailed(f"{method.value} {name}: refused by the fake")
        if outcome == "bus-gone":
            raise unreachable()
        job = f"/org/freedesktop/systemd1/job/{next(self._counter)}"
        self._jobs[job] = None if outcome == "hang" else self._run(method, unit, outcome)
        return job

    def _run(self, method: JobMethod, unit: FakeUnit, outcome: str) -> JobEnd:
        stopped = unit.active_state in ("inactive", "failed", "deactivating")
        if method is JobMethod.TRY_RESTART and stopped:
            return JobEnd("done", 0.0)
        if method is JobMethod.START and not stopped:
            return JobEnd("done", 0.0)
        if method is JobMethod.STOP:
            unit.active_state, unit.sub_state = "inactive", "dead"
            return JobEnd("done", 0.0)
        reloads = method is JobMethod.RELOAD or (
            method is JobMethod.RELOAD_OR_RESTART and not stopped and unit.can_reload
        )
        if reloads or outcome == "no-op-done":
            return JobEnd("done", 0.0)
        unit.starts += 1
        unit.invocation_id = next(_invocations)
        if outcome == "failed":
            unit.active_state, unit.sub_state, unit.result = "failed", "failed", "exit-code"
            unit.exec_main_status = 1
            return JobEnd("failed", 0.0)
        unit.active_state, unit.sub_state, unit.result = "active", "running", "success"
        unit.main_pid += 100
        unit.active_enter_usec += 1_000_000
        if outcome in ("dies", "crash-restarted"):
            unit.dies_after_reads, unit.crash_restarts = 1, outcome == "crash-restarted"
        return JobEnd("done", 0.0)

    def start_transient(
        self,
        name: str,
        argv: Sequence[str],
        *,
        description: str,
        working_directory: str,
        environment: Sequence[str] = (),
        user: str | None = None,
    ) -> str:
        self._record("start_transient", name)
        self.users[name] = user
        status = self.commands.get(tuple(argv), 0)
        unit = self.add(FakeUnit(name, service_type="oneshot", active_state="inactive"))
        job = f"/org/freedesktop/systemd1/job/{next(self._counter)}"
        if status == "hang":
            self._jobs[job] = None
            return job
        if isinstance(status, str) and status.startswith("signal:"):
            unit.active_state, unit.sub_state, unit.result = "failed", "failed", "signal"
            unit.exec_main_status = int(status.removeprefix("signal:"))
            self._jobs[job] = JobEnd("failed", 0.0)
            return job
        assert isinstance(status, int)
        if status == 0:
            unit.sub_state, unit.result = "dead", "success"
            self._jobs[job] = JobEnd("done", 0.0)
        else:
            unit.active_state, unit.sub_state, unit.result = "failed", "failed", "exit-code"
            unit.exec_main_status = status
            self._jobs[job] = JobEnd("failed", 0.0)
        return job

    def start_timer(self, name: str, after_usec: int, *, description: str) -> str:
        self._record("start_timer", name)
        self.add(FakeUnit(name, active_state="active", sub_state="waiting")).timers.append(
            (name, after_usec)
        )
        job = f"/org/freedesktop/systemd1/job/{next(self._counter)}"
        self._jobs[job] = JobEnd("done", 0.0)
        return job

    def dropin_paths(self, name: str) -> list[str]:
        unit = self.lookup(name)
        return list(unit.dropins) if unit is not None else []

    def wait_jobs(self, jobs: Collection[str], timeout: float) -> dict[str, JobEnd]:
        self._record("wait_jobs", " ".join(jobs))
        return {job: end for job in jobs if (end := self._jobs.get(job)) is not None}

    def close(self) -> None:
        self.closed = True


def unreachable() -> SystemdUnavailable:
    return SystemdUnavailable("cannot reach the system bus: the fake bus is gone")
