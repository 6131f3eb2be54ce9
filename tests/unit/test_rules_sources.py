"""rules.d fragments follow systemd's precedence: /etc over /run over /usr/lib."""

from __future__ import annotations

from pathlib import Path

import pytest

from smartrestart.errors import UsageError
from smartrestart.rules.sources import find_fragments, rules_sources


def fragment(root: Path, directory: str, name: str, text: str = "actions: {}\n") -> str:
    path = root / directory / "smartrestart/rules.d" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return str(path)


def test_fragments_in_file_name_order_across_directories(tmp_path: Path) -> None:
    fragment(tmp_path, "usr/lib", "20-web.yaml")
    fragment(tmp_path, "etc", "30-local.yaml")
    fragment(tmp_path, "run", "10-early.yaml")
    names = [Path(p).name for p in find_fragments(str(tmp_path))]
    assert names == ["10-early.yaml", "20-web.yaml", "30-local.yaml"]


def test_etc_masks_same_name_in_run_and_usr_lib(tmp_path: Path) -> None:
    fragment(tmp_path, "usr/lib", "50-app.yaml")
    fragment(tmp_path, "run", "50-app.yaml")
    winner = fragment(tmp_path, "etc", "50-app.yaml")
    assert find_fragments(str(tmp_path)) == [winner]


def test_run_masks_usr_lib(tmp_path: Path) -> None:
    fragment(tmp_path, "usr/lib", "50-app.yaml")
    winner = fragment(tmp_path, "run", "50-app.yaml")
    assert find_fragments(str(tmp_path)) == [winner]


def test_symlink_to_dev_null_masks(tmp_path: Path) -> None:
    fragment(tmp_path, "usr/lib", "50-app.yaml")
    mask = tmp_path / "etc/smartrestart/rules.d/50-app.yaml"
    mask.parent.mkdir(parents=True)
    mask.symlink_to("/dev/null")
    assert find_fragments(str(tmp_path)) == []


def test_only_yaml_files_are_fragments(tmp_path: Path) -> None:
    fragment(tmp_path, "etc", "notes.txt")
    fragment(tmp_path, "etc", "app.yaml.dpkg-old")
    fragment(tmp_path, "etc", ".yaml")  # a hidden name with no suffix, as pathlib sees it
    kept = fragment(tmp_path, "etc", "app.yaml")
    assert find_fragments(str(tmp_path)) == [kept]


def test_explicit_files_come_first(tmp_path: Path) -> None:
    late = fragment(tmp_path, "etc", "00-first.yaml")
    (tmp_path / "mine.yaml").write_text("actions: {}\n")
    explicit = rules_sources(["./mine.yaml"], str(tmp_path), str(tmp_path))
    assert explicit == [f"{tmp_path}/mine.yaml", late]


def test_default_rules_file_in_working_directory(tmp_path: Path) -> None:
    default = tmp_path / "restart-rules.yaml"
    default.write_text("actions: {}\n")
    assert rules_sources([], f"{tmp_path}/empty-root", str(tmp_path)) == [str(default)]


def test_no_rules_at_all_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="no rules"):
        rules_sources([], str(tmp_path), str(tmp_path))
