"""Reverse import expansion: right where the original smart-restart was not."""

from __future__ import annotations

import marshal
import os
import time
from collections.abc import Mapping
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from smartrestart.importgraph import cachefile
from smartrestart.importgraph.build import build_graph
from smartrestart.importgraph.graph import ImportGraph
from tests.helpers import write_tree


def graph_of(root: Path, *, cache: Path | None = None, type_checking: bool = False) -> ImportGraph:
    return build_graph([root], cache_dir=cache, include_type_checking=type_checking)


def added(graph: ImportGraph, root: Path, *changed: str) -> set[str]:
    expansion = graph.expand([str(root / c) for c in changed])
    assert set(expansion.paths()) == set(expansion.chains())
    return {os.path.relpath(p, root) for p in expansion.paths()}


def test_linear_chain(tmp_path: Path) -> None:
    write_tree(
        tmp_path,
        {
            "pkg/__init__.py": "",
            "pkg/a.py": "from pkg import b\n",
            "pkg/b.py": "from pkg import c\n",
            "pkg/c.py": "VALUE = 1\n",
        },
    )
    graph = graph_of(tmp_path)
    assert added(graph, tmp_path, "pkg/c.py") == {"pkg/a.py", "pkg/b.py"}
    chain = graph.expand([str(tmp_path / "pkg/c.py")]).chains()[str(tmp_path / "pkg/a.py")]
    assert [os.path.relpath(p, tmp_path) for p in chain] == ["pkg/c.py", "pkg/b.py", "pkg/a.py"]


def test_relative_imports(tmp_path: Path) -> None:
    write_tree(
        tmp_path,
        {
            "pkg/__init__.py": "",
            "pkg/sub/__init__.py": "",
            "pkg/sub/leaf.py": "X = 1\n",
            "pkg/sub/uses.py": "from .leaf import X\n",
            "pkg/other.py": "from .sub import leaf\n",
            "pkg/deep.py": "from .sub.uses import X\n",
        },
    )
    assert added(graph_of(tmp_path), tmp_path, "pkg/sub/leaf.py") == {
        "pkg/sub/uses.py",
        "pkg/other.py",
        "pkg/deep.py",
    }


def test_relative_import_inside_package_init(tmp_path: Path) -> None:
    """The original resolved `from . import x` in __init__.py one package too high."""
    write_tree(
        tmp_path,
        {
            "app/__init__.py": "",
            "app/svc/__init__.py": "from . import handlers\n",
            "app/svc/handlers.py": "",
            "app/handlers.py": "",
            "main.py": "import app.svc\n",
        },
    )
    graph = graph_of(tmp_path)
    assert added(graph, tmp_path, "app/svc/handlers.py") == {"app/svc/__init__.py", "main.py"}
    assert added(graph, tmp_path, "app/handlers.py") == set()


def test_from_package_import_submodule(tmp_path: Path) -> None:
    write_tree(
        tmp_path,
        {"pkg/__init__.py": "", "pkg/leaf.py": "", "consumer.py": "from pkg import leaf\n"},
    )
    assert added(graph_of(tmp_path), tmp_path, "pkg/leaf.py") == {"consumer.py"}


def test_import_a_b_c_depends_on_package_inits(tmp_path: Path) -> None:
    write_tree(
        tmp_path,
        {
            "a/__init__.py": "",
            "a/b/__init__.py": "",
            "a/b/c.py": "",
            "consumer.py": "import a.b.c\n",
        },
    )
    graph = graph_of(tmp_path)
    assert added(graph, tmp_path, "a/__init__.py") == {"consumer.py"}
    assert added(graph, tmp_path, "a/b/__init__.py") == {"consumer.py"}
    assert added(graph, tmp_path, "a/b/c.py") == {"consumer.py"}


def test_star_import(tmp_path: Path) -> None:
    write_tree(
        tmp_path,
        {
            "pkg/__init__.py": "from .core import *\n",
            "pkg/core.py": "",
            "user.py": "from pkg import *\n",
        },
    )
    assert added(graph_of(tmp_path), tmp_path, "pkg/core.py") == {"pkg/__init__.py", "user.py"}


