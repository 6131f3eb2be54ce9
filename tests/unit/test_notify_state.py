"""StateStore: where state lives (in a unit and outside systemd), and that it survives."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from smartrestart import notify

PROJECT = Path(__file__).resolve().parents[2]


@pytest.fixture
def outside_systemd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """An environment like a terminal's: no systemd variables, HOME in the test's directory."""
    for name in ("NOTIFY_SOCKET", "STATE_DIRECTORY", "INVOCATION_ID", "XDG_STATE_HOME"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    notify.reset_default_notifier()
    return {**os.environ, "PYTHONPATH": str(PROJECT / "src")}


def test_state_store_round_trip_and_atomic_replace(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STATE_DIRECTORY", f"{tmp_path}/state:{tmp_path}/other")
    store = notify.StateStore()
    assert store.path == tmp_path / "state/state.json"
    assert store.load({"count": 0}) == {"count": 0}
    store.save({"count": 1, "name": "ü"})
    assert notify.StateStore().load() == {"count": 1, "name": "ü"}
    assert sorted(p.name for p in (tmp_path / "state").iterdir()) == ["state.json"]
    assert (tmp_path / "state/state.json").stat().st_mode & 0o777 == 0o600


def test_state_store_corrupt_file_gives_a_clear_error_and_a_fresh_start(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "state.json").write_text('{"count": 4')
    (tmp_path / ".state.json.0123abcd.tmp").write_text("half a write")
    store = notify.StateStore(directory=tmp_path)
    assert store.load({"count": 0}) == {"count": 0}
    assert store.load_error is not None
    assert "is corrupt" in store.load_error
    assert "starting with fresh state" in capsys.readouterr().err
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names[0].startswith("state.json.corrupt-")  # kept for inspection
    assert len(names) == 1  # the leftover temporary file is gone


def test_state_directory_wins_over_the_fallback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, outside_systemd: dict[str, str]
) -> None:
    monkeypatch.setenv("STATE_DIRECTORY", str(tmp_path / "unit"))
    assert notify.StateStore(app="myapp").directory == tmp_path / "unit"


def test_outside_systemd_state_goes_to_the_xdg_state_home(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, outside_systemd: dict[str, str]
) -> None:
    assert notify.StateStore(app="myapp").directory == tmp_path / "home/.local/state/myapp"
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "xdg"))
    assert notify.StateStore(app="myapp").directory == tmp_path / "xdg/myapp"
    monkeypatch.setenv("XDG_STATE_HOME", "relative/is/invalid")  # ignored, as the spec says
    assert notify.StateStore(app="myapp").directory == tmp_path / "home/.local/state/myapp"


PRINT_DIRECTORY = "from smartrestart import notify; print(notify.StateStore().directory)"


def test_the_fallback_is_named_after_the_program(
    tmp_path: Path, outside_systemd: dict[str, str]
) -> None:
    script = tmp_path / "tool.py"
    script.write_text(PRINT_DIRECTORY)
    package = tmp_path / "mypkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "__main__.py").write_text(PRINT_DIRECTORY)
    state = tmp_path / "home/.local/state"
    for argv, expected in (
        ([str(script)], state / "tool"),
        (["-m", "mypkg"], state / "mypkg"),
        ([str(package)], state / "mypkg"),  # a directory with a __main__.py
    ):
        result = subprocess.run(
            [sys.executable, *argv],
            cwd=tmp_path,
            env=outside_systemd,
            capture_output=True,
            text=True,
            check=True,
        )
        assert result.stdout.strip() == str(expected)
        assert result.stderr == ""


def test_without_a_program_name_it_says_how_to_pass_one(outside_systemd: dict[str, str]) -> None:
    result = subprocess.run(
        [sys.executable, "-c", PRINT_DIRECTORY],
        env=outside_systemd,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 1
    assert "StateError: no state directory: set StateDirectory= in the unit, or pass app=" in (
        result.stderr
    )


def test_a_unit_without_state_directory_is_told_where_its_state_went(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    outside_systemd: dict[str, str],
) -> None:
    monkeypatch.setenv("INVOCATION_ID", "0123456789abcdef0123456789abcdef")
    store = notify.StateStore(app="myapp")
    assert store.directory == tmp_path / "home/.local/state/myapp"
    assert capsys.readouterr().err == (
        "state: $STATE_DIRECTORY is not set (no StateDirectory= in the unit); "
        f"using {store.directory}\n"
    )


@pytest.mark.parametrize("app", ["", "a/b", ".."])
def test_app_must_be_a_plain_name(app: str, outside_systemd: dict[str, str]) -> None:
    with pytest.raises(ValueError, match="must be a plain directory name"):
        notify.StateStore(app=app)


def readme_snippet() -> str:
    """The code block of the README's section on smartrestart.notify."""
    readme = (PROJECT / "README.md").read_text()
    section = readme.split("### smartrestart.notify: the service side\n", 1)[1]
    block = section.split("\n* ", 1)[0]
    code = [line for line in block.splitlines() if line.startswith("    ") or not line.strip()]
    return textwrap.dedent("\n".join(code)).strip() + "\n"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def catches(pid: int, signum: int) -> bool:
    """Whether process ``pid`` has installed a handler for ``signum`` (SigCgt in its status)."""
    status = Path(f"/proc/{pid}/status").read_text()
    caught = next(line.split()[1] for line in status.splitlines() if line.startswith("SigCgt:"))
    return bool(int(caught, 16) >> (signum - 1) & 1)


def test_readme_snippet_runs_outside_systemd(
    tmp_path: Path, outside_systemd: dict[str, str]
) -> None:
    snippet = readme_snippet()
    assert "StateStore(" in snippet and "8080" in snippet
    service = tmp_path / "myservice.py"
    service.write_text(snippet.replace("8080", str(free_port())))
    for starts in (1, 2):  # the state and the exit status of two runs in a row
        process = subprocess.Popen(
            [sys.executable, str(service)],
            env=outside_systemd,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        deadline = time.monotonic() + 10
        while not catches(process.pid, signal.SIGTERM):  # shutdown.install() has run
            assert process.poll() is None, process.communicate()
            assert time.monotonic() < deadline
            time.sleep(0.01)
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=10)
        assert (process.returncode, out, err) == (0, "", "")
        saved = tmp_path / "home/.local/state/myapp/state.json"
        assert saved.read_text() == f'{{"starts":{starts}}}\n'
