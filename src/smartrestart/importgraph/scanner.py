"""Read the import statements of a Python source file without a full parse.

A whole-file ``ast.parse`` builds an object for every expression of the file;
on Django's 885 modules that costs about 1.1 s on one core, ten times what
grimp's Rust core needs for the same graph. Only import statements matter here,
so the scanner blanks out comments and string literals (:mod:`literals`: one
regular expression at C speed, and a lexer for the f-strings it cannot end),
then reads the statements that start a line or follow ``;`` or ``:``. After
blanking, the keyword ``import`` can appear nowhere else, so nothing inside a
docstring, comment or f-string is mistaken for an import.

Statements under ``if TYPE_CHECKING:`` are flagged so the caller can leave
them out. Anything the scanner cannot read with certainty (an unterminated
string, a malformed import statement) is reported as a problem; the graph then
treats that file conservatively.
"""

from __future__ import annotations

import re
from functools import cache

from smartrestart.importgraph.literals import blank, source_line

# (is_from, level, module, names, under_type_checking)
ImportRecord = tuple[bool, int, str, tuple[str, ...], bool]
# (imports, problem or None)
ScanResult = tuple[tuple[ImportRecord, ...], str | None]

SCANNER_VERSION = 4

_NEWLINE = b"\n"
_BOM = b"\xef\xbb\xbf"
_WORD_BYTE = [chr(b).isalnum() or b == 0x5F or b >= 0x80 for b in range(256)]
_DOTTED = r"[^\W\d]\w*(?:\s*\.\s*[^\W\d]\w*)*"


# The patterns of the general parse are compiled on first use: every import
# statement of Home Assistant's, Django's and sympy's files is read by
# _SIMPLE, and compiling them costs a run that rescans one file ~0.4 ms; those
# of TYPE_CHECKING blocks, likewise, only for a file that has one.
@cache
def _from_head() -> re.Pattern[bytes]:
    return re.compile(rb"from(?=[\s.])[\w.\s\x80-\xff]*")


@cache
def _type_checking_if() -> re.Pattern[bytes]:
    return re.compile(
        rb"^([ \t]*)(?:el)?if[ \t]+(?:[A-Za-z_][A-Za-z_0-9]*\.)?TYPE_CHECKING[ \t]*:([^\n]*)",
        re.MULTILINE,
    )


@cache
def _continuation() -> re.Pattern[str]:
    return re.compile(r"\\\n")


@cache
def _import() -> re.Pattern[str]:
    return re.compile(r"import\s+(.+)", re.DOTALL)


@cache
def _from() -> re.Pattern[str]:
    return re.compile(rf"from\s*(\.*)\s*({_DOTTED})?\s*import\b\s*(.+)", re.DOTALL)


@cache
def _name_as() -> re.Pattern[str]:
    return re.compile(rf"({_DOTTED})(?:\s+as\s+[^\W\d]\w*)?")


# The usual statement, alone on its line and in ASCII, read by one match: the
# general parse below gives the same records for every line this matches.
_WORD = rb"[A-Za-z_][A-Za-z0-9_]*"
_MODULE = _WORD + rb"(?:\." + _WORD + rb")*"
_AS = rb"(?:[ \t]+as[ \t]+" + _WORD + rb")?"
_WRAPPED_AS = rb"(?:[ \t\n]+as[ \t\n]+" + _WORD + rb")?"
_SIMPLE = re.compile(
    rb"[ \t]*(?P<statement>"
    rb"from(?=[ \t.])[ \t]*(?P<dots>\.*)[ \t]*(?P<module>"
    + _MODULE
    + rb")?[ \t]+(?P<keyword>import)"
    rb"(?:[ \t]+(?P<names>\*|" + _WORD + _AS + rb"(?:[ \t]*,[ \t]*" + _WORD + _AS + rb")*)"
    rb"|[ \t]*\((?P<wrapped>[ \t\n]*"
    + _WORD
    + _WRAPPED_AS
    + rb"(?:[ \t\n]*,[ \t\n]*"
    + _WORD
    + _WRAPPED_AS
    + rb")*[ \t\n]*,?[ \t\n]*)\))"
    rb"|import[ \t]+(?P<modules>" + _MODULE + _AS + rb"(?:[ \t]*,[ \t]*" + _MODULE + _AS + rb")*)"
    rb")[ \t]*(?=\n|\Z)"
)
_FIRST_NAMES = re.compile(r"([\w.*]+)(?:\s+as\s+\w+)?")


