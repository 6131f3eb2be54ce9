"""Glob patterns over repository-relative paths, as the original smart-restart read them.

``**`` spans directories (``**/`` also matches no directory at all), ``*``
matches within one path segment and ``?`` one character of a segment; every
other character is literal, including ``[``, so rules files written for the
original keep their meaning.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache


def normalize_path(path: str) -> str:
    """Canonical form of a changed path: no ``./`` segments, no doubled slashes.

    ``..`` is kept: resolving it would need the file system, and a path that
    leaves the repository should not silently match a rule inside it.
    """
    if (  # already canonical, as every path from smartrestart.paths is: no work
        "//" not in path
        and "/./" not in path
        and not path.startswith("./")
        and not path.endswith(("/", "/."))
        and path not in ("", ".")
    ):
        return path
    absolute = path.startswith("/")
    parts = [part for part in path.split("/") if part not in ("", ".")]
    joined = "/".join(parts)
    return "/" + joined if absolute else joined


def normalize_paths(paths: Sequence[str]) -> Sequence[str]:
    """:func:`normalize_path` of each of ``paths``; ``paths`` itself when none needs it.

    An expansion adds thousands of paths, all canonical already: one look at
    them all, joined by newlines, costs a fraction of one look per path. Every
    path sits between two newlines there, so each pattern the one-path check
    looks for is found (a newline inside a path can only add false alarms).
    """
    lines = "\n" + "\n".join(paths) + "\n"
    if any(mark in lines for mark in ("//", "/./", "\n./", "/\n", "/.\n", "\n\n", "\n.\n")):
        return [normalize_path(path) for path in paths]
    return paths


_REDUNDANT_WILDCARDS = re.compile(r"\*{3,}|(?:\*\*/)+\*\*(?![^/])|(?:\*\*/){2,}")


def _collapse(match: re.Match[str]) -> str:
    text = match.group()
    return "**/" if text.endswith("/") else "**"


@lru_cache(maxsize=1024)
def compile_glob(pattern: str) -> re.Pattern[str]:
    """Translate ``pattern`` into an anchored regular expression.

    Runs of wildcards that match the same strings (``**/**/``, ``***``) are
    collapsed first: each copy would be one more nested quantifier for the
    regular expression engine to backtrack through, exponentially in the
    number of copies on a path that does not match.
    """
    pattern = normalize_path(pattern) if pattern not in ("", "/") else pattern
    previous = None
    while previous != pattern:
        previous, pattern = pattern, _REDUNDANT_WILDCARDS.sub(_collapse, pattern)
    out: list[str] = []
    i, n = 0, len(pattern)
    while i < n:
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif pattern[i] == "*":
            out.append("[^/]*")
            i += 1
        elif pattern[i] == "?":
            out.append("[^/]")
            i += 1
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    return re.compile("".join(out) + r"\Z", re.DOTALL)
