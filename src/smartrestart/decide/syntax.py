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
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from smartrestart.regularfile import read_regular

MAX_CHECKED_SOURCE_BYTES = 16 * 1024 * 1024
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


def oldest_supported(pyproject: Path) -> tuple[int, int] | None:
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


def syntax_warnings(
    paths: Sequence[str],
    shown: Callable[[str], str],
    *,
    python: str | None = None,
    project_dirs: Sequence[str] = (),
) -> list[str]:
    """Warnings for the changed ``.py`` files among ``paths`` (absolute)."""
    sources = [p for p in paths if p.endswith(".py")]
    if not sources:
        return []
    if python is not None:
        return _with_interpreter(python, sources, shown)
    oldest = next(
        (v for d in project_dirs if (v := oldest_supported(Path(d, "pyproject.toml")))), None
    )
    if oldest is not None and oldest > RUNNING:
        target = ".".join(map(str, oldest))
        return [
            f"syntax of {len(sources)} changed Python file(s) not checked: the project "
            f"requires Python >= {target} and this is {'.'.join(map(str, RUNNING))} "
            "(give --python PATH to check with the project's interpreter)"
        ]
    return [w for p in sources if (w := _check_here(p, shown, certain=oldest is not None))]


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


def _with_interpreter(python: str, sources: list[str], shown: Callable[[str], str]) -> list[str]:
    """Compile with the project's own interpreter, all files in one process."""
    import json
    import subprocess

    from smartrestart.errors import UsageError

    readable = [p for p in sources if _is_regular(p)]
    try:
        completed = subprocess.run(
            [python, "-I", "-c", _COMPILE_SCRIPT, *readable],
            capture_output=True,
            stdin=subprocess.DEVNULL,
            check=False,
            timeout=300,
        )
        errors = json.loads(completed.stdout)
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
        if p not in readable and Path(p).exists()
    )
    return warnings


def _is_regular(path: str) -> bool:
    try:
        return Path(path).is_file()
    except OSError:
        return False
