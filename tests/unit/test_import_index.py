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


def test_an_edit_of_a_damaged_entry_is_refused_when_served_checked() -> None:
    """Edits copy the packed array unchecked: the check comes when a caller is served it."""
    index = PackedIndex(["a"], ints(0, 7), ints(0, 2), count=2)
    edited = edited_index(index, RUNTIME, {0: (("a",), ())}, {0: (("b",), ())})
    assert list(edited.changed["a"]) == [7]
    assert list(edited.get("a", checked=False)) == [7]
    with pytest.raises(DamagedCache, match="damaged index entry for a"):
        edited.get("a")
    assert list(edited.get("b")) == [0]


@pytest.mark.parametrize("other", [0, 2], ids=["before-it", "after-it"])
def test_taking_out_an_edge_the_index_lacks_leaves_every_other_edge(other: int) -> None:
    """A file said to have imported ``m`` that the index does not list: nothing else goes.

    (A lost edge is an importer left unrestarted.)
    """
    index = PackedIndex.from_lists({"m": [other]}, count=3)
    edited = edited_index(index, RUNTIME, {1: (("m",), ())}, {1: ((), ())})
    assert list(edited.get("m")) == [other]


def test_moving_files_keeps_the_overrides_edges_from_the_first_file() -> None:
    index = PackedIndex.from_lists({"m": [1]}, count=3).with_changes({"n": ints(0, 2)})
    moved = index.remapped(ints(0, 1, 2), count=3)
    assert moved.to_dict() == {"m": [1], "n": [0, 2]}
    shifted = index.remapped(ints(1, -1, 0), count=2)  # file 1 gone, 0 and 2 swapped
    assert shifted.to_dict() == {"n": [0, 1]}


def _edited_by_definition(
    lists: dict[str, list[int]], before: dict[int, Dependencies], after: dict[int, Dependencies]
) -> dict[str, list[int]]:
    """Each module's importers in ascending order, ``before``'s edges out, ``after``'s in."""
    result = {}
    for module in {*lists, *(m for runtime, _ in after.values() for m in runtime)}:
        kept = {p for p in lists.get(module, []) if module not in before.get(p, ((), ()))[0]}
        kept |= {p for p in after if module in after[p][0]}
        if kept:
            result[module] = sorted(kept)
    return result


MODULES = st.sampled_from(["a", "a.b", "c", "d"])


@given(
    lists=st.dictionaries(MODULES, st.sets(st.integers(0, 29), max_size=30).map(sorted)),
    after=st.dictionaries(
        st.integers(0, 29),
        st.tuples(st.sets(MODULES).map(tuple), st.just(())),
        max_size=20,
    ),
)
def test_edits_of_few_files_and_of_many_give_the_index_by_definition(
    lists: dict[str, list[int]], after: dict[int, Dependencies]
) -> None:
    """Few edited files are found by bisection, many through a set: the same ascending arrays."""
    before: dict[int, Dependencies] = {
        p: (tuple(m for m in lists if p in lists[m]), ()) for p in after
    }
    index = PackedIndex.from_lists({m: ps for m, ps in lists.items() if ps}, count=30)
    edited = edited_index(index, RUNTIME, before, after)
    expected = _edited_by_definition(lists, before, after)
    assert {m: list(ps) for m, ps in edited.changed.items() if ps} == {
        m: ps for m, ps in expected.items() if m in edited.changed
    }
    assert edited.to_dict() == expected


@given(
    lists=st.dictionaries(MODULES, st.sets(st.integers(0, 29), max_size=30).map(sorted)),
    first=st.dictionaries(
        st.integers(0, 29), st.tuples(st.sets(MODULES).map(tuple), st.just(())), max_size=3
    ),
    second=st.dictionaries(
        st.integers(0, 29), st.tuples(st.sets(MODULES).map(tuple), st.just(())), max_size=3
    ),
)
def test_an_index_edited_twice_keeps_ascending_arrays_equal_to_one_built_afresh(
    lists: dict[str, list[int]],
    first: dict[int, Dependencies],
    second: dict[int, Dependencies],
) -> None:
    """A delta replayed at load, then the same file edited again: as a cold build's index."""
    deps: dict[int, Dependencies] = {
        p: (tuple(m for m in lists if p in lists[m]), ()) for p in range(30)
    }
    index = PackedIndex.from_lists({m: ps for m, ps in lists.items() if ps}, count=30)
    for edit in (first, second):
        index = edited_index(index, RUNTIME, {p: deps[p] for p in edit}, edit)
        deps.update(edit)
    afresh: dict[str, list[int]] = {}
    for p in range(30):
        for module in deps[p][0]:
            afresh.setdefault(module, []).append(p)
    assert index.to_dict() == afresh
    for positions in index.changed.values():
        assert list(positions) == sorted(set(positions))


@pytest.mark.parametrize(
    ("new_position", "n"), [((2, 0, 1), [1, 2]), ((1, 0, 2), [1, 2])], ids=["rotated", "to-0"]
)
def test_files_moved_out_of_order_leave_every_array_ascending(
    new_position: tuple[int, ...], n: list[int]
) -> None:
    index = PackedIndex.from_lists({"m": [0, 1, 2]}, count=3).with_changes({"n": ints(0, 2)})
    moved = index.remapped(ints(*new_position), count=3)
    assert [list(moved.get(name)) for name in ("m", "n")] == [[0, 1, 2], n]
