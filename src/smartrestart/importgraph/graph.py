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

from collections import deque
from collections.abc import Iterable
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from smartrestart.importgraph.layout import SourceRoot
from smartrestart.importgraph.modules import module_name

if TYPE_CHECKING:
    from smartrestart.importgraph.index import Index
    from smartrestart.importgraph.tables import RootCache

CONSERVATIVE_NOTE = (
    "treated as importing everything, since its imports could not be read with certainty"
)

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

    def __init__(self, root: SourceRoot, tables: RootCache, index: Index) -> None:
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
