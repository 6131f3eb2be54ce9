"""The import cache keeps its promise of speed: after any edit, stored whole or as a delta, the
next run scans nothing, lists no directory and writes nothing; and a damaged cache or delta is
rebuilt with a note that says what was wrong with it.

(That a cached graph answers as one built afresh is test_import_graph's property test.)
"""

from __future__ import annotations

import marshal
import os
import time
from array import array
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from smartrestart.importgraph import build, cachefile
from smartrestart.importgraph import cache as graph_cache
from smartrestart.importgraph.build import build_graph
from smartrestart.importgraph.graph import ImportGraph
from smartrestart.importgraph.index import DamagedCache
from smartrestart.importgraph.tables import RootCache
from smartrestart.importgraph.walk import walk_python_files
from tests.helpers import write_tree

TREE = {
    "pkg/__init__.py": "",
    "pkg/a.py": "X = 1\n",
    "pkg/b.py": "import pkg.a\n",
    "pkg/sub/__init__.py": "",
    "pkg/sub/c.py": "from pkg import b\n",
    "tool.py": "import pkg.sub.c\n",
}


class Tree:
    """A source tree whose every change is moved out of the racy window, and its cache."""

    def __init__(self, base: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        self.root = write_tree(base / "src", TREE)
        self.cache = base / "cache"
        self.layout: tuple[str, ...] = ()  # as the cache file records it, once there is one
        self.clock = time.time() - 3600
        self.walks = 0
        walk = walk_python_files

        def counted(*args: Any) -> Any:
            self.walks += 1
            return walk(*args)

        monkeypatch.setattr(build, "walk_python_files", counted)
        self.settle()

    def settle(self) -> None:
        for path in [self.root, *self.root.rglob("*")]:
            if path.stat().st_mtime > time.time() - 60:
                self.clock += 1
                os.utime(path, ns=(int(self.clock * 1e9),) * 2)

    def graph(self, *, cache: bool = True) -> ImportGraph:
        return build_graph([self.root], cache_dir=self.cache if cache else None)

    def stored(self) -> dict[str, bytes]:
        return {p.name: p.read_bytes() for p in self.cache.iterdir()}

    def main_file(self) -> Path:
        return Path(graph_cache.cache_file(str(self.cache), str(self.root)))


def importers(graph: ImportGraph, root: Path) -> dict[str, list[str]]:
    (part,) = graph.parts
    files = part.tables.files
    return {m: sorted(files[i] for i in at) for m, at in part.index.to_dict().items()}


EDITS: dict[str, Callable[[Path], object]] = {
    "rewritten in place": lambda root: (root / "pkg/a.py").write_text("import os\n"),
    "left unreadable": lambda root: (root / "pkg/a.py").write_text('import os\nx = """\n'),
    "added": lambda root: (root / "pkg/d.py").write_text("import pkg.a\n"),
    "deleted": lambda root: (root / "pkg/b.py").unlink(),
    "renamed": lambda root: (root / "pkg/b.py").rename(root / "pkg/e.py"),
    "a new package": lambda root: write_tree(root, {"new/__init__.py": "import tool\n"}),
    "a file beside them": lambda root: (root / "pkg/sub/README").write_text("not python\n"),
}


@pytest.mark.parametrize("limit", [0, 64], ids=["whole", "delta"])
@pytest.mark.parametrize("edit", list(EDITS))
def test_after_any_edit_the_next_run_scans_lists_and_writes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, edit: str, limit: int
) -> None:
    monkeypatch.setattr(graph_cache, "delta_limit", lambda files: limit)
    tree = Tree(tmp_path, monkeypatch)
    tree.graph()
    EDITS[edit](tree.root)
    tree.settle()
    updated = tree.graph()
    assert importers(updated, tree.root) == importers(tree.graph(cache=False), tree.root)
    stored, walks = tree.stored(), tree.walks
    warm = tree.graph()
    assert (warm.stats.scanned, warm.stats.from_cache) == (0, warm.stats.files)
    assert (tree.walks, tree.stored(), warm.notes) == (walks, stored, [])
    assert importers(warm, tree.root) == importers(updated, tree.root)
    assert list(warm.problems) == list(updated.problems)
    assert bool(warm.problems) == (edit == "left unreadable")


