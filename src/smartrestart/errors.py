"""Error types, each carrying the exit code the CLI returns for it.

The exit codes are one table (:data:`EXIT_CODES`) from which ``--help`` and the
man page are derived, so the documentation cannot drift from the code.
"""

from __future__ import annotations

from enum import IntEnum

from smartrestart.records import NamedTuple


class ExitCode(IntEnum):
    """Process exit codes of every smartrestart command."""

    OK = 0
    FAILED = 1
    USAGE = 2
    SYSTEMD = 3
    NOT_ACTIVE = 3  # status: a unit shown is not active, as systemctl is-active says
    LOCK_BUSY = 4
    INTERNAL = 70  # EX_SOFTWARE
    INTERRUPTED = 130  # 128 + SIGINT, as shells report it


EXIT_CODES: dict[ExitCode, str] = {
    ExitCode.OK: "success, also when there was nothing to do",
    ExitCode.FAILED: (
        "a unit or command failed, or an error came after something had already acted "
        "(apply); something would change (--check)"
    ),
    ExitCode.USAGE: "usage or configuration error; nothing acted",
    ExitCode.SYSTEMD: "cannot reach systemd or not allowed by it (no bus, access denied); "
    "nothing acted; status: a unit shown is not active (as systemctl is-active)",
    ExitCode.LOCK_BUSY: "another smartrestart apply holds the lock; nothing acted",
    ExitCode.INTERNAL: "internal error (a bug in smartrestart); nothing acted",
    ExitCode.INTERRUPTED: "interrupted (SIGINT) before anything acted",
}


def exit_codes_help() -> str:
    """Render the exit-code table for ``--help`` epilogs (``\b`` keeps click from rewrapping it)."""
    return "\b\n" + "\n".join(f"  {int(code):>3}  {text}" for code, text in EXIT_CODES.items())


class SmartRestartError(Exception):
    """Base of every error the CLI reports as a message instead of a traceback."""

    exit_code: ExitCode = ExitCode.FAILED

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


class Location(NamedTuple):
    """Where a value came from: file and 1-based line (0 when unknown).

    Records on the ``decide`` path are NamedTuples rather than frozen
    dataclasses: their classes are built about eight times faster, which
    matters for a command whose start-up budget is 1.3x that of click + yaml.
    """

    file: str  # as pathlib would spell it (see smartrestart.pathnames)
    line: int = 0

    def __str__(self) -> str:
        return f"{self.file}:{self.line}" if self.line else str(self.file)


class ConfigError(SmartRestartError):
    """Invalid rules file: names the file, line and field."""

    exit_code = ExitCode.USAGE

    def __init__(
        self, location: Location, field: str, problem: str, hint: str | None = None
    ) -> None:
        where = f"{location}: " if field == "" else f"{location}: {field}: "
        super().__init__(where + problem, hint)
        self.location = location
        self.field = field
        self.problem = problem


class UsageError(SmartRestartError):
    """Bad command-line input that click itself cannot detect."""

    exit_code = ExitCode.USAGE


class UnitNotUsable(SmartRestartError):
    """A unit named in the rules does not exist, is masked or failed to load."""

    exit_code = ExitCode.USAGE


class SystemdUnavailable(SmartRestartError):
    """No system bus, or systemd refused us (access denied)."""

    exit_code = ExitCode.SYSTEMD


class JobFailed(SmartRestartError):
    """A unit job or a ``run:`` command failed."""

    exit_code = ExitCode.FAILED


class LockBusy(SmartRestartError):
    """Another apply holds the host-wide lock."""

    exit_code = ExitCode.LOCK_BUSY


class ActionLedger:
    """Whether this process has changed anything yet (a job, a reload, a written file).

    Exit code 2 promises "nothing acted"; once anything has, an error must not
    claim that. The few places that change the system record it here, and the
    CLI's error handler reads it, whatever the error.
    """

    acted: str = ""  # what acted first, for the message; empty: nothing yet

    @classmethod
    def record(cls, what: str) -> None:
        if not cls.acted:
            cls.acted = what

    @classmethod
    def reset(cls) -> None:
        cls.acted = ""
