"""What ``watch`` says: one line per batch (or the apply's table), on stdout as it happens."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from smartrestart.watch.model import describe_paths

if TYPE_CHECKING:
    from smartrestart.apply.model import Report

PREFIX = "smartrestart watch: "


def watching(directories: Sequence[str], user: bool) -> str:
    manager = "the user's manager" if user else "the system manager"
    return f"{PREFIX}watching {', '.join(directories)} (units of {manager})"


def warning(text: str) -> str:
    return f"{PREFIX}warning: {text}"


def nothing(paths: Sequence[str]) -> str:
    return f"{PREFIX}{describe_paths(paths)}: no rule or import chain reaches a unit; nothing to do"


def batch_error(paths: Sequence[str], message: str, hint: str | None) -> str:
    line = f"{PREFIX}{describe_paths(paths)}: error: {message}; still watching"
    return line + (f"\n{PREFIX}hint: {hint}" if hint else "")


def applied(paths: Sequence[str], report: Report, seconds: float) -> str:
    from smartrestart.apply.output import render_table

    verdict = "failed" if report.exit_code else "done"
    head = f"{PREFIX}{describe_paths(paths)} changed: apply {verdict} in {seconds:.2f} s"
    return head + "\n" + render_table(report).rstrip("\n")


# --- process mode ------------------------------------------------------------------------


def started(argv: Sequence[str], pid: int, entry: str) -> str:
    command = " ".join(argv)
    return f"{PREFIX}started {command} (pid {pid}); restarts when {entry} or its imports change"


def restarting(paths: Sequence[str], chain: Sequence[str]) -> str:
    how = f" (imported through {' -> '.join(chain)})" if len(chain) > 1 else ""
    return f"{PREFIX}{describe_paths(paths)} changed{how}: restarting"


def ignored(paths: Sequence[str], entry: str) -> str:
    return f"{PREFIX}{describe_paths(paths)} changed, not imported by {entry}: not restarting"


def exited(description: str) -> str:
    return f"{PREFIX}the program {description}; it starts again at the next change it imports"


def stop_forced(seconds: float) -> str:
    return f"{PREFIX}the program did not stop within {seconds:g} s of SIGTERM: killed (SIGKILL)"
