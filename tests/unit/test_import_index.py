"""The packed importer index on its own: what it refuses of a foreign writer's data, and that
moving files keeps every edge of the overrides (position 0 included)."""

from __future__ import annotations

from array import array

import pytest

from smartrestart.importgraph.index import DamagedCache, PackedIndex


def ints(*values: int) -> array[int]:
    return array("i", values)


@pytest.mark.parametrize(
    ("names", "flat", "bounds"),
    [
        (["a", "b"], ints(0), ints(0, 1)),  # one offset short, its ends right
        (["a"], ints(0), ints(1, 1)),  # not starting at 0
        (["a"], ints(0, 1), ints(0, 1)),  # not ending at the positions' end
    ],
    ids=["count", "start", "end"],
)
def test_offsets_that_do_not_fit_the_names_are_a_damaged_index(
    names: list[str], flat: array[int], bounds: array[int]
) -> None:
    with pytest.raises(DamagedCache) as caught:
        PackedIndex(names, flat, bounds, count=2)
    assert str(caught.value) == "damaged index"


@pytest.mark.parametrize("position", [-1, 2], ids=["negative", "past-the-files"])
def test_a_position_outside_the_files_is_a_damaged_entry(position: int) -> None:
    index = PackedIndex(["a", "b"], ints(0, position), ints(0, 1, 2), count=2)
    assert index.get("a") == ints(0)
    with pytest.raises(DamagedCache) as caught:
        index.get("b")
    assert str(caught.value) == "damaged index entry for b"


def test_moving_files_keeps_the_overrides_edges_from_the_first_file() -> None:
    index = PackedIndex.from_lists({"m": [1]}, count=3).with_changes({"n": ints(0, 2)})
    moved = index.remapped(ints(0, 1, 2), count=3)
    assert moved.to_dict() == {"m": [1], "n": [0, 2]}
    shifted = index.remapped(ints(1, -1, 0), count=2)  # file 1 gone, 0 and 2 swapped
    assert shifted.to_dict() == {"n": [0, 1]}
