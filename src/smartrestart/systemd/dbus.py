"""The systemd backend on pystemd's D-Bus layer (``pystemd.dbuslib``).

Only the low-level API that pystemd 0.11 (Debian 12) and 0.15 (PyPI) share is
used: ``DBus``, ``call_method``, ``get_property``, ``match_signal``,
``process``, ``wait`` and ``apply_signature``. sd-bus honours
``DBUS_SYSTEM_BUS_ADDRESS``, so the same code reaches a container's manager.

Jobs are awaited the way systemctl does it: subscribe, add a match for
``JobRemoved`` *before* submitting (a fast job would otherwise finish
unseen), keep every result by job path, and pump the bus until each awaited
path has come back or the deadline passes.
"""

from __future__ import annotations

import time
from collections.abc import Collection, Sequence
from typing import Any

from smartrestart.errors import JobFailed, SystemdUnavailable, UsageError
from smartrestart.systemd.backend import JobEnd, JobMethod, UnitState
from smartrestart.systemd.dbus_status import (
    DESTINATION,
    MANAGER,
    MANAGER_PATH,
    SERVICE,
    UNIT,
    StatusReads,
    private_bus,
)
from smartrestart.systemd.dbus_status import bus_text as _text
from smartrestart.systemd.dbuserrors import error_text as _error_text
from smartrestart.systemd.dbuserrors import is_unit_exists as _is_unit_exists
from smartrestart.systemd.dbuserrors import translate as _translate
from smartrestart.systemd.pystemdlib import DBus, DBusBaseError, apply_signature

PROPERTIES = b"org.freedesktop.DBus.Properties"
LOGIND = b"org.freedesktop.login1"
LOGIND_PATH = b"/org/freedesktop/login1"
LOGIND_MANAGER = b"org.freedesktop.login1.Manager"
TIMER_ACCURACY_USEC = 100_000
# How long replacing a still-loaded transient timer may take (stop job + collection).
REPLACE_TIMER_TIMEOUT = 30.0
SYSTEM_BUS_HINT = "is systemd running here? DBUS_SYSTEM_BUS_ADDRESS selects another bus"
USER_BUS_HINT = (
    "--user needs the user's own bus: XDG_RUNTIME_DIR=/run/user/UID set, a running "
    "user@UID.service (a login, or loginctl enable-linger USER) and dbus-user-session"
)

# D-Bus signature of each property smartrestart sets on transient units.
_PROPERTY_SIGNATURES: dict[str, bytes] = {
    "Description": b"s",
    "Type": b"s",
    "RemainAfterExit": b"b",
    "ExecStart": b"a(sasb)",
    "WorkingDirectory": b"s",
    "User": b"s",
    "Environment": b"as",
    "CollectMode": b"s",
    "TimersMonotonic": b"a(st)",
    "RemainAfterElapse": b"b",
    "AccuracyUSec": b"t",
}


def unit_object_path(name: str) -> bytes:
    """A unit's D-Bus object path, escaped as systemd's ``bus_label_escape()`` does.

    systemd loads a unit on demand when its object path is accessed, so this
    saves a LoadUnit round trip per property read.
    """
    escaped = []
    for index, char in enumerate(name.encode()):
        letter = 0x41 <= char <= 0x5A or 0x61 <= char <= 0x7A
        digit = 0x30 <= char <= 0x39 and index > 0
        escaped.append(chr(char) if letter or digit else f"_{char:02x}")
    return b"/org/freedesktop/systemd1/unit/" + "".join(escaped).encode()


def _variant(name: str, value: Any) -> list[tuple[int, Any]]:
    signature = _PROPERTY_SIGNATURES[name]
    return [
        (ord("r"), b"sv"),
        (ord("s"), name.encode()),
        (ord("v"), signature),
        *apply_signature(signature, [value]),
        (-1, None),
        (-1, None),
    ]


def _properties(values: dict[str, Any]) -> list[tuple[int, Any]]:
    args: list[tuple[int, Any]] = [(ord("a"), b"(sv)")]
    for name, value in values.items():
        args.extend(_variant(name, value))
    args.append((-1, None))
    return args


