"""watch drops the cached bytecode of changed sources, and nothing else."""

from __future__ import annotations

from pathlib import Path

from smartrestart.watch.bytecode import drop_bytecode


def test_only_the_changed_sources_bytecode_goes(tmp_path: Path) -> None:
    cache = tmp_path / "__pycache__"
    cache.mkdir()
    names = [
        "helper.cpython-311.pyc",
        "helper.cpython-313.opt-1.pyc",
        "helper.pypy39.pyc",
        "helper_two.cpython-311.pyc",
        "other.cpython-311.pyc",
        "helper.x.cpython-311.pyc",  # the bytecode of helper.x.py
        "helper.cpython-311.txt",
    ]
    for name in names:
        (cache / name).write_bytes(b"")
    (tmp_path / "helper.py").write_text("")
    drop_bytecode([str(tmp_path / "helper.py"), str(tmp_path / "data.json")])
    assert sorted(p.name for p in cache.iterdir()) == [
        "helper.cpython-311.txt",
        "helper.x.cpython-311.pyc",
        "helper_two.cpython-311.pyc",
        "other.cpython-311.pyc",
    ]


def test_a_missing_or_unreadable_cache_is_no_error(tmp_path: Path) -> None:
    drop_bytecode([str(tmp_path / "gone.py"), str(tmp_path / "no" / "such" / "dir.py")])
    (tmp_path / "__pycache__").write_text("not a directory")
    drop_bytecode([str(tmp_path / "file.py")])
    assert (tmp_path / "__pycache__").read_text() == "not a directory"


def test_many_changed_sources_of_one_directory(tmp_path: Path) -> None:
    cache = tmp_path / "__pycache__"
    cache.mkdir()
    for stem in ("a", "b", "c"):
        (cache / f"{stem}.cpython-311.pyc").write_bytes(b"")
        (cache / f"{stem}.cpython-311.opt-2.pyc").write_bytes(b"")
    drop_bytecode([str(tmp_path / "a.py"), str(tmp_path / "c.py")])
    assert sorted(p.name for p in cache.iterdir()) == [
        "b.cpython-311.opt-2.pyc",
        "b.cpython-311.pyc",
    ]
