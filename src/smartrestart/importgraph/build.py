"""Building the import graph: reuse what the cache says is unchanged, scan the rest.

A warm run confirms an unchanged tree with one stat per directory and file
and reuses the cached importer index as is; a run that finds a few changed
files rescans only those and redoes only their edges in the index; a cold
run walks the tree, then scans on both cores (:mod:`.parallel`).
"""

from __future__ import annotations

import gc
import os
import sys
import time
from array import array
from collections import defaultdict
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from smartrestart import pathnames
from smartrestart.importgraph import cache as graph_cache
from smartrestart.importgraph.graph import BuildStats, ImportGraph, RootGraph
from smartrestart.importgraph.index import (
    ALL,
    RUNTIME,
    Dependencies,
    PackedIndex,
    dependencies_in,
    edited_index,
)
from smartrestart.importgraph.layout import SourceRoot, detect_source_root
from smartrestart.importgraph.modules import dependencies, module_name
from smartrestart.importgraph.tables import UNTRUSTED, RootCache
from smartrestart.importgraph.walk import RACY_SECONDS, Walk, tree_unchanged, walk_python_files

if TYPE_CHECKING:
    from smartrestart.importgraph.index import Index
    from smartrestart.importgraph.parallel import Described


def build_graph(
    root_dirs: Sequence[str | os.PathLike[str]],
    *,
    cache_dir: str | os.PathLike[str] | None,
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
    roots = [detect_source_root(os.path.realpath(d)) for d in root_dirs]
    cache = None if cache_dir is None else os.fspath(cache_dir)
    if cache is not None:
        mine = [graph_cache.cache_file(cache, root.path) for root in roots]
        reason = graph_cache.untrusted(
            cache, [*mine, *(graph_cache.delta_file(path) for path in mine)]
        )
        if reason:
            notes.append(f"import cache {cache} not used (rebuilt in memory): {reason}")
            cache = None
    mode = ALL if include_type_checking else RUNTIME
    parts: list[RootGraph] = []
    # The tables hold no reference cycles: the cyclic collector would only
    # walk them, over and over while they grow (a few ms of a cold build).
    collecting = gc.isenabled()
    gc.disable()
    try:
        for number, root in enumerate(roots):
            # A root inside an earlier one leaves the earlier one's files to it.
            claimed = [r.path for r in roots[:number] if _nested(root, r)]
            build = _RootBuild(root, mode, stats, unreadable, claimed, notes)
            try:
                part = build.run(cache)
            except (TypeError, ValueError, IndexError, KeyError, AttributeError):
                if cache is None:
                    raise
                # Well-formed data of the wrong shape: a cache from a foreign
                # writer. It only ever costs speed, so scan afresh.
                damaged = graph_cache.cache_file(cache, root.path)
                notes.append(f"import cache {damaged} is damaged: ignored and rebuilt")
                part = _RootBuild(root, mode, stats, unreadable, claimed, notes).run(None)
            parts.append(part)
    finally:
        if collecting:
            gc.enable()
    stats.files = sum(len(part.tables.files) for part in parts)
    stats.seconds = time.perf_counter() - started
    return ImportGraph(tuple(parts), stats, unreadable, notes)


def _nested(inner: SourceRoot, outer: SourceRoot) -> bool:
    return inner.path != outer.path and (
        pathnames.is_relative_to(inner.path, outer.path)
        or pathnames.is_relative_to(outer.path, inner.path)
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
        self.root_path = root.path
        self.prefix = self.root_path.rstrip("/") + "/"
        self.layout = root.import_roots
        self.import_prefixes = tuple(r + "/" for r in self.layout)
        self.mode = mode
        self.stats = stats
        self.unreadable = unreadable
        self.claimed = claimed

    def run(self, cache_dir: str | None) -> RootGraph:
        cache_path = graph_cache.cache_file(cache_dir, self.root_path) if cache_dir else None
        old = graph_cache.load(cache_path, self.layout) if cache_path else None
        old = old or RootCache(self.layout)
        if old.damaged:
            self.notes.append(f"import cache {cache_path} is damaged ({old.damaged}): rebuilt")
        if not old.token:
            return self._cold(cache_path)
        walked: Walk | None = None
        if old.complete and old.files and tree_unchanged(self.root_path, old.directory_mtimes()):
            files = old.files
        else:
            walked = walk_python_files(self.root_path, old.listings)
            self.unreadable.update(walked.unreadable)
            files = walked.files
        if self.claimed:
            files = [f for f in files if not self._is_claimed(self.prefix + f)]
        fresh, scan = self._compare(files, old)
        self.stats.from_cache += len(fresh.files) - len(scan.positions)
        self.stats.scanned += len(scan.positions)
        listings_moved = False
        if walked is None:
            fresh.adopt_listings(old)
        else:
            listings_moved = walked.listings != old.listings or walked.complete != old.complete
            fresh.set_listings(walked.listings, walked.complete)
            if not listings_moved:
                fresh.listings_in_base = old.listings_in_base
        if not scan.positions and scan.reused_from is None:
            fresh.modules, fresh.packages, fresh.problems = old.modules, old.packages, old.problems
            fresh.set_dependencies({}, None, old)
            fresh.token, fresh.delta = old.token, old.delta
            fresh.indexes = dict(old.indexes)
            changed = listings_moved
        else:
            self._fill(fresh, old, scan)
            changed = True
        index = fresh.indexes.get(self.mode)
        if index is None or changed:
            index = self._updated_index(fresh, old, scan)
            fresh.indexes = {**fresh.indexes, self.mode: index}
            changed = True
        if cache_path is not None and changed and not _only_untrusted(fresh, scan, listings_moved):
            graph_cache.store(cache_path, fresh, self.root_path)
        return RootGraph(self.root, fresh, index)

    def _cold(self, cache_path: str | None) -> RootGraph:
        """No cache to reuse: scanning starts while the walk goes on (:mod:`.parallel`).

        Each file's status comes from the scan that read it: no stat pass.
        """
        from smartrestart.importgraph.parallel import ScanPool

        # Taken before any file is read: a file changed within the racy window
        # of its reading is scanned again next time.
        racy_after = int((time.time() - RACY_SECONDS) * 1e9)
        with ScanPool(self.prefix, self.describe) as pool:
            walked = walk_python_files(self.root_path, {}, None if self.claimed else pool.publish)
            self.unreadable.update(walked.unreadable)
            files = walked.files
            if self.claimed:
                files = [f for f in files if not self._is_claimed(self.prefix + f)]
            outcome = pool.finish(files)
            self.stats.by_child += outcome.by_child
            self.stats.child_failed = self.stats.child_failed or outcome.child_failed
            fresh = RootCache.scanned(self.layout, files, outcome.scanned, racy_after)
            self.stats.scanned += len(fresh.files)
            fresh.set_listings(walked.listings, walked.complete)
            index = _index(fresh.dependencies, self.mode, len(fresh.files))
            fresh.indexes = {self.mode: index}
            if cache_path is not None:
                graph_cache.store(cache_path, fresh, self.root_path)
        return RootGraph(self.root, fresh, index)

    def _is_claimed(self, path: str) -> bool:
        return any(path.startswith(other.rstrip("/") + "/") for other in self.claimed)

    def _compare(self, files: list[str], old: RootCache) -> tuple[RootCache, _Scan]:
        """Stat every file: which old entry each reuses, which need a scan."""
        same_order = files == old.files
        if same_order:
            found = self._compare_in_place(files, old)
            if found is not None:
                return found
        fresh = RootCache(self.layout)
        old_position = None if same_order else {rel: i for i, rel in enumerate(old.files)}
        old_stats = old.stats
        racy_after = int((time.time() - RACY_SECONDS) * 1e9)
        stat, prefix = os.stat, self.prefix
        kept: list[str] = []
        stats = array("q")
        scan = _Scan()
        reused_from = scan.reused = array("i")
        to_scan = scan.positions
        for number, rel in enumerate(files):
            try:
                st = stat(prefix + rel)
            except OSError:
                continue  # gone since the walk
            position = len(kept)
            j = number if same_order else old_position.get(rel, -1)  # type: ignore[union-attr]
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
            kept.append(rel)
            # A file changed within the racy window is scanned again next time.
            stats.extend((size, mtime if mtime < racy_after else UNTRUSTED, inode))
        if same_order and len(kept) == len(files):
            # Every file in its old place: the same list object, compared in no time.
            fresh.files = old.files
            scan.reused_from = None
        else:
            fresh.files = kept
            scan.reused_from = reused_from
        fresh.stats = stats
        return fresh, scan

    def _compare_in_place(self, files: list[str], old: RootCache) -> tuple[RootCache, _Scan] | None:
        """The usual case, every file where it was: one array of stats, compared whole.

        None when a file is gone since the walk (the general comparison drops it).
        Only a file whose stats changed can be racy: the old array holds no racy
        mtime, and an mtime older than the racy window then is older than it now.
        """
        stat, prefix = os.stat, self.prefix
        stats = array("q")
        extend = stats.extend
        try:
            for rel in files:
                st = stat(prefix + rel)
                extend((st.st_size, st.st_mtime_ns, st.st_ino))
        except OSError:
            return None
        scan = _Scan()
        if stats != old.stats:
            scan.positions = changed_positions(stats, old.stats)
            racy_after = int((time.time() - RACY_SECONDS) * 1e9)
            for position in scan.positions:
                if stats[3 * position + 1] >= racy_after:
                    stats[3 * position + 1] = UNTRUSTED  # scanned again next time
        fresh = RootCache(self.layout)
        fresh.files, fresh.stats = old.files, stats
        return fresh, scan

    def _fill(self, fresh: RootCache, old: RootCache, scan: _Scan) -> None:
        """Module names, package flags, problems and dependencies of every file."""
        from smartrestart.importgraph.parallel import scan_all

        to_scan = scan.positions
        outcome = scan_all(self.prefix, [fresh.files[i] for i in to_scan], self.describe)
        self.stats.by_child += outcome.by_child
        self.stats.child_failed = self.stats.child_failed or outcome.child_failed
        if scan.reused_from is None:
            # In place: the old tables with the scanned entries overwritten.
            modules, packages = list(old.modules), bytearray(old.packages)
            rescanned = set(to_scan)
            problems = {i: p for i, p in old.problems.items() if i not in rescanned}
            fresh.token, fresh.delta = old.token, old.delta | rescanned
            # Only this mode's index is edited: the others are left to be rebuilt.
            kept = old.indexes.get(self.mode)
            fresh.indexes = {} if kept is None else {self.mode: kept}
        else:
            reused = scan.reused
            modules = [old.modules[j] if j >= 0 else "" for j in reused]
            packages = bytearray(old.packages[j] if j >= 0 else 0 for j in reused)
            where = {j: i for i, j in enumerate(reused) if j >= 0}
            problems = {where[j]: p for j, p in old.problems.items() if j in where}
        deps: dict[int, Dependencies] = {}
        for position, (_, (problem, module, is_package, runtime, typing_only)) in zip(
            to_scan, outcome.scanned, strict=True
        ):
            modules[position] = module
            packages[position] = 1 if is_package else 0
            if problem is not None:
                problems[position] = problem
            deps[position] = (runtime, typing_only)
        fresh.modules, fresh.packages, fresh.problems = modules, packages, problems
        fresh.set_dependencies(deps, scan.reused_from, old)
        if scan.reused_from is not None:
            fresh.indexes = {}
            old_index = old.indexes.get(self.mode)
            if old_index is not None and not self._many(scan, fresh):
                moved = array("i", [-1]) * len(old.files)
                for position, j in enumerate(scan.reused):
                    if j >= 0:
                        moved[j] = position  # a changed file's old edges go with the -1s
                fresh.indexes[self.mode] = old_index.remapped(moved, len(fresh.files))

    def describe(self, path: str, records: Any, problem: str | None) -> Described:
        """Module name and dependencies of a freshly scanned file (run in either process).

        Dependency names repeat across files; interned, marshal writes each once.
        """
        named = None
        for prefix in self.import_prefixes:
            if path.startswith(prefix):
                named = module_name(path[len(prefix) :])
                break
        if named is None:
            return (problem, "", False, (), ())
        module, is_package = named
        runtime, typing_only = dependencies(records, module, is_package)
        intern = sys.intern
        return (
            problem,
            module,
            is_package,
            tuple(map(intern, sorted(runtime))),
            tuple(map(intern, sorted(typing_only))) if typing_only else (),
        )

    @staticmethod
    def _many(scan: _Scan, fresh: RootCache) -> bool:
        """Whether so many files changed that the cache is rewritten whole, index and all."""
        return len(scan.positions) > graph_cache.delta_limit(len(fresh.files))

    def _updated_index(self, fresh: RootCache, old: RootCache, scan: _Scan) -> Index:
        """The index with only the scanned files' edges redone, or built afresh."""
        index = fresh.indexes.get(self.mode)
        if index is None or self._many(scan, fresh):
            fresh.token = b""  # a new index: the cache is rewritten whole
            return _index(fresh.dependencies, self.mode, len(fresh.files))
        # In place, the scanned files' old edges are still in the index; after
        # a move, remapping the index dropped them (see _fill).
        before = (
            {position: old.dependencies_of(position) for position in scan.positions}
            if scan.reused_from is None
            else {}
        )
        after = {position: fresh.dependencies_of(position) for position in scan.positions}
        return edited_index(index, self.mode, before, after)


def _only_untrusted(fresh: RootCache, scan: _Scan, listings_moved: bool) -> bool:
    """Whether all a store would keep is entries the next run scans again anyway.

    So it is when every file scanned changed within the racy window (as a file
    does that a deploy has just written): its entry is stored untrusted, so the
    next run reads the file again whatever the cache holds for it, and the
    entry on disk, older, is as good. Anything more (files moved, listings, an
    index built afresh: an empty token) is stored.
    """
    if scan.reused_from is not None or listings_moved or not fresh.token:
        return False
    stats = fresh.stats
    return bool(scan.positions) and all(
        stats[3 * position + 1] == UNTRUSTED for position in scan.positions
    )


class _Scan:
    """What :meth:`_RootBuild._compare` found: the files to scan, and where the rest were."""

    __slots__ = ("positions", "reused", "reused_from")

    def __init__(self) -> None:
        self.positions: list[int] = []  # new positions of the files to scan
        self.reused = array("i")  # per new position: the old one it reuses, -1: scanned
        self.reused_from: array[int] | None = (
            None  # ``reused``, None when every file kept its place
        )


# Files whose stat triples are compared as one slice before they are compared one by one.
_STATS_BLOCK = 64


def changed_positions(stats: array[int], old_stats: array[int]) -> list[int]:
    """Positions of the files whose (size, mtime, inode) differ between two arrays of one length.

    Blocks of files are compared as slices, in C, and only a block that differs
    file by file: one file changed in 13k costs about 200 slice comparisons,
    not 13k comparisons of three numbers in Python (~3 ms).
    """
    positions: list[int] = []
    span = 3 * _STATS_BLOCK
    for start in range(0, len(stats), span):
        end = start + span
        if stats[start:end] == old_stats[start:end]:
            continue
        for at in range(start, min(end, len(stats)), 3):
            if stats[at : at + 3] != old_stats[at : at + 3]:
                positions.append(at // 3)
    return positions


def _index(all_dependencies: list[Dependencies], mode: str, count: int) -> Index:
    lists: defaultdict[str, list[int]] = defaultdict(list)
    for position, deps in enumerate(all_dependencies):
        for module in dependencies_in(deps, mode):
            lists[module].append(position)
    return PackedIndex.from_lists(lists, count)
