"""The reverse import graph of one or more source roots, and expansion through it.

Each root keeps its files as positions into flat tables (see
:mod:`smartrestart.importgraph.cache`): an index maps a module *name* to the
positions of the files that import it. Keying edges by name means a file
deleted in the diff still expands: its old module name is computed from its
path, and whoever imported that name is found. Expansion works on positions
and turns only the files it adds into paths; import chains are built only
when asked for (``--explain``, ``--json``), so the cost of a run grows with
the files added, not with the length of the chains.
"""

from __future__ import annotations

import os
import sys
import time
from array import array
from collections import deque
from collections.abc import Iterable, Sequence
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from smartrestart.importgraph import cache as graph_cache
from smartrestart.importgraph.cache import PackedIndex
from smartrestart.importgraph.layout import SourceRoot, detect_source_root
from smartrestart.importgraph.modules import dependencies, module_name
from smartrestart.importgraph.walk import RACY_SECONDS, Walk, tree_unchanged, walk_python_files

if TYPE_CHECKING:
    from smartrestart.importgraph.cache import Index
    from smartrestart.importgraph.parallel import Described

CONSERVATIVE_NOTE = (
    "treated as importing everything, since its imports could not be read with certainty"
)
RUNTIME, ALL = "runtime", "all"

# A file of the graph: (which root, position in that root's tables).
Node = tuple[int, int]


class BuildStats:
    """How a graph was built: files seen, scanned (by whom) and reused."""

    __slots__ = ("by_child", "child_failed", "files", "from_cache", "scanned", "seconds")

    def __init__(self) -> None:
        self.files = 0
        self.scanned = 0
        self.from_cache = 0
        self.by_child = 0  # of the scanned files, how many the forked child read
        self.child_failed = False
        self.seconds = 0.0


class RootGraph:
    """What one source root contributes: its files and its importer index."""

    __slots__ = ("_position", "_provides", "index", "prefix", "root", "tables")

    def __init__(self, root: SourceRoot, tables: graph_cache.RootCache, index: Index) -> None:
        self.root = root
        self.prefix = str(root.path).rstrip("/") + "/"
        self.tables = tables
        self.index = index
        self._position: dict[str, int] | None = None
        self._provides: set[str] | None = None

    @property
    def position(self) -> dict[str, int]:
        if self._position is None:
            self._position = {rel: i for i, rel in enumerate(self.tables.files)}
        return self._position

    @property
    def provides(self) -> set[str]:
        """Module names this root's own files provide."""
        if self._provides is None:
            self._provides = {m for m in self.tables.modules if m}
        return self._provides

    def path(self, position: int) -> str:
        return self.prefix + self.tables.files[position]


class Expansion:
    """The files an expansion added, in the order found, and how each was reached."""

    __slots__ = ("_graph", "_parent", "order")

    def __init__(self, graph: ImportGraph) -> None:
        self._graph = graph
        self._parent: dict[Node, Node | str] = {}
        self.order: list[Node] = []

    def paths(self) -> list[str]:
        """Absolute paths of the added files."""
        parts = self._graph.parts
        return [parts[part].path(i) for part, i in self.order]

    def chains(self) -> dict[str, tuple[str, ...]]:
        """Added file -> import chain from a changed file to it (built on demand)."""
        parts = self._graph.parts
        result: dict[str, tuple[str, ...]] = {}
        for node in self.order:
            chain = [parts[node[0]].path(node[1])]
            step: Node | str = node
            while not isinstance(step, str):
                step = self._parent[step]
                chain.append(step if isinstance(step, str) else parts[step[0]].path(step[1]))
            result[chain[0]] = tuple(reversed(chain))
        return result


