"""The importer index: module name -> positions of the files that import it.

Kept packed as the cache stores it (sorted names, one integer array of
positions, offsets into it) and sliced on demand, with edits as overrides: a
run looks up a few hundred modules of tens of thousands, and a change to a few
files edits a few arrays instead of rebuilding them all.
"""

from __future__ import annotations

from array import array
from bisect import bisect_left
from typing import Any

# Index modes: imports at run time, or those under TYPE_CHECKING too.
RUNTIME, ALL = "runtime", "all"

# Per file: (runtime dependencies, dependencies under TYPE_CHECKING only).
Dependencies = tuple[tuple[str, ...], tuple[str, ...]]


class DamagedCache(ValueError):
    """Well-formed data of the wrong shape: rebuilt, never trusted."""


class PackedIndex:
    """Module name -> positions of the files importing it, sliced on demand.

    Building a dict of arrays for every module costs more than a warm run has;
    a run looks up a few hundred modules at most. ``names`` is sorted (looked
    up by bisection); ``changed`` overrides the packed arrays for the modules
    whose importers changed since the cache was written (an empty array: no
    importer left). Each module's positions are in ascending order, so that
    :func:`edited_index` finds a file in them by bisection.
    """

    __slots__ = ("_bounds", "_count", "_flat", "_names", "changed")

    def __init__(
        self,
        names: list[str],
        flat: array[int],
        bounds: array[int],
        count: int,
        changed: dict[str, array[int]] | None = None,
    ) -> None:
        if len(bounds) != len(names) + 1 or bounds[0] != 0 or bounds[-1] != len(flat):
            raise DamagedCache("damaged index")
        self._names = names
        self._flat = flat
        self._bounds = bounds
        self._count = count
        self.changed: dict[str, array[int]] = changed if changed is not None else {}

    @classmethod
    def from_lists(cls, lists: dict[str, list[int]], count: int) -> PackedIndex:
        """The index of ``lists``, each in ascending order."""
        names = sorted(lists)
        flat = array("i")
        bounds = array("i", [0])
        for name in names:
            flat.extend(lists[name])
            bounds.append(len(flat))
        return cls(names, flat, bounds, count)

    def get(self, module: str, default: Any = None, *, checked: bool = True) -> Any:
        """The positions of ``module``'s importers (an array), or ``default`` when none.

        ``checked=False`` leaves checking the positions to the caller: an
        expansion looks up every file's module, and checks only the files new
        to it (comparing every position, a thousand for ``sympy``, was a
        quarter of a large expansion).
        """
        positions = self.changed.get(module) if self.changed else None
        if positions is None:
            names = self._names
            i = bisect_left(names, module)
            if i == len(names) or names[i] != module:
                return default
            bounds = self._bounds
            positions = self._flat[bounds[i] : bounds[i + 1]]
        # The header's checksum guards against damage; this, cheaply, against
        # a foreign writer's positions reaching a list index (an override too:
        # it is made of the packed array, unchecked, see edited_index).
        if checked and positions and (min(positions) < 0 or max(positions) >= self._count):
            raise DamagedCache(f"damaged index entry for {module}")
        return positions if positions else default

    def to_dict(self) -> dict[str, list[int]]:
        """Every module with importers, and their positions in order: for comparing."""
        names = set(self._names).union(self.changed)
        found = {name: self.get(name) for name in names}
        return {name: sorted(positions) for name, positions in found.items() if positions}

    def with_changes(self, changed: dict[str, array[int]]) -> PackedIndex:
        """A copy sharing the packed arrays, with more overrides."""
        return PackedIndex(
            self._names, self._flat, self._bounds, self._count, {**self.changed, **changed}
        )

    def remapped(self, new_position: array[int], count: int) -> PackedIndex:
        """The same edges for files that moved to ``new_position[old]`` (-1: gone).

        Files keep their order in a walk, so positions mapped stay ascending;
        should they not, every array is sorted again.
        """
        moved = self._moved(new_position, count)
        kept = [p for p in new_position if p >= 0]
        if kept == sorted(kept):
            return moved
        return PackedIndex.from_lists(moved.to_dict(), count)

    def _moved(self, new_position: array[int], count: int) -> PackedIndex:
        lookup = new_position.__getitem__
        changed = {
            name: array("i", (p for p in map(lookup, positions) if p >= 0))
            for name, positions in self.changed.items()
        }
        if min(new_position, default=0) >= 0:  # nothing removed: the offsets hold
            return PackedIndex(
                self._names, array("i", map(lookup, self._flat)), self._bounds, count, changed
            )
        flat = array("i")
        bounds = array("i", [0])
        old_flat, old_bounds = self._flat, self._bounds
        for i in range(len(self._names)):
            flat.extend(
                p for p in map(lookup, old_flat[old_bounds[i] : old_bounds[i + 1]]) if p >= 0
            )
            bounds.append(len(flat))
        return PackedIndex(self._names, flat, bounds, count, changed)

    def packed(self) -> tuple[str, bytes, bytes]:
        """Names ("\\0"-joined), positions and offsets, the overrides merged in."""
        if not self.changed:
            return "\0".join(self._names), self._flat.tobytes(), self._bounds.tobytes()
        names = sorted(set(self._names).union(self.changed))
        flat = array("i")
        bounds = array("i", [0])
        for name in names:
            positions = self.get(name)
            if positions:
                flat.extend(positions)
            bounds.append(len(flat))
        return "\0".join(names), flat.tobytes(), bounds.tobytes()


# Module name -> positions of the files that import it.
Index = PackedIndex


def dependencies_in(dependencies: Dependencies, mode: str) -> tuple[str, ...]:
    runtime, typing_only = dependencies
    return runtime + typing_only if mode == ALL else runtime


def edited_index(
    index: PackedIndex,
    mode: str,
    before: dict[int, Dependencies],
    after: dict[int, Dependencies],
) -> PackedIndex:
    """``index`` with the edges of some files redone: ``before`` out, ``after`` in.

    Each module's array is rebuilt once, however many of the files import it,
    and stays in ascending order: an edited index is the one a build from
    scratch gives.
    """
    removed: dict[str, set[int]] = {}
    added: dict[str, set[int]] = {}
    for position, deps in before.items():
        for module in dependencies_in(deps, mode):
            removed.setdefault(module, set()).add(position)
    for position, deps in after.items():
        for module in dependencies_in(deps, mode):
            added.setdefault(module, set()).add(position)
    changed: dict[str, array[int]] = {}
    for module in removed.keys() | added.keys():
        gone = removed.get(module, _NONE)
        extra = added.get(module, _NONE)
        positions = array("i", index.get(module, (), checked=False))  # checked when served
        if len(gone) + len(extra) > _FEW:
            changed[module] = array("i", sorted(set(positions).difference(gone).union(extra)))
            continue
        for position in gone - extra:
            at = bisect_left(positions, position)
            if at < len(positions) and positions[at] == position:
                del positions[at]
        for position in extra:
            at = bisect_left(positions, position)
            if at == len(positions) or positions[at] != position:
                positions.insert(at, position)
        changed[module] = positions
    return index.with_changes(changed)


_NONE: frozenset[int] = frozenset()
# Up to this many files edited in one module's array, each is found by bisection;
# more, and the array is rebuilt through a set. Touching one file edits arrays
# of thousands of importers ("homeassistant", "typing"): a search through one
# in Python makes an int of each position (~0.3 ms for 20k), bisection a dozen.
_FEW = 8