def scan_source(source: bytes) -> ScanResult:
    """Import statements of ``source``, and a problem description when unsure."""
    if b"import" not in source:
        return (), None
    # Python skips a UTF-8 byte order mark; its bytes would otherwise glue to
    # the first word (`\ufeffimport os` is no keyword) or to a string prefix.
    source = source.removeprefix(_BOM)
    # A space keeps `x = "a"; import y` two statements and `import x  # c` readable.
    code, literal_problem = blank(source)
    problem = None
    if literal_problem is not None:
        offset, description = literal_problem
        problem = f"line {source.count(_NEWLINE, 0, offset) + 1}: {description}"
    type_checking = _type_checking_ranges(code) if b"TYPE_CHECKING" in code else []
    records: list[ImportRecord] = []
    end = 0
    find = code.find
    keyword = find(b"import")
    while keyword >= 0:
        after = keyword + 6
        if keyword >= end and _is_keyword(code, keyword, after):
            simple = _simple_statement(code, keyword, type_checking)
            if simple is not None:
                read, end = simple
                records.extend(read)
                keyword = find(b"import", after)
                continue
            start = _statement_start(code, keyword)
            if start < 0:
                problem = problem or _unreadable(source, keyword)
            else:
                end = _statement_end(code, keyword)
                parsed = _parse_statement(
                    code[start:end], any(lo <= start < hi for lo, hi in type_checking)
                )
                if parsed is None:
                    problem = problem or _unreadable(source, start)
                else:
                    records.extend(parsed)
        keyword = find(b"import", after)
    return tuple(records), problem


def _simple_statement(
    code: bytes, keyword: int, type_checking: list[tuple[int, int]]
) -> tuple[list[ImportRecord], int] | None:
    """Records and end of the usual statement holding the ``import`` at ``keyword``.

    None when the line continues another (a backslash ends the one before) or
    says more than :data:`_SIMPLE` reads: :func:`_parse_statement` then reads it.
    One function for the lot: most import statements of a tree come here.
    """
    line_start = code.rfind(b"\n", 0, keyword) + 1
    if line_start >= 2 and code[line_start - 2] == 0x5C:
        return None
    simple = _SIMPLE.match(code, line_start)
    if simple is None:
        return None
    _, dots, module, _, names, wrapped, modules = simple.groups()
    # The keyword found first must be the statement's own: in `from import.x
    # import y` the general parse reports the first as unreadable.
    start = simple.start(1)
    if (start if modules is not None else simple.start(4)) != keyword:
        return None
    under_tc = bool(type_checking) and any(lo <= start < hi for lo, hi in type_checking)
    if modules is not None:
        found = _FIRST_NAMES.findall(modules.decode())
        return [(False, 0, name, (), under_tc) for name in found], simple.end()
    if module is None and not dots:
        return None
    name = module.decode() if module is not None else ""
    if name == "__future__":
        return [], simple.end()
    imported = tuple(_FIRST_NAMES.findall((names or wrapped).decode()))
    return [(True, len(dots), name, imported, under_tc)], simple.end()


def _is_keyword(code: bytes, start: int, end: int) -> bool:
    """Whether ``import`` at ``start`` is a whole word (not ``importlib``, ``__import__``)."""
    if start > 0 and _WORD_BYTE[code[start - 1]]:
        return False
    return end >= len(code) or not _WORD_BYTE[code[end]]