class ImportGraph:
    __slots__ = ("notes", "parts", "stats", "unreadable")

    def __init__(
        self,
        parts: tuple[RootGraph, ...],
        stats: BuildStats,
        unreadable: dict[str, str],
        notes: list[str],
    ) -> None:
        self.parts = parts
        self.stats = stats
        # Paths under a root that could not be listed or examined -> why.
        self.unreadable = unreadable
        # Why the cache was not used or was rebuilt, for the user to see.
        self.notes = notes

    @property
    def problems(self) -> dict[str, str]:
        """Files read with a problem; expansion treats them as importing everything."""
        return {
            part.path(i): problem
            for part in self.parts
            for i, problem in part.tables.problems.items()
        }

    def importers(self, module: str) -> list[str]:
        """Absolute paths of the files whose imports depend on ``module``."""
        return [part.path(i) for part in self.parts for i in part.index.get(module, ())]

    def locate(self, path: str) -> tuple[str, bool, int] | None:
        """Module name, package flag and root number of ``path``, existing or deleted."""
        for number, part in enumerate(self.parts):
            if not path.startswith(part.prefix):
                continue
            position = part.position.get(path[len(part.prefix) :])
            if position is not None:
                module = part.tables.modules[position]
                return (module, bool(part.tables.packages[position]), number) if module else None
        if not path.endswith(".py"):
            return None
        for number, part in enumerate(self.parts):
            named = _name_in(part.root, path)
            if named is not None:
                return named[0], named[1], number
        return None

    def expand(self, seeds: Iterable[str]) -> Expansion:
        """Every transitive importer of ``seeds`` (absolute paths), breadth first.

        A file is visited once, so import cycles terminate. Files whose imports
        could not be read are added as soon as anything expands.
        """
        expansion = Expansion(self)
        parent = expansion._parent
        order = expansion.order
        seed_nodes: set[Node] = set()
        queue: deque[tuple[str, Node | None]] = deque()
        for seed in dict.fromkeys(seeds):
            if not seed.endswith(".py"):
                continue
            node = self._node_of(seed)
            if node is not None:
                seed_nodes.add(node)
            queue.append((seed, node))
        problems = [
            (number, i) for number, part in enumerate(self.parts) for i in part.tables.problems
        ]
        while queue:
            label, node = queue.popleft()
            located = self._located(label, node)
            if located is None:
                continue
            found = self._importers_of(label, node, *located)
            if problems:  # conservative files depend on anything that changes
                found.extend(problems)
                problems = []
            # Seeds are remembered by their path (which a deleted file still has).
            came_from: Node | str = label if label else node  # type: ignore[assignment]
            for importer in found:
                if importer in seed_nodes or importer in parent:
                    continue
                parent[importer] = came_from
                order.append(importer)
                queue.append(("", importer))
        return expansion

    def _node_of(self, path: str) -> Node | None:
        for number, part in enumerate(self.parts):
            if path.startswith(part.prefix):
                position = part.position.get(path[len(part.prefix) :])
                if position is not None:
                    return number, position
        return None

    def _located(self, label: str, node: Node | None) -> tuple[str, bool, int] | None:
        if node is None:
            return self.locate(label)  # a deleted file: its old module name
        tables = self.parts[node[0]].tables
        module = tables.modules[node[1]]
        return (module, bool(tables.packages[node[1]]), node[0]) if module else None

    def _importers_of(
        self, label: str, node: Node | None, module: str, is_package: bool, number: int
    ) -> list[Node]:
        found: list[Node] = []
        several = len(self.parts) > 1
        for other_number, other in enumerate(self.parts):
            positions = other.index.get(module)
            if positions is None:
                continue
            # Another root importing `module` means its own module of that
            # name when it has one; only otherwise is it ours.
            if several and other_number != number and module in other.provides:
                continue
            found.extend((other_number, i) for i in positions)
        if not is_package:
            path = label if node is None else self.parts[node[0]].path(node[1])
            found.extend(self._script_siblings(path, module, number))
        return found

    def _script_siblings(self, path: str, module: str, number: int) -> list[Node]:
        """Files importing ``path`` by its bare name from the same script directory.

        A script run directly has its own directory first on ``sys.path``, so in
        a directory that is not a package, ``import helpers`` means the
        ``helpers.py`` next to it.
        """
        part = self.parts[number]
        relative = path[len(part.prefix) :] if path.startswith(part.prefix) else path
        directory, _, name = relative.rpartition("/")
        stem = name[:-3]
        package_init = f"{directory}/__init__.py" if directory else "__init__.py"
        if stem == module or package_init in part.position:
            return []
        files = part.tables.files
        return [
            (number, i)
            for i in part.index.get(stem, ())
            if files[i].rpartition("/")[0] == directory
        ]


def _name_in(root: SourceRoot, path: str) -> tuple[str, bool] | None:
    file = Path(path)
    if not file.is_relative_to(root.path):
        return None
    return module_name(PurePosixPath(file.relative_to(root.import_root_of(file)).as_posix()))


