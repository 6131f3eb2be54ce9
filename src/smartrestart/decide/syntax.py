"""Changed Python files that will not even compile: worth knowing before a restart.

The code being deployed may target a newer Python than the one running
smartrestart (on Debian 12 the CLI runs on 3.11; a project may use 3.12's
``type X = ...`` or PEP 701 f-strings). A file that this interpreter rejects
is reported as a syntax error only when its verdict is the project's:

* with ``--python PATH``, the project's own interpreter compiles the files;
* with ``requires-python`` in the project's ``pyproject.toml``, this
  interpreter decides when it is at least the oldest version the project
  supports, and the check is skipped (and said so) when it is older;
* otherwise a file this interpreter rejects is reported as not checked, since
  it may be valid for a newer Python: never as a syntax error.

The check starts before the import graph is built and is collected after
(:class:`SyntaxCheck`): compiling a large changed file (sympy's 2,200-line
``core/basic.py``: ~12 ms) takes as long as a whole warm graph, so from
:data:`FORK_AT_BYTES` on, while a CPU is idle, it runs in a forked child
beside the graph; the project's interpreter runs beside it in any case. A
child that fails leaves the check to this process: slower, never a
different verdict.
"""

from __future__ import annotations

import marshal
import os
import sys
from collections.abc import Callable, Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Any

from smartrestart import pathnames
from smartrestart.forking import fork_allowed, usable_cpus, write_all
from smartrestart.regularfile import read_regular

if TYPE_CHECKING:
    import subprocess

MAX_CHECKED_SOURCE_BYTES = 16 * 1024 * 1024
# Changed sources from this size on are compiled in a forked child. The fork
# costs this process ~3 ms (the call, then ~900 pages it copies as it writes to
# memory shared with the child), what compiling ~20 kB costs (~0.15 ms per kB).
FORK_AT_BYTES = 32 * 1024
_LOWER_BOUND = r">=?\s*3\.(\d+)"
# Compiles every file named in argv, prints one JSON object: path -> [line, message].
_COMPILE_SCRIPT = f"""
import json, os, sys
errors = {{}}
for path in sys.argv[1:]:
    try:
        if os.path.getsize(path) > {MAX_CHECKED_SOURCE_BYTES}:
            raise ValueError("larger than {MAX_CHECKED_SOURCE_BYTES} bytes")
        with open(path, "rb") as stream:
            compile(stream.read(), path, "exec", dont_inherit=True)
    except SyntaxError as exc:
        errors[path] = [exc.lineno or 0, exc.msg]
    except (OSError, ValueError, RecursionError, MemoryError) as exc:
        errors[path] = [0, "not checked: " + type(exc).__name__ + ": " + str(exc)]
print(json.dumps(errors))
"""
RUNNING = sys.version_info[:2]


def oldest_supported(pyproject: str) -> tuple[int, int] | None:
    """The lowest Python ``requires-python`` admits (``>=3.12`` -> (3, 12)), or None."""
    try:
        text = read_regular(pyproject, 4 * 1024 * 1024).decode("utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    import re
    import tomllib

    try:
        project = tomllib.loads(text).get("project")
    except tomllib.TOMLDecodeError:
        return None
    spec = project.get("requires-python") if isinstance(project, dict) else None
    if not isinstance(spec, str):
        return None
    bounds = [int(minor) for minor in re.findall(_LOWER_BOUND, spec)]
    return (3, max(bounds)) if bounds else None


class SyntaxCheck:
    """The syntax check of the changed ``.py`` files among ``paths`` (absolute), under way.

    Started on construction, collected by :meth:`warnings`; leaving the
    ``with`` block without collecting stops it.
    """

    def __init__(
        self,
        paths: Sequence[str],
        shown: Callable[[str], str],
        *,
        python: str | None = None,
        project_dirs: Sequence[str] = (),
    ) -> None:
        self._sources = [p for p in paths if p.endswith(".py")]
        self._shown = shown
        self._python = python
        self._project_dirs = project_dirs
        self._interpreter: tuple[subprocess.Popen[bytes], list[str]] | None = None
        self._child: tuple[int, int] | None = None  # pid, read end of its pipe
        if not self._sources:
            return
        if python is not None:
            self._interpreter = _start_interpreter(python, self._sources)
        elif _worth_forking(self._sources):
            self._child = _fork_check(self._here)

    def warnings(self) -> list[str]:
        """The warnings, once the check has finished (here, if the child could not)."""
        if not self._sources:
            return []
        if self._interpreter is not None:
            started, self._interpreter = self._interpreter, None
            return _interpreter_warnings(self._python or "", started, self._sources, self._shown)
        if self._child is not None:
            child, self._child = self._child, None
            found = _collect(*child)
            if found is not None:
                return found
        return self._here()

    def _here(self) -> list[str]:
        """The check by this interpreter, as far as its verdict is the project's."""
        sources, shown = self._sources, self._shown
        pyprojects = (os.path.join(d, "pyproject.toml") for d in self._project_dirs)
        oldest = next((v for p in pyprojects if (v := oldest_supported(p))), None)
        if oldest is not None and oldest > RUNNING:
            target = ".".join(map(str, oldest))
            return [
                f"syntax of {len(sources)} changed Python file(s) not checked: the project "
                f"requires Python >= {target} and this is {'.'.join(map(str, RUNNING))} "
                "(give --python PATH to check with the project's interpreter)"
            ]
        return [w for p in sources if (w := _check_here(p, shown, certain=oldest is not None))]

    def __enter__(self) -> SyntaxCheck:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        """Stop what was never collected (an error came first): no child outlives the run."""
        if self._interpreter is not None:
            process, self._interpreter = self._interpreter[0], None
            process.kill()
            process.wait()
        if self._child is not None:
            import signal

            (pid, pipe), self._child = self._child, None
            os.close(pipe)
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)


