from __future__ import annotations

import pytest

from smartrestart.decide.globs import compile_glob, normalize_path


def matches(path: str, pattern: str) -> bool:
    """How the decider matches: the canonical path against the compiled pattern."""
    return compile_glob(pattern).match(normalize_path(path)) is not None


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
def test_matches(path: str, pattern: str, expected: bool) -> None:
    assert matches(path, pattern) is expected


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
    assert matches("./src/a.py", "./src/*.py")
