"""The scanner's possessive patterns, rewritten as atomic groups for Python 3.11 before 3.11.5.

Debian 12's python3 (3.11.2) matches possessive quantifiers wrongly (CPython
gh-100061, gh-106052); there the patterns are compiled as atomic groups. The
rewrite must mean exactly what the original means: compared here where both
work, on the standard library's own sources. (In the debian12 bed, the scan of
its dist-packages through the rewrite is what tests/integration/test_dpkg_trigger.py
relies on.)
"""

from __future__ import annotations

import re
import sysconfig
from pathlib import Path

import pytest

from smartrestart.importgraph import literals, stringlexer
from smartrestart.importgraph.regex import POSSESSIVE_BROKEN, atomic_groups


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


@pytest.mark.skipif(POSSESSIVE_BROKEN, reason="compares with possessive quantifiers that work")
def test_the_rewritten_patterns_match_what_the_originals_match() -> None:
    """Everywhere the scanner uses them: substituted over a file, matched at its quotes."""
    patterns = [literals._FAST, literals._EASY_RUN, *stringlexer._PLAIN.values()]
    for source in sources():
        quotes = [m.start() for m in re.finditer(rb"['\"]", source)][::7]
        for compiled in patterns:
            rewritten = re.compile(atomic_groups(compiled.pattern), compiled.flags)
            if compiled is literals._FAST:
                assert compiled.sub(b" ", source) == rewritten.sub(b" ", source)
                continue
            for start in quotes:
                native = compiled.match(source, start)
                atomic = rewritten.match(source, start)
                assert (native and native.span()) == (atomic and atomic.span())
