"""The packed importer index on its own: what it refuses of a foreign writer's data, and that
moving files keeps every edge of the overrides (position 0 included)."""

from __future__ import annotations

from array import array

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smartrestart.importgraph.index import (
    RUNTIME,
    DamagedCache,
    Dependencies,
    PackedIndex,
    edited_index,
)


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


def _edited_by_definition(
    lists: dict[str, list[int]], before: dict[int, Dependencies], after: dict[int, Dependencies]
) -> dict[str, list[int]]:
    """Each module's importers in order, ``before``'s edges out, then ``after``'s appended."""
    result = {}
    for module in {*lists, *(m for runtime, _ in after.values() for m in runtime)}:
        kept = [p for p in lists.get(module, []) if module not in before.get(p, ((), ()))[0]]
        kept += [p for p in after if module in after[p][0] and p not in kept]
        if kept:
            result[module] = kept
    return result


MODULES = st.sampled_from(["a", "a.b", "c", "d"])


@given(
    lists=st.dictionaries(MODULES, st.lists(st.integers(0, 29), unique=True, max_size=30)),
    after=st.dictionaries(
        st.integers(0, 29),
        st.tuples(st.sets(MODULES).map(tuple), st.just(())),
        max_size=20,
    ),
)
def test_edits_of_few_files_and_of_many_give_the_index_by_definition(
    lists: dict[str, list[int]], after: dict[int, Dependencies]
) -> None:
    """Few edited files are looked for one by one, many through a set: the same arrays."""
    before: dict[int, Dependencies] = {
        p: (tuple(m for m in lists if p in lists[m]), ()) for p in after
    }
    index = PackedIndex.from_lists({m: ps for m, ps in lists.items() if ps}, count=30)
    edited = edited_index(index, RUNTIME, before, after)
    expected = _edited_by_definition(lists, before, after)
    assert {m: list(ps) for m, ps in edited.changed.items() if ps} == {
        m: ps for m, ps in expected.items() if m in edited.changed
    }
    assert edited.to_dict() == {m: sorted(ps) for m, ps in expected.items()}
