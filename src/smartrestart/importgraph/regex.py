"""The scanner's regular expressions, compiled so that every Python 3.11 matches them right.

Possessive quantifiers (``*+``, ``++``, ``?+``) arrived in Python 3.11 but
matched wrongly until 3.11.5 (CPython gh-100061 and gh-106052): Debian 12's
python3 is 3.11.2, where the scanner's patterns stop a run of code in the
middle of a word, and the lexer then meets a "quote" that is a letter. Atomic
groups, the same thing spelled ``(?>X*)``, were right from the start (CPython
fixed possessive quantifiers by compiling them as atomic groups), so on those
versions each possessive quantifier is rewritten as one before compiling.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from functools import cache

POSSESSIVE_BROKEN = sys.version_info < (3, 11, 5)


@cache
def _repeat() -> re.Pattern[bytes]:
    """{m}, {m,n}, {,n}, {m,}: else a literal brace (compiled only where a rewrite is needed)."""
    return re.compile(rb"\{\d*(?:,\d*)?\}")


# Each pattern compiled here -> its source as written (``.pattern`` is the rewrite
# where possessive quantifiers are broken): what a test compares the rewrite with.
WRITTEN: dict[re.Pattern[bytes], bytes] = {}


def compile_pattern(pattern: bytes, flags: int = 0) -> re.Pattern[bytes]:
    """``re.compile``, with possessive quantifiers as atomic groups where they are broken."""
    compiled = re.compile(atomic_groups(pattern) if POSSESSIVE_BROKEN else pattern, flags)
    WRITTEN[compiled] = pattern
    return compiled


def atomic_group(repeat: bytes) -> bytes:
    return b"(?>" + repeat + b")"


def atomic_groups(pattern: bytes, group: Callable[[bytes], bytes] = atomic_group) -> bytes:
    """``pattern`` with every ``X*+``, ``X++``, ``X?+``, ``X{m,n}+`` written ``(?>X*)`` etc.

    ``group`` spells the possessive repeat another way (a test's reference).
    """
    stack: list[tuple[bytes, list[bytes]]] = [(b"", [])]  # (group opener, its atoms)
    position = 0
    while position < len(pattern):
        char = pattern[position : position + 1]
        opener, atoms = stack[-1]
        if char == b"(":
            end = _opener_end(pattern, position)
            stack.append((pattern[position:end], []))
            position = end
            continue
        if char == b")":
            stack.pop()
            stack[-1][1].append(opener + b"".join(atoms) + b")")
            position += 1
            continue
        if _is_quantifier(pattern, position) and atoms and atoms[-1] != b"|":
            end = _quantifier_end(pattern, position)
            quantifier = pattern[position:end]
            if pattern[end : end + 1] == b"+":  # possessive
                atoms[-1] = group(atoms[-1] + quantifier)
                end += 1
            elif pattern[end : end + 1] == b"?":  # lazy
                atoms[-1] += quantifier + b"?"
                end += 1
            else:
                atoms[-1] += quantifier
            position = end
            continue
        end = _atom_end(pattern, position)
        atoms.append(pattern[position:end])
        position = end
    if len(stack) != 1:
        raise ValueError(f"unbalanced parentheses in {pattern!r}")
    return b"".join(stack[0][1])


def _opener_end(pattern: bytes, start: int) -> int:
    """End of a group's opening: ``(``, ``(?:``, ``(?=``, ``(?!``, ``(?>``, ``(?<=``, ``(?<!``."""
    if pattern[start + 1 : start + 2] != b"?":
        return start + 1
    if pattern[start + 2 : start + 3] == b"<" and pattern[start + 3 : start + 4] in (b"=", b"!"):
        return start + 4
    if pattern[start + 2 : start + 3] in (b":", b"=", b"!", b">"):
        return start + 3
    raise ValueError(f"unsupported group at {start} in {pattern!r}")


def _is_quantifier(pattern: bytes, position: int) -> bool:
    char = pattern[position : position + 1]
    return char in (b"*", b"+", b"?") or bool(char == b"{" and _repeat().match(pattern, position))


def _quantifier_end(pattern: bytes, start: int) -> int:
    repeat = _repeat().match(pattern, start)
    return repeat.end() if repeat else start + 1


def _atom_end(pattern: bytes, start: int) -> int:
    """End of the atom at ``start``: an escape, a character class, or one byte."""
    char = pattern[start : start + 1]
    if char == b"\\":
        return start + 2
    if char != b"[":
        return start + 1
    position = start + 1
    if pattern[position : position + 1] == b"^":
        position += 1
    if pattern[position : position + 1] == b"]":  # a leading ] is literal
        position += 1
    while pattern[position : position + 1] != b"]":
        position += 2 if pattern[position : position + 1] == b"\\" else 1
        if position >= len(pattern):
            raise ValueError(f"unterminated character class in {pattern!r}")
    return position + 1
