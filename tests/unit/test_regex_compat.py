"""The scanner's possessive patterns, rewritten as atomic groups for Python 3.11 before 3.11.5.

Debian 12's python3 (3.11.2) matches possessive quantifiers wrongly (CPython
gh-100061, gh-106052); there the patterns are compiled as atomic groups. The
rewrite must mean exactly what the original means: compared on the standard
library's own sources with the originals where they work, and on every Python
with a third spelling that depends on neither feature (a lookahead capturing
the greedy repeat, then a backreference to it, which gives nothing back). (In
the debian12 bed, the scan of its dist-packages through the rewrite is what
tests/integration/test_dpkg_trigger.py relies on.)
"""

from __future__ import annotations

import itertools
import re
import sysconfig
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from smartrestart.importgraph import literals, stringlexer
from smartrestart.importgraph.regex import POSSESSIVE_BROKEN, WRITTEN, atomic_groups


@pytest.mark.parametrize(
    ("pattern", "rewritten"),
    [
        (rb"a*+", rb"(?>a*)"),
        (rb"[^'\\]++x", rb"(?>[^'\\]+)x"),
        (rb"(?:\\.|[^]])*+'", rb"(?>(?:\\.|[^]])*)'"),
        (rb"(?<!f')a?+b*?c{2,3}+", rb"(?<!f')(?>a?)b*?(?>c{2,3})"),
        (rb"\{(?:[^{}]++|\{\})*+\}", rb"\{(?>(?:(?>[^{}]+)|\{\})*)\}"),
        (rb"x{", rb"x{"),  # a literal brace, no repeat
    ],
)
def test_each_possessive_quantifier_is_an_atomic_group(pattern: bytes, rewritten: bytes) -> None:
    assert atomic_groups(pattern) == rewritten
    re.compile(rewritten)


def sources() -> list[bytes]:
    library = Path(sysconfig.get_paths()["stdlib"])
    files = sorted(library.glob("*.py"))[:60] + sorted(library.glob("email/*.py"))
    return [path.read_bytes() for path in files]


def lookahead_group(names: Iterator[int]) -> Callable[[bytes], bytes]:
    """``X*+`` as ``(?=(?P<pN>X*))(?P=pN)``: what X* takes first, kept, in any Python."""

    def group(repeat: bytes) -> bytes:
        name = b"p%d" % next(names)
        return b"(?=(?P<" + name + b">" + repeat + b"))(?P=" + name + b")"

    return group


def test_the_rewritten_patterns_match_what_the_originals_match() -> None:
    """Everywhere the scanner uses them: split or substituted over a file, matched at its quotes.

    The originals are the patterns as written (on Python 3.11 before 3.11.5
    the compiled ones are the rewrite itself), in their possessive spelling
    only where it works.
    """
    for source in sources():
        quotes = [m.start() for m in re.finditer(rb"['\"]", source)][::7]
        split, fast = literals._SPLIT, literals.fast()
        for compiled in (split, fast, literals.easy_run(), *stringlexer._PLAIN.values()):
            pattern, flags = WRITTEN[compiled], compiled.flags
            spellings = [
                re.compile(atomic_groups(pattern), flags),
                re.compile(atomic_groups(pattern, lookahead_group(itertools.count())), flags),
                *([] if POSSESSIVE_BROKEN else [re.compile(pattern, flags)]),
            ]
            if compiled is split:  # the lookahead spelling adds groups: spans compared
                runs = {
                    tuple(m.span(1) for m in spelling.finditer(source)) for spelling in spellings
                }
                assert len(runs) == 1
                continue
            if compiled is fast:
                assert len({spelling.sub(b" ", source) for spelling in spellings}) == 1
                continue
            for start in quotes:
                matches = (spelling.match(source, start) for spelling in spellings)
                assert len({match and match.span() for match in matches}) == 1, start
