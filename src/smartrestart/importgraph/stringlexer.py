"""Where a Python string literal ends, f- and t-strings of Python 3.12+ included.

Since PEP 701 (Python 3.12) a replacement field of an f-string is ordinary
code: it may hold strings in the same quotes as the f-string itself, nested
f-strings, comments, backslashes and, in single-quoted f-strings too, line
breaks. PEP 750 (3.14) gives t-strings the same rules. No regular expression
can follow that nesting, so this lexer does, byte by byte where it must and by
regular-expression jumps everywhere else. It mirrors CPython's tokenizer
(``Parser/lexer/lexer.c``) only as far as the end of a literal depends on it:

* outside replacement fields, ``{{`` and ``}}`` are literal braces, ``\\N{...}``
  is a named escape (not in raw strings), a backslash escapes the next byte
  unless that is a brace;
* in a replacement field (expression mode), quotes open nested literals, ``#``
  opens a comment, brackets nest, and a ``:`` at the field's own bracket level
  starts the format spec;
* in a format spec, ``{`` opens a nested field and ``}`` closes the field; once
  a nested field has closed, ``{{`` is a literal brace again.

Code valid for Python 3.8 to 3.11 lexes the same under these rules: it cannot
put the f-string's own quote, a backslash or a comment inside a field. The
lexer keeps its own stack, so no depth of nesting can reach Python's recursion
limit.
"""

from __future__ import annotations

import re

from smartrestart.importgraph.literals import plain_body
from smartrestart.importgraph.regex import compile_pattern

# A problem is (byte offset it is about, description).
Problem = tuple[int, str]

_WORD_BYTE = [chr(b).isalnum() or b == 0x5F or b >= 0x80 for b in range(256)]
_FORMATTED_PREFIXES = frozenset({b"f", b"fr", b"rf", b"t", b"tr", b"rt"})
_DOUBLE, _SINGLE = 0x22, 0x27
_FIELD = -1  # marks a replacement field's own brace on a bracket stack
_CLOSING = {0x29: 0x28, 0x5D: 0x5B, 0x7D: 0x7B}  # ) ] } -> ( [ {


_PLAIN = {
    (quote, triple): compile_pattern(
        (quote * 3 if triple else quote) + plain_body(quote, triple=triple), re.DOTALL
    )
    for quote in (b'"', b"'")
    for triple in (False, True)
}
# What ends a run of literal text (outside fields and in format specs).
_LITERAL_STOP = {_DOUBLE: re.compile(rb'["{}\\\n]'), _SINGLE: re.compile(rb"['{}\\\n]")}
# What ends a run of plain code in a replacement field.
_EXPRESSION_STOP = re.compile(rb"[\"'#\\()\[\]{}:]")
_NAMED_ESCAPE = re.compile(rb"\\N\{[^{}\"'\\\n]*\}")


class _Formatted:
    """One f- or t-string still open, and where the lexer is inside it."""

    __slots__ = ("brackets", "expression", "in_spec", "kind", "quote", "raw", "start", "triple")

    def __init__(self, source: bytes, start: int, prefix: bytes, *, triple: bool) -> None:
        self.start = start  # offset of the opening quote
        self.quote = source[start]
        self.triple = triple
        self.raw = b"r" in prefix
        self.kind = "t-string" if b"t" in prefix else "f-string"
        # Open brackets, innermost last: _FIELD for a replacement field's brace.
        self.brackets: list[int] = []
        self.expression = False  # in a field's code (else literal text or format spec)
        self.in_spec = False  # CPython's in_format_spec: `{{` is not an escape there


def string_end(source: bytes, quote: int) -> tuple[int, Problem | None]:
    """End offset of the literal whose opening quote is at ``quote``, and a problem if any.

    The prefix is read back from the quote. After a problem the literal is
    taken to run to the end of the source: nothing after it is certain.
    """
    end, formatted, problem = _open_literal(source, quote)
    if formatted is None:
        return end, problem
    return _formatted_end(source, formatted, end)


def _word_start(source: bytes, end: int) -> int:
    start = end
    while start > 0 and _WORD_BYTE[source[start - 1]]:
        start -= 1
    return start


def _plain_end(source: bytes, quote: int, *, triple: bool) -> tuple[int, Problem | None]:
    match = _PLAIN[source[quote : quote + 1], triple].match(source, quote)
    if match is not None:
        return match.end(), None
    kind = "triple-quoted string" if triple else "string"
    return len(source), (quote, f"unterminated {kind} literal")


def _formatted_end(source: bytes, outer: _Formatted, pos: int) -> tuple[int, Problem | None]:
    """Follow one f-/t-string from ``pos`` and every literal nested in it, on a stack."""
    stack = [outer]
    while stack:
        step = _in_code if stack[-1].expression else _in_text
        pos, problem = step(source, pos, stack)
        if problem is not None:
            return len(source), problem
    return pos, None


