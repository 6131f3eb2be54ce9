"""The import scanner reads exactly the import statements, nothing in strings or comments."""

from __future__ import annotations

import re
import textwrap

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from smartrestart.importgraph import literals, scanner
from smartrestart.importgraph.literals import blank, fast, plain_body
from smartrestart.importgraph.scanner import ImportRecord, scan_source
from smartrestart.importgraph.stringlexer import string_end
from tests.fstring_strategy import formatted_literals


def scan(code: str) -> list[ImportRecord]:
    records, problem = scan_source(textwrap.dedent(code).encode())
    assert problem is None, problem
    return list(records)


def test_plain_and_dotted_imports() -> None:
    assert scan("import os, a.b.c as d\n") == [
        (False, 0, "os", (), False),
        (False, 0, "a.b.c", (), False),
    ]


def test_from_imports_with_parentheses_comments_and_trailing_comma() -> None:
    code = """\
    from pkg.mod import (  # a comment
        one,
        two as second,  # another
    )
    """
    assert scan(code) == [(True, 0, "pkg.mod", ("one", "two"), False)]


def test_relative_and_star_imports() -> None:
    assert scan("from . import x\nfrom ..pkg import y\nfrom .m import *\n") == [
        (True, 1, "", ("x",), False),
        (True, 2, "pkg", ("y",), False),
        (True, 1, "m", ("*",), False),
    ]


def test_imports_in_strings_and_comments_are_not_imports() -> None:
    code = '''\
    """Docstring with an example:

        from django.db import models
        import secret
    """
    # import commented_out
    s = "import not_this"
    t = 'from x import y'
    u = r"""
    import nor_this
    """
    import real
    '''
    assert scan(code) == [(False, 0, "real", (), False)]


def test_backslash_continuation_and_semicolons() -> None:
    code = "from a.b \\\n    import c\nimport x; import y\nif True: import z\n"
    assert scan(code) == [
        (True, 0, "a.b", ("c",), False),
        (False, 0, "x", (), False),
        (False, 0, "y", (), False),
        (False, 0, "z", (), False),
    ]


def test_imports_in_functions_and_try_blocks_count() -> None:
    code = """\
    def f():
        import inside
    try:
        import fast
    except ImportError:
        import slow
    """
    assert [r[2] for r in scan(code)] == ["inside", "fast", "slow"]


def test_type_checking_blocks_are_flagged() -> None:
    code = """\
    from typing import TYPE_CHECKING
    if TYPE_CHECKING:
        from a import A

        import b
    else:
        import c
    import d
    if typing.TYPE_CHECKING: import e
    """
    flags = {r[2]: r[4] for r in scan(code)}
    assert flags == {"typing": False, "a": True, "b": True, "c": False, "d": False, "e": True}


def test_elif_type_checking_is_flagged() -> None:
    code = "if sys.version_info >= (3, 10):\n    import x\nelif TYPE_CHECKING:\n    import y\n"
    assert {r[2]: r[4] for r in scan(code)} == {"x": False, "y": True}


def test_future_imports_are_ignored() -> None:
    assert scan("from __future__ import annotations\n") == []


def test_words_containing_import_are_not_keywords() -> None:
    assert scan("importlib.import_module('x')\n__import__('y')\nreimport = 1\n") == []


def test_unterminated_string_is_a_problem() -> None:
    _, problem = scan_source(b'import a\nx = """never closed\nimport b\n')
    assert problem == "line 2: unterminated triple-quoted string literal"


def test_garbage_import_statement_is_a_problem() -> None:
    _, problem = scan_source(b"from import\nimport 3x\n")
    assert problem is not None
    assert "line 1" in problem


def test_non_ascii_module_names() -> None:
    assert scan("import café\n") == [(False, 0, "café", (), False)]


def test_problem_lines_count_the_lines_inside_literals() -> None:
    code = 'doc = """one\ntwo\nthree"""\nx = f"{\n  y\n}"\nfrom import\n'
    assert scan_source(code.encode()) == ((), "line 7: cannot read import statement")


