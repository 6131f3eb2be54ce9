"""String paths say and test what pathlib would have, without importing it."""

from __future__ import annotations

import errno
import os
from pathlib import Path, PurePosixPath

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smartrestart import pathnames

# Components and separators pathlib treats specially: empty, ".", "..", runs of slashes.
PARTS = st.lists(st.sampled_from(["", "/", "//", "///", ".", "..", "a", "b.yaml", ".c", "d/"]))
SPELLINGS = st.lists(PARTS.map("".join), min_size=1, max_size=3)


@given(SPELLINGS)
def test_join_spells_a_path_as_pure_posix_path_does(parts: list[str]) -> None:
    assert pathnames.join(*parts) == str(PurePosixPath(*parts))


@pytest.mark.parametrize(
    ("parts", "spelled"),
    [
        (("/srv/app", "./restart-rules.yaml"), "/srv/app/restart-rules.yaml"),
        (("/srv/app", "/etc/r.yaml"), "/etc/r.yaml"),
        (("/", "etc/smartrestart/trust.yaml"), "/etc/smartrestart/trust.yaml"),
        (("cache//dir/",), "cache/dir"),
        (("a/../b",), "a/../b"),
        (("",), "."),
        (("//host/x",), "//host/x"),
    ],
)
def test_join_examples(parts: tuple[str, ...], spelled: str) -> None:
    assert pathnames.join(*parts) == spelled


ABSOLUTE = st.lists(st.sampled_from(["/", "//", "a", "ab", "b"]), max_size=4).map(
    lambda parts: pathnames.join("/", *parts)
)


@given(ABSOLUTE, ABSOLUTE)
def test_is_relative_to_agrees_with_pathlib(path: str, directory: str) -> None:
    expected = PurePosixPath(path).is_relative_to(directory)
    assert pathnames.is_relative_to(path, directory) is expected


@pytest.mark.parametrize(
    ("path", "directory", "inside"),
    [
        ("/srv/app/src", "/srv/app", True),
        ("/srv/app", "/srv/app", True),
        ("/srv/application", "/srv/app", False),
        ("/srv", "/", True),
        ("//srv", "/", False),
        ("//srv", "//", True),
    ],
)
def test_is_relative_to_examples(path: str, directory: str, inside: bool) -> None:
    assert pathnames.is_relative_to(path, directory) is inside


def test_kind_tests_say_false_where_pathlib_does(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    (tmp_path / "dir").mkdir()
    (tmp_path / "to-dir").symlink_to("dir")
    (tmp_path / "loop").symlink_to("loop")
    (tmp_path / "broken").symlink_to("absent")
    for name in ["file", "dir", "to-dir", "loop", "broken", "absent", "file/below", "nul\0"]:
        path = tmp_path / name
        said = [pathnames.exists(str(path)), pathnames.is_dir(str(path))]
        said += [pathnames.is_file(str(path)), pathnames.is_symlink(str(path))]
        assert said == [path.exists(), path.is_dir(), path.is_file(), path.is_symlink()], name


def test_kind_tests_raise_when_the_answer_cannot_be_known(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """As pathlib's do: a directory that cannot be searched is not taken for an absent one."""

    def denied(path: str, **_: object) -> os.stat_result:
        raise PermissionError(errno.EACCES, "Permission denied", path)

    monkeypatch.setattr(os, "stat", denied)
    for test in (pathnames.exists, pathnames.is_dir, pathnames.is_file, pathnames.is_symlink):
        with pytest.raises(PermissionError):
            test("/srv/locked/app")


@given(SPELLINGS)
def test_parent_and_name_are_pathlibs(parts: list[str]) -> None:
    path = pathnames.join(*parts)
    assert pathnames.parent(path) == str(PurePosixPath(path).parent)
    assert pathnames.name(path) == PurePosixPath(path).name
