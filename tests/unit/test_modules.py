from __future__ import annotations

from smartrestart.importgraph.modules import dependencies, module_name, resolve_base


def test_module_names() -> None:
    assert module_name("a/b/c.py") == ("a.b.c", False)
    assert module_name("a/b/__init__.py") == ("a.b", True)
    assert module_name("__init__.py") is None
    assert module_name("a/b.txt") is None
    assert module_name("") is None  # the import root itself


def test_relative_import_in_package_init_is_relative_to_the_package_itself() -> None:
    # The original resolved this one package too high.
    assert resolve_base(1, "x", "pkg.sub", importer_is_package=True) == "pkg.sub.x"
    assert resolve_base(1, "x", "pkg.sub.mod", importer_is_package=False) == "pkg.sub.x"
    assert resolve_base(2, "y", "pkg.sub", importer_is_package=True) == "pkg.y"
    assert resolve_base(3, "", "pkg.sub.mod", importer_is_package=False) is None


def test_import_a_b_c_depends_on_every_parent_package() -> None:
    runtime, _ = dependencies([(False, 0, "a.b.c", (), False)], "user", False)
    assert runtime == {"a", "a.b", "a.b.c"}


def test_from_package_import_name_may_be_a_submodule() -> None:
    runtime, _ = dependencies([(True, 0, "pkg", ("leaf", "helper"), False)], "user", False)
    assert runtime == {"pkg", "pkg.leaf", "pkg.helper"}


def test_star_import_depends_on_the_package_only() -> None:
    runtime, _ = dependencies([(True, 1, "", ("*",), False)], "pkg.mod", False)
    assert runtime == {"pkg"}


def test_type_checking_dependencies_are_separate() -> None:
    runtime, typing_only = dependencies(
        [(False, 0, "a", (), True), (False, 0, "b", (), False), (False, 0, "b", (), True)],
        "m",
        False,
    )
    assert runtime == {"b"}
    assert typing_only == {"a"}