def test_the_delta_limit_grows_with_the_tree() -> None:
    assert [graph_cache.delta_limit(n) for n in (0, 3250, 3300, 13_000)] == [64, 65, 66, 260]


# -- damaged caches --------------------------------------------------------------------


@pytest.fixture
def tree(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Tree:
    built = Tree(tmp_path, monkeypatch)
    built.graph()
    built.layout = tuple(parts(built.main_file())[0]["layout"])
    return built


def parts(path: Path) -> tuple[dict[str, Any], bytes]:
    raw = path.read_bytes()
    length = int.from_bytes(raw[4:12], "little")
    start = cachefile.PREFIX_BYTES + int.from_bytes(raw[16:20], "little")  # past the root's name
    return marshal.loads(raw[start : start + length]), raw[start + length :]


def write_framed(
    path: Path, header: Any, rest: bytes = b"", magic: bytes = cachefile.MAGIC
) -> None:
    path.write_bytes(cachefile.framed(magic, marshal.dumps(header)) + rest)


def loaded(tree: Tree) -> RootCache:
    return graph_cache.load(str(tree.main_file()), tree.layout)


def damage(tree: Tree) -> str:
    """Why the cache is not used: "" when it is simply not there (or another version's)."""
    cache = loaded(tree)
    assert (cache.layout, cache.files) == (tree.layout, [])
    return cache.damaged


@pytest.fixture
def rewrite(tree: Tree) -> Callable[..., None]:
    """Write a variant of the cache file, as a foreign writer could (the checksum right)."""
    header, deps = parts(tree.main_file())

    def variant(changed: dict[str, Any] | None = None, rest: bytes | None = None) -> None:
        write_framed(
            tree.main_file(), {**header, **(changed or {})}, deps if rest is None else rest
        )

    return variant


@pytest.fixture
def damaged(tree: Tree, rewrite: Callable[..., None]) -> Callable[..., str]:
    """Write a variant of the cache file, and say why load() refuses it."""

    def variant(changed: dict[str, Any] | None = None) -> str:
        rewrite(changed)
        return damage(tree)

    return variant


def test_a_cache_file_that_is_missing_a_link_or_another_versions_is_simply_rebuilt(
    tree: Tree, damaged: Callable[..., str]
) -> None:
    assert damaged({"format": (0,)}) == ""
    assert damaged({"layout": ("elsewhere",)}) == ""
    write_framed(tree.main_file(), ["a list, not a mapping"])
    assert damage(tree) == ""
    target = tree.main_file().with_name("real")
    tree.main_file().rename(target)
    tree.main_file().symlink_to(target)  # never followed
    assert damage(tree) == ""
    tree.main_file().unlink()
    assert damage(tree) == ""


def test_a_cache_that_is_not_one_says_so(tree: Tree, damaged: Callable[..., str]) -> None:
    path = tree.main_file()
    path.unlink()
    os.mkfifo(path)  # opened without blocking, then refused
    assert damage(tree) == "not a regular file, or too large"
    path.unlink()
    path.write_bytes(b"#!/bin/sh\n" * 2)
    assert damage(tree) == "not a cache file of smartrestart"
    good = cachefile.framed(cachefile.MAGIC, marshal.dumps({"x": 1}))
    path.write_bytes(good[:-3])
    assert damage(tree) == "cache file cut short"
    path.write_bytes(good[:-3] + b"zzz")
    assert damage(tree) == "checksum mismatch"
    path.write_bytes(cachefile.framed(cachefile.MAGIC, b"\xff"))
    assert damage(tree) == "bad marshal data (unknown type code)"


def test_a_cache_of_the_wrong_shape_says_which_field_failed(
    tree: Tree, damaged: Callable[..., str]
) -> None:
    assert damaged({"token": b""}) == "fields of the wrong shape"
    assert damaged({"stats": b"\0" * 5}) == "bytes length not a multiple of item size"
    header, _ = parts(tree.main_file())
    del header["files"]
    write_framed(tree.main_file(), header)
    assert damage(tree) == "'files'"


def test_packed_dependency_lists_are_checked_before_use(
    tree: Tree, rewrite: Callable[..., None]
) -> None:
    header, deps = parts(tree.main_file())
    whole = loaded(tree)
    assert whole.packed_dependencies() == whole._packed.all_raw()  # type: ignore[union-attr]
    rewrite(rest=deps[:-1])
    with pytest.raises(DamagedCache) as caught:
        loaded(tree).packed_dependencies()
    assert str(caught.value) == "damaged dependency offsets"
    rewrite(rest=b"\0" * len(deps))
    with pytest.raises(DamagedCache) as caught:
        loaded(tree).dependencies_of(0)
    assert str(caught.value) == "damaged dependency lists: bad marshal data (unknown type code)"
    offsets = array("q", header["offsets"])
    for changed, why in [
        (array("q", [*offsets[:-1], offsets[-1] + 1]), "damaged dependency offsets"),
        (array("q", [*offsets[:-1], -1]), "damaged dependency offsets"),
        (array("q", [0, 5, 2, *offsets[3:]]), "damaged dependency offsets"),
    ]:
        rewrite({"offsets": changed.tobytes()})
        with pytest.raises(DamagedCache) as caught:
            loaded(tree).packed_dependencies()
        assert str(caught.value) == why
    # Cut short after it was opened (no writer of ours does that): the reads notice.
    rewrite()
    opened = loaded(tree)
    os.truncate(tree.main_file(), tree.main_file().stat().st_size - 1)
    for read in (opened.packed_dependencies, lambda: opened.dependencies_of(len(opened.files) - 1)):
        with pytest.raises(DamagedCache) as caught:
            read()
        assert str(caught.value) == "cache file cut short"


def test_a_damaged_delta_says_what_is_wrong(tree: Tree) -> None:
    (tree.root / "pkg/a.py").write_text("import os\n")
    (tree.root / "pkg/sub/README").write_text("a directory listing changes too\n")
    tree.settle()
    tree.graph()
    delta_path = Path(graph_cache.delta_file(str(tree.main_file())))
    delta, _ = parts(delta_path)
    assert loaded(tree).damaged == ""
    ((position, entry),) = delta["entries"].items()
    names, mtimes, blob, complete = delta["listings"]

    def damaged_by(**changed: Any) -> str:
        write_framed(delta_path, {**delta, **changed}, magic=cachefile.DELTA_MAGIC)
        cache = loaded(tree)
        assert (cache.layout, cache.files) == (tree.layout, [])
        return cache.damaged

    def entry_with(index: int, value: object) -> dict[int, tuple[object, ...]]:
        return {position: (*entry[:index], value, *entry[index + 1 :])}

    count = len(parts(tree.main_file())[0]["files"])
    assert damaged_by(entries=[entry]) == "delta: damaged delta"
    assert damaged_by(entries={count: entry}) == "delta: damaged delta position"
    assert damaged_by(entries={"0": entry}) == "delta: damaged delta position"
    assert damaged_by(entries=entry_with(0, "other.py")) == "delta: delta for other files"
    assert damaged_by(entries=entry_with(4, None)) == "delta: delta for other files"
    assert damaged_by(entries=entry_with(7, ["os"])) == "delta: damaged delta dependencies"
    assert damaged_by(entries=entry_with(8, ["os"])) == "delta: damaged delta dependencies"
    assert damaged_by(entries={position: entry[:3]}) == (
        "delta: not enough values to unpack (expected 9, got 3)"
    )
    assert damaged_by(listings=(names, mtimes + mtimes[:8], blob, complete)) == (
        "delta: damaged delta listings"
    )
    assert damaged_by(listings=(names, mtimes, "text", complete)) == "delta: damaged delta listings"
    del delta["entries"]
    assert damaged_by() == "delta: 'entries'"


def test_a_delta_carries_each_field_of_the_files_it_changed(tree: Tree) -> None:
    edits = [
        {"pkg/a.py": 'import os\nx = """\n', "pkg/sub/__init__.py": "import pkg.b\n"},
        {"pkg/a.py": "import sys\n"},  # its problem gone
    ]
    for edit in edits:
        write_tree(tree.root, edit)
        tree.settle()
        tree.graph()
        assert Path(graph_cache.delta_file(str(tree.main_file()))).exists()
        cache, afresh = loaded(tree), tree.graph(cache=False).parts[0].tables
        assert (cache.files, cache.modules, cache.packages, cache.problems, cache.stats) == (
            afresh.files,
            afresh.modules,
            afresh.packages,
            afresh.problems,
            afresh.stats,
        )
        assert [cache.dependencies_of(i) for i in range(len(cache.files))] == afresh.dependencies


def test_a_loaded_cache_keeps_its_layout_and_an_edit_in_place_writes_no_listings(
    tree: Tree,
) -> None:
    assert loaded(tree).layout == tree.layout  # stored again as read: the next run reuses it
    write_tree(tree.root, {"pkg/a.py": "import os\n"})
    tree.settle()
    tree.graph()
    delta, _ = parts(Path(graph_cache.delta_file(str(tree.main_file()))))
    files = parts(tree.main_file())[0]["files"]
    assert (list(delta["entries"]), delta["listings"]) == ([files.index("pkg/a.py")], None)


def test_a_problem_fixed_after_the_cache_was_written_whole_is_gone_for_good(
    tree: Tree, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(graph_cache, "delta_limit", lambda files: -1)  # written whole
    write_tree(tree.root, {"pkg/a.py": 'import os\nx = """\n'})
    tree.settle()
    assert list(tree.graph().problems) == [str(tree.root / "pkg/a.py")]
    monkeypatch.setattr(graph_cache, "delta_limit", lambda files: 64)  # the fix: a delta
    write_tree(tree.root, {"pkg/a.py": "X = 1\n"})
    tree.settle()
    tree.graph()
    assert Path(graph_cache.delta_file(str(tree.main_file()))).exists()
    assert (loaded(tree).problems, tree.graph().problems) == ({}, {})


def test_a_delta_over_a_delta_that_listed_directories_keeps_their_listings(tree: Tree) -> None:
    write_tree(tree.root, {"pkg/sub/README": "not python\n"})  # a directory's mtime changes
    tree.settle()
    tree.graph()
    write_tree(tree.root, {"pkg/a.py": "import os\n"})  # then a file in place
    tree.settle()
    tree.graph()
    walks = tree.walks
    warm = tree.graph()
    assert (tree.walks, warm.stats.scanned, warm.notes) == (walks, 0, [])


# -- a file changed in place ------------------------------------------------------------


@pytest.mark.parametrize(
    "changed",
    [[], [0], [63], [64], [99], [0, 64, 65, 99], list(range(100))],
    ids=["none", "first", "end-of-a-block", "start-of-a-block", "last", "several", "all"],
)
@pytest.mark.parametrize("field", [0, 1, 2], ids=["size", "mtime", "inode"])
def test_the_files_whose_stats_changed_are_found_in_any_block(
    changed: list[int], field: int
) -> None:
    old = array("q", range(300))
    new = array("q", old)
    for position in changed:
        new[3 * position + field] = -5
    assert build.changed_positions(new, old) == changed


def test_a_file_rewritten_in_place_is_read_again_its_new_import_seen(tree: Tree) -> None:
    """In the racy window, its entry stays untrusted: read again until it is old enough.

    Meanwhile nothing is written: the next run reads the file whatever is stored.
    """
    a = tree.root / "pkg/a.py"
    before = tree.graph().expand([str(tree.root / "tool.py")]).paths()
    stored = tree.stored()
    a.write_text("import tool\n")  # now, in the racy window
    touched = tree.graph()
    assert (touched.stats.scanned, touched.stats.from_cache) == (1, 5)
    assert tree.stored() == stored
    assert str(a) in touched.expand([str(tree.root / "tool.py")]).paths()
    assert str(a) not in before
    size, mtime = a.stat().st_size, a.stat().st_mtime_ns
    a.write_text("import  pkg\n")  # the same size, and the mtime it had: a second write
    assert a.stat().st_size == size
    os.utime(a, ns=(mtime, mtime))  # within one tick of the clock
    again = tree.graph()
    assert again.stats.scanned == 1
    assert str(a) not in again.expand([str(tree.root / "tool.py")]).paths()
    assert str(a) in again.expand([str(tree.root / "pkg/__init__.py")]).paths()
    assert tree.stored() == stored
    tree.settle()  # out of the racy window: read once more, stored, then trusted
    assert tree.graph().stats.scanned == 1
    assert tree.stored() != stored
    warm = tree.graph()
    assert warm.stats.scanned == 0
    assert str(a) in warm.expand([str(tree.root / "pkg/__init__.py")]).paths()


def test_a_run_that_also_moved_files_stores_them_though_its_scans_are_racy(tree: Tree) -> None:
    before = tree.stored()
    (tree.root / "pkg/d.py").write_text("import pkg.a\n")  # a new file, in the racy window
    assert tree.graph().stats.scanned == 1
    stored = tree.stored()
    assert stored != before  # the new list of files
    again = tree.graph()
    assert (again.stats.scanned, tree.stored()) == (1, stored)  # in place: read, not stored
    assert str(tree.root / "pkg/d.py") in again.expand([str(tree.root / "pkg/a.py")]).paths()


@pytest.mark.parametrize("limit", [0, 64], ids=["whole", "delta"])
def test_after_a_file_is_rewritten_the_cache_holds_what_a_cold_build_does(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, limit: int
) -> None:
    """The same stats and dependency lists, and each importer array in the same order."""
    monkeypatch.setattr(graph_cache, "delta_limit", lambda files: limit)
    tree = Tree(tmp_path, monkeypatch)
    tree.graph()
    tree.layout = tuple(parts(tree.main_file())[0]["layout"])
    for source in ("import pkg.a\nimport tool\n", "import os\n", "from pkg import b, sub\n"):
        write_tree(tree.root, {"pkg/sub/__init__.py": source})
        tree.settle()
        (cached,) = tree.graph().parts
        (afresh,) = tree.graph(cache=False).parts
        kept = loaded(tree)
        assert (kept.stats, kept.modules, kept.problems) == (
            afresh.tables.stats,
            afresh.tables.modules,
            afresh.tables.problems,
        )
        assert [kept.dependencies_of(i) for i in range(len(kept.files))] == (
            afresh.tables.dependencies
        )
        for index in (cached.index, kept.indexes["runtime"]):
            modules = sorted(afresh.index.to_dict())
            assert [list(index.get(m, ())) for m in modules] == [
                list(afresh.index.get(m)) for m in modules
            ]
            assert index.to_dict() == afresh.index.to_dict()


def test_an_index_built_for_the_other_mode_is_stored_though_the_scans_are_racy(
    tree: Tree,
) -> None:
    stored = tree.stored()
    (tree.root / "pkg/a.py").write_text("import tool\n")  # in the racy window
    typed = build_graph([tree.root], cache_dir=tree.cache, include_type_checking=True)
    assert typed.stats.scanned == 1
    assert tree.stored() != stored  # the cache had no index of TYPE_CHECKING imports
    assert set(loaded(tree).indexes) == {"all"}