def test_imports_in_functions_and_try_blocks(tmp_path: Path) -> None:
    write_tree(
        tmp_path,
        {
            "lazy.py": "def f():\n    import target\n",
            "guarded.py": "try:\n    import target\nexcept ImportError:\n    target = None\n",
            "target.py": "",
        },
    )
    assert added(graph_of(tmp_path), tmp_path, "target.py") == {"lazy.py", "guarded.py"}


def test_type_checking_imports_excluded_unless_asked(tmp_path: Path) -> None:
    write_tree(
        tmp_path,
        {
            "types_user.py": """\
                from typing import TYPE_CHECKING
                if TYPE_CHECKING:
                    import target
                """,
            "target.py": "",
        },
    )
    assert added(graph_of(tmp_path), tmp_path, "target.py") == set()
    assert added(graph_of(tmp_path, type_checking=True), tmp_path, "target.py") == {"types_user.py"}


def test_src_layout_detected_from_pyproject(tmp_path: Path) -> None:
    write_tree(
        tmp_path,
        {
            "pyproject.toml": '[tool.setuptools.packages.find]\nwhere = ["src"]\n',
            "src/app/__init__.py": "",
            "src/app/db.py": "",
            "src/app/api.py": "from app import db\n",
            "tests/test_api.py": "import app.api\n",
        },
    )
    assert added(graph_of(tmp_path), tmp_path, "src/app/db.py") == {
        "src/app/api.py",
        "tests/test_api.py",
    }


def test_root_inside_a_package_names_modules_from_the_package(tmp_path: Path) -> None:
    write_tree(
        tmp_path,
        {
            "src/app/__init__.py": "",
            "src/app/db.py": "",
            "src/app/api.py": "from app.db import connect\n",
        },
    )
    assert added(graph_of(tmp_path / "src/app"), tmp_path, "src/app/db.py") == {"src/app/api.py"}


def test_syntax_error_is_reported_and_treated_conservatively(tmp_path: Path) -> None:
    write_tree(
        tmp_path,
        {
            "pkg/__init__.py": "",
            "pkg/broken.py": 'import os\nx = """never closed\n',
            "pkg/ok.py": "X = 1\n",
        },
    )
    graph = graph_of(tmp_path)
    assert list(graph.problems) == [str(tmp_path / "pkg/broken.py")]
    assert added(graph, tmp_path, "pkg/ok.py") == {"pkg/broken.py"}


def test_deleted_file_expands_through_importers_of_its_old_name(tmp_path: Path) -> None:
    write_tree(tmp_path, {"pkg/__init__.py": "", "pkg/user.py": "from pkg import gone\n"})
    assert added(graph_of(tmp_path), tmp_path, "pkg/gone.py") == {"pkg/user.py"}


def test_cycles_terminate(tmp_path: Path) -> None:
    write_tree(
        tmp_path,
        {
            "pkg/__init__.py": "",
            "pkg/a.py": "from pkg import b\n",
            "pkg/b.py": "from pkg import a\n",
        },
    )
    assert added(graph_of(tmp_path), tmp_path, "pkg/a.py") == {"pkg/b.py"}


def test_tree_under_a_dot_folder_is_still_scanned(tmp_path: Path) -> None:
    """The original skipped a whole tree when its absolute path held a dot-folder."""
    root = tmp_path / ".deploy/releases/build/app"
    write_tree(root, {"lib.py": "", "main.py": "import lib\n"})
    assert added(graph_of(root), root, "lib.py") == {"main.py"}


def test_hidden_dirs_and_virtualenvs_below_the_root_are_skipped(tmp_path: Path) -> None:
    write_tree(
        tmp_path,
        {
            "lib.py": "",
            ".venv/pyvenv.cfg": "home = /usr\n",
            ".venv/lib/x.py": "import lib\n",
            "env/pyvenv.cfg": "home = /usr\n",
            "env/lib/y.py": "import lib\n",
            ".hidden/z.py": "import lib\n",
            "build/w.py": "import lib\n",
            "node_modules/n.py": "import lib\n",
            "ok/user.py": "import lib\n",
        },
    )
    assert added(graph_of(tmp_path), tmp_path, "lib.py") == {"ok/user.py"}