# --- Python 3.12+ f-strings (PEP 701), 3.14 t-strings (PEP 750), and the rest of the lexicon

AFTER: list[ImportRecord] = [(False, 0, "after", (), False)]

# name -> (code, its import records). All valid Python 3.13 but those in
# NEEDS_PYTHON_314; tests/integration/test_scanner_crosscheck.py checks both
# claims against Python 3.13 itself.
CONSTRUCTS: dict[str, tuple[str, list[ImportRecord]]] = {
    # homeassistant/components/webhook/__init__.py, 2025.4
    "multi-line field in a single-quoted f-string": (
        """\
        url = (
            f"{
                get_url(
                    hass,
                    allow_internal=True,
                )
            }"
        )
        import after
        """,
        AFTER,
    ),
    "same quotes inside fields": (
        """\
        a = f"{d["key"]} and {"import hidden"}"; import after
        b = f'{'\\n'.join(lines)}'
        c = f"{f"{f"{x}"}"}"
        d = f\"\"\"{\"\"\"import hidden\"\"\"} {"'"}\"\"\"
        import last
        """,
        [*AFTER, (False, 0, "last", (), False)],
    ),
    # Read the pre-3.12 way, `"{"` and `"}"` are strings and `import os` is code.
    "a quote that ended the string before PEP 701": (
        'x = f"{"import os"}"\nimport after\n',
        AFTER,
    ),
    "format specs with nested fields and hashes": (
        """\
        a = f"{value:{width}.{precision}f}|{n:#x}|{n:#0{6}x}|{x:'>5}"
        b = f"{x:{w}}}}" f"{{{x}}}" f'{x:{"import hidden"}}' f'{x:\\'>5}'
        import after
        """,
        AFTER,
    ),
    "conversions and = specifiers": (
        'a = f"{x!r} {x=} {x = !s:>10} {a != b=} {(z := 1)=} {x=:{w}}"\nimport after\n',
        AFTER,
    ),
    "comments in multi-line fields": (
        """\
        text = f"{
            value  # a comment with " and ' and { and import hidden
        }"
        other = f\'\'\'{
            x  # import hidden too \'\'\'
        }\'\'\'
        import after
        """,
        AFTER,
    ),
    "escaped braces and named escapes": (
        r"""
        a = f"{{import hidden}} {{{x}}} }}{{"
        b = f"\N{LEFT CURLY BRACKET} {x}"
        c = rf"\N{x}" + f"\{x}\}}"
        import after
        """,
        AFTER,
    ),
    "t-strings": (
        """\
        a = t"{d["key"]!r:>{w}}" + T'{x}' + tr"\\{x}" + Rt\'\'\'{
            y  # import hidden
        }\'\'\'
        import after
        """,
        AFTER,
    ),
    "string prefixes in any case and order": (
        r"""
        a = [rb"\"", Rb'\'', BR"x", bR'x', br"x", u"x", U'x', r"\\", R'x']
        b = [f"{x}", F"{x}", rf"\{x}", fr'{x}', Rf"{x}", fR'{x}', RF"{x}", FR'{x}']
        c = [b"{", rb'}', u"{", "}{"]
        import after
        """,
        AFTER,
    ),
    "words ending in f or t before a string": (
        'if"{":\n    x = 1\nelif"}" in x:\n    pass\nimport after\n',
        AFTER,
    ),
    "backslash continuations": (
        'a = f"{x \\\n + 1}" + f"one \\\n two" \\\n    + "three"\nimport \\\n    after\n',
        AFTER,
    ),
    "CRLF line endings": (
        'x = f"{\r\n  y \\\r\n}"\r\nimport after\r\nfrom a import (\r\n  b,\r\n)\r\n',
        [*AFTER, (True, 0, "a", ("b",), False)],
    ),
    "match, except* and soft keywords": (
        """\
        type Alias = dict[str, "import hidden"]
        match command:
            case {"import": x} if x: import matched
            case ["import", *_]:
                from pkg import other
        try:
            pass
        except* ValueError:
            import recovered
        match = type = case = _ = 1
        import after
        """,
        [
            (False, 0, "matched", (), False),
            (True, 0, "pkg", ("other",), False),
            (False, 0, "recovered", (), False),
            *AFTER,
        ],
    ),
    "TYPE_CHECKING after hard f-strings": (
        """\
        x = f"{d["k"]}"
        if TYPE_CHECKING:
            y = f"{
                z
            }"
            import typed
        import after
        """,
        [(False, 0, "typed", (), True), *AFTER],
    ),
}
NEEDS_PYTHON_314 = {"t-strings"}


