"""Where the import cache lives and how it is written: file names, modes, the trust check of a
cache directory not made yet, and when a change is stored as a delta instead of whole."""

from __future__ import annotations

import gc
import marshal
import os
import time
import zlib
from array import array
from pathlib import Path

import pytest

from smartrestart.importgraph import cache as graph_cache
from smartrestart.importgraph import cachefile, tables
from smartrestart.importgraph.build import build_graph
from smartrestart.importgraph.index import DamagedCache
from tests.helpers import write_tree


def test_a_cache_file_is_named_after_its_root() -> None:
    crc = zlib.crc32(b"/srv/app-1/src")
    assert (
        graph_cache.cache_file("/c", "/srv/app-1/src") == f"/c/graph-srv_app_1_src-{crc:08x}.cache"
    )
    deep = "/" + "/".join(["d"] * 60)  # the name keeps the root's last 80 characters
    assert graph_cache.cache_file("/c", deep).startswith(f"/c/graph-{'_d' * 40}-")
    undecodable = "/srv/caf\udce9"  # a file-system name that is not UTF-8
    crc = zlib.crc32(b"/srv/caf\xe9")
    assert graph_cache.cache_file("/c", undecodable) == f"/c/graph-srv_caf_-{crc:08x}.cache"
    assert graph_cache.cache_file("/", "/srv") == f"/graph-srv-{zlib.crc32(b'/srv'):08x}.cache"
    assert graph_cache.delta_file("/c/g.cache") == "/c/g.cache.delta"


