"""What smartrestart needs from systemd, as one small interface.

``apply``, ``generate`` and the failure handler talk to systemd only through
:class:`SystemdBackend`. The real implementation is
:class:`smartrestart.systemd.dbus.PystemdBackend`; the pure planning code
never needs one, and integration tests use the real one in a test bed.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from enum import StrEnum
from typing import Protocol

from smartrestart.records import NamedTuple


class JobMethod(StrEnum):
    """Manager methods that queue a job on a unit."""

    RESTART = "RestartUnit"
    TRY_RESTART = "TryRestartUnit"
    RELOAD_OR_RESTART = "ReloadOrRestartUnit"
    RELOAD = "ReloadUnit"
    START = "StartUnit"
    STOP = "StopUnit"


class JobEnd(NamedTuple):
    """A finished job: systemd's result and when (``time.monotonic()``) we saw it end."""

    result: str  # done, canceled, timeout, failed, dependency, skipped
    finished_at: float


class UnitState(NamedTuple):
    """A unit's properties that decide whether a job did what it should.

    :meth:`SystemdBackend.unit_states` reads the first fields cheaply, for many
    units at once; :meth:`SystemdBackend.unit_details` reads all of them. A
    field that was not read is None, never a value that could mean "no".
    """

    name: str  # as asked: an alias stays an alias
    load_state: str  # loaded, not-found, masked, bad-setting, error
    active_state: str  # active, reloading, inactive, failed, activating, deactivating
    sub_state: str
    invocation_id: str  # changes on every start: proof a restart happened ("" never ran)
    # The unit's id as systemd reports it: the primary name behind an alias
    # (ssh.service for sshd.service).
    id: str = ""
    load_error: str = ""
    need_daemon_reload: bool | None = None
    can_reload: bool | None = None
    job_pending: bool | None = None  # a job (such as an automatic restart) is queued
    # Service units only (None for other types, or when not read):
    service_type: str | None = None
    result: str | None = None  # success, exit-code, signal, timeout, watchdog, ...
    exec_main_code: int | None = None  # CLD_EXITED=1, CLD_KILLED=2, CLD_DUMPED=3
    exec_main_status: int | None = None
    n_restarts: int | None = None
    main_pid: int | None = None
    active_enter_usec: int | None = None  # realtime µs of ActiveEnterTimestamp (0: never)
    # Read by :meth:`SystemdBackend.unit_statuses` only (``smartrestart status``):
    status_text: str | None = None  # STATUS= of sd_notify
    state_change_usec: int | None = None  # realtime µs of the last state change (0: never)
    start_limit_burst: int | None = None  # StartLimitBurst= (services)
    start_limit_interval_usec: int | None = None  # StartLimitIntervalUSec= (services)
    # The delay before the next automatic restart: RestartUSecNext (systemd >= 254,
    # which grows it by RestartSteps=), else RestartUSec.
    restart_delay_usec: int | None = None
    exec_main_start_usec: int | None = None  # realtime µs the main process started (0: never)
    timer_next_elapse_usec: int | None = None  # timers: next elapse, CLOCK_MONOTONIC µs

    @property
    def is_active(self) -> bool:
        return self.active_state in ("active", "reloading")


class SystemdBackend(Protocol):
    """The operations smartrestart performs on a systemd manager."""

    def version(self) -> int:
        """Major version of the running manager, e.g. 252."""

    def unit_states(self, names: Sequence[str]) -> dict[str, UnitState]:
        """Load ``names`` (without starting them) and read their states, cheaply.

        Keyed by the names asked for (an alias included), each state carrying
        the unit's ``id``. Fills the fields every step needs (load, active and
        sub state, InvocationID, load error); the service-only fields stay empty.
        """

    def unit_names_matching(self, patterns: Sequence[str]) -> list[str]:
        """Loaded units whose names match any of the glob ``patterns`` (``worker@*.service``)."""

    def unit_id(self, name: str) -> str:
        """The unit's own name: ``ssh.service`` for its alias ``sshd.service``.

        ``name`` itself when systemd has no such unit (not found is no alias).
        """

    def unit_details(self, name: str) -> UnitState:
        """The fields apply and the failure handler judge by, service fields included (slower)."""

    def unit_statuses(self, names: Sequence[str]) -> dict[str, UnitState]:
        """What ``smartrestart status`` shows of ``names``, keyed by the names asked.

        :meth:`unit_states`, plus whether a job is queued, the state change time
        and StatusText; for services Result, MainPID, NRestarts, the main
        process's start, the start limit and the next restart delay; for timers
        the next elapse. Read property by property: a GetAll costs ten times more.
        """

    def need_daemon_reload(self, names: Sequence[str]) -> list[str]:
        """Those of ``names`` whose unit files changed since the last daemon-reload."""

    def can_reload(self, name: str) -> bool:
        """Whether ``name`` has a reload command (ReloadOrRestart reloads it)."""

    def reload_manager(self) -> None:
        """``daemon-reload``; returns when the reload finished."""

    def shutdown_pending(self) -> str:
        """Why the system is going down (the manager stopping, logind preparing), or ""."""

    def reset_failed(self, name: str) -> None:
        """Clear the failed state and the start-rate counter of ``name``."""

    def submit(self, method: JobMethod, name: str) -> str:
        """Queue a job (mode ``replace``) and return its object path."""

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
        """Start a transient ``Type=oneshot`` service running ``argv``; return its job path.

        ``user`` runs it as that account (``User=``) instead of root.
        """

    def start_timer(self, name: str, after_usec: int, *, description: str) -> str:
        """Start a transient ``.timer`` that fires once, ``after_usec`` from now.

        It activates the service of the same name, as ``systemd-run --on-active`` does.
        """

    def dropin_paths(self, name: str) -> list[str]:
        """The drop-in files systemd loaded for ``name`` (``DropInPaths``)."""

    def wait_jobs(self, jobs: Collection[str], timeout: float) -> dict[str, JobEnd]:
        """How ``jobs`` ended; jobs still pending at the deadline are missing."""

    def close(self) -> None: ...
