"""The atomic writer's durability: what is fsync'ed, and when.

A rename is atomic but not durable: after a power cut the directory may still
hold the old name (or nothing), and the new file may be empty. So the content
is fsync'ed before the rename, and the directory after it. Nothing else shows
whether those calls happen, so these tests watch ``os.fsync`` itself.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from smartrestart.atomicfile import WriteOutcome, write_file


class SyncWatch:
    """Records each fsync: what the descriptor names and what the target held then."""

    def __init__(self, target: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        self.target = target
        self.synced: list[tuple[str, bytes | None]] = []
        real = os.fsync

        def fsync(fd: int) -> None:
            named = str(Path(f"/proc/self/fd/{fd}").readlink())
            held = target.read_bytes() if target.exists() else None
            self.synced.append((named, held))
            real(fd)

        monkeypatch.setattr(os, "fsync", fsync)


def test_durable_write_syncs_the_content_before_the_rename_and_the_directory_after(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "state.json"
    target.write_bytes(b"old")
    watch = SyncWatch(target, monkeypatch)
    assert write_file(target, b"new") is WriteOutcome.WRITTEN
    (content, content_held), (directory, directory_held) = watch.synced
    # The temporary file, while the target still held the old content.
    assert Path(content).parent == tmp_path and Path(content).name.startswith(".state.json.")
    assert content_held == b"old"
    # The directory, once the rename put the new content in place.
    assert (Path(directory), directory_held) == (tmp_path, b"new")
    assert target.read_bytes() == b"new"


def test_a_new_file_in_a_new_directory_is_synced_too(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "sub/new.conf"
    watch = SyncWatch(target, monkeypatch)
    write_file(target, b"x", create_dirs=True)
    (content, content_held), (directory, directory_held) = watch.synced
    assert (Path(content).parent, content_held) == (tmp_path / "sub", None)
    assert (Path(directory), directory_held) == (tmp_path / "sub", b"x")


def test_not_durable_skips_both_fsyncs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "cache.bin"
    watch = SyncWatch(target, monkeypatch)
    assert write_file(target, b"data", durable=False) is WriteOutcome.WRITTEN
    assert target.read_bytes() == b"data"
    assert watch.synced == []


def test_unchanged_content_is_neither_written_nor_synced(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "same"
    target.write_bytes(b"same")
    watch = SyncWatch(target, monkeypatch)
    assert write_file(target, b"same") is WriteOutcome.UNCHANGED
    assert watch.synced == []
