"""Writing budget drop-ins into a unit directory: planned first, then applied atomically.

Every file is ``<unit dir>/<unit>.d/50-smartrestart.conf``. A file is only
rewritten when its content changes; drop-ins this tool wrote for units no
longer budgeted are removed (recognised by their header, so nothing else is
ever touched). Writes go through :mod:`smartrestart.atomicfile`: temp file
and rename inside a directory opened without following symlinks, so a
symlinked ``<unit>.d`` or drop-in is refused instead of followed.
"""

from __future__ import annotations

import contextlib
import difflib
import errno
import os
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from smartrestart.atomicfile import UnsafePathError, open_directory, read_in, write_in
from smartrestart.budget.render import DROPIN_NAME, is_ours
from smartrestart.errors import UsageError


class Change(StrEnum):
    WRITE = "write"
    UNCHANGED = "unchanged"
    REMOVE = "remove"


@dataclass(frozen=True, slots=True)
class FilePlan:
    unit: str
    path: Path
    change: Change
    old: str | None
    new: str | None

    def diff(self) -> str:
        old = (self.old or "").splitlines(keepends=True)
        new = (self.new or "").splitlines(keepends=True)
        label = str(self.path).lstrip("/")
        return "".join(
            difflib.unified_diff(
                old,
                new,
                f"a/{label}" if self.old is not None else "/dev/null",
                f"b/{label}" if self.new is not None else "/dev/null",
            )
        )


def dropin_path(unit_dir: Path, unit: str) -> Path:
    return unit_dir / f"{unit}.d" / DROPIN_NAME


def plan_dropins(unit_dir: Path, wanted: Mapping[str, str]) -> list[FilePlan]:
    """What writing ``wanted`` (unit -> drop-in text) into ``unit_dir`` would change."""
    plans: list[FilePlan] = []
    for unit, text in sorted(wanted.items()):
        path = dropin_path(unit_dir, unit)
        old = _read(path)
        if old is not None and not is_ours(old):
            raise UsageError(
                f"{path} exists and was not written by smartrestart; refusing to overwrite it"
            )
        plans.append(
            FilePlan(unit, path, Change.UNCHANGED if old == text else Change.WRITE, old, text)
        )
    for unit, path, old in _ours_in(unit_dir):
        if unit not in wanted:
            plans.append(FilePlan(unit, path, Change.REMOVE, old, None))
    return plans


def apply_plans(plans: list[FilePlan]) -> None:
    """Carry out planned writes and removals."""
    for plan in plans:
        if plan.change is Change.WRITE:
            assert plan.new is not None
            dir_fd = _open_dropin_dir(plan.path.parent)
            try:
                write_in(dir_fd, plan.path.name, plan.new.encode())
            finally:
                os.close(dir_fd)
        elif plan.change is Change.REMOVE:
            dir_fd = open_directory(plan.path.parent)
            try:
                os.unlink(plan.path.name, dir_fd=dir_fd)
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)
            try:
                plan.path.parent.rmdir()  # only when nothing else is in <unit>.d
            except OSError as exc:
                if exc.errno not in (errno.ENOTEMPTY, errno.EEXIST):
                    raise


def _open_dropin_dir(directory: Path) -> int:
    parent_fd = open_directory(directory.parent, create=True)
    try:
        with contextlib.suppress(FileExistsError):
            os.mkdir(directory.name, 0o755, dir_fd=parent_fd)
        fd = os.open(
            directory.name,
            os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC,
            dir_fd=parent_fd,
        )
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.ENOTDIR):
            raise UsageError(
                f"{directory} is a symlink or not a directory; refusing to write into it"
            ) from None
        raise
    finally:
        os.close(parent_fd)
    return fd


def _read(path: Path) -> str | None:
    try:
        dir_fd = open_directory(path.parent)
    except FileNotFoundError:
        return None
    except UnsafePathError:
        raise UsageError(f"{path.parent} is a symlink; refusing to follow it") from None
    try:
        data = read_in(dir_fd, path.name)
    except UnsafePathError:
        raise UsageError(f"{path} is a symlink; refusing to follow it") from None
    finally:
        os.close(dir_fd)
    return None if data is None else data.decode("utf-8", "replace")


def _ours_in(unit_dir: Path) -> list[tuple[str, Path, str]]:
    """Drop-ins under ``unit_dir`` that carry our header: (unit, path, text)."""
    found: list[tuple[str, Path, str]] = []
    try:
        entries = sorted(unit_dir.iterdir())
    except FileNotFoundError:
        return found
    for entry in entries:
        if not entry.name.endswith(".d") or entry.is_symlink() or not entry.is_dir():
            continue
        path = entry / DROPIN_NAME
        if path.is_symlink() or not path.is_file():
            continue
        text = path.read_text(errors="replace")
        if is_ours(text):
            found.append((entry.name[: -len(".d")], path, text))
    return found