def _worth_forking(sources: Sequence[str]) -> bool:
    """Large enough, forking allowed (:func:`~smartrestart.forking.fork_allowed`), a CPU idle now.

    A CPU must be idle, not merely present: on a busy host the child takes
    its time from this process, and the fork then costs more than the
    compilation it moves.
    """
    if not fork_allowed() or not _idle_cpu():
        return False
    total = 0
    for path in sources:
        try:
            total += os.stat(path).st_size
        except OSError:
            continue  # its warning comes from the check itself
        if total >= FORK_AT_BYTES:
            return True
    return False


def _idle_cpu() -> bool:
    """Whether fewer tasks are runnable than this process may use CPUs (itself counted).

    Linux's count of runnable tasks, in ``/proc/loadavg``, is of this moment;
    where it cannot be read, a second CPU is taken to be free.
    """
    try:
        loadavg = os.open("/proc/loadavg", os.O_RDONLY)
        try:
            runnable = int(os.read(loadavg, 256).split()[3].split(b"/")[0])
        finally:
            os.close(loadavg)
    except (OSError, IndexError, ValueError):
        return True
    return runnable < usable_cpus()


def _fork_check(check: Callable[[], list[str]]) -> tuple[int, int] | None:
    """Run ``check`` in a forked child that sends its warnings back through a pipe."""
    read_end, write_end = os.pipe()
    try:
        pid = os.fork()
    except OSError:
        os.close(read_end)
        os.close(write_end)
        return None
    if pid == 0:  # the child: the check, one blob, and out without the parent's cleanup
        status = 1
        try:
            os.close(read_end)
            write_all(write_end, marshal.dumps(check()))
            status = 0
        finally:
            os._exit(status)
    os.close(write_end)
    return pid, read_end


def _collect(pid: int, pipe: int) -> list[str] | None:
    """The child's warnings, or None when it did not deliver them whole."""
    chunks: list[bytes] = []
    try:
        while chunk := os.read(pipe, 1 << 16):
            chunks.append(chunk)
    finally:
        os.close(pipe)
        _, status = os.waitpid(pid, 0)
    try:
        found: Any = marshal.loads(b"".join(chunks))
    except (EOFError, ValueError, TypeError):
        return None
    if status != 0 or type(found) is not list or not all(type(w) is str for w in found):
        return None
    return found


def _check_here(path: str, shown: Callable[[str], str], *, certain: bool) -> str:
    try:
        source = read_regular(path, MAX_CHECKED_SOURCE_BYTES)
    except FileNotFoundError:
        return ""  # deleted in the diff
    except OSError as exc:
        reason = getattr(exc, "reason", None) or exc.strerror or str(exc)
        return f"{shown(path)}: {reason}; syntax not checked"
    try:
        compile(source, path, "exec", dont_inherit=True)
    except SyntaxError as exc:
        where = f"{shown(path)}:{exc.lineno or 0}"
        if certain:
            return f"{where}: syntax error: {exc.msg} (the changed file will not import)"
        version = ".".join(map(str, RUNNING))
        return (
            f"{where}: syntax not checked: not valid Python {version} ({exc.msg}), but the "
            "project may target a newer Python (give --python PATH, or requires-python "
            "in pyproject.toml)"
        )
    except (ValueError, RecursionError, MemoryError) as exc:
        # An embedded NUL, or an expression nested deeper than the compiler goes.
        return f"{shown(path)}: syntax not checked: {type(exc).__name__}: {exc}"
    return ""


def _start_interpreter(
    python: str, sources: list[str]
) -> tuple[subprocess.Popen[bytes], list[str]]:
    """The project's own interpreter compiling the regular files, all in one process."""
    import subprocess

    from smartrestart.errors import UsageError

    readable = [p for p in sources if os.path.isfile(p)]
    try:
        process = subprocess.Popen(
            [python, "-I", "-c", _COMPILE_SCRIPT, *readable],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
    except (OSError, ValueError) as exc:
        raise UsageError(f"--python {python}: cannot run it to check syntax: {exc}") from None
    return process, readable


def _interpreter_warnings(
    python: str,
    started: tuple[subprocess.Popen[bytes], list[str]],
    sources: list[str],
    shown: Callable[[str], str],
) -> list[str]:
    import json
    import subprocess

    from smartrestart.errors import UsageError

    process, readable = started
    try:
        try:
            stdout, _ = process.communicate(timeout=300)
        finally:
            if process.returncode is None:
                process.kill()
                process.wait()
        errors = json.loads(stdout)
    except (OSError, ValueError, subprocess.TimeoutExpired) as exc:
        raise UsageError(f"--python {python}: cannot run it to check syntax: {exc}") from None
    warnings: list[str] = []
    for path, (line, message) in sorted(errors.items()):
        if message.startswith("not checked"):
            warnings.append(f"{shown(path)}: syntax {message}")
        else:
            warnings.append(
                f"{shown(path)}:{line}: syntax error: {message} (the changed file will not import)"
            )
    warnings.extend(
        f"{shown(p)}: not a regular file; syntax not checked"
        for p in sources
        if p not in readable and pathnames.exists(p)
    )
    return warnings
