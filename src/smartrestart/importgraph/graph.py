"""The reverse import graph of one or more source roots, and expansion through it.

``importers[module]`` lists the files whose imports depend on ``module``. Edges
are keyed by module *name*, not by file, so a file deleted in the diff still
expands: its old module name is computed from its path, and whoever imported
that name is found.
"""

from __future__ import annotations

import os
import time
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from smartrestart.importgraph import cache as graph_cache
from smartrestart.importgraph.layout import SourceRoot, detect_source_root
from smartrestart.importgraph.modules import dependencies, module_name
from smartrestart.importgraph.parallel import ParallelScanner
from smartrestart.importgraph.scanner import ImportRecord
from smartrestart.importgraph.walk import RACY_SECONDS, DirListing, walk_python_files

CONSERVATIVE_NOTE = (
    "treated as importing everything, since its imports could not be read with certainty"
)

# Module-name index of one root: module -> importing files.
Importers = dict[str, list[str]]


@dataclass(slots=True)
class BuildStats:
    files: int = 0
    scanned: int = 0
    from_cache: int = 0
    seconds: float = 0.0


@dataclass(slots=True)
class RootGraph:
    """What one source root contributes: its files and its importer index."""

    root: SourceRoot
    entries: dict[str, graph_cache.FileEntry]
    importers: Importers
    modules: set[str]  # module names this root's own files provide


@dataclass(slots=True)
class ImportGraph:
    parts: tuple[RootGraph, ...]
    importers: Importers = field(default_factory=dict)
    stats: BuildStats = field(default_factory=BuildStats)
    # Paths under a root that could not be listed or examined -> why.
    unreadable: dict[str, str] = field(default_factory=dict)
    # Why the cache was not used or was rebuilt, for the user to see.
    notes: list[str] = field(default_factory=list)

    @property
    def problems(self) -> dict[str, str]:
        """Files read with a problem; expansion treats them as importing everything."""
        return {
            path: entry[3]
            for part in self.parts
            for path, entry in part.entries.items()
            if entry[3] is not None
        }

    def locate(self, path: str) -> tuple[str, bool, RootGraph] | None:
        """Module name, package flag and root of ``path``, whether it exists or was deleted."""
        for part in self.parts:
            entry = part.entries.get(path)
            if entry is not None:
                return (entry[4], entry[5], part) if entry[4] else None
        if not path.endswith(".py"):
            return None
        for part in self.parts:
            named = _name_in(part.root, path)
            if named is not None:
                return named[0], named[1], part
        return None

    def expand(self, seeds: Iterable[str]) -> dict[str, tuple[str, ...]]:
        """Every transitive importer of ``seeds`` (absolute paths), with its import chain.

        The chain runs from a seed to the added file. A file is visited once,
        so import cycles terminate.
        """
        seed_list = [s for s in dict.fromkeys(seeds) if s.endswith(".py")]
        parent: dict[str, str] = {}
        visited = set(seed_list)
        queue = deque(seed_list)
        problems = sorted(self.problems)
        while queue:
            current = queue.popleft()
            located = self.locate(current)
            if located is None:
                continue
            found = self._importers_of(current, *located)
            if problems:  # conservative files depend on anything that changes
                found.extend(problems)
                problems = []
            for importer in found:
                if importer not in visited:
                    visited.add(importer)
                    parent[importer] = current
                    queue.append(importer)
        chains: dict[str, tuple[str, ...]] = {}
        for added in parent:
            chain = [added]
            while chain[-1] in parent:
                chain.append(parent[chain[-1]])
            chains[added] = tuple(reversed(chain))
        return chains

    def _importers_of(self, path: str, module: str, is_package: bool, part: RootGraph) -> list[str]:
        found: list[str] = []
        for other in self.parts:
            # Another root importing `module` means its own module of that
            # name when it has one; only otherwise is it ours.
            if other is not part and module in other.importers and module in other.modules:
                continue
            found.extend(other.importers.get(module, ()))
        if not is_package:
            found.extend(self._script_siblings(path, module))
        return found

    def _script_siblings(self, path: str, module: str) -> list[str]:
        """Files importing ``path`` by its bare name from the same script directory.

        A script run directly has its own directory first on ``sys.path``, so in
        a directory that is not a package, ``import helpers`` means the
        ``helpers.py`` next to it.
        """
        directory = os.path.dirname(path)
        stem = os.path.basename(path)[:-3]
        if stem == module or os.path.isfile(os.path.join(directory, "__init__.py")):
            return []
        return [i for i in self.importers.get(stem, ()) if os.path.dirname(i) == directory]


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
    seen: set[str] = set()
    parts: list[RootGraph] = []
    unreadable: dict[str, str] = {}
    notes: list[str] = []
    if cache_dir is not None:
        reason = graph_cache.untrusted(cache_dir)
        if reason:
            notes.append(f"import cache {cache_dir} not used (rebuilt in memory): {reason}")
            cache_dir = None
    for directory in root_dirs:
        root = detect_source_root(Path(os.path.realpath(directory)))
        try:
            part = _build_root(root, set(seen), cache_dir, include_type_checking, stats, unreadable)
        except (TypeError, ValueError, IndexError, KeyError, AttributeError):
            if cache_dir is None:
                raise
            # Well-formed marshal data of the wrong shape: a cache from a
            # foreign writer. It only ever costs speed, so scan afresh.
            damaged = graph_cache.cache_file(cache_dir, str(root.path))
            notes.append(f"import cache {damaged} is damaged: ignored and rebuilt")
            part = _build_root(root, set(seen), None, include_type_checking, stats, unreadable)
        seen.update(part.entries)
        parts.append(part)
    if len(parts) == 1:
        importers = parts[0].importers
    else:
        importers = {}
        for part in parts:
            for module, files in part.importers.items():
                importers.setdefault(module, []).extend(files)
    stats.files = sum(len(part.entries) for part in parts)
    stats.seconds = time.perf_counter() - started
    return ImportGraph(
        parts=tuple(parts), importers=importers, stats=stats, unreadable=unreadable, notes=notes
    )


