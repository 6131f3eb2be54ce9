"""Scanning on two processes: what the child does is what the parent would have done."""

from __future__ import annotations

import marshal
import os
import time
from pathlib import Path
from typing import Any

import pytest

from smartrestart.importgraph import parallel
from smartrestart.importgraph.build import build_graph
from smartrestart.importgraph.graph import ImportGraph
from tests.helpers import write_tree

# Many directories of a few files: the walk forks after the first few and
# streams the child the rest.
TREE = {
    **{f"pkg/d{d}/__init__.py": f"from pkg.d{(d + 1) % 40} import m0\n" for d in range(40)},
    **{
        f"pkg/d{d}/m{m}.py": f"import pkg.d{d}.m{(m + 1) % 8}\nfrom . import m{m}\n"
        for d in range(40)
        for m in range(8)
    },
    "pkg/__init__.py": "",
    "pkg/d39/caf\udce9.py": "import os\n",  # a name that is no UTF-8, streamed as it is
}


def settled_tree(root: Path) -> Path:
    """The tree, its files an hour old: none in the racy window, whenever a build runs."""
    write_tree(root, TREE)
    old = time.time() - 3600
    for path in root.rglob("*.py"):
        os.utime(path, (old, old))
    return root


def snapshot(graph: ImportGraph) -> tuple[Any, ...]:
    (part,) = graph.parts
    tables = part.tables
    return (
        list(tables.files),
        list(tables.stats),
        list(tables.modules),
        bytes(tables.packages),
        dict(tables.problems),
        part.index.to_dict(),
    )


@pytest.fixture
def slow_parent(monkeypatch: pytest.MonkeyPatch) -> None:
    """The parent scans slowly: the child gets files however busy the machine is."""
    parent = os.getpid()
    scan = parallel.scan_file

    def slow(path: str) -> Any:
        if os.getpid() == parent:
            time.sleep(0.002)
        return scan(path)

    monkeypatch.setattr(parallel, "scan_file", slow)


def serial_graph(root: Path, monkeypatch: pytest.MonkeyPatch) -> ImportGraph:
    with monkeypatch.context() as patched:
        patched.setattr(parallel, "fork_allowed", lambda: False)
        graph = build_graph([root], cache_dir=None)
    assert graph.stats.by_child == 0
    return graph


@pytest.mark.usefixtures("slow_parent")
def test_a_cold_build_streamed_to_the_child_is_the_serial_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = settled_tree(tmp_path / "p")
    streamed = build_graph([root], cache_dir=tmp_path / "cache")
    assert streamed.stats.by_child > 0 and not streamed.stats.child_failed
    assert snapshot(streamed) == snapshot(serial_graph(root, monkeypatch))
    (part,) = streamed.parts
    for position, relative in enumerate(part.tables.files):
        status = (root / relative).stat()
        size, mtime, inode = part.tables.stats[3 * position : 3 * position + 3]
        assert (size, inode) == (status.st_size, status.st_ino)
        assert mtime == status.st_mtime_ns


@pytest.mark.parametrize("when", ["at once", "after a few files"])
def test_a_child_that_fails_leaves_its_files_to_the_parent(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, when: str
) -> None:
    root = settled_tree(tmp_path / "p")
    expected = snapshot(serial_graph(root, monkeypatch))
    parent = os.getpid()
    scan, dumps = parallel.scan_file, marshal.dumps
    scanned = [0]

    def failing(path: str) -> Any:
        if os.getpid() != parent:
            scanned[0] += 1
            if when == "at once" or scanned[0] > 5:
                os._exit(3)
        return scan(path)

    def failing_at_the_end(value: object) -> bytes:
        if os.getpid() != parent:
            os._exit(3)  # however few files the child got
        return dumps(value)  # type: ignore[arg-type]

    monkeypatch.setattr(parallel, "scan_file", failing)
    monkeypatch.setattr(marshal, "dumps", failing_at_the_end)
    graph = build_graph([root], cache_dir=None)
    assert graph.stats.child_failed and graph.stats.by_child == 0
    assert snapshot(graph) == expected


@pytest.mark.usefixtures("slow_parent")
def test_every_file_is_scanned_once_in_the_order_asked(tmp_path: Path) -> None:
    names = [f"m{i}.py" for i in range(300)]
    write_tree(tmp_path, {name: f"import n{i}\n" for i, name in enumerate(names)})
    names.insert(150, "gone.py")

    def describe(path: str, records: Any, problem: str | None) -> parallel.Described:
        return (problem, path, False, tuple(r[2] for r in records), ())

    outcome = parallel.scan_all(f"{tmp_path}/", names, describe, parallel=True)
    assert outcome.by_child > 0 and not outcome.child_failed
    assert [described[1] for _, described in outcome.scanned] == [
        f"{tmp_path}/{name}" for name in names
    ]
    assert [described[3] for _, described in outcome.scanned[:3]] == [("n0",), ("n1",), ("n2",)]
    status, (problem, *_) = outcome.scanned[150]
    assert status is None and problem is not None and problem.startswith("cannot read")


def test_a_pool_left_by_an_error_leaves_no_child_behind(tmp_path: Path) -> None:
    names = [f"m{i}.py" for i in range(100)]
    write_tree(tmp_path, dict.fromkeys(names, "import os\n"))

    def describe(path: str, records: Any, problem: str | None) -> parallel.Described:
        return (problem, path, False, (), ())

    pool = parallel.ScanPool(f"{tmp_path}/", describe, parallel=True)
    with pytest.raises(KeyboardInterrupt), pool:
        pool.publish(names)  # forks: the child waits for the rest of the walk
        assert pool.pid > 0
        child = pool.pid
        raise KeyboardInterrupt
    with pytest.raises(ChildProcessError):
        os.waitpid(child, os.WNOHANG)


def test_one_cpu_to_run_on_is_one_process(monkeypatch: pytest.MonkeyPatch) -> None:
    """CPUAffinity= (or taskset) to one CPU: os.cpu_count() still counts the machine's."""
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0})
    assert not parallel.ScanPool("/", _never_described).allowed
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1})
    assert parallel.ScanPool("/", _never_described).allowed


def _never_described(path: str, records: object, problem: str | None) -> parallel.Described:
    raise AssertionError(f"{path} scanned")
