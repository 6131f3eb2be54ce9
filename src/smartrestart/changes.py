"""Where the list of changed files comes from: arguments, stdin, git or dpkg.

Paths come out normalised and relative to the working directory (the
repository, in a deploy), except paths outside it, which stay absolute; that
is also the form ``dpkg -L`` gives, so rules fragments shipped by Debian
packages match absolute patterns such as ``/usr/lib/python3/dist-packages/app/**``.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import BinaryIO, NamedTuple

from smartrestart.errors import UsageError
from smartrestart.globmatch import normalize_path


class ChangeSources(NamedTuple):
    """The inputs a user gave; any combination, stdin only when nothing else is."""

    paths: Sequence[str] = ()
    null_separated: bool = False
    git_range: str | None = None
    dpkg_package: str | None = None


def gather_changes(sources: ChangeSources, stdin: BinaryIO, cwd: str) -> list[str]:
    """Changed paths in first-seen order, duplicates removed."""
    found: list[str] = []
    explicit = [p for p in sources.paths if p != "-"]
    found.extend(explicit)
    if sources.git_range:
        found.extend(git_changes(sources.git_range, cwd))
    if sources.dpkg_package:
        found.extend(dpkg_files(sources.dpkg_package))
    read_stdin = "-" in sources.paths or not (explicit or sources.git_range or sources.dpkg_package)
    if read_stdin:
        if stdin.isatty():
            raise UsageError(
                "no changed paths: give PATH arguments, --git A..B, --from-dpkg PKG, "
                "or pipe paths on stdin"
            )
        found.extend(split_stdin(stdin.read(), null_separated=sources.null_separated))
    return list(dict.fromkeys(relative_to(cwd, p) for p in found if p.strip()))


def split_stdin(data: bytes, *, null_separated: bool) -> list[str]:
    """Paths from stdin: one per line, or NUL-separated (``-z``, safe for any name)."""
    text = data.decode("utf-8", "surrogateescape")
    if null_separated:
        return [p for p in text.split("\0") if p]
    return [line.strip() for line in text.splitlines() if line.strip()]


def relative_to(cwd: str, path: str) -> str:
    """``path`` relative to ``cwd`` when inside it, else absolute; always normalised."""
    if os.path.isabs(path):
        normalized = os.path.normpath(path)
        if normalized == cwd or normalized.startswith(cwd.rstrip("/") + "/"):
            return normalize_path(os.path.relpath(normalized, cwd))
        return normalize_path(normalized)
    return normalize_path(path)


def _run(argv: list[str], cwd: str, what: str) -> str:
    import subprocess  # only --git and --from-dpkg need it; decide starts faster without

    try:
        completed = subprocess.run(argv, cwd=cwd, capture_output=True, check=False)
    except FileNotFoundError:
        raise UsageError(f"{what}: {argv[0]} is not installed") from None
    if completed.returncode != 0:
        detail = completed.stderr.decode("utf-8", "replace").strip().splitlines()
        raise UsageError(f"{what}: {detail[-1] if detail else f'{argv[0]} failed'}")
    return completed.stdout.decode("utf-8", "surrogateescape")


def git_changes(revision_range: str, cwd: str) -> list[str]:
    """Files changed in ``A..B``, old and new names of renames both included.

    ``--no-renames`` lists a rename as a deletion plus an addition, so the old
    module name still expands through its importers.
    """
    if revision_range.startswith("-"):
        raise UsageError(f"--git: {revision_range!r} is not a revision range")
    top = _run(["git", "rev-parse", "--show-toplevel"], cwd, "--git").strip()
    listing = _run(
        ["git", "diff", "--name-only", "--no-renames", "-z", revision_range, "--"], cwd, "--git"
    )
    return [os.path.join(top, p) for p in listing.split("\0") if p]


def dpkg_files(package: str) -> list[str]:
    """Regular files of an installed Debian package (``dpkg-query -L``), absolute."""
    if not package or package.startswith("-"):
        raise UsageError(f"--from-dpkg: {package!r} is not a package name")
    listing = _run(["dpkg-query", "-L", package], "/", f"--from-dpkg {package}")
    return [
        line
        for line in listing.splitlines()
        if line.startswith("/") and line != "/." and not os.path.isdir(line)
    ]