@pytest.mark.parametrize("name", CONSTRUCTS)
def test_constructs_of_any_python_from_38_to_314(name: str) -> None:
    code, records = CONSTRUCTS[name]
    assert scan(code) == records


def test_a_byte_order_mark_is_skipped() -> None:
    assert scan_source(b"\xef\xbb\xbfimport os\n") == (((False, 0, "os", (), False),), None)
    code = b'\xef\xbb\xbff"{d["k"]}"; import os\n'
    assert scan_source(code) == (((False, 0, "os", (), False),), None)


def test_invalid_prefixes_lex_as_cpython_does() -> None:
    # `bf` is no prefix: CPython reads the name `bf`, then a plain string.
    assert scan_source(b'y = bf"{"\nimport after\n') == (tuple(AFTER), None)


AFTER_BACKSLASH = "unexpected character after line continuation character"


@pytest.mark.parametrize(
    ("code", "problem"),
    [
        ('x = "never closed\nimport b\n', "line 1: unterminated string literal"),
        ('import a\nx = f"open\nimport b\n', "line 2: unterminated f-string literal"),
        ('import a\nx = t"{\n  y\n', "line 2: unterminated t-string literal"),
        ('x = 1\ny = f"""{x}\nimport b\n', "line 2: unterminated triple-quoted f-string literal"),
        ('x = f"{d["k]}"\nimport b\n', "line 1: unterminated f-string literal"),
        ("x = f'{d['k]}'\nimport b\n", "line 1: unterminated f-string literal"),
        ("x = f'{d[\"k]}'\nimport b\n", "line 1: unterminated string literal"),
        ('x = f"{x:>10"\nimport b\n', "line 1: f-string: expecting '}'"),
        ('x = f"a } b"\nimport b\n', "line 1: f-string: single '}' is not allowed"),
        ('x = f"{d["k")}"\nimport b\n', "line 1: f-string: unmatched ')'"),
        ('x = f"{x \\ y}"\nimport b\n', f"line 1: {AFTER_BACKSLASH}"),
        ("x = rb'\\'\nimport b\n", "line 1: unterminated string literal"),
        ('x = """ "\nimport b\n', "line 1: unterminated triple-quoted string literal"),
    ],
)
def test_broken_literals_are_problems(code: str, problem: str) -> None:
    assert scan_source(code.encode())[1] == problem


def test_fstrings_valid_before_312_stay_on_the_fast_path() -> None:
    code = b"""a = f"{x!r:>{width}} {d['k']} {{literal}} {y=}" + rf'\\d{n}' + f'''{z}'''\n"""
    assert b'"' not in fast().sub(b" ", code)
    assert b"'" not in fast().sub(b" ", code)


# --- properties


LAYOUTS = ["{} ; import after\n", "call(\n    {},\n)\nimport after\n"]


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(formatted_literals(), st.sampled_from(LAYOUTS))
def test_random_fstring_nesting_never_hides_or_invents_imports(literal: str, layout: str) -> None:
    code = "import before\nvalue = " + layout.format(literal) + "from pkg import name\n"
    assert scan_source(code.encode()) == (
        (
            (False, 0, "before", (), False),
            (False, 0, "after", (), False),
            (True, 0, "pkg", ("name",), False),
        ),
        None,
    )


LITERAL_PIECES = ['"', "'", "{", "}", "{{", "}}", "\\", "\n", "#", ":", "!r", "=", "x", "(", "]"]


