"""Ground truth for the import scanner: the same records computed by ``ast`` in a bed.

The scanner runs on whatever Python runs smartrestart (3.11 on Debian 12); the
code it reads may need a newer one to parse. The debian13 bed has Python 3.13,
so the truth is computed there: file contents go in on stdin, records come
back as JSON, and the comparison happens here, against the scanner as the
host runs it.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from typing import Any

from smartrestart.importgraph.scanner import ImportRecord, scan_source
from tests.testbed import TestBed

BED_PYTHON = "/usr/bin/python3.13"

# Records as the scanner makes them: `from __future__` left out, names without
# their `as` part, the flag for suites of `if [x.]TYPE_CHECKING:` (or elif).
TRUTH_PROGRAM = r"""
import ast, base64, json, sys

def type_checking(test):
    if isinstance(test, ast.Name):
        return test.id == "TYPE_CHECKING"
    return (isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
            and isinstance(test.value, ast.Name))

def records(node, flagged, out):
    if isinstance(node, ast.If):
        records(node.test, flagged, out)
        for child in node.body:
            records(child, flagged or type_checking(node.test), out)
        for child in node.orelse:
            records(child, flagged, out)
        return
    if isinstance(node, ast.Import):
        out.extend([False, 0, alias.name, [], flagged] for alias in node.names)
    elif isinstance(node, ast.ImportFrom) and node.module != "__future__":
        names = [alias.name for alias in node.names]
        out.append([True, node.level, node.module or "", names, flagged])
    for child in ast.iter_child_nodes(node):
        records(child, flagged, out)

results = []
for line in sys.stdin:
    source = base64.b64decode(line)
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError) as exc:
        results.append({"error": f"{type(exc).__name__}: {exc}"})
        continue
    out = []
    records(tree, False, out)
    results.append({"records": out})
json.dump(results, sys.stdout)
"""


# For each program `v = <literal>...`: why it does not compile, or where CPython
# ends the first literal (tokenize; None where 3.13's tokenize module fails
# with SystemError on valid f-strings) and the whole value (ast, whose end
# column counts UTF-8 bytes).
LITERAL_ENDS_PROGRAM = r"""
import ast, base64, io, json, sys, tokenize, warnings
warnings.simplefilter("ignore")

def offset(lines, row, column):
    return sum(len(text) + 1 for text in lines[: row - 1]) + column

def first_literal_end(source, lines):
    depth = 0
    for token in tokenize.tokenize(io.BytesIO(source).readline):
        name = tokenize.tok_name[token.type]
        if name in ("FSTRING_START", "TSTRING_START"):
            depth += 1
        elif name in ("FSTRING_END", "TSTRING_END"):
            depth -= 1
        if depth == 0 and name in ("STRING", "FSTRING_END", "TSTRING_END"):
            row, column = token.end
            return offset(lines, row, len(lines[row - 1].decode()[:column].encode()))
    return None

results = []
for line in sys.stdin:
    source = base64.b64decode(line)
    try:
        value = ast.parse(source).body[0].value
    except (SyntaxError, ValueError) as exc:
        results.append({"error": f"{type(exc).__name__}: {exc}"})
        continue
    lines = source.split(b"\n")
    try:
        token_end = first_literal_end(source, lines)
    except Exception:
        token_end = None
    value_end = offset(lines, value.end_lineno, value.end_col_offset)
    results.append({"token_end": token_end, "value_end": value_end})
json.dump(results, sys.stdout)
"""


@dataclass
class Mismatch:
    path: str
    problem: str | None
    expected: list[ImportRecord]
    scanned: list[ImportRecord]


@dataclass
class CrossCheck:
    compared: int = 0
    mismatches: list[Mismatch] = field(default_factory=list)
    # Files the bed's Python cannot parse either, with the scanner's problem for each.
    unparsable: list[tuple[str, str, str | None]] = field(default_factory=list)


def ast_records(bed: TestBed, sources: list[bytes], timeout: float = 900.0) -> list[Any]:
    """``{"records": [...]}`` or ``{"error": ...}`` for each source, from the bed's Python."""
    stdin = "".join(base64.b64encode(source).decode() + "\n" for source in sources)
    result = bed.run(BED_PYTHON, "-c", TRUTH_PROGRAM, input=stdin, timeout=timeout)
    truths: list[Any] = json.loads(result.stdout)
    return truths


def literal_ends(bed: TestBed, programs: list[bytes]) -> list[Any]:
    """Where CPython 3.13 in the bed ends each program's first literal (see above)."""
    stdin = "".join(base64.b64encode(program).decode() + "\n" for program in programs)
    result = bed.run(BED_PYTHON, "-c", LITERAL_ENDS_PROGRAM, input=stdin, timeout=900.0)
    ends: list[Any] = json.loads(result.stdout)
    return ends


def opening_quote(program: bytes) -> int:
    """Offset of the first quote of ``program``: its first literal's, when nothing precedes."""
    return min(at for at in (program.find(b'"'), program.find(b"'")) if at >= 0)


def as_records(truth: Any) -> list[ImportRecord]:
    """The records of one ``ast_records`` result, typed as the scanner makes them."""
    return [
        (is_from, level, module, tuple(names), flagged)
        for is_from, level, module, names, flagged in truth["records"]
    ]


def cross_check(bed: TestBed, files: list[tuple[str, bytes]]) -> CrossCheck:
    """The scanner against ``ast`` for every file: exact records and no problem expected."""
    truths = ast_records(bed, [source for _, source in files])
    check = CrossCheck()
    for (path, source), truth in zip(files, truths, strict=True):
        records, problem = scan_source(source)
        if "error" in truth:
            check.unparsable.append((path, truth["error"], problem))
            continue
        check.compared += 1
        expected = as_records(truth)
        if problem is not None or list(records) != expected:
            check.mismatches.append(Mismatch(path, problem, expected, list(records)))
    return check
