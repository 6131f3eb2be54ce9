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

from bisect import bisect_right
from collections.abc import Iterable
from itertools import accumulate, chain, filterfalse
from typing import TYPE_CHECKING

from smartrestart import pathnames
from smartrestart.importgraph.index import DamagedCache
from smartrestart.importgraph.layout import SourceRoot
from smartrestart.importgraph.modules import module_name

if TYPE_CHECKING:
    from smartrestart.importgraph.index import Index
    from smartrestart.importgraph.tables import RootCache

CONSERVATIVE_NOTE = (
    "treated as importing everything, since its imports could not be read with certainty"
)


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

    __slots__ = (
        "_package_directories",
        "_position",
        "_provides",
        "index",
        "prefix",
        "root",
        "tables",
    )

    def __init__(self, root: SourceRoot, tables: RootCache, index: Index) -> None:
        self.root = root
        self.prefix = str(root.path).rstrip("/") + "/"
        self.tables = tables
        self.index = index
        self._position: dict[str, int] | None = None
        self._provides: set[str] | None = None
        self._package_directories: dict[str, bool] = {}

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

    def is_package_directory(self, directory: str) -> bool:
        """Whether ``directory`` (relative, "" for the root) has an ``__init__.py`` of this root."""
        known = self._package_directories.get(directory)
        if known is None:
            init = f"{directory}/__init__.py" if directory else "__init__.py"
            known = self._package_directories[directory] = init in self.position
        return known


class Expansion:
    """The files an expansion added, in the order found, and how each was reached.

    Files are numbered across the graph's roots (:meth:`ImportGraph.path`).
    Each file found is recorded once; the files one lookup found are a run of
    ``order`` with one origin, so nothing is stored per file but its number.
    """

    __slots__ = ("_graph", "_runs", "order")

    def __init__(self, graph: ImportGraph) -> None:
        self._graph = graph
        self.order: list[int] = []
        # (where ``order[start:]`` came from, start): a changed file's path, or
        # the number of the file whose importers they are.
        self._runs: list[tuple[int | str, int]] = []

    def paths(self) -> list[str]:
        """Absolute paths of the added files."""
        parts = self._graph.parts
        if len(parts) == 1:
            prefix, files = parts[0].prefix, parts[0].tables.files
            return [prefix + files[i] for i in self.order]
        return list(map(self._graph.path, self.order))

    def by_root(self) -> list[tuple[str, list[str]]]:
        """The added files root by root: (root directory, paths relative to it)."""
        parts = self._graph.parts
        if len(parts) == 1:
            files = parts[0].tables.files
            return [(str(parts[0].root.path), [files[i] for i in self.order])]
        bases = self._graph._bases
        found: list[list[str]] = [[] for _ in parts]
        for node in self.order:
            number = bisect_right(bases, node) - 1
            found[number].append(parts[number].tables.files[node - bases[number]])
        return [(str(part.root.path), names) for part, names in zip(parts, found, strict=True)]

    def chains(self) -> dict[str, tuple[str, ...]]:
        """Added file -> import chain from a changed file to it (built on demand)."""
        path = self._graph.path
        order = self.order
        parent: dict[int, int | str] = {}
        runs = self._runs
        for number, (came_from, start) in enumerate(runs):
            end = runs[number + 1][1] if number + 1 < len(runs) else len(order)
            parent.update(dict.fromkeys(order[start:end], came_from))
        result: dict[str, tuple[str, ...]] = {}
        for node in order:
            chain = [path(node)]
            step: int | str = node
            while not isinstance(step, str):
                step = parent[step]
                chain.append(step if isinstance(step, str) else path(step))
            result[chain[0]] = tuple(reversed(chain))
        return result


