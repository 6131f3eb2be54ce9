"""Records built by ``smartrestart.records.NamedTuple`` behave as ``typing.NamedTuple``'s."""

from __future__ import annotations

import pickle

import pytest

from smartrestart.records import NamedTuple


class Fast(NamedTuple):
    """A record."""

    name: str
    order: int = 100
    units: tuple[str, ...] = ()

    @property
    def key(self) -> tuple[int, str]:
        return (self.order, self.name)

    @classmethod
    def named(cls, name: str) -> Fast:
        return cls(name)


def test_a_record_is_the_named_tuple_typing_would_build() -> None:
    made = Fast("a", units=("x",))
    assert tuple(made) == ("a", 100, ("x",))
    assert (made.name, made.key, made._replace(order=1).order) == ("a", (100, "a"), 1)
    assert Fast._fields == ("name", "order", "units")
    assert Fast._field_defaults == {"order": 100, "units": ()}
    assert Fast.__doc__ == "A record."
    assert (Fast.__qualname__, Fast.__module__) == ("Fast", __name__)
    assert isinstance(made, tuple)
    assert Fast.named("b") == ("b", 100, ())
    assert repr(made) == "Fast(name='a', order=100, units=('x',))"
    assert pickle.loads(pickle.dumps(made)) == made
    with pytest.raises(TypeError):
        Fast()  # type: ignore[call-arg]
    with pytest.raises(AttributeError):
        made.name = "b"  # type: ignore[misc]


def test_a_field_without_default_after_one_with_is_refused() -> None:
    with pytest.raises(TypeError, match="follows one with a default"):

        class Bad(NamedTuple):
            first: int = 0
            second: int  # type: ignore[misc]


def test_the_methods_a_named_tuple_provides_cannot_be_replaced() -> None:
    with pytest.raises(AttributeError, match="cannot overwrite _replace"):

        class Bad(NamedTuple):
            name: str

            def _replace(self) -> None:  # type: ignore[misc]
                pass
