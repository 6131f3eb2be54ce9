"""Import-graph expansion at its edges: seeds that are no module, a second root, scripts that
import each other by bare name, packages (where a bare name is not a sibling), the public
lookups, and cache updates that follow each other (a delta, then files moved)."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from smartrestart.importgraph.build import build_graph
from smartrestart.importgraph.graph import ImportGraph
from smartrestart.importgraph.index import DamagedCache, PackedIndex
from tests.helpers import write_tree


def graph_of(*roots: Path, cache: Path | None = None) -> ImportGraph:
    return build_graph(list(roots), cache_dir=cache)


def added(graph: ImportGraph, *changed: Path) -> set[str]:
    return set(graph.expand(str(path) for path in changed).paths())


def test_seeds_that_are_no_module_do_not_stop_the_others(tmp_path: Path) -> None:
    write_tree(tmp_path, {"pkg/__init__.py": "", "pkg/a.py": "", "pkg/b.py": "import pkg.a\n"})
    graph = graph_of(tmp_path)
    seeds = [tmp_path / "README.md", tmp_path.parent / "elsewhere.py", tmp_path / "pkg/a.py"]
    assert added(graph, *seeds) == {str(tmp_path / "pkg/b.py")}
    assert graph.stats.files == 3


def test_a_root_without_importers_does_not_hide_another_roots(tmp_path: Path) -> None:
    write_tree(tmp_path / "a", {"first.py": "import os\n"})
    write_tree(tmp_path / "b", {"lib.py": "", "user.py": "import lib\n"})
    graph = graph_of(tmp_path / "a", tmp_path / "b")
    assert added(graph, tmp_path / "b/lib.py") == {str(tmp_path / "b/user.py")}


def test_scripts_importing_each_other_by_bare_name_are_followed_transitively(
    tmp_path: Path,
) -> None:
    write_tree(
        tmp_path,
        {
            "scripts/helpers.py": "",
            "scripts/run.py": "import helpers\n",
            "scripts/main.py": "import run\n",
        },
    )
    graph = graph_of(tmp_path)
    assert added(graph, tmp_path / "scripts/helpers.py") == {
        str(tmp_path / "scripts/run.py"),
        str(tmp_path / "scripts/main.py"),
    }
    chains = graph.expand([str(tmp_path / "scripts/helpers.py")]).chains()
    assert chains[str(tmp_path / "scripts/main.py")] == tuple(
        str(tmp_path / f"scripts/{name}.py") for name in ("helpers", "run", "main")
    )


def test_in_a_package_a_bare_name_is_a_top_level_module_not_a_sibling(tmp_path: Path) -> None:
    write_tree(tmp_path, {"pkg/__init__.py": "", "pkg/a.py": "", "pkg/b.py": "import a\n"})
    assert added(graph_of(tmp_path), tmp_path / "pkg/a.py") == set()


def test_the_lookups_answer_for_files_that_exist_and_that_are_gone(tmp_path: Path) -> None:
    write_tree(
        tmp_path,
        {"pkg/__init__.py": "", "pkg/a.py": "", "pkg/b.py": "import pkg.a\n"},
    )
    graph = graph_of(tmp_path)
    assert graph.importers("pkg.a") == [str(tmp_path / "pkg/b.py")]
    assert graph.importers("pkg.nothing") == []
    assert [
        graph.locate(str(tmp_path / name))
        for name in ("pkg/a.py", "pkg/__init__.py", "pkg/gone.py", "README")
    ] == [("pkg.a", False, 0), ("pkg", True, 0), ("pkg.gone", False, 0), None]


def settle(root: Path, clock: list[float]) -> None:
    """Move what just changed out of the racy window, each to a new mtime."""
    for path in [root, *root.rglob("*")]:
        if path.stat().st_mtime > time.time() - 60:
            clock[0] += 1
            os.utime(path, ns=(int(clock[0] * 1e9),) * 2)


def test_cache_updates_in_a_row_answer_as_a_graph_built_afresh(tmp_path: Path) -> None:
    root, cache, clock = tmp_path / "src", tmp_path / "cache", [time.time() - 3600]
    root.mkdir()
    steps: list[Callable[[], object]] = [
        lambda: None,  # an empty tree, cached
        lambda: write_tree(
            root, {"pkg/__init__.py": "", "pkg/a.py": "", "pkg/b.py": "import pkg.a\n"}
        ),
        lambda: (root / "pkg/c.py").write_text("import pkg.b\n"),
        lambda: (root / "pkg/a.py").write_text("import pkg.c\n"),  # a delta
        (root / "pkg/b.py").unlink,  # files moved, over that delta
        lambda: (root / "pkg/c.py").rename(root / "pkg/d.py"),
    ]
    for step in steps:
        step()
        settle(root, clock)
        cached, afresh = graph_of(root, cache=cache), graph_of(root)
        for name in ("pkg/a.py", "pkg/b.py", "pkg/c.py", "pkg/d.py"):
            assert added(cached, root / name) == added(afresh, root / name), name
        assert cached.notes == []


def test_a_root_that_is_a_package_has_no_script_siblings(tmp_path: Path) -> None:
    root = write_tree(tmp_path / "app", {"__init__.py": "", "a.py": "", "b.py": "import a\n"})
    assert added(graph_of(root), root / "a.py") == set()  # `import a` is app's parent's a


def test_an_importer_that_is_a_seed_too_does_not_hide_the_next_importer(tmp_path: Path) -> None:
    write_tree(tmp_path, {"a.py": "", "b.py": "import a\n", "c.py": "import a\n"})
    graph = graph_of(tmp_path)
    assert added(graph, tmp_path / "a.py", tmp_path / "b.py") == {str(tmp_path / "c.py")}


def test_a_root_whose_name_ends_in_any_letter_keeps_its_paths(tmp_path: Path) -> None:
    root = write_tree(
        tmp_path / "srcX", {"pkg/__init__.py": "", "pkg/a.py": "", "pkg/b.py": "import pkg.a\n"}
    )
    assert added(graph_of(root), root / "pkg/a.py") == {str(root / "pkg/b.py")}


def test_a_root_with_its_own_module_of_the_name_does_not_hide_the_roots_after_it(
    tmp_path: Path,
) -> None:
    write_tree(tmp_path / "a", {"lib.py": ""})
    write_tree(tmp_path / "b", {"lib.py": "", "user.py": "import lib\n"})  # b's own lib
    write_tree(tmp_path / "c", {"user.py": "import lib\n"})
    graph = graph_of(tmp_path / "a", tmp_path / "b", tmp_path / "c")
    assert added(graph, tmp_path / "a/lib.py") == {str(tmp_path / "c/user.py")}


@pytest.mark.parametrize("position", [-1, 3], ids=["negative", "past-the-files"])
def test_an_importer_outside_the_files_is_a_damaged_index_not_another_file(
    tmp_path: Path, position: int
) -> None:
    """The expansion reads the index unchecked and checks the files new to it."""
    write_tree(tmp_path, {"pkg/__init__.py": "", "pkg/a.py": "", "pkg/b.py": "import pkg.a\n"})
    graph = graph_of(tmp_path)
    part = graph.parts[0]
    b = part.position["pkg/b.py"]
    part.index = PackedIndex.from_lists({"pkg.a": [b, position]}, count=10)  # a foreign writer's
    with pytest.raises(DamagedCache, match="damaged index"):
        graph.expand([str(tmp_path / "pkg/a.py")])
