"""watch's pure parts and its watcher: what counts as a change, entry modules, inotify limits."""

from __future__ import annotations

from typing import Any, ClassVar

import pytest

from smartrestart.errors import UsageError
from smartrestart.watch.model import Entry, entry_from_argv, is_ignored
from smartrestart.watch.watcher import settled_batches, watch_limit_message


@pytest.mark.parametrize(
    "path",
    [
        "/app/.git/index",
        "/app/src/__pycache__/a.cpython-311.pyc",
        "/app/src/.a.py.swp",
        "/app/src/a.py~",
        "/app/src/.#a.py",
        "/app/src/#a.py#",
        "/app/src/4913",
        "/app/src/a.py.orig",
        "/app/src/.goutputstream-XYZ123",
        "/app/src/a.py___jb_tmp___",
        "/app/src/sedAbC123",
        "/app/.mypy_cache/3.11/a.json",
    ],
)
def test_noise_is_ignored(path: str) -> None:
    assert is_ignored(path)


@pytest.mark.parametrize(
    "path", ["/app/src/a.py", "/app/restart-rules.yaml", "/app/src/gitignore.py", "/app/.env"]
)
def test_real_files_count(path: str) -> None:
    assert not is_ignored(path)


@pytest.mark.parametrize(
    ("argv", "entry"),
    [
        (["python3", "app.py", "--port", "1"], Entry(file="app.py")),
        (["/usr/bin/python3.11", "-u", "-X", "dev", "srv/main.py"], Entry(file="srv/main.py")),
        (["python", "-m", "myapp.server"], Entry(module="myapp.server")),
        (["python", "-mmyapp"], Entry(module="myapp")),
        (["./manage.py", "runserver"], Entry(file="./manage.py")),
    ],
)
def test_the_entry_comes_from_the_command_line(argv: list[str], entry: Entry) -> None:
    assert entry_from_argv(argv) == entry


def test_an_entry_that_cannot_be_told_asks_for_entry() -> None:
    for argv in (["gunicorn", "app:app"], ["python", "-c", "import app"], ["node", "s.js"]):
        with pytest.raises(UsageError, match="give --entry FILE"):
            entry_from_argv(argv)
    assert entry_from_argv(["gunicorn", "app:app"], "app.py") == Entry(file="app.py")


def test_running_out_of_inotify_watches_names_the_sysctl() -> None:
    message = watch_limit_message(OSError("Error { kind: MaxFilesWatch, paths: [] }"))
    assert message is not None
    assert "fs.inotify.max_user_watches" in message and "sysctl -w" in message
    assert watch_limit_message(OSError("permission denied")) is None


class FakeRustNotify:
    """Runs out of watches on the first try; polling then yields one batch, then stops."""

    calls: ClassVar[list[tuple[Any, ...]]] = []

    def __init__(self, *args: Any) -> None:
        FakeRustNotify.calls.append(args)
        self.polling = args[2]
        self.answers: list[Any] = [{(2, "/app/a.py"), (1, "/app/b.py"), (1, "/app/.b.py.swp")}]
        if not self.polling:
            raise OSError("OS file watch limit reached. Error { kind: MaxFilesWatch, paths: [] }")

    def __enter__(self) -> FakeRustNotify:
        return self

    def __exit__(self, *exc: object) -> None:
        pass

    def watch(self, debounce: int, step: int, timeout: int, stop: object) -> Any:
        self.debounce_step = (debounce, step)
        return self.answers.pop() if self.answers else "stop"


def test_the_watch_goes_on_by_polling_and_says_so() -> None:
    warnings: list[str] = []
    watching: list[bool] = []
    batches = list(
        settled_batches(
            ["/app"],
            settle_ms=50,
            ceiling_ms=1600,
            warn=warnings.append,
            watching=lambda: watching.append(True),
            rust_notify=FakeRustNotify,
        )
    )
    assert batches == [["/app/a.py", "/app/b.py"]]  # the swap file is noise
    assert [call[2] for call in FakeRustNotify.calls] == [False, True]  # force_polling
    assert watching == [True]  # said once the watches are in place, not before
    assert len(warnings) == 1 and "max_user_watches" in warnings[0] and "polling" in warnings[0]


def test_other_watch_errors_end_the_watch() -> None:
    class Broken:
        def __init__(self, *args: Any) -> None:
            raise OSError("Permission denied")

    with pytest.raises(OSError, match="Permission denied"):
        list(settled_batches(["/app"], settle_ms=1, ceiling_ms=1, warn=print, rust_notify=Broken))


def test_a_signal_in_the_watch_ends_it_as_an_interrupt() -> None:
    class Signalled(FakeRustNotify):
        def __init__(self, *args: Any) -> None:
            self.answers = ["signal"]

    with pytest.raises(KeyboardInterrupt):
        list(
            settled_batches(["/app"], settle_ms=1, ceiling_ms=1, warn=print, rust_notify=Signalled)
        )
