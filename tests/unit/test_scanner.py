"""The import scanner reads exactly the import statements, nothing in strings or comments."""

from __future__ import annotations

import textwrap

from smartrestart.importgraph.scanner import scan_source


def scan(code: str) -> list[tuple[bool, int, str, tuple[str, ...], bool]]:
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
    assert problem is not None
    assert "unterminated string" in problem


def test_garbage_import_statement_is_a_problem() -> None:
    _, problem = scan_source(b"from import\nimport 3x\n")
    assert problem is not None
    assert "line 1" in problem


def test_non_ascii_module_names() -> None:
    assert scan("import café\n") == [(False, 0, "café", (), False)]
