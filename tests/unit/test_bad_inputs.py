"""A corpus of bad inputs: each case runs the real CLI in a subprocess and states the outcome.

One file per case under ``tests/fixtures/bad-inputs/`` (see its README): the
files and special files (FIFOs, symlinks, unreadable directories, generated
large files) to lay out, the command line, and the expected exit code and
message. Every case also asserts what holds for all input: no traceback, no
death by signal, no hang (a timeout), no runaway memory (an address-space
limit), and an exit code from the documented table.
"""

from __future__ import annotations

import os
import re
import resource
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from smartrestart.errors import EXIT_CODES
from tests.helpers import FIXTURES

CORPUS = FIXTURES / "bad-inputs"
CASES = sorted(CORPUS.glob("*.yaml"))
TIMEOUT_SECONDS = 30
MEMORY_LIMIT_BYTES = 2 * 1024**3
# What each case did before the fix that added it (the closing note counts them).
BEFORE_KINDS = (
    "traceback",  # a Python traceback instead of a message
    "crash",  # killed by a signal (a segmentation fault)
    "hang",  # no exit within the timeout, or memory without bound
    "wrong-exit",  # an exit code that says something untrue
    "silently-wrong",  # success with a wrong result ("nothing to do" when something was)
    "bad-message",  # the right exit code, with a message that misleads
    "ok",  # already right: kept so that it stays right
)


def load_case(path: Path) -> dict[str, Any]:
    case: dict[str, Any] = yaml.safe_load(path.read_text())
    assert isinstance(case, dict), path
    assert case.get("before") in BEFORE_KINDS, f"{path.name}: 'before' is one of {BEFORE_KINDS}"
    assert isinstance(case.get("run"), list), f"{path.name}: 'run' is the argument list"
    assert isinstance(case.get("expect"), dict), f"{path.name}: 'expect' is required"
    return case


def lay_out(case: dict[str, Any], directory: Path) -> None:
    """Create the case's files, then its special files, under ``directory``."""
    for relative, content in (case.get("files") or {}).items():
        target = directory / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(content)
    for relative, expression in (case.get("generate") or {}).items():
        target = directory / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        # A Python expression building a large or odd content (trusted: it is in the repo).
        content = eval(expression, {}, {})
        if isinstance(content, bytes):
            target.write_bytes(content)
        else:
            target.write_text(content)
    for special in case.get("make") or []:
        _make_special(special, directory)


def _mode(special: dict[str, Any], default: int) -> int:
    """A mode written ``0o644`` (YAML reads that as a string)."""
    mode = special.get("mode", default)
    return int(mode, 0) if isinstance(mode, str) else int(mode)


def _make_special(special: dict[str, Any], directory: Path) -> None:
    if "fifo" in special:
        target = directory / special["fifo"]
        target.parent.mkdir(parents=True, exist_ok=True)
        os.mkfifo(target)
    elif "symlink" in special:
        target = directory / special["symlink"]
        target.parent.mkdir(parents=True, exist_ok=True)
        target.symlink_to(special["target"])
    elif "dir" in special:
        target = directory / special["dir"]
        target.mkdir(parents=True, exist_ok=True)
        target.chmod(_mode(special, 0o755))
    elif "chmod" in special:
        (directory / special["chmod"]).chmod(_mode(special, 0o644))
    else:
        raise AssertionError(f"unknown special file {special}")


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT_BYTES, MEMORY_LIMIT_BYTES))


def run_case(case: dict[str, Any], directory: Path) -> subprocess.CompletedProcess[str]:
    # ``cwd`` may name a symlink (a deploy's ``current``): PWD keeps the logical path.
    cwd = directory / case.get("cwd", ".")
    env = {
        **os.environ,
        "XDG_CACHE_HOME": str(directory / ".cache"),
        "PWD": os.path.normpath(cwd),
        "LANG": "C.UTF-8",
    }
    env.pop("SMARTRESTART_DEBUG", None)
    # ``{cwd}`` in an argument is the working directory as the user typed it.
    arguments = [str(a).replace("{cwd}", env["PWD"]) for a in case["run"]]
    stdin = case.get("stdin", "").encode()
    if "stdin_python" in case:
        stdin = eval(case["stdin_python"], {}, {})
    try:
        completed = subprocess.run(
            [sys.executable, "-m", "smartrestart", *arguments],
            cwd=cwd,
            input=stdin,
            capture_output=True,
            env=env,
            timeout=TIMEOUT_SECONDS,
            preexec_fn=_limit_memory,
            check=False,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"hung: no exit within {TIMEOUT_SECONDS} s")
    return subprocess.CompletedProcess(
        completed.args,
        completed.returncode,
        completed.stdout.decode("utf-8", "replace"),
        completed.stderr.decode("utf-8", "replace"),
    )


def test_corpus_is_not_empty() -> None:
    assert len(CASES) >= 40


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_bad_input(path: Path, tmp_path: Path) -> None:
    case = load_case(path)
    lay_out(case, tmp_path)
    result = run_case(case, tmp_path)
    expect = case["expect"]
    output = f"exit {result.returncode}\nstdout:\n{result.stdout}\nstderr:\n{result.stderr}"
    assert result.returncode >= 0, f"killed by signal {-result.returncode}\n{output}"
    assert "Traceback" not in result.stderr, output
    assert result.returncode in {int(code) for code in EXIT_CODES}, output
    assert result.returncode == expect["exit"], output
    if "stderr" in expect:
        assert re.search(expect["stderr"], result.stderr), output
    if "stderr_not" in expect:
        assert not re.search(expect["stderr_not"], result.stderr), output
    if "stdout" in expect:
        assert re.search(expect["stdout"], result.stdout), output
    if "stdout_is" in expect:
        assert result.stdout == expect["stdout_is"], output
    for relative in expect.get("exists", []):
        assert (tmp_path / relative).exists(), f"{relative} is gone\n{output}"
    for relative in expect.get("absent", []):
        assert not (tmp_path / relative).exists(), f"{relative} was written\n{output}"
