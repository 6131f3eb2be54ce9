"""What masks a rules.d fragment (an empty file, /dev/null) and what does not (a broken link or
another device, which the reader then reports), and the words of the errors before any read."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from smartrestart.errors import UsageError
from smartrestart.rules.sources import find_fragments, rules_sources
from smartrestart.trust import UntrustedFile

ETC = "etc/smartrestart/rules.d"


def fragment(root: Path, name: str, text: str | None = "actions: {}\n") -> Path:
    path = root / ETC / name
    path.parent.mkdir(parents=True, exist_ok=True)
    if text is not None:
        path.write_text(text)
    return path


def test_an_empty_file_masks_and_a_one_byte_file_does_not(tmp_path: Path) -> None:
    fragment(tmp_path, "10-empty.yaml", "")
    newline = fragment(tmp_path, "20-newline.yaml", "\n")
    assert find_fragments(str(tmp_path)) == [str(newline)]


def test_a_broken_link_or_another_device_is_read_and_reported(tmp_path: Path) -> None:
    broken = fragment(tmp_path, "10-broken.yaml", None)
    broken.symlink_to(tmp_path / "missing.yaml")
    zero = fragment(tmp_path, "20-zero.yaml", None)
    zero.symlink_to("/dev/zero")
    assert find_fragments(str(tmp_path)) == [str(broken), str(zero)]


def test_other_files_in_rules_d_do_not_hide_later_fragments(tmp_path: Path) -> None:
    fragment(tmp_path, "00-notes.txt")
    later = fragment(tmp_path, "10-app.yaml")
    assert find_fragments(str(tmp_path)) == [str(later)]


def test_no_rules_names_every_place_rules_could_be(tmp_path: Path) -> None:
    with pytest.raises(UsageError) as caught:
        rules_sources([], str(tmp_path), str(tmp_path))
    assert caught.value.message == (
        "no rules: give --rules FILE, create restart-rules.yaml here, or put *.yaml fragments in "
        f"{tmp_path}/etc/smartrestart/rules.d, {tmp_path}/run/smartrestart/rules.d, "
        f"{tmp_path}/usr/lib/smartrestart/rules.d"
    )


def test_an_untrusted_rules_file_is_named_as_such(tmp_path: Path) -> None:
    rules = fragment(tmp_path, "10-app.yaml")
    rules.chmod(0o666)
    with pytest.raises(UntrustedFile) as caught:
        rules_sources([], str(tmp_path), str(tmp_path))
    assert caught.value.message.startswith(f"refusing the rules file {rules}: ")


def test_a_rules_d_that_cannot_be_listed_is_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fragment(tmp_path, "10-app.yaml")

    def denied(path: str) -> list[str]:
        raise PermissionError(13, "Permission denied", path)

    monkeypatch.setattr(os, "listdir", denied)  # as root, a mode cannot deny it
    with pytest.raises(UsageError) as caught:
        find_fragments(str(tmp_path))
    assert caught.value.message == f"cannot list {tmp_path / ETC}: Permission denied"