class PystemdBackend(StatusReads):
    """:class:`~smartrestart.systemd.backend.SystemdBackend` over the system bus."""

    def __init__(self, *, user: bool = False, private: bool = False) -> None:
        # The private socket is the system manager's own: never for --user.
        self._bus: Any = private_bus() if private and not user else None
        if self._bus is None:
            self._bus = DBus(user_mode=user)  # pystemd 0.11 and 0.15 alike
            try:
                self._bus.open()
            except DBusBaseError as exc:
                raise SystemdUnavailable(
                    f"cannot reach the {'user' if user else 'system'} bus: "
                    f"{exc.err_message or type(exc).__name__} (errno {exc.errno})",
                    hint=USER_BUS_HINT if user else SYSTEM_BUS_HINT,
                ) from None
        self._removed: dict[str, JobEnd] = {}
        removed = self._removed

        def on_job_removed(message: Any, error: Any = None, userdata: Any = None) -> None:
            message.process_reply(True)
            _job_id, job_path, _unit, result = message.body
            removed[_text(job_path)] = JobEnd(_text(result), time.monotonic())

        # pystemd keeps only a borrowed pointer to the callback (and sets an
        # attribute on it, which a bound method would refuse): hold it here.
        self._job_callback = on_job_removed
        self._bus.match_signal(DESTINATION, MANAGER_PATH, MANAGER, b"JobRemoved", on_job_removed)
        self._call(MANAGER_PATH, MANAGER, b"Subscribe", [], doing="subscribing to job signals")

    # --- plumbing ---------------------------------------------------------------

    def _call(
        self, path: bytes, interface: bytes, method: bytes, args: list[Any], *, doing: str
    ) -> Any:
        try:
            return self._bus.call_method(DESTINATION, path, interface, method, args).body
        except DBusBaseError as exc:
            raise _translate(exc, doing) from None

    def _pump(self, deadline: float) -> None:
        """Dispatch everything queued on the bus, then wait for more until ``deadline``."""
        while not self._bus.process().is_empty():
            pass
        remaining = deadline - time.monotonic()
        if remaining > 0:
            self._bus.wait(int(min(remaining, 1.0) * 1_000_000))
        while not self._bus.process().is_empty():
            pass

    # --- the interface ----------------------------------------------------------------

    def version(self) -> int:
        try:
            raw = self._bus.get_property(DESTINATION, MANAGER_PATH, MANAGER, b"Version", b"s")
        except DBusBaseError as exc:
            raise _translate(exc, "reading the systemd version") from None
        text = _text(raw).lstrip("v")
        digits = "".join(c for c in text.split(".")[0].split("~")[0].split("-")[0] if c.isdigit())
        return int(digits)

    def _get(self, path: bytes, interface: bytes, name: bytes, signature: bytes, doing: str) -> Any:
        try:
            return self._bus.get_property(DESTINATION, path, interface, name, signature)
        except DBusBaseError as exc:
            raise _translate(exc, doing) from None

    def unit_states(self, names: Sequence[str]) -> dict[str, UnitState]:
        # One ListUnitsByNames (which loads the units) instead of GetAll per
        # unit: GetAll on a service costs ~2.5 ms, this ~0.5 ms for 50 units,
        # plus ~0.2 ms per unit for its InvocationID.
        if not names:
            return {}
        doing = f"loading {', '.join(names)}"
        rows = self._call(
            MANAGER_PATH,
            MANAGER,
            b"ListUnitsByNames",
            apply_signature(b"as", [[n.encode() for n in names]]),
            doing=doing,
        )
        if len(rows) != len(names):  # systemd skips names it deems invalid; ours were checked
            raise UsageError(f"{doing}: systemd answered for {len(rows)} of {len(names)} units")
        states: dict[str, UnitState] = {}
        # One row per name asked, in order; the row names the unit's id, which
        # differs from the name asked for an alias (sshd.service -> ssh.service).
        for asked, row in zip(names, rows, strict=True):
            unit_id, _desc, load, active, sub, _following, path, job_id, _job_type, _job = row
            state = UnitState(
                asked,
                _text(load),
                _text(active),
                _text(sub),
                "",
                id=_text(unit_id),
                job_pending=int(job_id) != 0,
            )
            if state.load_state == "loaded":
                raw = self._get(path, UNIT, b"InvocationID", b"ay", doing)
                state = state._replace(invocation_id=bytes(raw).hex())
            else:
                error = self._get(path, UNIT, b"LoadError", b"(ss)", doing)
                state = state._replace(load_error=_text(error[1]) if error and error[0] else "")
            states[asked] = state
        return states

    def need_daemon_reload(self, names: Sequence[str]) -> list[str]:
        stale: list[str] = []
        for name in names:
            path = self._unit_path(name)
            if self._get(path, UNIT, b"NeedDaemonReload", b"b", f"reading {name}"):
                stale.append(name)
        return stale

    def can_reload(self, name: str) -> bool:
        return bool(self._get(self._unit_path(name), UNIT, b"CanReload", b"b", f"reading {name}"))

    @staticmethod
    def _unit_path(name: str) -> bytes:
        return unit_object_path(name)

    def unit_id(self, name: str) -> str:
        return self.unit_states([name])[name].id or name

    def unit_details(self, name: str) -> UnitState:
        doing = f"loading {name}"
        path = self._call(
            MANAGER_PATH, MANAGER, b"LoadUnit", apply_signature(b"s", [name.encode()]), doing=doing
        )
        unit = self._call(path, PROPERTIES, b"GetAll", apply_signature(b"s", [UNIT]), doing=doing)
        load_error = unit.get(b"LoadError", (b"", b""))
        state = UnitState(
            name=name,
            load_state=_text(unit[b"LoadState"]),
            active_state=_text(unit[b"ActiveState"]),
            sub_state=_text(unit[b"SubState"]),
            invocation_id=bytes(unit[b"InvocationID"]).hex(),
            need_daemon_reload=bool(unit[b"NeedDaemonReload"]),
            can_reload=bool(unit[b"CanReload"]),
            load_error=_text(load_error[1]) if load_error and load_error[0] else "",
            job_pending=int(unit[b"Job"][0]) != 0,
            id=_text(unit[b"Id"]),
            active_enter_usec=int(unit[b"ActiveEnterTimestamp"]),
        )
        if not name.endswith(".service") or state.load_state != "loaded":
            return state
        service = self._call(
            path, PROPERTIES, b"GetAll", apply_signature(b"s", [SERVICE]), doing=doing
        )
        return state._replace(
            service_type=_text(service[b"Type"]),
            result=_text(service[b"Result"]),
            exec_main_code=int(service[b"ExecMainCode"]),
            exec_main_status=int(service[b"ExecMainStatus"]),
            n_restarts=int(service.get(b"NRestarts", 0)),
            main_pid=int(service[b"MainPID"]),
        )

    def reload_manager(self) -> None:
        self._call(MANAGER_PATH, MANAGER, b"Reload", [], doing="reloading the systemd manager")

    def shutdown_pending(self) -> str:
        # "stopping": shutdown.target queued or active. A delay inhibitor (as
        # unattended-upgrades' install-on-shutdown takes) only logind knows of.
        state = self._get(MANAGER_PATH, MANAGER, b"SystemState", b"s", "reading the system state")
        if _text(state) == "stopping":
            return "the system is shutting down (SystemState=stopping)"
        try:
            preparing = self._bus.get_property(
                LOGIND, LOGIND_PATH, LOGIND_MANAGER, b"PreparingForShutdown", b"b"
            )
        except DBusBaseError:
            return ""  # no logind here, so nothing is holding a shutdown back
        return "logind is preparing for shutdown (PreparingForShutdown=yes)" if preparing else ""

    def reset_failed(self, name: str) -> None:
        args = apply_signature(b"s", [name.encode()])
        try:
            self._bus.call_method(DESTINATION, MANAGER_PATH, MANAGER, b"ResetFailedUnit", args)
        except DBusBaseError as exc:
            # A unit systemd has unloaded (inactive, unreferenced) has no
            # failed state or start counter left to reset.
            if type(exc).__name__ != "DBusNoSuchUnitError":
                raise _translate(exc, f"resetting {name}") from None

    def submit(self, method: JobMethod, name: str) -> str:
        args = apply_signature(b"ss", [name.encode(), b"replace"])
        job = self._call(
            MANAGER_PATH, MANAGER, method.value.encode(), args, doing=f"{method.value} {name}"
        )
        return _text(job)

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
        command = [(argv[0].encode(), [a.encode() for a in argv], False)]
        properties: dict[str, Any] = {
            "Description": description.encode(),
            "Type": b"oneshot",
            "RemainAfterExit": False,
            "ExecStart": command,
            "WorkingDirectory": working_directory.encode(),
            "Environment": [e.encode() for e in environment],
        }
        if user is not None:
            properties["User"] = user.encode()
        args = [
            *apply_signature(b"ss", [name.encode(), b"fail"]),
            *_properties(properties),
            (ord("a"), b"(sa(sv))"),
            (-1, None),
        ]
        job = self._call(
            MANAGER_PATH, MANAGER, b"StartTransientUnit", args, doing=f"starting {name}"
        )
        return _text(job)

    def start_timer(self, name: str, after_usec: int, *, description: str) -> str:
        properties = {
            "Description": description.encode(),
            "TimersMonotonic": [(b"OnActiveSec", after_usec)],
            "RemainAfterElapse": False,
            # Timers coalesce wake-ups within AccuracySec= (default 1 min),
            # which would stretch a short cooldown by up to a minute.
            "AccuracyUSec": TIMER_ACCURACY_USEC,
        }
        args = [
            *apply_signature(b"ss", [name.encode(), b"fail"]),
            *_properties(properties),
            (ord("a"), b"(sa(sv))"),
            (-1, None),
        ]
        deadline = time.monotonic() + REPLACE_TIMER_TIMEOUT
        stopped = False
        while True:
            try:
                reply = self._bus.call_method(
                    DESTINATION, MANAGER_PATH, MANAGER, b"StartTransientUnit", args
                )
                return _text(reply.body)
            except DBusBaseError as exc:
                if not _is_unit_exists(exc):
                    raise _translate(exc, f"starting {name}") from None
            # A timer of that name is still loaded: a cooldown not over yet, or
            # one stopped but not yet collected (transient units are freed by
            # the manager's garbage collection, after their stop job). Replace
            # it, so the newest cooldown wins: stop it and wait for that job,
            # reset it, then try again until the manager let go of it.
            if time.monotonic() >= deadline:
                raise JobFailed(
                    f"starting {name}: a timer of that name is still loaded "
                    f"{REPLACE_TIMER_TIMEOUT:g} s after it was stopped"
                )
            if not stopped:
                job = self._stop_if_loaded(name)
                if job is not None:
                    self.wait_jobs([job], max(0.0, deadline - time.monotonic()))
                stopped = True
            self.reset_failed(name)
            self._pump(min(deadline, time.monotonic() + 0.05))

    def _stop_if_loaded(self, name: str) -> str | None:
        """Queue a stop job for ``name``; None when systemd no longer has such a unit."""
        args = apply_signature(b"ss", [name.encode(), b"replace"])
        try:
            reply = self._bus.call_method(DESTINATION, MANAGER_PATH, MANAGER, b"StopUnit", args)
        except DBusBaseError as exc:
            if "NoSuchUnit" in _error_text(exc):
                return None
            raise _translate(exc, f"stopping {name}") from None
        return _text(reply.body)

    def dropin_paths(self, name: str) -> list[str]:
        paths = self._get(unit_object_path(name), UNIT, b"DropInPaths", b"as", f"reading {name}")
        return [_text(p) for p in paths]

    def wait_jobs(self, jobs: Collection[str], timeout: float) -> dict[str, JobEnd]:
        deadline = time.monotonic() + timeout
        pending = set(jobs)
        while True:
            pending -= self._removed.keys()
            if not pending or time.monotonic() >= deadline:
                break
            self._pump(deadline)
        return {job: self._removed[job] for job in jobs if job in self._removed}

    def close(self) -> None:
        self._bus.close()