@settings(max_examples=3000)
@given(
    st.sampled_from(["", "r", "b", "f", "rf", "t", "Tr", "if"]),
    st.sampled_from(['"', "'", '"""', "'''"]),
    st.lists(st.sampled_from(LITERAL_PIECES), max_size=12),
)
def test_the_fast_path_ends_a_literal_only_where_every_python_does(
    prefix: str, quote: str, pieces: list[str]
) -> None:
    """A fast-path match ends where the PEP 701 lexer does, and where pre-3.12 Python did.

    The fast path does not pair brackets inside fields: where they do not
    match (``f"{(}"``), every Python rejects the file, and still agrees on
    where the literal ends.
    """
    source = f"{prefix}{quote}{''.join(pieces)}".encode()
    start = len(prefix)
    matched = fast().match(source, start)
    if matched is None:
        return
    end, problem = string_end(source, start)
    if problem is None:
        assert end == matched.end()
    else:
        assert "unmatched" in problem[1]
    opening = quote[:1].encode() * (3 if source.startswith(quote[:1].encode() * 3, start) else 1)
    before_pep_701 = re.compile(
        re.escape(opening) + plain_body(opening[:1], triple=len(opening) == 3), re.DOTALL
    )
    match = before_pep_701.match(source, start)
    assert match is not None
    assert match.end() == matched.end()


# Pieces of import statements and of what surrounds them, mutated at random.
STATEMENT_PIECES = ["from", "import", " ", "\t", ".", "..", "a", "b.c", "(", ")", ",", "\n"]
STATEMENT_PIECES += ["\\\n", ";", ":", " as ", "*", "__future__", "#c\n", "\r\n", "é", "'s'"]
STATEMENT_PIECES += ["if TYPE_CHECKING:\n    ", "importlib", "import.", "_import", "\x0c", "1"]
STATEMENTS = ["from a import b\n", "import a.b as c, d\n", "from . import (x,\n y as z,\n)\n"]
STATEMENTS += ["from ..m import *\n", "    from q import r\n", "from import.m import x\n"]


@settings(max_examples=2000, deadline=None)
@given(
    st.lists(st.sampled_from(STATEMENTS), min_size=1, max_size=3),
    st.lists(
        st.tuples(st.integers(0, 200), st.sampled_from(STATEMENT_PIECES), st.booleans()),
        max_size=3,
    ),
)
def test_the_usual_statements_read_in_one_match_as_the_general_parse_reads_them(
    statements: list[str], edits: list[tuple[int, str, bool]]
) -> None:
    """Every line the one-match reading takes, the general parse reads the same way."""
    text = "".join(statements)
    for offset, piece, insert in edits:
        at = offset % (len(text) + 1)
        text = text[:at] + piece + text[at:] if insert else text[:at] + text[at + 3 :]
    source = text.encode()
    with pytest.MonkeyPatch.context() as patched:
        patched.setattr(scanner, "_simple_statement", lambda code, keyword, type_checking: None)
        general = scan_source(source)
    assert scan_source(source) == general


def blanked_by_substitution(source: bytes) -> bytes | None:
    """The fast path as a substitution of every token found (None: a quote is left)."""
    code = fast().sub(b" ", source)
    return None if b'"' in code or b"'" in code else code


@settings(max_examples=3000, deadline=None)
@given(
    st.lists(
        st.sampled_from([*LITERAL_PIECES, "f", "r", "t", "'''", '"""', " ", "a", "\\\n", "\r"]),
        max_size=12,
    )
)
def test_the_split_into_code_and_tokens_blanks_as_substituting_the_tokens_does(
    pieces: list[str],
) -> None:
    """Where the substitution leaves no quote, the split gives its very code; else neither."""
    source = "".join(pieces).encode()
    expected = blanked_by_substitution(source)
    parts = literals._SPLIT.split(source + literals._END)
    if expected is None:
        assert any(parts[0::2])
    else:
        assert not any(parts[0::2])
        assert blank(source) == (expected, None)