def build_graph(
    root_dirs: Sequence[str | Path],
    *,
    cache_dir: Path | None,
    include_type_checking: bool = False,
) -> ImportGraph:
    """Scan ``root_dirs`` (merged into one graph), reusing cached scans.

    Roots are resolved to their physical paths, the form every changed path
    takes (:mod:`smartrestart.paths`).
    """
    started = time.perf_counter()
    stats = BuildStats()
    unreadable: dict[str, str] = {}
    notes: list[str] = []
    if cache_dir is not None:
        reason = graph_cache.untrusted(cache_dir)
        if reason:
            notes.append(f"import cache {cache_dir} not used (rebuilt in memory): {reason}")
            cache_dir = None
    mode = ALL if include_type_checking else RUNTIME
    roots = [detect_source_root(Path(os.path.realpath(d))) for d in root_dirs]
    parts: list[RootGraph] = []
    for number, root in enumerate(roots):
        # A root inside an earlier one leaves the earlier one's files to it.
        claimed = [str(r.path) for r in roots[:number] if _nested(root, r)]
        build = _RootBuild(root, mode, stats, unreadable, claimed, notes)
        try:
            part = build.run(cache_dir)
        except (TypeError, ValueError, IndexError, KeyError, AttributeError):
            if cache_dir is None:
                raise
            # Well-formed data of the wrong shape: a cache from a foreign
            # writer. It only ever costs speed, so scan afresh.
            damaged = graph_cache.cache_file(cache_dir, str(root.path))
            notes.append(f"import cache {damaged} is damaged: ignored and rebuilt")
            part = _RootBuild(root, mode, stats, unreadable, claimed, notes).run(None)
        parts.append(part)
    stats.files = sum(len(part.tables.files) for part in parts)
    stats.seconds = time.perf_counter() - started
    return ImportGraph(tuple(parts), stats, unreadable, notes)


def _nested(inner: SourceRoot, outer: SourceRoot) -> bool:
    return inner.path != outer.path and (
        inner.path.is_relative_to(outer.path) or outer.path.is_relative_to(inner.path)
    )


