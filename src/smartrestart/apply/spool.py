"""The spool of pending changes on disk: ``/var/lib/smartrestart/pending``.

Root's own, like the rules: a record says which units root restarts, so the
directory and every directory above it must be root's (or the invoking
user's) and writable by nobody else, and every record a regular file of that
owner, not writable by group or others, read without following a symlink
and up to a size limit. The dpkg helper makes the directory 0700 and writes
each record 0600 under a new name (``PKG.XXXXXX.list``, renamed into place
when complete), so readers never see half a record and writers never touch
one that exists. Settling removes the records read, or rewrites one in place
(atomically) with the files still pending: nothing else is touched, so a
record written meanwhile stays for the next run.
"""

from __future__ import annotations

import contextlib
import os
import stat
from pathlib import Path
from typing import Self

from smartrestart.apply.pending import PendingRecord, Settlement, parse_record, render_record
from smartrestart.atomicfile import open_directory, read_in, write_in
from smartrestart.errors import UsageError
from smartrestart.trust import TrustPolicy, owner_name, untrusted_directory

PENDING_DIR = Path("/var/lib/smartrestart/pending")


def spool_directory(config_root: str) -> Path:
    """The spool under ``--config-root`` (``/`` on a live system; an image, or a test)."""
    return Path(config_root) / PENDING_DIR.relative_to("/")


RECORD_SUFFIX = ".list"
# A record lists one package's changed files: 64 MiB is ~500000 paths.
MAX_RECORD_BYTES = 64 * 1024 * 1024


class UntrustedSpool(UsageError):
    """The spool, or a record in it, could be written by someone other than root."""


class Spool:
    """The records of one spool directory, read once; :meth:`settle` writes back."""

    def __init__(self, directory: Path, records: tuple[PendingRecord, ...], fd: int | None):
        self.directory = directory
        self.records = records
        self._fd = fd

    @classmethod
    def read(cls, directory: Path = PENDING_DIR) -> Self:
        """Every complete record, by name; a missing directory holds none."""
        policy = TrustPolicy.for_invoker()
        if not directory.exists() and not directory.is_symlink():
            return cls(directory, (), None)
        problem = untrusted_directory(directory, policy)
        if problem:
            raise UntrustedSpool(
                f"refusing the pending changes in {directory}: {problem}",
                hint="the spool is written by package maintainer scripts, as root",
            )
        fd = open_directory(directory)
        try:
            names = sorted(
                name
                for name in os.listdir(fd)  # noqa: PTH208 - listed through the open descriptor
                if name.endswith(RECORD_SUFFIX) and not name.startswith(".")
            )
            read = (_read_record(directory, fd, name, policy) for name in names)
            records = tuple(record for record in read if record is not None)
        except BaseException:
            os.close(fd)
            raise
        return cls(directory, records, fd)

    def settle(self, settlement: Settlement) -> None:
        """Remove the cleared records, rewrite the kept ones with what is still pending."""
        if self._fd is None:
            return
        for record in settlement.cleared:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(record.name, dir_fd=self._fd)
        for record in settlement.kept:
            content = render_record(record).encode("utf-8", "surrogateescape")
            write_in(self._fd, record.name, content, mode=0o600)

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _read_record(directory: Path, fd: int, name: str, policy: TrustPolicy) -> PendingRecord | None:
    """The record ``name``; None when it is gone (another run settled it meanwhile)."""
    path = directory / name
    try:
        st = os.stat(name, dir_fd=fd, follow_symlinks=False)
        mode = stat.S_IMODE(st.st_mode)
        if stat.S_ISREG(st.st_mode) and (st.st_uid not in policy.uids or mode & 0o022):
            raise UntrustedSpool(
                f"refusing the pending record {path}: owned by {owner_name(st.st_uid)}, "
                f"mode {mode:04o}",
                hint=f"records are root's, not writable by group or others; remove {path} "
                "if nobody you trust wrote it",
            )
        data = read_in(fd, name, MAX_RECORD_BYTES)  # refuses a symlink, a FIFO, a device
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise UntrustedSpool(f"refusing the pending record {path}: {exc.strerror or exc}") from None
    if data is None:
        return None
    return parse_record(data.decode("utf-8", "surrogateescape"), path)