def test_script_directory_siblings(tmp_path: Path) -> None:
    write_tree(
        tmp_path,
        {
            "services/api/helpers.py": "",
            "services/api/main.py": "import helpers\n",
            "services/worker/main.py": "import helpers\n",
        },
    )
    assert added(graph_of(tmp_path), tmp_path, "services/api/helpers.py") == {
        "services/api/main.py"
    }


def test_several_roots_merge(tmp_path: Path) -> None:
    write_tree(
        tmp_path,
        {
            "shared/common/__init__.py": "",
            "shared/common/db.py": "",
            "services/api/api/__init__.py": "",
            "services/api/api/app.py": "from common import db\n",
            "services/worker/worker/__init__.py": "",
            "services/worker/worker/jobs.py": "import common.db\n",
        },
    )
    graph = build_graph(
        [tmp_path / "shared", tmp_path / "services/api", tmp_path / "services/worker"],
        cache_dir=None,
    )
    assert added(graph, tmp_path, "shared/common/db.py") == {
        "services/api/api/app.py",
        "services/worker/worker/jobs.py",
    }


def test_a_roots_own_module_shadows_another_roots(tmp_path: Path) -> None:
    write_tree(
        tmp_path,
        {
            "a/config.py": "",
            "a/main.py": "import config\n",
            "b/config.py": "",
            "b/main.py": "import config\n",
        },
    )
    graph = build_graph([tmp_path / "a", tmp_path / "b"], cache_dir=None)
    assert added(graph, tmp_path, "a/config.py") == {"a/main.py"}


def test_warm_cache_rescans_only_changed_files(tmp_path: Path) -> None:
    root = tmp_path / "proj"
    write_tree(root, {f"pkg/m{i}.py": f"import pkg.m{i + 1}\n" for i in range(30)})
    (root / "pkg/__init__.py").write_text("")
    old = time.time() - 60  # older than the racy window, so entries are trusted
    for path in root.rglob("*"):
        os.utime(path, (old, old))
    os.utime(root / "pkg", (old, old))
    os.utime(root, (old, old))
    cache = tmp_path / "cache"
    first = graph_of(root, cache=cache)
    assert first.stats.scanned == 31
    second = graph_of(root, cache=cache)
    assert (second.stats.scanned, second.stats.from_cache) == (0, 31)
    (root / "pkg/m5.py").write_text("import pkg.m29\n")
    os.utime(root / "pkg/m5.py", (old + 1, old + 1))
    third = graph_of(root, cache=cache)
    assert (third.stats.scanned, third.stats.from_cache) == (1, 30)
    assert "pkg/m5.py" in added(third, root, "pkg/m29.py")
    assert "pkg/m5.py" not in added(third, root, "pkg/m6.py")


def test_new_file_in_an_old_directory_is_found(tmp_path: Path) -> None:
    root = tmp_path / "proj"
    write_tree(root, {"lib.py": ""})
    old = time.time() - 60
    os.utime(root / "lib.py", (old, old))
    os.utime(root, (old, old))
    cache = tmp_path / "cache"
    graph_of(root, cache=cache)
    (root / "user.py").write_text("import lib\n")  # changes the directory's mtime
    assert added(graph_of(root, cache=cache), root, "lib.py") == {"user.py"}


def test_unwritable_cache_is_ignored(tmp_path: Path) -> None:
    write_tree(tmp_path / "p", {"a.py": "import b\n", "b.py": ""})
    blocker = tmp_path / "file"
    blocker.write_text("")
    assert added(graph_of(tmp_path / "p", cache=blocker / "cache"), tmp_path / "p", "b.py") == {
        "a.py"
    }


