"""``NamedTuple`` for the records on the start-up paths of ``decide`` and ``apply``, cheaply.

``typing.NamedTuple`` compiles each field's annotation (a string, under
``from __future__ import annotations``) into a ``ForwardRef``, then copies the
class body onto the new class attribute by attribute: an eight-field record
costs ~1.9 M instructions to create, ``collections.namedtuple`` ~0.75 M, and
fifteen records are created before ``decide`` reads its first file (``apply``
adds as many; as dataclasses they cost it 30 M instructions more). This
builds the same ``collections.namedtuple`` class (fields, defaults, methods,
properties, docstring) without either step. To type checkers it *is*
``typing.NamedTuple``, so ``class Rule(NamedTuple): ...`` reads as always; the
annotations stay the strings they were written as (nothing reads them at run
time).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

__all__ = ["NamedTuple"]

if TYPE_CHECKING:
    from typing import NamedTuple
else:
    import collections

    # What a record may not define, as typing.NamedTuple refuses it too.
    _RESERVED = frozenset(
        {"__new__", "__init__", "__slots__", "__getnewargs__", "_fields", "_field_defaults"}
        | {"_make", "_replace", "_asdict", "_source"}
    )
    _NOT_COPIED = frozenset({"__module__", "__qualname__", "__annotations__", "__classcell__"})

    class _RecordType(type):
        def __new__(cls, name, bases, namespace):
            if not bases:  # NamedTuple itself
                return super().__new__(cls, name, bases, namespace)
            fields = list(namespace.get("__annotations__", {}))
            defaults = [namespace[field] for field in fields if field in namespace]
            if any(field not in namespace for field in fields[len(fields) - len(defaults) :]):
                raise TypeError(f"{name}: a field without a default follows one with a default")
            if not _RESERVED.isdisjoint(namespace):
                raise AttributeError(f"{name}: cannot overwrite {min(_RESERVED & set(namespace))}")
            record = collections.namedtuple(
                name, fields, defaults=defaults, module=namespace["__module__"]
            )
            record.__qualname__ = namespace["__qualname__"]
            record.__annotations__ = namespace.get("__annotations__", {})
            for key, value in namespace.items():
                if key not in _NOT_COPIED and key not in record._fields:
                    setattr(record, key, value)
            return record

    class NamedTuple(metaclass=_RecordType):
        """The base of records (see the module docstring)."""
