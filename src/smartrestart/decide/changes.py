"""Where the list of changed files comes from: arguments, stdin, git or dpkg.

Every path comes out in the canonical form of :mod:`smartrestart.paths`:
relative to the working directory (the repository, in a deploy) when inside
it, absolute otherwise. Absolute is also the form ``dpkg -L`` gives, so rules
fragments shipped by Debian packages match absolute patterns such as
``/usr/lib/python3/dist-packages/app/**``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import BinaryIO

from smartrestart.errors import UsageError
from smartrestart.paths import WorkingDirectory
from smartrestart.records import NamedTuple

SYSTEM_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
# A repository's own configuration must not make git run a program for us
# (core.fsmonitor runs one on many commands); git itself refuses, as root, a
# repository another user owns unless safe.directory says otherwise.
GIT = ["git", "-c", "core.fsmonitor=false"]


class ChangeSources(NamedTuple):
    """The inputs a user gave; any combination, stdin only when nothing else is.

    ``git_range`` and ``dpkg_package`` are None when not given; an empty string
    (an unset variable in a script) is a mistake, never "read stdin instead".
    """

    paths: Sequence[str] = ()
    null_separated: bool = False
    git_range: str | None = None
    dpkg_package: str | None = None


def gather_changes(sources: ChangeSources, stdin: BinaryIO, cwd: WorkingDirectory) -> list[str]:
    """Changed paths, canonical, in first-seen order, duplicates removed."""
    found: list[str] = []
    explicit = [p for p in sources.paths if p != "-"]
    found.extend(explicit)
    if sources.git_range is not None:
        found.extend(git_changes(sources.git_range, cwd))
    if sources.dpkg_package is not None:
        found.extend(dpkg_files(sources.dpkg_package))
    given = explicit or sources.git_range is not None or sources.dpkg_package is not None
    if "-" in sources.paths or not given:
        if stdin.isatty():
            raise UsageError(
                "no changed paths: give PATH arguments, --git A..B, --from-dpkg PKG, "
                "or pipe paths on stdin"
            )
        found.extend(split_stdin(stdin.read(), null_separated=sources.null_separated))
    return list(dict.fromkeys(cwd.canonical(p) for p in found if p.strip()))


def split_stdin(data: bytes, *, null_separated: bool) -> list[str]:
    """Paths from stdin: one per line, or NUL-separated (``-z``, safe for any name)."""
    text = data.decode("utf-8", "surrogateescape")
    if null_separated:
        return [p for p in text.split("\0") if p]
    return [line.strip() for line in text.splitlines() if line.strip()]


def _run(argv: list[str], cwd: str, what: str) -> str:
    import os
    import subprocess  # only --git and --from-dpkg need it; decide starts faster without

    env = None
    if os.geteuid() == 0:  # root finds git and dpkg-query where the system put them
        env = {**os.environ, "PATH": SYSTEM_PATH}
    try:
        completed = subprocess.run(
            argv, cwd=cwd, capture_output=True, stdin=subprocess.DEVNULL, env=env, check=False
        )
    except FileNotFoundError:
        raise UsageError(f"{what}: {argv[0]} is not installed") from None
    if completed.returncode != 0:
        detail = completed.stderr.decode("utf-8", "replace").strip().splitlines()
        # The first line is the tool's diagnosis; later ones are generic hints
        # (dpkg-query adds "Use dpkg --contents ..." for a package not installed).
        raise UsageError(f"{what}: {detail[0] if detail else f'{argv[0]} failed'}")
    return completed.stdout.decode("utf-8", "surrogateescape")


def git_changes(revision_range: str, cwd: WorkingDirectory) -> list[str]:
    """Files changed in ``A..B`` (absolute), old and new names of renames both included.

    ``--no-renames`` lists a rename as a deletion plus an addition, so the old
    module name still expands through its importers. git names files from the
    repository's top; run from a subdirectory, a file outside the working
    directory cannot be matched by the rules' relative patterns, which would
    silently hand it to the fallback: that is refused with the way out.
    """
    if not revision_range.strip():
        raise UsageError("--git: the revision range is empty (an unset variable?)")
    if revision_range.startswith("-"):
        raise UsageError(f"--git: {revision_range!r} is not a revision range")
    top = _run([*GIT, "rev-parse", "--show-toplevel"], cwd.physical, "--git").strip()
    listing = _run(
        [*GIT, "diff", "--name-only", "--no-renames", "--no-ext-diff", "-z", revision_range, "--"],
        cwd.physical,
        "--git",
    )
    paths = [cwd.absolute(f"{top}/{p}") for p in listing.split("\0") if p]
    outside = [p for p in paths if not cwd.is_inside(p)]
    if outside:
        raise UsageError(
            f"--git: {len(outside)} changed file(s) lie outside the working directory "
            f"{cwd.logical} (git names them from the repository top {top}), "
            f"e.g. {outside[0]}; the rules' relative patterns cannot match them",
            hint=f"run from {top}, or choose the files yourself: "
            f"git diff --name-only --relative {revision_range} | smartrestart ...",
        )
    return paths


def dpkg_files(package: str) -> list[str]:
    """Regular files of an installed Debian package (``dpkg-query -L``), absolute."""
    import os

    if not package.strip():
        raise UsageError("--from-dpkg: the package name is empty (an unset variable?)")
    if package.startswith("-"):
        raise UsageError(f"--from-dpkg: {package!r} is not a package name")
    listing = _run(["dpkg-query", "-L", package], "/", f"--from-dpkg {package}")
    return [
        line
        for line in listing.splitlines()
        if line.startswith("/") and line != "/." and not os.path.isdir(line)
    ]
