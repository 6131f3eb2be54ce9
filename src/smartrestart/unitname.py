"""Unit-name validation with systemd's own rules (``unit_name_is_valid()``).

Names are checked before they reach D-Bus so that a typo in a rules file is a
config error with a line number, not a D-Bus error in the middle of a deploy.
"""

from __future__ import annotations

from enum import StrEnum

# src/basic/unit-name.h: UNIT_NAME_MAX is 256 including the terminating NUL.
UNIT_NAME_MAX = 255
VALID_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789" + ":-_.\\")
UNIT_TYPES = frozenset(
    {
        "service",
        "socket",
        "target",
        "device",
        "mount",
        "automount",
        "swap",
        "timer",
        "path",
        "slice",
        "scope",
    }
)


class UnitNameKind(StrEnum):
    """What a valid unit name denotes."""

    PLAIN = "plain"  # app.service
    TEMPLATE = "template"  # app@.service
    INSTANCE = "instance"  # app@1.service


def unit_name_problem(name: str) -> str | None:
    """Why ``name`` is not a valid unit name, or None when it is valid."""
    if not name:
        return "unit name is empty"
    if len(name) > UNIT_NAME_MAX:
        return f"unit name is longer than {UNIT_NAME_MAX} characters"
    stem, dot, suffix = name.rpartition(".")
    if not dot or not stem:
        return f"unit name {name!r} has no type suffix such as .service"
    if suffix not in UNIT_TYPES:
        return (
            f"unit name {name!r} has unknown type {suffix!r} "
            f"(one of: {', '.join(sorted(UNIT_TYPES))})"
        )
    prefix, at, instance = stem.partition("@")
    if at and not prefix:
        return f"unit name {name!r} starts with '@'"
    bad = sorted({c for c in prefix if c not in VALID_CHARS} | _bad_instance_chars(instance))
    if bad:
        shown = "".join(bad)
        return f"unit name {name!r} contains characters systemd does not allow: {shown!r}"
    return None


def _bad_instance_chars(instance: str) -> set[str]:
    return {c for c in instance if c not in VALID_CHARS and c != "@"}


def unit_name_kind(name: str) -> UnitNameKind:
    """Kind of a name already known to be valid."""
    stem = name.rpartition(".")[0]
    _, at, instance = stem.partition("@")
    if not at:
        return UnitNameKind.PLAIN
    return UnitNameKind.INSTANCE if instance else UnitNameKind.TEMPLATE


def template_of(name: str) -> str | None:
    """``app@.service`` for ``app@1.service``; None for names that are not instances."""
    if unit_name_kind(name) is not UnitNameKind.INSTANCE:
        return None
    stem, _, suffix = name.rpartition(".")
    return f"{stem.partition('@')[0]}@.{suffix}"


_ESCAPE_KEEP = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789:_.")


def unit_name_escape(text: str) -> str:
    """``text`` escaped for use in a unit name, as ``systemd-escape`` does (``unit_name_escape()``).

    ``/`` becomes ``-``; a leading ``.`` and every byte that is not a letter,
    digit, ``:``, ``_`` or ``.`` (``-`` and ``\\`` included) becomes ``\\xNN``.
    """
    out: list[str] = []
    for index, byte in enumerate(text.encode("utf-8", "surrogateescape")):
        char = chr(byte)
        if char == "/":
            out.append("-")
        elif char in _ESCAPE_KEEP and not (index == 0 and char == "."):
            out.append(char)
        else:
            out.append(f"\\x{byte:02x}")
    return "".join(out)


def escaped_unit_name(prefix: str, text: str, suffix: str) -> str:
    """``prefix + unit_name_escape(text) + suffix``, the escaped part cut to fit UNIT_NAME_MAX.

    A cut never splits an ``\\xNN`` sequence.
    """
    escaped = unit_name_escape(text)
    room = UNIT_NAME_MAX - len(prefix) - len(suffix)
    if len(escaped) > room:
        cut = room
        backslash = escaped.rfind("\\", max(0, cut - 3), cut)
        if backslash >= 0:
            cut = backslash
        escaped = escaped[:cut]
    return prefix + escaped + suffix