def test_without_xdg_cache_home_a_user_caches_under_home(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    monkeypatch.setenv("HOME", "/home/u")
    assert graph_cache.default_cache_dir() == "/home/u/.cache/smartrestart"
    monkeypatch.setenv("XDG_CACHE_HOME", "relative//cache/")  # spelled as pathlib would
    assert graph_cache.default_cache_dir() == "relative/cache/smartrestart"


def test_the_cache_is_private_to_its_user(tmp_path: Path) -> None:
    write_tree(tmp_path / "src", {"a.py": "", "b.py": "import a\n"})
    cache = tmp_path / "made/for/it"
    build_graph([tmp_path / "src"], cache_dir=cache)
    (written,) = cache.iterdir()
    assert (cache.stat().st_mode & 0o777, written.stat().st_mode & 0o777) == (0o700, 0o600)


def test_a_cache_directory_not_made_yet_is_judged_by_where_it_would_be_made(
    tmp_path: Path,
) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    assert graph_cache.untrusted(str(shared / "a/b")) is None
    shared.chmod(0o777)
    reason = graph_cache.untrusted(str(shared / "a/b"))
    assert reason is not None and "writable by group or others" in reason


def test_store_says_whether_the_cache_could_be_written(tmp_path: Path) -> None:
    cache = tables.RootCache(("",))
    assert graph_cache.store(str(tmp_path / "c/graph.cache"), cache, "/srv") is True
    (tmp_path / "file").write_text("")
    assert graph_cache.store(str(tmp_path / "file/graph.cache"), cache, "/srv") is False


def test_no_dependency_lists_where_none_were_read_or_scanned() -> None:
    with pytest.raises(DamagedCache) as caught:
        tables.RootCache(("",)).dependencies_of(0)
    assert str(caught.value) == "no dependency lists for file 0"


def test_dependency_lists_of_the_wrong_type_are_damaged() -> None:
    for wrong in ((["os"], ()), ((), ["os"]), ("os", "sys")):
        with pytest.raises(DamagedCache) as caught:
            tables.unpacked_dependencies(marshal.dumps(wrong))
        assert str(caught.value) == "damaged dependency lists"


def test_up_to_delta_limit_changed_files_are_a_delta_and_more_rewrite_the_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(graph_cache, "delta_limit", lambda files: 1)
    root = write_tree(tmp_path / "src", {"a.py": "", "b.py": "", "c.py": ""})
    cache = tmp_path / "cache"
    old = time.time() - 3600
    for path in [root, *root.iterdir()]:
        os.utime(path, (old, old))
    for step, changed in enumerate([(), ("a.py",), ("b.py", "c.py")]):
        for name in changed:
            (root / name).write_text(f"import os  # {step}\n")
            os.utime(root / name, (old + step, old + step))
        build_graph([root], cache_dir=cache)
        deltas = [p.name for p in cache.iterdir() if p.name.endswith(".delta")]
        assert len(deltas) == (1 if len(changed) == 1 else 0), changed


def test_offsets_that_run_backwards_or_past_the_entries_are_damaged(tmp_path: Path) -> None:
    entry = marshal.dumps(((), ()))
    (tmp_path / "entries").write_bytes(entry * 2)
    fd = os.open(tmp_path / "entries", os.O_RDONLY)
    size = 2 * len(entry)
    packed = tables.PackedDependencies(fd, 0, size, array("q", [0, len(entry), 3, size + 1]))
    assert packed.entry(0) == ((), ())
    for position in (1, 2):  # backwards; past the end
        with pytest.raises(DamagedCache) as caught:
            packed.raw(position)
        assert str(caught.value) == "damaged dependency offsets"


def test_pruning_leaves_what_only_looks_like_ours(tmp_path: Path) -> None:
    cache, living = tmp_path / "cache", tmp_path / "app"
    living.mkdir()
    cache.mkdir()
    old = time.time() - graph_cache.STALE_FOREIGN_SECONDS - 60
    foreign = ["mine.cache.delta", "backup.tmp", ".graph-notes"]
    for name in foreign:
        (cache / name).write_text("not ours\n")
        os.utime(cache / name, (old, old))
    # Another version's cache of a root still there: its framing is not ours to read.
    other = cache / "graph-app-00000000.cache"
    other.write_bytes(cachefile.framed(b"SRG7", marshal.dumps({}), str(living)))
    os.utime(other, (old, old))
    assert graph_cache.prune(str(cache)) == [other.name]
    assert sorted(p.name for p in cache.iterdir()) == sorted(foreign)


def test_an_empty_cache_is_read_back_as_written(tmp_path: Path) -> None:
    path = tmp_path / "graph.cache"
    assert graph_cache.store(str(path), tables.RootCache(("",)), "/srv") is True
    back = graph_cache.load(str(path), ("",))
    assert (back.damaged, back.files, bool(back.token)) == ("", [], True)


def test_a_cache_dropped_closes_its_file(tmp_path: Path) -> None:
    write_tree(tmp_path / "src", {"a.py": "", "b.py": "import a\n"})
    layout = build_graph([tmp_path / "src"], cache_dir=tmp_path / "cache").parts[0].tables.layout
    (path,) = (tmp_path / "cache").iterdir()
    gc.collect()
    before = sorted(Path("/proc/self/fd").iterdir())
    for _ in range(20):  # each holds the file open for its dependency lists
        assert graph_cache.load(str(path), layout).files == ["a.py", "b.py"]
    gc.collect()
    assert sorted(Path("/proc/self/fd").iterdir()) == before


def test_pruning_removes_a_cache_with_its_delta_and_goes_past_what_it_cannot_remove(
    tmp_path: Path,
) -> None:
    gone, cache = tmp_path / "gone", tmp_path / "cache"
    write_tree(gone, {"a.py": ""})
    build_graph([gone], cache_dir=cache)
    (main,) = cache.iterdir()
    (cache / f"{main.name}.delta").write_bytes(b"")
    old = time.time() - graph_cache.STALE_TEMPORARY_SECONDS - 60
    for name in ("graph-a-00000000.cache", "graph-z-00000000.cache"):  # not removable: a directory
        (cache / name).mkdir()
        os.utime(cache / name, (old - graph_cache.STALE_FOREIGN_SECONDS,) * 2)
    (cache / ".graph-old.tmp").write_bytes(b"")
    os.utime(cache / ".graph-old.tmp", (old, old))
    (cache / ".graph-writing.tmp").write_bytes(b"")  # another run's write under way
    (gone / "a.py").unlink()
    gone.rmdir()
    assert sorted(graph_cache.prune(str(cache))) == sorted(
        [main.name, f"{main.name}.delta", ".graph-old.tmp"]
    )
    assert sorted(p.name for p in cache.iterdir()) == [
        ".graph-writing.tmp",
        "graph-a-00000000.cache",
        "graph-z-00000000.cache",
    ]


def test_an_existing_cache_directory_others_can_write_is_untrusted(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    assert graph_cache.untrusted(str(shared)) is None
    shared.chmod(0o777)
    reason = graph_cache.untrusted(str(shared))
    assert reason is not None and "writable by group or others" in reason


def test_a_cache_file_that_is_a_symlink_is_not_read(tmp_path: Path) -> None:
    write_tree(tmp_path / "src", {"a.py": "", "b.py": "import a\n"})
    layout = build_graph([tmp_path / "src"], cache_dir=tmp_path / "cache").parts[0].tables.layout
    (real,) = (tmp_path / "cache").iterdir()
    link = tmp_path / "cache/graph-link-00000000.cache"
    link.symlink_to(real)
    assert graph_cache.load(str(real), layout).files == ["a.py", "b.py"]
    assert (graph_cache.load(str(link), layout).files, cachefile.root_of(str(link))) == ([], None)


def test_storing_a_file_without_dependency_lists_is_refused() -> None:
    cache = tables.RootCache(("",))
    cache.files = ["a.py"]
    with pytest.raises(DamagedCache) as caught:
        cache.packed_dependencies()
    assert str(caught.value) == "no dependency lists for file 0"


def test_dependency_lists_follow_files_that_moved_twice(tmp_path: Path) -> None:
    write_tree(tmp_path / "src", {"a.py": "import os\n", "b.py": "import sys\n"})
    layout = build_graph([tmp_path / "src"], cache_dir=tmp_path / "cache").parts[0].tables.layout
    (path,) = (tmp_path / "cache").iterdir()
    a, b = (graph_cache.load(str(path), layout).dependencies_of(i) for i in (0, 1))
    assert (a[0], b[0]) == (("os",), ("sys",))

    def moved(
        old: tables.RootCache, files: list[str], reused_from: list[int] | None
    ) -> tables.RootCache:
        new = tables.RootCache(layout)
        new.files = files
        new.set_dependencies({}, reused_from, old)
        return new

    swapped = moved(graph_cache.load(str(path), layout), ["b.py", "a.py"], [1, 0])
    assert moved(swapped, ["a.py", "b.py"], [1, 0]).dependencies == [a, b]  # and back
    assert moved(swapped, ["b.py", "a.py"], None).dependencies == [b, a]  # where they were


def test_directory_mtimes_are_the_listings_mtimes_unpacked_or_not(tmp_path: Path) -> None:
    root = write_tree(tmp_path / "src", {"pkg/a.py": ""})
    old = time.time() - 3600  # out of the racy window: listings are kept
    for path in (root / "pkg/a.py", root / "pkg", root):
        os.utime(path, (old, old))
    built = build_graph([tmp_path / "src"], cache_dir=tmp_path / "cache").parts[0].tables
    (cached,) = (tmp_path / "cache").iterdir()
    packed = graph_cache.load(str(cached), built.layout)
    wanted = {name: listing[0] for name, listing in built.listings.items()}
    assert dict(built.directory_mtimes()) == wanted == dict(packed.directory_mtimes())
    assert sorted(wanted) == ["", "pkg"]
