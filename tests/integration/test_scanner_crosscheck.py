"""The import scanner, run by the host's Python, against Python 3.13 in the debian13 bed.

Three checks, about ten seconds together: every module of CPython 3.13's own
standard library gives exactly the import records ``ast`` gives; so does each
hand-written construct of the unit tests (which proves them valid Python);
and a sample of the f-strings the hypothesis strategy draws both compiles
under 3.13 and ends, for CPython, exactly where the scanner's lexer ends it.
bench/scanner_crosscheck.py runs the first and last checks on larger sets.
"""

from __future__ import annotations

import textwrap

from hypothesis import HealthCheck, given, settings

from smartrestart.importgraph.stringlexer import string_end
from tests.fstring_strategy import formatted_literals
from tests.scanner_truth import (
    as_records,
    ast_records,
    cross_check,
    literal_ends,
    opening_quote,
)
from tests.testbed import TestBed
from tests.unit.test_scanner import CONSTRUCTS, NEEDS_PYTHON_314

SAMPLE = 400


def test_scanner_matches_ast_on_the_python_313_standard_library(debian13: TestBed) -> None:
    root = debian13.path("/usr/lib/python3.13")
    files = [
        (str(path), path.read_bytes())
        for path in sorted(root.rglob("*.py"))
        if not path.is_symlink() and path.is_file()  # links point into the host
    ]
    check = cross_check(debian13, files)
    assert check.compared > 500
    assert not check.unparsable
    assert [m.path for m in check.mismatches] == []


def test_hand_written_constructs_are_valid_and_their_records_right(debian13: TestBed) -> None:
    names = [name for name in CONSTRUCTS if name not in NEEDS_PYTHON_314]
    sources = [textwrap.dedent(CONSTRUCTS[name][0]).encode() for name in names]
    truths = dict(zip(names, ast_records(debian13, sources), strict=True))
    assert {name: truth.get("error") for name, truth in truths.items()} == dict.fromkeys(names)
    assert {name: as_records(truth) for name, truth in truths.items()} == {
        name: CONSTRUCTS[name][1] for name in names
    }


def test_drawn_fstrings_compile_and_end_where_cpython_ends_them(debian13: TestBed) -> None:
    drawn: list[str] = []

    # t-strings lex exactly like f-strings; 3.13 only compiles the latter.
    @settings(max_examples=SAMPLE, database=None, suppress_health_check=list(HealthCheck))
    @given(formatted_literals(template=False))
    def collect(literal: str) -> None:
        drawn.append(literal)

    collect()
    programs = [f"v = {literal}\n".encode() for literal in drawn]
    results = literal_ends(debian13, programs)
    invalid = [(p, r["error"]) for p, r in zip(programs, results, strict=True) if "error" in r]
    assert invalid == []
    ours = [string_end(program, opening_quote(program)) for program in programs]
    theirs = [(result["value_end"], None) for result in results]
    disagree = [(p, o, t) for p, o, t in zip(programs, ours, theirs, strict=True) if o != t]
    assert disagree == []