class ImportGraph:
    __slots__ = ("_bases", "notes", "parts", "stats", "unreadable")

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
        # A file's number across roots: its position plus the files of the roots before.
        self._bases = list(accumulate((len(part.tables.files) for part in parts), initial=0))

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

    def path(self, node: int) -> str:
        """The absolute path of the file numbered ``node``."""
        number = bisect_right(self._bases, node) - 1
        return self.parts[number].path(node - self._bases[number])

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
        could not be read are added as soon as anything expands. Which of the
        files a lookup found are new is decided by set operations, not file by
        file: most lookups of a large expansion find only files already seen.
        """
        expansion = Expansion(self)
        order, runs = expansion.order, expansion._runs
        seen: set[int] = set()
        # (origin, number, path): a seed's number is -1 when it is no file of ours.
        starts: list[tuple[int | str, int, str]] = []
        for seed in dict.fromkeys(seeds):
            if not seed.endswith(".py"):
                continue
            node = self._node_of(seed)
            if node >= 0:
                seen.add(node)
            starts.append((seed, node, seed))
        problems = [
            base + i
            for base, part in zip(self._bases, self.parts, strict=False)
            for i in part.tables.problems
        ]
        was_seen = seen.__contains__
        files = self._bases[-1]
        # Seeds are remembered by their path (which a deleted file still has);
        # ``order`` grows while it is read: it is the queue too.
        for came_from, node, label in chain(starts, ((n, n, "") for n in order)):
            found = self._importers_of(node, label)
            if found is None:
                continue
            if problems:  # conservative files depend on anything that changes
                found.append(problems)
                problems = []
            fresh = list(filterfalse(was_seen, chain.from_iterable(found)))
            if not fresh:
                continue
            if len(fresh) > 1:  # a file may be found twice (an index and a sibling)
                fresh = list(dict.fromkeys(fresh))
            if min(fresh) < 0 or max(fresh) >= files:  # the index is not checked for us
                raise DamagedCache(f"damaged index: file {min(fresh)} or {max(fresh)} of {files}")
            seen.update(fresh)
            runs.append((came_from, len(order)))
            order.extend(fresh)
        return expansion

    def _node_of(self, path: str) -> int:
        for base, part in zip(self._bases, self.parts, strict=False):
            if path.startswith(part.prefix):
                position = part.position.get(path[len(part.prefix) :])
                if position is not None:
                    return base + position
        return -1

    def _importers_of(self, node: int, label: str) -> list[Iterable[int]] | None:
        """Numbers of the files importing file ``node``, or ``label`` when ``node`` is -1.

        In parts, as the index holds them (not copied: most are seen already).
        None when the file has no module name, so nothing can import it.
        """
        parts = self.parts
        if node < 0:
            located = self.locate(label)  # not a file of the graph: its name from its path
            if located is None:
                return None
            module, is_package, number = located
            prefix = parts[number].prefix
            relative = label[len(prefix) :] if label.startswith(prefix) else label
        else:
            number = bisect_right(self._bases, node) - 1 if len(parts) > 1 else 0
            position = node - self._bases[number]
            tables = parts[number].tables
            module = tables.modules[position]
            if not module:
                return None
            is_package = bool(tables.packages[position])
            relative = tables.files[position]
        if len(parts) == 1:  # unchecked: expand() checks the files new to it
            positions = parts[0].index.get(module, checked=False)
            found: list[Iterable[int]] = [] if positions is None else [positions]
        else:
            found = self._importers_in_roots(module, number)
        if not is_package:
            directory, _, name = relative.rpartition("/")
            if not parts[number].is_package_directory(directory):
                found.append(self._script_siblings(directory, name[:-3], module, number))
        return found

    def _importers_in_roots(self, module: str, number: int) -> list[Iterable[int]]:
        found: list[Iterable[int]] = []
        for other_number, (base, other) in enumerate(zip(self._bases, self.parts, strict=False)):
            positions = other.index.get(module)
            if positions is None:
                continue
            # Another root importing `module` means its own module of that
            # name when it has one; only otherwise is it ours.
            if other_number != number and module in other.provides:
                continue
            found.append(map(base.__add__, positions) if base else positions)
        return found

    def _script_siblings(self, directory: str, stem: str, module: str, number: int) -> list[int]:
        """Files importing ``stem`` by its bare name from the same script ``directory``.

        A script run directly has its own directory first on ``sys.path``, so in
        a directory that is not a package, ``import helpers`` means the
        ``helpers.py`` next to it.
        """
        if stem == module:
            return []
        part = self.parts[number]
        files, base = part.tables.files, self._bases[number]
        return [
            base + i for i in part.index.get(stem, ()) if files[i].rpartition("/")[0] == directory
        ]


def _name_in(root: SourceRoot, path: str) -> tuple[str, bool] | None:
    """The module ``path`` (absolute) is in ``root``, or None."""
    path = pathnames.join(path)
    if not pathnames.is_relative_to(path, root.path):
        return None
    import_root = root.import_root_of(path)
    if path == import_root:
        return None
    return module_name(path[len(import_root.rstrip("/")) + 1 :])