modules = st.integers(min_value=0, max_value=7)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(st.tuples(modules, modules), max_size=20), st.sets(modules, max_size=4))
def test_expansion_is_a_superset_closed_under_importers(
    tmp_path_factory: pytest.TempPathFactory, edges: list[tuple[int, int]], changed: set[int]
) -> None:
    root = tmp_path_factory.mktemp("graph")
    imports: dict[int, set[int]] = {i: set() for i in range(8)}
    for importer, imported in edges:
        imports[importer].add(imported)
    write_tree(
        root,
        {
            f"m{i}.py": "".join(f"import m{j}\n" for j in sorted(deps))
            for i, deps in imports.items()
        },
    )
    result = added(graph_of(root), root, *(f"m{i}.py" for i in changed))
    expanded = {f"m{i}.py" for i in changed} | result
    # Every importer of an expanded module is expanded too (closure), and nothing else is.
    for i, deps in imports.items():
        if any(f"m{j}.py" in expanded for j in deps):
            assert f"m{i}.py" in expanded
    reachable = set(changed)
    grew = True
    while grew:
        grew = False
        for i, deps in imports.items():
            if i not in reachable and deps & reachable:
                reachable.add(i)
                grew = True
    assert expanded == {f"m{i}.py" for i in reachable}


def test_an_unreadable_directory_is_reported_and_the_rest_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_tree(
        tmp_path,
        {
            "pkg/__init__.py": "",
            "pkg/a.py": "X = 1\n",
            "pkg/b.py": "from pkg import a\n",
            "pkg/locked/__init__.py": "from pkg import a\n",
        },
    )
    locked = str(tmp_path / "pkg/locked")
    real_scandir = os.scandir

    def scandir(path: str) -> object:  # root may read any directory: refuse this one here
        if path == locked:
            raise PermissionError(13, "Permission denied", path)
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    graph = graph_of(tmp_path)
    assert added(graph, tmp_path, "pkg/a.py") == {"pkg/b.py"}
    assert graph.unreadable == {locked: "cannot list: Permission denied"}


def test_a_symlink_loop_is_reported_without_hiding_its_directory(tmp_path: Path) -> None:
    write_tree(
        tmp_path, {"pkg/__init__.py": "", "pkg/a.py": "X = 1\n", "pkg/b.py": "import pkg.a\n"}
    )
    (tmp_path / "pkg/loop.py").symlink_to("loop.py")
    cache = tmp_path / "cache"
    for _ in range(2):  # the warm run must report it again, not reuse a listing without it
        graph = graph_of(tmp_path, cache=cache)
        assert added(graph, tmp_path, "pkg/a.py") == {"pkg/b.py"}
        assert list(graph.unreadable) == [str(tmp_path / "pkg/loop.py")]
        assert "symbolic links" in graph.unreadable[str(tmp_path / "pkg/loop.py")]


