"""Hypothesis strategies for f- and t-strings nested as deep and as oddly as PEP 701 allows.

Every literal drawn is valid Python 3.12+ (3.14 with t-strings) by
construction: replacement fields hold nested strings in any quotes (the
enclosing one included), nested f-strings, comments and line breaks, dicts,
slices, lambdas and walrus in brackets, ``=`` and ``!r``, format specs with
nested fields; literal text holds escapes, ``{{``/``}}``, ``\\N{...}``, and
the words ``import hidden`` wherever they fit, which no scanner may report.
tests/integration/test_scanner_crosscheck.py compiles a sample under Python
3.13 to keep that claim honest.
"""

from __future__ import annotations

from hypothesis import strategies as st

QUOTES = ('"', "'", '"""', "'''")
F_PREFIXES = ("f", "F", "rf", "fR", "Rf", "FR", "fr")
T_PREFIXES = ("t", "T", "tr", "Rt", "rT")
PLAIN_PREFIXES = ("", "r", "u", "R", "b", "br", "Rb", "BR")
MAX_DEPTH = 3


def _other(quote: str) -> str:
    return "'" if quote[0] == '"' else '"'


@st.composite
def _literal_text(draw: st.DrawFn, quote: str, *, raw: bool) -> str:
    """Text outside replacement fields: never a lone brace, an open escape or the closing quote."""
    pieces = [
        "a",
        " ",
        "import hidden",
        ":!=()[]#",
        _other(quote),
        "{{",
        "}}",
        "\\n",
        "\\\\",
        "\\" + quote[0],
        "\\\n",
    ]
    if not raw:
        pieces.append("\\N{BULLET}")
    if len(quote) == 3:
        pieces += ["\n", quote[0] + "x"]  # a lone quote of its own kind, never at the end
    return "".join(draw(st.lists(st.sampled_from(pieces), max_size=4)))


@st.composite
def _plain_literal(draw: st.DrawFn) -> str:
    """A non-formatted literal, in any quotes: inside a field, the same as the f-string's too."""
    prefix = draw(st.sampled_from(PLAIN_PREFIXES))
    quote = draw(st.sampled_from(QUOTES))
    pieces = ["x", "{", "}", "#", "import hidden", _other(quote), "\\" + quote[0]]
    if len(quote) == 3:
        pieces += ["\n", quote[0] + "y"]
    body = "".join(draw(st.lists(st.sampled_from(pieces), max_size=3)))
    return f"{prefix}{quote}{body}{quote}"


@st.composite
def _expression(draw: st.DrawFn, depth: int, template: bool) -> str:
    """Code in a replacement field; brackets hold every ``:`` that is not a format spec."""
    kinds = ["name", "number", "plain"]
    if depth < MAX_DEPTH:
        kinds += ["formatted", "call", "subscript", "dict", "lambda", "walrus", "compare"]
        kinds += ["comment", "lines"]
    kind = draw(st.sampled_from(kinds))
    if kind == "name":
        return draw(st.sampled_from(["x", "value", "obj.attr", "café"]))
    if kind == "number":
        return draw(st.sampled_from(["1", "0x1F", "1_000.5e-3"]))
    if kind == "plain":
        return draw(_plain_literal())
    if kind == "formatted":
        return draw(formatted_literals(depth + 1, template=template))

    def inner() -> str:
        return draw(_expression(depth + 1, template))

    if kind == "call":
        return f"g({inner()}, key={inner()})"
    if kind == "subscript":
        return draw(st.sampled_from([f"d[{inner()}]", f"seq[1:{inner()}]", "seq[::2]"]))
    if kind == "dict":
        return f"{{{inner()}: {inner()}}}"
    if kind == "lambda":
        return f"(lambda y: {inner()})(1)"
    if kind == "walrus":
        return f"(z := {inner()})"
    if kind == "compare":
        return f"{inner()} != {inner()}"
    if kind == "comment":  # allowed since 3.12, up to the end of the line
        return f"{inner()} # a comment: ' \" {{ }} import hidden\n"
    return f"(\n  {inner()},\n  {inner()}\n)"  # "lines"


@st.composite
def _format_spec(draw: st.DrawFn, quote: str, depth: int, template: bool) -> str:
    pieces = [">10", "#x", ",", ".2f", "^", _other(quote), "a#b", " "]
    spec = "".join(draw(st.lists(st.sampled_from(pieces), max_size=3)))
    if depth < MAX_DEPTH - 1 and draw(st.booleans()):
        spec += "{" + draw(_expression(MAX_DEPTH, template)) + "}"
        spec += "".join(draw(st.lists(st.sampled_from(pieces), max_size=2)))
    return spec


@st.composite
def _field(draw: st.DrawFn, quote: str, depth: int, template: bool) -> str:
    expression = draw(_expression(depth, template))
    # `{{` would be an escaped brace; a comment needs the rest on the next line.
    text = "{ " + expression if expression.startswith("{") else "{" + expression
    if draw(st.booleans()):
        text += draw(st.sampled_from(["=", " = "]))
    if draw(st.booleans()):
        text += draw(st.sampled_from(["!r", "!s", "!a"]))
    if draw(st.booleans()):
        text += ":" + draw(_format_spec(quote, depth, template))
    return text + "}"


@st.composite
def formatted_literals(draw: st.DrawFn, depth: int = 0, *, template: bool = True) -> str:
    """One f-string (or, with ``template``, t-string), fields nested up to ``MAX_DEPTH``."""
    prefixes = F_PREFIXES + (T_PREFIXES if template else ())
    prefix = draw(st.sampled_from(prefixes))
    quote = draw(st.sampled_from(QUOTES))
    raw = "r" in prefix.lower()
    parts = draw(
        st.lists(
            st.one_of(_literal_text(quote, raw=raw), _field(quote, depth, template)),
            max_size=4,
        )
    )
    return f"{prefix}{quote}{''.join(parts)}{quote}"
