"""A JSON document kept in a file: written atomically, never half-read.

``save()`` writes a temporary file in the same directory, fsyncs it, renames
it over the old one and fsyncs the directory: a reader (or the next start
after a ``kill -9`` mid-write) sees the old document or the new one, never
half. ``load()`` never returns half-read data either: a file that does not
parse is reported, set aside for inspection, and the caller starts fresh.

Standard library only: the notify library's :class:`~smartrestart.notify.StateStore`
and the failure handler's records are both kept this way.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from smartrestart.atomicfile import open_directory, read_in, write_in


class JsonFile:
    """One JSON document kept in a file of a directory (made 0700 when missing)."""

    def __init__(self, directory: str | os.PathLike[str], name: str) -> None:
        if "/" in name or name in ("", ".", ".."):
            raise ValueError(f"state file name {name!r} must be a plain file name")
        self.directory = Path(directory)
        self.name = name
        self.load_error: str | None = None

    @property
    def path(self) -> Path:
        return self.directory / self.name

    def load(self, default: Any = None) -> Any:
        """The saved state, or ``default`` when there is none or it is unreadable."""
        self.load_error = None
        try:
            dir_fd = open_directory(self.directory, create=True, mode=0o700)
        except OSError as exc:
            return self._fresh(default, f"cannot open {self.directory}: {exc.strerror or exc}")
        try:
            self._remove_leftovers(dir_fd)
            try:
                raw = read_in(dir_fd, self.name)
            except OSError as exc:
                return self._fresh(default, f"cannot read {self.path}: {exc.strerror or exc}")
            if raw is None:
                return default
            try:
                return json.loads(raw.decode("utf-8"))
            except (UnicodeDecodeError, ValueError) as exc:
                aside = f"{self.name}.corrupt-{time.strftime('%Y%m%dT%H%M%S')}"
                os.rename(self.name, aside, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
                return self._fresh(default, f"{self.path} is corrupt ({exc}); kept as {aside}")
        finally:
            os.close(dir_fd)

    def save(self, state: Any) -> None:
        """Replace the saved state atomically (and durably: fsync'ed)."""
        data = (json.dumps(state, sort_keys=True, separators=(",", ":")) + "\n").encode("utf-8")
        dir_fd = open_directory(self.directory, create=True, mode=0o700)
        try:
            write_in(dir_fd, self.name, data, mode=0o600)
        finally:
            os.close(dir_fd)

    def _fresh(self, default: Any, problem: str) -> Any:
        self.load_error = f"{problem}; starting with fresh state"
        print(f"state: {self.load_error}", file=sys.stderr)
        return default

    def _remove_leftovers(self, dir_fd: int) -> None:
        """Temporary files of a save that was killed before its rename."""
        prefix = f".{self.name}."
        for entry in os.listdir(dir_fd):
            if entry.startswith(prefix) and entry.endswith(".tmp"):
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(entry, dir_fd=dir_fd)