def test_a_cache_of_the_right_format_but_wrong_shape_is_rebuilt(tmp_path: Path) -> None:
    import marshal
    import zlib
    from array import array

    write_tree(
        tmp_path / "src",
        {"pkg/__init__.py": "", "pkg/a.py": "X = 1\n", "pkg/b.py": "import pkg.a\n"},
    )
    old = time.time() - 60  # older than the racy window: the importer index is cached too
    for path in (tmp_path / "src").rglob("*"):
        os.utime(path, (old, old))
    cache = tmp_path / "cache"
    graph_of(tmp_path / "src", cache=cache)
    (path,) = cache.iterdir()
    raw = path.read_bytes()
    assert raw[:4] == cachefile.MAGIC
    size = int.from_bytes(raw[4:12], "little")
    start = 20 + int.from_bytes(raw[16:20], "little")
    assert raw[20:start] == os.fsencode(tmp_path / "src")
    assert zlib.crc32(raw[start : start + size]) == int.from_bytes(raw[12:16], "little")
    header, deps = marshal.loads(raw[start : start + size]), raw[start + size :]
    names, flat, bounds = header["indexes"]["runtime"]
    names = names.split("\0")
    assert header["files"][array("i", flat)[names.index("pkg.a")]] == "pkg/b.py"

    def written(changed: Mapping[str, object], deps_blob: bytes = deps) -> None:
        """A header with a valid checksum: what a foreign writer could produce."""
        blob = marshal.dumps({**header, **changed})
        root = str(tmp_path / "src")
        path.write_bytes(cachefile.framed(cachefile.MAGIC, blob, root) + deps_blob)

    written({})  # as written by smartrestart: used as it is
    assert graph_of(tmp_path / "src", cache=cache).stats.from_cache == 3

    def rebuilt_and_said_so(variant: object) -> None:
        graph = graph_of(tmp_path / "src", cache=cache)
        assert added(graph, tmp_path / "src", "pkg/a.py") == {"pkg/b.py"}, variant
        assert any(" is damaged" in note for note in graph.notes), (variant, graph.notes)

    sevens = array("i", [7] * len(flat)).tobytes()
    for variant in (
        {"files": header["files"][:1]},  # fewer files than stat entries
        {"files": tuple(header["files"])},  # a tuple where a list belongs
        {"indexes": {"runtime": ("\0".join(names), sevens, bounds)}},  # positions beyond files
        {"indexes": {"runtime": ("\0".join(names), flat, b"")}},  # offsets cut short
        {"stats": b"\x00" * 5},  # not a whole number of integers
        {"offsets": b""},  # no offsets for the dependency lists
        {"token": b""},
    ):
        written(variant)
        rebuilt_and_said_so(variant)
    # Dependency lists that do not unpack, met when a file changed: rebuilt, and said so.
    written({}, deps_blob=b"garbage")
    (tmp_path / "src/pkg/a.py").write_text("X = 2\n")
    rebuilt_and_said_so("garbage dependency lists")
    # Any byte changed in the header: the checksum says so.
    graph_of(tmp_path / "src", cache=cache)
    flipped = bytearray(path.read_bytes())
    flipped[start + 10] ^= 0xFF
    path.write_bytes(bytes(flipped))
    rebuilt_and_said_so("a flipped byte")
    # A file cut short, or not a cache at all.
    path.write_bytes(path.read_bytes()[:30])
    rebuilt_and_said_so("cut short")
    path.write_bytes(b"#!/bin/sh\n")
    rebuilt_and_said_so("not a cache")
    # Another version's framing: rebuilt without a word.
    path.write_bytes(b"SRIG" + bytes(40))
    graph = graph_of(tmp_path / "src", cache=cache)
    assert (graph.stats.scanned, graph.notes) == (3, [])


def test_a_damaged_or_stale_delta_is_never_trusted(tmp_path: Path) -> None:
    from smartrestart.importgraph import cache as graph_cache

    root = tmp_path / "src"
    write_tree(root, {"pkg/__init__.py": "", "pkg/a.py": "X = 1\n", "pkg/b.py": "import pkg.a\n"})
    old = time.time() - 60
    for path in [root, *root.rglob("*")]:
        os.utime(path, (old, old))
    cache = tmp_path / "cache"
    graph_of(root, cache=cache)
    (main,) = cache.iterdir()
    delta = Path(graph_cache.delta_file(str(main)))
    (root / "pkg/b.py").write_text("X = 3\n")  # no longer imports pkg.a
    os.utime(root / "pkg/b.py", (old + 1, old + 1))
    assert added(graph_of(root, cache=cache), root, "pkg/a.py") == set()
    assert delta.exists(), "one changed file is stored as a delta"
    warm = graph_of(root, cache=cache)
    assert (warm.stats.scanned, added(warm, root, "pkg/a.py")) == (0, set())
    good = delta.read_bytes()
    # A delta written for another cache file (an older token): ignored, file rescanned.
    stale = bytearray(good)
    stale_header = marshal.loads(bytes(stale[20:]))
    stale_header["token"] = b"elsewhere"
    blob = marshal.dumps(stale_header)
    delta.write_bytes(cachefile.framed(cachefile.DELTA_MAGIC, blob))
    graph = graph_of(root, cache=cache)
    assert (graph.stats.scanned, added(graph, root, "pkg/a.py")) == (1, set())
    # A damaged one: the whole cache is rebuilt, and the note says so.
    delta.write_bytes(good[:-3])
    graph = graph_of(root, cache=cache)
    assert added(graph, root, "pkg/a.py") == set()
    assert any("is damaged (delta" in note for note in graph.notes), graph.notes


