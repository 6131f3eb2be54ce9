"""Reading regular files up to a limit: whatever the size fstat gave, the whole content."""

from __future__ import annotations

from pathlib import Path

import pytest

from smartrestart.regularfile import NotReadable, read_regular, read_regular_stat


@pytest.mark.parametrize("size", [0, 1, 4095, 4096, 4097, 100_000])
def test_files_up_to_the_limit_are_read_whole(tmp_path: Path, size: int) -> None:
    path = tmp_path / "f"
    path.write_bytes(bytes(range(256)) * (size // 256) + b"x" * (size % 256))
    content, status = read_regular_stat(path, 100_000)
    assert content == path.read_bytes() and status.st_size == size


def test_one_byte_past_the_limit_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "f"
    path.write_bytes(b"x" * 11)
    assert read_regular(tmp_path / "f", 11) == b"x" * 11
    with pytest.raises(NotReadable, match="larger than 10 bytes"):
        read_regular(path, 10)


def test_content_beyond_the_size_fstat_gave_is_read() -> None:
    """/proc files say size 0 and have content: a file can also grow while it is read."""
    status = read_regular("/proc/self/status", 1 << 20)
    assert b"\nPid:" in status and status.endswith(b"\n")
