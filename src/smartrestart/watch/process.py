"""``watch`` in process mode: run a program, restart it only when what it imports changed.

Other reloaders restart on every saved file. Here the program's entry module
(``python FILE``, ``python -m MODULE``, or ``--entry FILE``) decides: a batch
restarts the program only when a changed file is the entry or one of the
files it imports, transitively, as the reverse import graph says (the same
graph as ``decide --root``, cached, so each batch re-reads only what changed).

A restart is graceful: SIGTERM, then SIGKILL after ``--stop-timeout``; then
``--restart-delay``; then the program again. State a program wants to keep
goes through :class:`smartrestart.notify.StateStore` (save on SIGTERM, load
on start), as the README shows.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable, Sequence
from types import FrameType
from typing import TYPE_CHECKING, NamedTuple

from smartrestart.errors import UsageError
from smartrestart.paths import WorkingDirectory
from smartrestart.watch import output
from smartrestart.watch.bytecode import drop_bytecode
from smartrestart.watch.model import Entry, entry_from_argv, module_candidates
from smartrestart.watch.watcher import settled_batches

if TYPE_CHECKING:
    from smartrestart.importgraph.graph import ImportGraph


class ProcessRequest(NamedTuple):
    argv: tuple[str, ...]
    roots: tuple[str, ...] = ()
    entry: str | None = None
    cache_dir: str | None = None
    include_type_checking: bool = False
    settle: float = 0.1
    ceiling: float = 2.0
    stop_timeout: float = 10.0
    restart_delay: float = 0.0


class Program:
    """The program as our child; restarted in place."""

    def __init__(self, argv: Sequence[str], say: Callable[[str], None]) -> None:
        self.argv = list(argv)
        self.say = say
        self.process: subprocess.Popen[bytes] | None = None
        self.stopping = False

    def start(self) -> int:
        try:
            self.process = subprocess.Popen(self.argv)
        except OSError as exc:
            raise UsageError(f"cannot run {self.argv[0]}: {exc.strerror or exc}") from None
        self.stopping = False
        return self.process.pid

    def stop(self, timeout: float) -> None:
        process = self.process
        if process is None or process.poll() is not None:
            return
        self.stopping = True
        process.terminate()
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            self.say(output.stop_forced(timeout))

    def check_exited(self) -> None:
        """Say once that the program ended by itself (not by our stop)."""
        process = self.process
        if process is None or self.stopping or process.poll() is None:
            return
        code = process.returncode
        self.stopping = True  # said once
        described = f"exited with status {code}" if code >= 0 else f"was killed by signal {-code}"
        self.say(output.exited(described))


def run_watch_process(request: ProcessRequest, say: Callable[[str], None]) -> int:
    from smartrestart.importgraph.build import build_graph

    cwd = WorkingDirectory.current()
    roots = [cwd.absolute(r) for r in request.roots] or [cwd.physical]
    entry_spec = entry_from_argv(request.argv, request.entry)

    def graph() -> ImportGraph:
        return build_graph(
            roots,
            cache_dir=request.cache_dir,
            include_type_checking=request.include_type_checking,
        )

    entry = resolve_entry(entry_spec, graph(), cwd)
    directories = _directories(roots, entry)
    program = Program(request.argv, say)
    _install_handlers(program)
    try:
        say(output.started(request.argv, program.start(), cwd.relative(entry)))
        for paths in settled_batches(
            directories,
            settle_ms=max(1, round(request.settle * 1000)),
            ceiling_ms=max(1, round(request.ceiling * 1000)),
            warn=lambda text: say(output.warning(text)),
        ):
            shown = [cwd.relative(p) for p in paths]
            chain = restart_chain(graph(), paths, entry)
            if chain is None:
                say(output.ignored(shown, cwd.relative(entry)))
                continue
            say(output.restarting(shown, [cwd.relative(step) for step in chain]))
            program.stop(request.stop_timeout)
            drop_bytecode(paths)  # a same-second, same-size save would keep the old code
            time.sleep(request.restart_delay)
            program.start()
    finally:  # also when stopped (KeyboardInterrupt: SIGTERM, SIGINT, SIGHUP)
        program.stop(request.stop_timeout)
    return 0


def resolve_entry(entry: Entry, graph: ImportGraph, cwd: WorkingDirectory) -> str:
    """The entry's physical absolute path (a module is looked up under the roots)."""
    if entry.file is not None:
        path = os.path.realpath(cwd.absolute(entry.file))
        if not os.path.isfile(path):  # noqa: PTH113
            raise UsageError(f"entry file {entry.file}: no such file")
        return path
    assert entry.module is not None
    for wanted in module_candidates(entry.module):
        for part in graph.parts:
            for position, module in enumerate(part.tables.modules):
                if module == wanted:
                    return part.path(position)
    raise UsageError(
        f"module {entry.module} (python -m) is not under the roots "
        f"({', '.join(str(p.root.path) for p in graph.parts)}): give --root or --entry FILE"
    )


def restart_chain(graph: ImportGraph, paths: Sequence[str], entry: str) -> tuple[str, ...] | None:
    """How a changed file reaches ``entry`` (changed file first), or None: no restart."""
    physical = [os.path.realpath(p) for p in paths]
    if entry in physical:
        return (entry,)
    return graph.expand(physical).chains().get(entry)


def _directories(roots: Sequence[str], entry: str) -> list[str]:
    entry_dir = os.path.dirname(entry)  # noqa: PTH120
    inside = any(entry_dir == r or entry_dir.startswith(r.rstrip("/") + "/") for r in roots)
    return [*roots] if inside else [*roots, entry_dir]


def _install_handlers(program: Program) -> None:
    def child_ended(number: int, frame: FrameType | None) -> None:
        program.check_exited()

    signal.signal(signal.SIGCHLD, child_ended)
