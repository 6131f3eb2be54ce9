from __future__ import annotations

import pytest

from smartrestart.decide.globs import glob_match, normalize_path


@pytest.mark.parametrize(
    ("path", "pattern", "expected"),
    [
        # The original smart-restart's own table, unchanged.
        ("src/api.py", "src/**", True),
        ("src/api.py", "src/*.py", True),
        ("src/sub/api.py", "src/*.py", False),
        ("src/sub/deep/x.py", "src/**", True),
        ("README.md", "**/*.md", True),
        ("docs/guide.md", "**/*.md", True),
        ("requirements.txt", "requirements.txt", True),
        ("requirements.txt", "*.txt", True),
        ("pkg/requirements.txt", "*.txt", False),
        ("a.py", "?.py", True),
        ("ab.py", "?.py", False),
        # ** spans zero or more directories in the middle of a pattern too.
        ("a/b", "a/**/b", True),
        ("a/x/y/b", "a/**/b", True),
        ("a/xb", "a/**/b", False),
        # `?` and `*` never cross a slash.
        ("a/b", "a?b", False),
        ("src", "src/**", False),
        # Brackets are literal, as in the original.
        ("file[1].txt", "file[1].txt", True),
        ("file1.txt", "file[1].txt", False),
        ("/usr/lib/python3/dist-packages/app/x.py", "/usr/lib/python3/dist-packages/app/**", True),
    ],
)
def test_glob_match(path: str, pattern: str, expected: bool) -> None:
    assert glob_match(path, pattern) is expected


@pytest.mark.parametrize(
    ("raw", "normal"),
    [
        ("./src/a.py", "src/a.py"),
        ("src//a.py", "src/a.py"),
        ("src/./a.py", "src/a.py"),
        ("/abs/./x", "/abs/x"),
        ("../up.py", "../up.py"),
    ],
)
def test_normalize_path(raw: str, normal: str) -> None:
    assert normalize_path(raw) == normal


def test_dot_slash_prefix_in_pattern_and_path_is_ignored() -> None:
    assert glob_match("./src/a.py", "./src/*.py")