def _build_root(
    root: SourceRoot,
    seen: set[str],
    cache_dir: Path | None,
    include_type_checking: bool,
    stats: BuildStats,
    unreadable: dict[str, str],
) -> RootGraph:
    root_str = str(root.path)
    layout = tuple(str(r) for r in root.import_roots)
    cache_path = graph_cache.cache_file(cache_dir, root_str) if cache_dir else None
    cached = graph_cache.load(cache_path, layout) if cache_path else graph_cache.RootCache(layout)
    entries: dict[str, graph_cache.FileEntry] = {}
    to_scan: list[tuple[str, os.stat_result]] = []
    prefixes = [r + os.sep for r in layout]
    interned: dict[str, str] = {}
    with ParallelScanner() as scanner:

        def check(paths: list[str]) -> None:
            """Reuse cached entries of unchanged files; queue the rest for scanning."""
            queued: list[str] = []
            for path in paths:
                if path in seen:
                    continue
                seen.add(path)
                try:
                    st = os.stat(path)
                except OSError:
                    continue
                entry = cached.files.get(path)
                if (
                    entry
                    and entry[0] == st.st_size
                    and entry[1] == st.st_mtime_ns
                    and entry[2] == st.st_ino
                ):
                    entries[path] = entry
                else:
                    to_scan.append((path, st))
                    queued.append(path)
            if queued:
                scanner.submit(queued)

        walked = walk_python_files(root_str, cached.dirs, check)
        scanned = scanner.results()
    unreadable.update(walked.unreadable)
    stats.from_cache += len(entries)
    stats.scanned += len(to_scan)
    for (path, st), (imports, problem) in zip(to_scan, scanned, strict=True):
        entries[path] = _new_entry(path, st, imports, problem, prefixes, interned)

    mode = "all" if include_type_checking else "runtime"
    unchanged = not to_scan and entries.keys() == cached.files.keys()
    importers = cached.importers.get(mode) if unchanged else None
    if importers is None:
        importers = _index(entries, include_type_checking)
    if cache_path is not None:
        _refresh_cache(cache_path, cached, walked.listings, entries, mode, importers, unchanged)
    modules = {entry[4] for entry in entries.values() if entry[4]}
    return RootGraph(root=root, entries=entries, importers=importers, modules=modules)


def _index(entries: dict[str, graph_cache.FileEntry], include_type_checking: bool) -> Importers:
    importers: Importers = {}
    for path, entry in entries.items():
        deps = entry[6] + entry[7] if include_type_checking else entry[6]
        for dep in deps:
            files = importers.get(dep)
            if files is None:
                importers[dep] = [path]
            else:
                files.append(path)
    return importers


def _refresh_cache(
    cache_path: Path,
    cached: graph_cache.RootCache,
    listings: dict[str, DirListing],
    entries: dict[str, graph_cache.FileEntry],
    mode: str,
    importers: Importers,
    unchanged: bool,
) -> None:
    """Store what is trustworthy: entries and listings older than the racy window."""
    racy_after = (time.time() - RACY_SECONDS) * 1e9
    files = {path: entry for path, entry in entries.items() if entry[1] < racy_after}
    complete = len(files) == len(entries)
    if unchanged and listings == cached.dirs and (mode in cached.importers or not complete):
        return
    fresh = graph_cache.RootCache(cached.layout, dirs=listings, files=files)
    if complete:  # an index over racy files would be reused without re-checking them
        fresh.importers = {mode: importers}
        if unchanged:
            fresh.importers.update(cached.importers)
    graph_cache.store(cache_path, fresh)


def _new_entry(
    path: str,
    st: os.stat_result,
    imports: tuple[ImportRecord, ...],
    problem: str | None,
    prefixes: list[str],
    interned: dict[str, str],
) -> graph_cache.FileEntry:
    """Cache entry of a freshly scanned file: its module name and dependencies.

    Dependency names repeat across files; sharing one string object per name
    lets marshal write each once, which keeps the cache small and fast to load.
    """
    relative = next((path[len(p) :] for p in prefixes if path.startswith(p)), None)
    named = module_name(PurePosixPath(relative)) if relative else None
    if named is None:
        return (st.st_size, st.st_mtime_ns, st.st_ino, problem, "", False, (), ())
    module, is_package = named
    runtime, typing_only = dependencies(imports, module, is_package)
    return (
        st.st_size,
        st.st_mtime_ns,
        st.st_ino,
        problem,
        module,
        is_package,
        tuple(interned.setdefault(d, d) for d in sorted(runtime)),
        tuple(interned.setdefault(d, d) for d in sorted(typing_only)),
    )