def _in_code(source: bytes, pos: int, stack: list[_Formatted]) -> tuple[int, Problem | None]:
    """From ``pos`` in a replacement field's code, past the next byte that matters."""
    current = stack[-1]
    found = _EXPRESSION_STOP.search(source, pos)
    if found is None:
        return pos, _unterminated(current)
    pos = found.start()
    char = source[pos]
    if char in (_DOUBLE, _SINGLE):
        pos, nested, problem = _open_literal(source, pos)
        if nested is not None:
            stack.append(nested)
        return pos, problem
    if char == 0x23:  # `#`: a comment, to the end of the line
        newline = source.find(b"\n", pos)
        return (len(source) if newline < 0 else newline), None
    if char == 0x5C:  # backslash: only a line continuation is valid here
        after = pos + (2 if source.startswith(b"\r\n", pos + 1) else 1)
        if not source.startswith(b"\n", after):
            return pos, (pos, "unexpected character after line continuation character")
        return after + 1, None
    return pos + 1, _bracket(current, char, pos)


def _in_text(source: bytes, pos: int, stack: list[_Formatted]) -> tuple[int, Problem | None]:
    """From ``pos`` in literal text or a format spec, past the next byte that matters."""
    current = stack[-1]
    stop = _LITERAL_STOP[current.quote].search(source, pos)
    if stop is None:
        return pos, _unterminated(current)
    pos = stop.start()
    char = source[pos]
    if char == current.quote:
        if not current.triple:
            pos += 1
        elif source.startswith(source[pos : pos + 1] * 3, pos):
            pos += 3
        else:
            return pos + 1, None  # a lone quote of its own kind in a triple-quoted string
        if current.brackets:
            return pos, (current.start, f"{current.kind}: expecting '}}'")
        stack.pop()
        return pos, None
    if char == 0x7B:  # {
        if not current.in_spec and source.startswith(b"{", pos + 1):
            return pos + 2, None  # `{{`: a literal brace
        current.brackets.append(_FIELD)
        current.expression = True
        current.in_spec = False
        return pos + 1, None
    if char == 0x7D:  # }
        if current.brackets:  # ends the field whose format spec this was
            current.brackets.pop()
            current.in_spec = False
            return pos + 1, None
        if not source.startswith(b"}", pos + 1):
            return pos, (pos, f"{current.kind}: single '}}' is not allowed")
        return pos + 2, None  # `}}`: a literal brace
    if char == 0x5C:  # backslash
        return _after_escape(source, pos, raw=current.raw), None
    if current.in_spec:  # a line break ends a format spec: back to the field's code
        current.expression = True
        current.in_spec = False
        return pos, None
    if current.triple:
        return pos + 1, None
    return pos, _unterminated(current)


def _open_literal(source: bytes, quote: int) -> tuple[int, _Formatted | None, Problem | None]:
    """A literal: skipped whole if plain, else opened (offset after its opening quotes)."""
    prefix = source[_word_start(source, quote) : quote].lower()
    triple = source.startswith(source[quote : quote + 1] * 3, quote)
    if prefix not in _FORMATTED_PREFIXES:
        end, problem = _plain_end(source, quote, triple=triple)
        return end, None, problem
    nested = _Formatted(source, quote, prefix, triple=triple)
    return quote + (3 if triple else 1), nested, None


def _bracket(current: _Formatted, char: int, pos: int) -> Problem | None:
    """Track one of ``( [ { ) ] } :`` in a replacement field's code."""
    brackets = current.brackets
    if char == 0x3A:  # `:` at the field's own level starts its format spec
        if brackets[-1] == _FIELD:
            current.expression = False
            current.in_spec = True
        return None
    opening = _CLOSING.get(char)
    if opening is None:  # ( [ {
        brackets.append(char)
        return None
    top = brackets[-1]
    if top == _FIELD and char == 0x7D:  # the field's own closing brace
        brackets.pop()
        current.expression = False
        current.in_spec = False
        return None
    if top != opening:
        return pos, f"{current.kind}: unmatched '{chr(char)}'"
    brackets.pop()
    return None


def _after_escape(source: bytes, pos: int, *, raw: bool) -> int:
    """Offset after a backslash escape in literal text (the backslash is at ``pos``)."""
    following = source[pos + 1 : pos + 2]
    if following in (b"{", b"}"):
        return pos + 1  # the backslash stays literal; the brace still counts
    if not raw and following == b"N":
        named = _NAMED_ESCAPE.match(source, pos)
        if named is not None:
            return named.end()
    if source.startswith(b"\r\n", pos + 1):
        return pos + 3
    return pos + 2


def _unterminated(current: _Formatted) -> Problem:
    triple = "triple-quoted " if current.triple else ""
    return current.start, f"unterminated {triple}{current.kind} literal"
