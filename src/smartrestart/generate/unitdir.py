"""A unit directory as ``generate`` may use it: checked first, read safely, written all or nothing.

* Checked before anything is read or written: a unit directory that is a
  symlink, not a directory, outside the image it belongs to, or not writable
  is a usage error naming the path.
* Read without ever blocking or following a link: a drop-in is opened with
  ``O_NOFOLLOW | O_NONBLOCK`` and must be a regular file (a FIFO in its place
  used to hang ``generate`` forever).
* Written in two phases: every new drop-in is first staged as a temporary
  file next to its target (creating the directories it needs); only when all
  are staged are they renamed into place. A failure while staging (a
  read-only file system, a full disk, a directory that cannot be created)
  removes what was staged and created, so nothing is half-written.
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import stat
from dataclasses import dataclass, field
from pathlib import Path

from smartrestart.errors import UsageError

MAX_DROPIN_BYTES = 1 << 20  # ours are a few hundred bytes; a larger file is not ours
_OPEN_DIRECTORY = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


def check_unit_dir(unit_dir: Path, *, image: Path | None = None, writing: bool) -> None:
    """Refuse a unit directory that ``generate`` cannot use safely; creating it is fine."""
    existing = unit_dir
    while True:
        try:
            mode = existing.lstat().st_mode
            break
        except FileNotFoundError:
            if existing.parent == existing:
                raise UsageError(f"{unit_dir}: no such directory") from None
            existing = existing.parent
        except OSError as exc:
            raise UsageError(f"{existing}: {exc.strerror}") from None
    if stat.S_ISLNK(mode) and existing == unit_dir:
        raise UsageError(
            f"{unit_dir} is a symlink; refusing to write through it "
            "(give the directory it points to with --unit-dir)"
        )
    if not existing.is_dir():
        raise UsageError(f"{existing} is not a directory")
    if image is not None and not existing.resolve().is_relative_to(image.resolve()):
        raise UsageError(f"{unit_dir} leads out of the image {image} through a symlink")
    if writing:
        problem = _not_writable(existing)
        if problem:
            raise UsageError(f"{existing} is not writable ({problem}); nothing was changed")


def _not_writable(directory: Path) -> str | None:
    with contextlib.suppress(OSError):
        if os.statvfs(directory).f_flag & os.ST_RDONLY:
            return "read-only file system"
    if not os.access(directory, os.W_OK | os.X_OK):
        return "permission denied"
    return None


def read_dropin(path: Path, *, strict: bool) -> str | None:
    """Text of ``path``; None when absent (or, unless ``strict``, when it cannot be ours).

    ``strict`` is for a drop-in ``generate`` is about to replace: anything but
    a readable regular file there is an error naming it.
    """
    try:
        dir_fd = os.open(path.parent, _OPEN_DIRECTORY)
    except FileNotFoundError:
        return None
    except OSError as exc:
        if not strict:
            return None
        if exc.errno in (errno.ELOOP, errno.ENOTDIR):
            raise UsageError(f"{path.parent} is a symlink or not a directory") from None
        raise UsageError(f"{path.parent}: {exc.strerror}") from None
    try:
        return _read_in(dir_fd, path, strict=strict)
    finally:
        os.close(dir_fd)


def _read_in(dir_fd: int, path: Path, *, strict: bool) -> str | None:
    flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
    try:
        fd = os.open(path.name, flags, dir_fd=dir_fd)
    except FileNotFoundError:
        return None
    except OSError as exc:
        if not strict:
            return None
        if exc.errno == errno.ELOOP:
            raise UsageError(f"{path} is a symlink; refusing to follow it") from None
        raise UsageError(f"{path}: {exc.strerror}") from None
    with os.fdopen(fd, "rb") as stream:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            if strict:
                raise UsageError(f"{path}: not a regular file; refusing to replace it")
            return None
        data = stream.read(MAX_DROPIN_BYTES + 1)
    if len(data) > MAX_DROPIN_BYTES and strict:
        raise UsageError(f"{path}: larger than {MAX_DROPIN_BYTES} bytes, not a drop-in of ours")
    return data.decode("utf-8", "replace")


def scan_dropins(unit_dir: Path, name: str) -> list[tuple[str, Path, str]]:
    """Every ``<unit>.d/<name>`` under ``unit_dir`` as (unit, path, text); links are skipped."""
    try:
        entries = sorted(os.scandir(unit_dir), key=lambda e: e.name)
    except (FileNotFoundError, NotADirectoryError):
        return []
    except OSError as exc:
        raise UsageError(f"cannot list {unit_dir}: {exc.strerror}") from None
    found: list[tuple[str, Path, str]] = []
    for entry in entries:
        if not entry.name.endswith(".d") or not entry.is_dir(follow_symlinks=False):
            continue
        path = unit_dir / entry.name / name
        text = read_dropin(path, strict=False)
        if text is not None:
            found.append((entry.name[: -len(".d")], path, text))
    return found


@dataclass
class StagedWrites:
    """New drop-ins written next to their targets, not yet renamed into place."""

    _staged: list[tuple[int, str, Path]] = field(default_factory=list)
    _created: list[Path] = field(default_factory=list)

    def stage(self, path: Path, content: bytes) -> None:
        """Write ``content`` to a temporary file beside ``path`` (creating directories)."""
        dir_fd = self._open_creating(path.parent)
        temporary = f".{path.name}.{secrets.token_hex(6)}.tmp"
        try:
            fd = os.open(
                temporary,
                os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC,
                0o644,
                dir_fd=dir_fd,
            )
        except OSError:
            os.close(dir_fd)
            raise
        self._staged.append((dir_fd, temporary, path))
        with os.fdopen(fd, "wb") as stream:
            stream.write(content)
            stream.flush()
            os.fsync(stream.fileno())

    def commit(self) -> list[Path]:
        """Rename every staged file into place; the paths done, in order."""
        done: list[Path] = []
        while self._staged:
            dir_fd, temporary, path = self._staged[0]
            os.rename(temporary, path.name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
            os.fsync(dir_fd)
            os.close(dir_fd)
            self._staged.pop(0)
            done.append(path)
        self._created.clear()
        return done

    def roll_back(self) -> None:
        """Remove the staged files and the directories staging created."""
        for dir_fd, temporary, _path in self._staged:
            with contextlib.suppress(OSError):
                os.unlink(temporary, dir_fd=dir_fd)
            os.close(dir_fd)
        self._staged.clear()
        for directory in reversed(self._created):
            with contextlib.suppress(OSError):
                directory.rmdir()
        self._created.clear()

    def _open_creating(self, directory: Path) -> int:
        missing: list[Path] = []
        probe = directory
        while not probe.exists() and not probe.is_symlink() and probe.parent != probe:
            missing.append(probe)
            probe = probe.parent
        for new in reversed(missing):
            new.mkdir(0o755)
            self._created.append(new)
        try:
            return os.open(directory, _OPEN_DIRECTORY)
        except OSError as exc:
            if exc.errno in (errno.ELOOP, errno.ENOTDIR):
                raise UsageError(
                    f"{directory} is a symlink or not a directory; refusing to write into it"
                ) from None
            raise


def remove_dropin(path: Path) -> None:
    """Remove one drop-in, and its ``<unit>.d`` when nothing else is left in it."""
    dir_fd = os.open(path.parent, _OPEN_DIRECTORY)
    try:
        os.unlink(path.name, dir_fd=dir_fd)
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
    try:
        path.parent.rmdir()
    except OSError as exc:
        if exc.errno not in (errno.ENOTEMPTY, errno.EEXIST):
            raise
