"""The syntax check of changed files: the same verdicts whether a forked child or this
process compiles them, and no child left behind."""

from __future__ import annotations

import marshal
import os
from pathlib import Path
from typing import Any

import pytest

from smartrestart.decide import syntax
from smartrestart.decide.syntax import FORK_AT_BYTES, SyntaxCheck

FILLER = "VALUE = 1\n" * (FORK_AT_BYTES // 10 + 1)


@pytest.fixture
def changed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """A large valid file, a large broken one, a small broken one and a deleted one.

    A CPU is taken to be idle, whatever else runs on this host meanwhile.
    """
    monkeypatch.setattr(syntax, "_idle_cpu", lambda: True)
    (tmp_path / "pyproject.toml").write_text('[project]\nrequires-python = ">=3.9"\n')
    (tmp_path / "big.py").write_text(FILLER)
    (tmp_path / "big_broken.py").write_text(FILLER + "def broken(:\n")
    (tmp_path / "small.py").write_text("x = (\n")
    return [str(tmp_path / name) for name in ("big.py", "big_broken.py", "small.py", "gone.py")]


def checked(paths: list[str], tmp_path: Path) -> list[str]:
    with SyntaxCheck(paths, os.path.basename, project_dirs=[str(tmp_path)]) as check:
        return check.warnings()


def test_the_child_reaches_the_verdicts_this_process_would(
    changed: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    forked = checked(changed, tmp_path)
    monkeypatch.setattr(syntax, "FORK_AT_BYTES", 1 << 40)
    assert forked == checked(changed, tmp_path)
    assert [w.split(":")[0] for w in forked] == ["big_broken.py", "small.py"]
    assert f"big_broken.py:{FILLER.count(chr(10)) + 1}: syntax error" in forked[0]


def test_a_large_change_is_compiled_in_a_child(
    changed: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    compiled_here: list[str] = []
    real = syntax._check_here

    def spy(path: str, *args: Any, **kwargs: Any) -> str:
        compiled_here.append(Path(path).name)
        return real(path, *args, **kwargs)

    monkeypatch.setattr(syntax, "_check_here", spy)  # the child's calls are its own
    assert checked(changed, tmp_path)
    assert compiled_here == []


class _FailingMarshal:
    """marshal for the parent; the child, which dumps, fails."""

    loads = staticmethod(marshal.loads)

    @staticmethod
    def dumps(value: object) -> bytes:
        raise MemoryError


def test_a_failed_child_leaves_the_check_to_this_process(
    changed: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    expected = checked(changed, tmp_path)
    monkeypatch.setattr(syntax, "marshal", _FailingMarshal)
    assert checked(changed, tmp_path) == expected


def test_a_check_never_collected_is_stopped(changed: list[str], tmp_path: Path) -> None:
    with pytest.raises(KeyError), SyntaxCheck(changed, str, project_dirs=[str(tmp_path)]) as check:
        assert check._child is not None
        pid = check._child[0]
        raise KeyError("the graph failed first")
    with pytest.raises(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)  # reaped already


def test_no_child_when_no_cpu_is_idle(
    changed: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(syntax, "_idle_cpu", lambda: False)
    with SyntaxCheck(changed, str, project_dirs=[str(tmp_path)]) as check:
        assert check._child is None
        assert len(check.warnings()) == 2


def test_small_changes_are_compiled_here(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text("x = 1\n")
    with SyntaxCheck([str(tmp_path / "a.py"), str(tmp_path / "b.txt")], str) as check:
        assert check._child is None
        assert check.warnings() == []
