"""Changed paths take one canonical form, whatever their source and working directory."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from smartrestart.errors import UsageError
from smartrestart.paths import PATH_MAX, WorkingDirectory, canonical_pattern
from tests.helpers import write_tree


@pytest.fixture
def release(tmp_path: Path) -> Path:
    """``/srv/app``-like: releases/2 holds the code, ``current`` links to it."""
    write_tree(
        tmp_path / "releases/2",
        {
            "restart-rules.yaml": """\
                actions:
                  restart_api: {units: [api.service]}
                  restart_worker: {units: [worker.service]}
                rules:
                  - {pattern: "src/api/**", actions: [restart_api]}
                  - {pattern: "src/worker/**", actions: [restart_worker]}
            """,
            "src/lib/__init__.py": "",
            "src/lib/db.py": "X = 1\n",
            "src/api/__init__.py": "",
            "src/api/server.py": "from lib import db\n",
            "src/worker/__init__.py": "",
            "src/worker/jobs.py": "import json\n",
        },
    )
    (tmp_path / "current").symlink_to("releases/2")
    return tmp_path


def working_directory(logical: Path) -> WorkingDirectory:
    return WorkingDirectory(os.path.normpath(logical), os.path.realpath(logical))


def test_relative_absolute_and_dotdot_paths_meet_in_one_form(release: Path) -> None:
    cwd = working_directory(release / "current")
    assert cwd.physical == str((release / "releases/2").resolve())
    for spelling in (
        "src/lib/db.py",
        "./src//lib/db.py",
        "src/api/../lib/db.py",
        f"{release}/current/src/lib/db.py",
        f"{release}/releases/2/src/lib/db.py",
    ):
        assert cwd.canonical(spelling) == "src/lib/db.py", spelling


def test_paths_outside_the_working_directory_stay_absolute(release: Path) -> None:
    cwd = working_directory(release / "current")
    assert cwd.canonical("../../elsewhere/x.py") == f"{release.resolve()}/elsewhere/x.py"
    assert cwd.canonical("/etc/hostname") == "/etc/hostname"


def test_from_the_root_directory_every_path_stays_absolute(tmp_path: Path) -> None:
    """Maintainer scripts and the dpkg trigger run in ``/``: fragments' absolute patterns match."""
    root = WorkingDirectory("/", "/")
    assert root.canonical("/etc/hostname") == "/etc/hostname"
    assert root.canonical("etc/hostname") == "/etc/hostname"
    assert not root.is_inside("/etc/hostname")


def test_a_changed_symlink_is_named_not_followed(release: Path) -> None:
    (release / "releases/2/src/config.py").symlink_to("/etc/hostname")
    assert working_directory(release / "current").canonical("src/config.py") == "src/config.py"


def test_a_deleted_directory_still_gives_a_canonical_path(release: Path) -> None:
    cwd = working_directory(release / "current")
    assert cwd.canonical("src/gone/deeper/x.py") == "src/gone/deeper/x.py"


def test_what_cannot_be_a_path_is_refused(release: Path) -> None:
    cwd = working_directory(release)
    with pytest.raises(UsageError, match="NUL"):
        cwd.canonical("a\0b")
    with pytest.raises(UsageError, match=str(PATH_MAX)):
        cwd.canonical("a/" * PATH_MAX)


def test_pwd_is_the_logical_name_only_when_it_is_the_same_directory(
    release: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(release / "current")
    monkeypatch.setenv("PWD", str(release / "current"))
    here = WorkingDirectory.current()
    assert (here.logical, here.physical) == (
        str(release / "current"),
        str((release / "releases/2").resolve()),
    )
    monkeypatch.setenv("PWD", str(release))  # stale: names another directory
    assert WorkingDirectory.current().logical == here.physical


def test_absolute_patterns_resolve_their_literal_directories(tmp_path: Path) -> None:
    (tmp_path / "usr/lib").mkdir(parents=True)
    (tmp_path / "lib").symlink_to("usr/lib")
    assert canonical_pattern(f"{tmp_path}/lib/systemd/*.service") == (
        f"{tmp_path.resolve()}/usr/lib/systemd/*.service"
    )
    assert canonical_pattern(f"{tmp_path}/lib/x.conf") == f"{tmp_path.resolve()}/usr/lib/x.conf"
    assert canonical_pattern("src/**") == "src/**"
    assert canonical_pattern("/**/x") == "/**/x"


def run(*args: str, cwd: Path, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "smartrestart", *args],
        cwd=cwd,
        input=stdin,
        capture_output=True,
        text=True,
        env={**os.environ, "PWD": str(cwd), "XDG_CACHE_HOME": str(cwd / ".cache")},
        check=False,
    )


def git(*args: str, cwd: Path) -> None:
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@t", *args],
        cwd=cwd,
        check=True,
        capture_output=True,
    )


@pytest.fixture
def repository(release: Path) -> Path:
    code = release / "releases/2"
    git("init", "-q", cwd=code)
    git("add", "-A", cwd=code)
    git("commit", "-qm", "one", cwd=code)
    (code / "src/lib/db.py").write_text("X = 2\n")
    git("commit", "-qam", "two", cwd=code)
    return release


def test_git_range_through_a_symlinked_release_finds_the_importers(repository: Path) -> None:
    """Capistrano's layout: run from current -> releases/2, git speaks physical paths."""
    result = run(
        "decide", "--config-root", "none", "--root", "src", "--git", "HEAD~1..HEAD",
        cwd=repository / "current",
    )  # fmt: skip
    assert (result.returncode, result.stdout) == (0, "restart_api\n"), result.stderr


def test_git_from_a_subdirectory_refuses_files_it_cannot_match(repository: Path) -> None:
    subdirectory = repository / "current/src/worker"
    (subdirectory / "restart-rules.yaml").write_text(
        "actions: {w: {}}\nrules: [{pattern: '**', actions: [w]}]\nfallback: all\n"
    )
    result = run("decide", "--config-root", "none", "--git", "HEAD~1..HEAD", cwd=subdirectory)
    assert result.returncode == 2
    assert "1 changed file(s) lie outside the working directory" in result.stderr
    assert str(repository / "current/src/worker") in result.stderr
    assert "git diff --name-only --relative HEAD~1..HEAD" in result.stderr
    assert result.stdout == ""


def test_git_from_a_subdirectory_takes_the_files_inside_it(repository: Path) -> None:
    code = repository / "releases/2"
    (code / "src/worker/jobs.py").write_text("import os\n")
    git("commit", "-qam", "worker only", cwd=code)
    subdirectory = repository / "current/src"
    (subdirectory / "restart-rules.yaml").write_text(
        "actions: {w: {}}\nrules: [{pattern: 'worker/**', actions: [w]}]\n"
    )
    result = run("decide", "--config-root", "none", "--git", "HEAD~1..HEAD", cwd=subdirectory)
    assert (result.returncode, result.stdout) == (0, "w\n"), result.stderr


@pytest.mark.parametrize(
    "here", ["/", "/srv", "/srv/app", "/srv/app/src", "/srv/application", "/x"]
)
@pytest.mark.parametrize("directory", ["/srv/app", "/srv/app/", "/srv", "/"])
def test_files_below_a_directory_are_made_relative_as_one_by_one(here: str, directory: str) -> None:
    cwd = WorkingDirectory(here, here)
    names = ["a.py", "src/b.py", "src/pkg/c.py", "application/d.py"]
    head = directory.rstrip("/") + "/"
    assert cwd.relative_under(directory, names) == [cwd.relative(head + n) for n in names]
