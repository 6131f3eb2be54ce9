"""The import scanner against ``ast`` under Python 3.13, file by file, on real trees.

Ground truth comes from the debian13 bed's Python 3.13 (tests/scanner_truth.py);
the scanner runs here, on the interpreter that runs this script, as the CLI
would. Every ``.py`` file of the trees given is compared, plus, with
``--stdlib``, CPython 3.13's own standard library from the bed. A file
matches when the scanner reports no problem and exactly the records ``ast``
gives. Files 3.13 cannot parse are listed apart, with the scanner's verdict.

Literal by literal, it also checks where the scanner's lexer (and, when it
matches, its fast regular expression) ends a string against CPython 3.13's
tokenizer: ``--drawn N`` literals from the hypothesis strategy of the unit
tests (valid by construction: all must compile), and ``--fuzz N`` random
literals built from the characters that matter (only those that compile
count).

Usage (root: the beds need systemd-nspawn)::

    python bench/scanner_crosscheck.py [--stdlib] [--drawn N] [--fuzz N] [TREE...]

for example with Home Assistant 2025.4.4 unpacked from its wheel
(``pip download --no-deps --only-binary=:all: --python-version 3.13
homeassistant==2025.4.4``, then ``unzip``).
"""

from __future__ import annotations

import argparse
import random
import sys
import time
import warnings
from pathlib import Path

from hypothesis import HealthCheck, given, settings

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests import testbed
from tests.fstring_strategy import formatted_literals
from tests.scanner_truth import cross_check, literal_ends, opening_quote

from smartrestart.importgraph.literals import fast as fast_path
from smartrestart.importgraph.stringlexer import string_end

SHOWN = 10
FUZZ_PREFIXES = ["", "r", "b", "rb", "Br", "u", "f", "F", "rf", "fR", "t", "Tr", "bf", "if "]
FUZZ_PIECES = ["{", "}", "{{", "}}", '"', "'", '"""', "\\", "#", "\n", ":", "!r", "=", "x", " "]
FUZZ_PIECES += ["(", ")", "[", "\\N{BULLET}", 'f"', "f'", "\\\n"]
# Replacement fields: an operand or two (nested literals in every quote, brackets,
# comments, line breaks), then maybe `=`, a conversion, a format spec.
OPERANDS = ["x", '"a"', "'a'", 'f"{x}"', "f'{x!r:>{w}}'", '"""\n"""', "d['k']", 'd["k"]', "(x)"]
OPERANDS += ["[x, \n y]", "{x: 1}", "x # c'\"{\n", "\n x", "x \\\n", "f'{'{'}'", 'rf"\\{x}"']
SPEC_PIECES = ["", ">10", "#x", "'", '"', "{w}", "{w!r}", "a#b", "\\'", ":", "{"]


def drawn_programs(count: int) -> list[bytes]:
    drawn: list[bytes] = []

    @settings(max_examples=count, database=None, suppress_health_check=list(HealthCheck))
    @given(formatted_literals(template=False))
    def collect(literal: str) -> None:
        drawn.append(f"v = {literal}\n".encode())

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        collect()
    return drawn


def fuzz_programs(count: int, seed: int = 701) -> list[bytes]:
    rng = random.Random(seed)
    programs = []
    for number in range(count):
        quote = rng.choice(['"', "'", '"""', "'''"])
        pieces = rng.choices(FUZZ_PIECES, k=rng.randint(0, 8))
        for _ in range(number % 3):  # a third without fields, a third with two
            field = " + ".join(rng.choices(OPERANDS, k=rng.randint(1, 2)))
            field += rng.choice(["", "=", " = "]) + rng.choice(["", "!r", "!s"])
            if rng.random() < 0.5:
                field += ":" + "".join(rng.choices(SPEC_PIECES, k=rng.randint(0, 2)))
            pieces.insert(rng.randint(0, len(pieces)), "{" + field + "}")
        body = "".join(pieces)
        programs.append(f"v = {rng.choice(FUZZ_PREFIXES)}{quote}{body}{quote}\n".encode())
    return programs


def check_literals(bed: testbed.TestBed, label: str, programs: list[bytes], key: str) -> int:
    """Programs CPython compiles whose first literal the lexer or fast path ends elsewhere."""
    results = literal_ends(bed, programs)
    valid = wrong = fast = untokenizable = 0
    for program, result in zip(programs, results, strict=True):
        end = result.get(key)
        if end is None:
            untokenizable += "error" not in result
            continue
        valid += 1
        quote = opening_quote(program)
        ours = string_end(program, quote)
        matched = fast_path().match(program, quote)
        fast += matched is not None
        if ours != (end, None) or (matched is not None and matched.end() != end):
            wrong += 1
            if wrong <= SHOWN:
                print(f"  {program!r}: CPython {end}, lexer {ours}, fast {matched}")
    print(
        f"{label}: {len(programs)} literals, {valid} compiled and compared "
        f"({fast} of them on the fast path), {wrong} ended elsewhere; "
        f"{untokenizable} more compiled but broke 3.13's tokenize module"
    )
    return wrong


def read_tree(root: Path) -> list[tuple[str, bytes]]:
    """``.py`` files under ``root``; symbolic links in a bed's root point into the host."""
    return [
        (str(path), path.read_bytes())
        for path in sorted(root.rglob("*.py"))
        if not path.is_symlink() and path.is_file()
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("trees", nargs="*", type=Path)
    parser.add_argument("--stdlib", action="store_true", help="add the bed's Python 3.13 stdlib")
    parser.add_argument("--drawn", type=int, default=0, metavar="N")
    parser.add_argument("--fuzz", type=int, default=0, metavar="N")
    args = parser.parse_args()
    bed = testbed.boot("debian13")
    try:
        trees = [(str(tree), read_tree(tree)) for tree in args.trees]
        if args.stdlib:
            trees.append(("Python 3.13 stdlib", read_tree(bed.path("/usr/lib/python3.13"))))
        total = mismatched = 0
        for label, files in trees:
            started = time.perf_counter()
            check = cross_check(bed, files)
            seconds = time.perf_counter() - started
            total += check.compared
            mismatched += len(check.mismatches)
            print(
                f"{label}: {len(files)} files, {check.compared} compared, "
                f"{len(check.mismatches)} mismatches, {len(check.unparsable)} unparsable "
                f"by 3.13 ({seconds:.1f} s)"
            )
            for mismatch in check.mismatches[:SHOWN]:
                missing = [r for r in mismatch.expected if r not in mismatch.scanned]
                extra = [r for r in mismatch.scanned if r not in mismatch.expected]
                print(f"  {mismatch.path}: problem {mismatch.problem!r}")
                print(f"    missing {missing[:3]} extra {extra[:3]}")
            for path, error, problem in check.unparsable[:SHOWN]:
                print(f"  unparsable {path}: {error}; scanner: {problem!r}")
        if trees:
            print(f"total: {total} files compared, {mismatched} mismatches")
        if args.drawn:
            check_literals(bed, "drawn f-strings", drawn_programs(args.drawn), "value_end")
        if args.fuzz:
            check_literals(bed, "random literals", fuzz_programs(args.fuzz), "token_end")
    finally:
        bed.stop()


if __name__ == "__main__":
    main()
