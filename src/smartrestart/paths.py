"""Every changed path in one canonical form, whatever source it came from.

A deploy often runs from a symlinked directory (``/srv/app/current ->
releases/42``, the Capistrano and Deployer layout). The shell's ``$PWD`` says
``current``, but git and the import graph speak physical paths, and the kernel
resolves ``a/../b`` physically too. Comparing the two kinds of path silently
matches nothing, so every source (arguments, stdin, ``--git``,
``--from-dpkg``, the import graph) goes through :func:`WorkingDirectory.canonical`:
directories resolved to their physical location, the last component kept as
named (a changed symlink is itself the change), and the result written
relative to the physical working directory when inside it, absolute otherwise
(and always absolute from ``/``).
Relative paths read the same in both views, so the rules' relative patterns
keep their meaning.
"""

from __future__ import annotations

import contextlib
import os

from smartrestart.errors import UsageError
from smartrestart.records import NamedTuple

# The longest path the kernel accepts; longer "paths" are garbage, and bounding
# them bounds the work of matching them against glob patterns.
PATH_MAX = 4096


class WorkingDirectory(NamedTuple):
    """Where relative paths start: as the user typed it, and as the kernel sees it."""

    logical: str  # $PWD when it names the same directory: for messages
    physical: str  # symlinks resolved: what every path is compared against

    @classmethod
    def current(cls) -> WorkingDirectory:
        physical = os.path.realpath(os.getcwd())
        pwd = os.environ.get("PWD", "")
        if pwd.startswith("/"):
            with contextlib.suppress(OSError):
                if os.path.samefile(pwd, physical):
                    return cls(os.path.normpath(pwd), physical)
        return cls(physical, physical)

    def absolute(self, path: str) -> str:
        """The physical absolute path of ``path`` (relative paths start here)."""
        check_path(path)
        joined = os.path.join(self.physical, path)
        head, tail = os.path.split(joined)
        if tail in ("", ".", ".."):
            return os.path.realpath(joined)
        return os.path.join(os.path.realpath(head), tail)

    def relative(self, absolute: str) -> str:
        """An absolute physical path, relative to here when inside, else unchanged.

        From ``/`` every path stays absolute: that is where maintainer scripts
        and the dpkg trigger run, and the absolute form is the one package
        fragments' patterns (``/usr/lib/...``) are written in.
        """
        base = self.physical
        if base == "/":
            return absolute
        if absolute == base:
            return "."
        if absolute.startswith(base + "/"):
            return absolute[len(base) + 1 :]
        return absolute

    def relative_under(self, directory: str, names: list[str]) -> list[str]:
        """:meth:`relative` of ``directory/name`` for each of ``names``, decided once.

        An expansion adds thousands of files below one root: whether they are
        inside the working directory is the root's question, not each file's,
        except when the working directory is inside the root.
        """
        head = directory.rstrip("/") + "/"
        base = self.physical
        if base != "/" and head.startswith(base + "/"):  # all inside
            inside = head[len(base) + 1 :]
            return [inside + name for name in names]
        if base != "/" and (base + "/").startswith(head):  # here is below the directory
            return [self.relative(head + name) for name in names]
        return [head + name for name in names]  # all outside, or from /: absolute

    def canonical(self, path: str) -> str:
        """The one form a changed path takes everywhere: see the module docstring."""
        return self.relative(self.absolute(path))

    def is_inside(self, absolute: str) -> bool:
        return not self.relative(absolute).startswith("/")


def check_path(path: str) -> None:
    """Refuse what cannot be a path: a NUL byte, or more than PATH_MAX bytes."""
    if "\0" in path:
        raise UsageError(f"a changed path contains a NUL byte: {path[:80]!r}")
    if len(path.encode("utf-8", "surrogateescape")) > PATH_MAX:
        raise UsageError(f"a changed path is longer than {PATH_MAX} bytes: {path[:80]!r}...")


def canonical_pattern(pattern: str) -> str:
    """An absolute glob pattern with its literal directories resolved like paths are.

    ``/lib/systemd/system/*.service`` must match what ``dpkg -L`` lists on a
    merged-/usr system once that path is canonical (``/usr/lib/systemd/...``).
    Relative patterns are returned unchanged.
    """
    if not pattern.startswith("/"):
        return pattern
    wildcard = min((i for i in (pattern.find("*"), pattern.find("?")) if i >= 0), default=-1)
    literal_end = pattern.rfind("/", 0, wildcard) if wildcard >= 0 else pattern.rfind("/")
    if literal_end <= 0:
        return pattern
    directory = os.path.realpath(pattern[:literal_end])
    return directory.rstrip("/") + pattern[literal_end:]