def test_a_cache_another_user_could_write_is_not_used(tmp_path: Path) -> None:
    write_tree(
        tmp_path / "src",
        {"pkg/__init__.py": "", "pkg/a.py": "X = 1\n", "pkg/b.py": "import pkg.a\n"},
    )
    cache = tmp_path / "cache"
    graph_of(tmp_path / "src", cache=cache)
    (entry,) = cache.iterdir()
    cache.chmod(0o777)
    graph = graph_of(tmp_path / "src", cache=cache)
    assert added(graph, tmp_path / "src", "pkg/a.py") == {"pkg/b.py"}
    assert graph.stats.from_cache == 0
    (note,) = graph.notes
    assert f"import cache {cache} not used" in note and "writable by group or others" in note
    cache.chmod(0o700)
    entry.chmod(0o666)
    graph = graph_of(tmp_path / "src", cache=cache)
    assert graph.stats.from_cache == 0
    assert f"{entry}: it is writable by group or others" in graph.notes[0]
    if os.geteuid() == 0:
        entry.chmod(0o600)
        os.chown(entry, 65534, 65534)
        graph = graph_of(tmp_path / "src", cache=cache)
        assert graph.stats.from_cache == 0
        assert "owned by nobody" in graph.notes[0]


def test_root_caches_under_var_cache_whatever_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from smartrestart.importgraph import cache as graph_cache

    monkeypatch.setenv("XDG_CACHE_HOME", "/home/mallory/.cache")
    monkeypatch.setattr(os, "geteuid", lambda: 0)
    assert graph_cache.default_cache_dir() == graph_cache.ROOT_CACHE_DIR
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    assert graph_cache.default_cache_dir() == "/home/mallory/.cache/smartrestart"


def test_the_cache_format_follows_the_scanner_version() -> None:
    """A scanner that reads files differently must not reuse old scans (see cache.SCANNER_EPOCH)."""
    from smartrestart.importgraph.scanner import SCANNER_VERSION

    assert cachefile.SCANNER_EPOCH == SCANNER_VERSION


# -- the cache never changes an answer ---------------------------------------------

_FILES = [f"pkg/m{i}.py" for i in range(6)] + ["pkg/sub/__init__.py", "pkg/sub/s.py", "tool.py"]
_MODULES = ["pkg.m0", "pkg.m1", "pkg.m2", "pkg.sub", "pkg.sub.s", "os", "tool"]
_edits = st.one_of(
    # (write, file, imports, typing-only imports, syntax error)
    st.tuples(
        st.just("write"),
        st.sampled_from(_FILES),
        st.sets(st.sampled_from(_MODULES), max_size=3),
        st.sets(st.sampled_from(_MODULES), max_size=2),
        st.booleans(),
    ),
    st.tuples(st.just("delete"), st.sampled_from(_FILES)),
    st.tuples(st.just("rename"), st.sampled_from(_FILES), st.sampled_from(_FILES)),
    st.tuples(st.just("touch"), st.sampled_from(_FILES)),
)


def _source(imports: set[str], typing_only: set[str], broken: bool) -> str:
    lines = [f"import {m}" for m in sorted(imports)]
    if typing_only:
        lines += ["from typing import TYPE_CHECKING", "if TYPE_CHECKING:"]
        lines += [f"    import {m}" for m in sorted(typing_only)]
    if broken:
        lines.append("def broken(:")
    return "\n".join(lines) + "\n"