class _RootBuild:
    """Building one root's tables: reuse what the cache says is unchanged, scan the rest."""

    def __init__(
        self,
        root: SourceRoot,
        mode: str,
        stats: BuildStats,
        unreadable: dict[str, str],
        claimed: list[str],
        notes: list[str],
    ) -> None:
        self.notes = notes
        self.root = root
        self.root_path = str(root.path)
        self.prefix = self.root_path.rstrip("/") + "/"
        self.layout = tuple(str(r) for r in root.import_roots)
        self.mode = mode
        self.stats = stats
        self.unreadable = unreadable
        self.claimed = claimed

    def run(self, cache_dir: Path | None) -> RootGraph:
        cache_path = graph_cache.cache_file(cache_dir, self.root_path) if cache_dir else None
        old = graph_cache.load(cache_path, self.layout) if cache_path else None
        old = old or graph_cache.RootCache(self.layout)
        if old.damaged:
            self.notes.append(f"import cache {cache_path} is damaged ({old.damaged}): rebuilt")
        if old.complete and old.files and tree_unchanged(self.root_path, old.listings):
            walked = Walk()
            walked.files, walked.listings = old.files, old.listings
        else:
            walked = walk_python_files(self.root_path, old.listings)
        self.unreadable.update(walked.unreadable)
        files = walked.files
        if self.claimed:
            files = [f for f in files if not self._is_claimed(self.prefix + f)]
        fresh, reused_from, to_scan, sizes = self._compare(files, old)
        self.stats.from_cache += len(files) - len(to_scan)
        self.stats.scanned += len(to_scan)
        unchanged = not to_scan and fresh.files == old.files
        if unchanged:
            fresh.modules, fresh.packages, fresh.problems = old.modules, old.packages, old.problems
            fresh.adopt_dependencies(old)
            index = old.indexes.get(self.mode)
            if index is None:
                index = _index(fresh.dependencies, self.mode)
            fresh.indexes = {**old.indexes, self.mode: index}
            fresh.listings, fresh.complete = walked.listings, walked.complete
            listings_moved = walked.listings is not old.listings and (
                walked.listings != old.listings or walked.complete != old.complete
            )
            if cache_path is not None and (listings_moved or self.mode not in old.indexes):
                graph_cache.store(cache_path, fresh)
            return RootGraph(self.root, fresh, index)
        self._fill(fresh, old, reused_from, to_scan, sizes)
        index = self._updated_index(fresh, old, reused_from, to_scan)
        fresh.indexes = {self.mode: index}
        fresh.listings, fresh.complete = walked.listings, walked.complete
        if cache_path is not None:
            graph_cache.store(cache_path, fresh)
        return RootGraph(self.root, fresh, index)

    def _is_claimed(self, path: str) -> bool:
        return any(path.startswith(other.rstrip("/") + "/") for other in self.claimed)

    def _compare(
        self, files: list[str], old: graph_cache.RootCache
    ) -> tuple[graph_cache.RootCache, list[int], list[int], list[int]]:
        """Stat every file: which old entry each reuses (-1: none), which need a scan."""
        fresh = graph_cache.RootCache(self.layout)
        same_order = files == old.files
        old_position = None if same_order else {rel: i for i, rel in enumerate(old.files)}
        old_stats = old.stats
        racy_after = int((time.time() - RACY_SECONDS) * 1e9)
        stat, prefix = os.stat, self.prefix
        kept: list[str] = []
        stats = array("q")
        reused_from: list[int] = []
        to_scan: list[int] = []
        sizes: list[int] = []
        for rel in files:
            try:
                st = stat(prefix + rel)
            except OSError:
                continue  # gone since the walk
            position = len(kept)
            j = position if same_order else old_position.get(rel, -1)  # type: ignore[union-attr]
            size, mtime, inode = st.st_size, st.st_mtime_ns, st.st_ino
            if (
                j >= 0
                and old_stats[3 * j] == size
                and old_stats[3 * j + 1] == mtime
                and old_stats[3 * j + 2] == inode
            ):
                reused_from.append(j)
            else:
                reused_from.append(-1)
                to_scan.append(position)
                sizes.append(size)
            kept.append(rel)
            # A file changed within the racy window is scanned again next time.
            stats.extend((size, mtime if mtime < racy_after else graph_cache.UNTRUSTED, inode))
        # The same list object when nothing was added or removed: compared in no time.
        fresh.files = old.files if same_order and len(kept) == len(files) else kept
        fresh.stats = stats
        return fresh, reused_from, to_scan, sizes

    def _fill(
        self,
        fresh: graph_cache.RootCache,
        old: graph_cache.RootCache,
        reused_from: list[int],
        to_scan: list[int],
        sizes: list[int],
    ) -> None:
        """Module names, package flags, problems and dependencies of every file."""
        from smartrestart.importgraph.parallel import scan_all

        outcome = scan_all([self.prefix + fresh.files[i] for i in to_scan], sizes, self.describe)
        self.stats.by_child += outcome.by_child
        self.stats.child_failed = self.stats.child_failed or outcome.child_failed
        scanned = dict(zip(to_scan, outcome.described, strict=True))
        old_deps = old.dependencies if any(j >= 0 for j in reused_from) else []
        modules: list[str] = []
        packages = bytearray()
        problems: dict[int, str] = {}
        deps: list[graph_cache.Dependencies] = []
        for position, j in enumerate(reused_from):
            if j >= 0:
                modules.append(old.modules[j])
                packages.append(old.packages[j])
                if j in old.problems:
                    problems[position] = old.problems[j]
                deps.append(old_deps[j])
                continue
            problem, module, is_package, runtime, typing_only = scanned[position]
            modules.append(module)
            packages.append(1 if is_package else 0)
            if problem is not None:
                problems[position] = problem
            deps.append((runtime, typing_only))
        fresh.modules, fresh.packages, fresh.problems = modules, packages, problems
        fresh.dependencies = deps

    def describe(self, path: str, records: Any, problem: str | None) -> Described:
        """Module name and dependencies of a freshly scanned file (run in either process).

        Dependency names repeat across files; interned, marshal writes each once.
        """
        relative = next((path[len(p) + 1 :] for p in self.layout if path.startswith(p + "/")), None)
        named = module_name(PurePosixPath(relative)) if relative else None
        if named is None:
            return (problem, "", False, (), ())
        module, is_package = named
        runtime, typing_only = dependencies(records, module, is_package)
        intern = sys.intern
        return (
            problem,
            module,
            is_package,
            tuple(intern(d) for d in sorted(runtime)),
            tuple(intern(d) for d in sorted(typing_only)),
        )

    def _updated_index(
        self,
        fresh: graph_cache.RootCache,
        old: graph_cache.RootCache,
        reused_from: list[int],
        to_scan: list[int],
    ) -> Index:
        """The old index with only the changed files' edges redone, when files kept their places."""
        old_index = old.indexes.get(self.mode)
        same_places = len(reused_from) == len(old.files) and all(
            j in (-1, position) for position, j in enumerate(reused_from)
        )
        if old_index is None or not same_places or len(to_scan) * 20 > len(fresh.files):
            return _index(fresh.dependencies, self.mode)
        index = old_index.to_dict() if isinstance(old_index, PackedIndex) else dict(old_index)
        old_deps, new_deps = old.dependencies, fresh.dependencies
        for position in to_scan:
            for module in _deps_of(old_deps[position], self.mode):
                positions = index.get(module)
                if positions is not None:
                    kept = array("i", (i for i in positions if i != position))
                    if kept:
                        index[module] = kept
                    else:
                        del index[module]
            for module in _deps_of(new_deps[position], self.mode):
                positions = index.get(module)
                index[module] = (
                    array("i", sorted((*positions, position)))
                    if positions
                    else array("i", [position])
                )
        return index


def _deps_of(dependencies: graph_cache.Dependencies, mode: str) -> tuple[str, ...]:
    runtime, typing_only = dependencies
    return runtime + typing_only if mode == ALL else runtime


def _index(all_dependencies: list[graph_cache.Dependencies], mode: str) -> Index:
    lists: dict[str, list[int]] = {}
    for position, deps in enumerate(all_dependencies):
        for module in _deps_of(deps, mode):
            files = lists.get(module)
            if files is None:
                lists[module] = [position]
            else:
                files.append(position)
    return {module: array("i", positions) for module, positions in lists.items()}
