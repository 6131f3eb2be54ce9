"""Building the import graph: reuse what the cache says is unchanged, scan the rest.

A warm run confirms an unchanged tree with one stat per directory and file
and reuses the cached importer index as is; a run that finds a few changed
files rescans only those and redoes only their edges in the index; a cold
run walks the tree, then scans on both cores (:mod:`.parallel`).
"""

from __future__ import annotations

import os
import sys
import time
from array import array
from collections.abc import Sequence
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from smartrestart.importgraph import cache as graph_cache
from smartrestart.importgraph.cache import PackedIndex
from smartrestart.importgraph.graph import ALL, RUNTIME, BuildStats, ImportGraph, RootGraph
from smartrestart.importgraph.layout import SourceRoot, detect_source_root
from smartrestart.importgraph.modules import dependencies, module_name
from smartrestart.importgraph.walk import RACY_SECONDS, Walk, tree_unchanged, walk_python_files

if TYPE_CHECKING:
    from smartrestart.importgraph.cache import Index
    from smartrestart.importgraph.parallel import Described


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