def _answers(graph: ImportGraph, root: Path) -> dict[str, object]:
    """Everything a decision reads from a graph, in root-relative terms."""
    (part,) = graph.parts
    files = part.tables.files
    return {
        "files": sorted(files),
        "modules": sorted(zip(files, part.tables.modules, part.tables.packages, strict=True)),
        "problems": sorted((files[i], p) for i, p in part.tables.problems.items()),
        # In the order of the index's arrays: ascending positions, as a cold build has them.
        "importers": {
            module: [files[i] for i in part.index.get(module)] for module in part.index.to_dict()
        },
        "expanded": {f: sorted(added(graph, root, f)) for f in files},
    }


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.lists(st.tuples(_edits, st.booleans()), min_size=1, max_size=12), st.sampled_from([1, 3, 64])
)
def test_a_cached_graph_always_equals_one_built_afresh(
    tmp_path_factory: pytest.TempPathFactory,
    monkeypatch: pytest.MonkeyPatch,
    edits: list[tuple[tuple[object, ...], bool]],
    delta_limit: int,
) -> None:
    """Edits, deletions, renames and mode switches, stored whole or as deltas.

    After each edit, a graph built through the cache answers exactly as one
    built without it (with or without TYPE_CHECKING imports, as drawn).
    """
    from smartrestart.importgraph import cache as graph_cache

    monkeypatch.setattr(graph_cache, "delta_limit", lambda files: delta_limit)
    root = tmp_path_factory.mktemp("tree")
    cache = tmp_path_factory.mktemp("cache")
    write_tree(root, {"pkg/__init__.py": "", "pkg/m0.py": "import os\n", "tool.py": ""})
    clock = time.time() - 3600  # every change gets its own mtime, all outside the racy window

    def settle() -> None:
        """Move what just changed out of the racy window, each to a new mtime."""
        nonlocal clock
        for path in [root, *root.rglob("*")]:
            if path.stat().st_mtime > time.time() - 60:
                clock += 1
                os.utime(path, ns=(int(clock * 1e9), int(clock * 1e9)))

    settle()
    reused = 0
    for edit, type_checking in [*edits, (("touch", "tool.py"), False)]:
        kind, *args = edit
        if kind == "write":
            name, imports, typing_only, broken = args
            (root / str(name)).parent.mkdir(parents=True, exist_ok=True)
            (root / str(name)).write_text(_source(imports, typing_only, bool(broken)))  # type: ignore[arg-type]
        elif kind == "delete":
            (root / str(args[0])).unlink(missing_ok=True)
        elif kind == "rename" and (root / str(args[0])).exists():
            (root / str(args[1])).parent.mkdir(parents=True, exist_ok=True)
            (root / str(args[0])).rename(root / str(args[1]))
        elif kind == "touch" and (root / str(args[0])).exists():
            clock += 1
            os.utime(root / str(args[0]), ns=(int(clock * 1e9), int(clock * 1e9)))
        settle()
        cached = graph_of(root, cache=cache, type_checking=type_checking)
        afresh = graph_of(root, type_checking=type_checking)
        assert _answers(cached, root) == _answers(afresh, root), edits
        assert not cached.notes, cached.notes
        reused += cached.stats.from_cache
    assert reused, "the cache was never used"


def test_caches_of_releases_gone_are_pruned_when_a_cache_is_written(tmp_path: Path) -> None:
    """current -> releases/N: every release is a root; the directory must not grow forever."""
    import shutil

    from smartrestart.importgraph import cache as graph_cache

    cache = tmp_path / "cache"
    releases = [tmp_path / "releases" / str(n) for n in (1, 2, 3)]
    for release in releases[:2]:
        write_tree(release, {"app/__init__.py": "", "app/main.py": "import app\n"})
        graph_of(release, cache=cache)
    first, second = (graph_cache.cache_file(str(cache), str(r)) for r in releases[:2])
    assert cachefile.root_of(first) == str(releases[0])
    old = time.time() - graph_cache.STALE_FOREIGN_SECONDS - 60
    (cache / "graph-orphan-00000000.cache.delta").write_bytes(b"")
    (cache / ".graph-x-00000000.cache.abc.tmp").write_bytes(b"")
    os.utime(cache / ".graph-x-00000000.cache.abc.tmp", (old, old))
    (cache / "graph-old-format-00000000.cache").write_bytes(b"SRIG" + bytes(30))
    (cache / "graph-old-format-11111111.cache").write_bytes(b"SRIG" + bytes(30))
    os.utime(cache / "graph-old-format-11111111.cache", (old, old))
    (cache / "notes.txt").write_text("not ours\n")
    shutil.rmtree(releases[0])
    write_tree(releases[2], {"app/__init__.py": ""})
    graph_of(releases[2], cache=cache)  # a new root: its cache is written whole
    assert sorted(p.name for p in cache.iterdir()) == sorted(
        [
            Path(second).name,
            Path(graph_cache.cache_file(str(cache), str(releases[2]))).name,
            "graph-old-format-00000000.cache",  # another version's, recently used
            "notes.txt",
        ]
    )