def _statement_start(code: bytes, keyword: int) -> int:
    """Offset where the statement holding the ``import`` keyword begins, or -1.

    Before the keyword, on the same logical line, there is either nothing (an
    ``import`` statement) or ``from <module>``; a ``;`` or the ``:`` of a
    compound statement may precede both. Backslash continuations are followed
    back; parentheses cannot occur before the keyword in valid code.
    """
    line_start = code.rfind(b"\n", 0, keyword) + 1
    while line_start >= 2 and code[line_start - 2] == 0x5C:  # previous line ends with a backslash
        line_start = code.rfind(b"\n", 0, line_start - 2) + 1
    prefix = code[line_start:keyword]
    cut = max(prefix.rfind(b";"), prefix.rfind(b":")) + 1
    head = prefix[cut:].replace(b"\\\n", b" ").strip()
    if not head:
        return keyword
    if _from_head().fullmatch(head):
        return line_start + cut + prefix[cut:].index(b"from")
    return -1


def _unreadable(source: bytes, code_offset: int) -> str:
    return f"line {source_line(source, code_offset)}: cannot read import statement"


def _statement_end(code: bytes, start: int) -> int:
    """End offset of the logical line from ``start`` (or of the statement, at ``;``)."""
    newline = code.find(b"\n", start)
    if newline < 0:
        newline = len(code)
    segment = code[start:newline]
    if b"(" not in segment and not segment.rstrip().endswith(b"\\"):
        semicolon = segment.find(b";")
        return newline if semicolon < 0 else start + semicolon
    depth = 0
    pos = start
    length = len(code)
    while pos < length:
        char = code[pos]
        if char == 0x28:  # (
            depth += 1
        elif char == 0x29:  # )
            depth -= 1
        elif char == 0x5C and code.startswith(b"\n", pos + 1):  # backslash-newline
            pos += 2
            continue
        elif char in (0x0A, 0x3B) and depth <= 0:  # newline or ;
            return pos
        pos += 1
    return length


def _parse_statement(raw: bytes, under_tc: bool) -> list[ImportRecord] | None:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None
    text = _continuation().sub(" ", text).strip()
    if text.startswith("from"):
        match = _from().fullmatch(text)
        if match is None:
            return None
        dots, module, names_text = match.groups()
        module = _squash(module or "")
        if not dots and not module:
            return None
        if module == "__future__":
            return []
        names = _names(names_text, allow_star=True)
        if names is None:
            return None
        return [(True, len(dots), module, tuple(names), under_tc)]
    match = _import().fullmatch(text)
    if match is None:
        return None
    modules = _names(match.group(1), allow_star=False)
    if modules is None:
        return None
    return [(False, 0, module, (), under_tc) for module in modules]


def _names(text: str, *, allow_star: bool) -> list[str] | None:
    text = text.strip()
    if text.startswith("("):
        if not text.endswith(")"):
            return None
        text = text[1:-1]
    text = text.replace("\n", " ").strip()
    if allow_star and text == "*":
        return ["*"]
    names: list[str] = []
    for raw_part in text.split(","):
        part = raw_part.strip()
        if not part:
            continue  # trailing comma inside parentheses
        match = _name_as().fullmatch(part)
        if match is None:
            return None
        names.append(_squash(match.group(1)))
    return names or None


def _squash(dotted: str) -> str:
    return "".join(dotted.split())


def _type_checking_ranges(code: bytes) -> list[tuple[int, int]]:
    """Byte ranges of the suites of ``if TYPE_CHECKING:`` statements."""
    ranges: list[tuple[int, int]] = []
    for match in _type_checking_if().finditer(code):
        indent = len(match.group(1))
        if match.group(2).strip():  # one-line suite: `if TYPE_CHECKING: import x`
            ranges.append((match.start(2), match.end(2)))
            continue
        block_start = match.end()
        pos = block_start + 1
        end = len(code)
        while pos < len(code):
            newline = code.find(b"\n", pos)
            line_end = len(code) if newline < 0 else newline
            line = code[pos:line_end]
            stripped = line.lstrip(b" \t")
            if stripped and len(line) - len(stripped) <= indent:
                end = pos
                break
            pos = line_end + 1
        ranges.append((block_start, end))
    return ranges
