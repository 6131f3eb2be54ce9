"""Import expansion finds everything grimp finds, on 15 leaves across the real trees.

For each leaf module, grimp's ``find_downstream_modules`` (type-checking
imports excluded, as smartrestart's default) is compared with the module names
of the files smartrestart's expansion adds. Missing (grimp finds it, we do
not) must be none: a missed importer is a unit that silently does not restart.
Extra (we find it, grimp does not) is explained by the first step of our
import chain that grimp has no direct import for:

* package __init__: the importer imports a submodule of the package (``import
  a.b`` or ``from a.b import x`` runs ``a/__init__.py``), which grimp records
  as an import of the submodule only, or not at all when the submodule is an
  extension module (``pandas._libs.tslibs.dtypes``): grimp sees ``.py`` files;
* importing everything: a file our scanner cannot read with certainty (today:
  PEP 701 f-strings) is taken to depend on any change;
* outside grimp's graph: a file that is not in the packages grimp was given
  (``isympy.py`` beside ``sympy/``, directories without ``__init__.py``).

Leaves, chosen deterministically: on django and sympy the two modules with
the most direct importers and three drawn with a fixed seed from those with at
least one; on the 13k-file tree, the most imported module of each of
homeassistant, pandas, scipy and sqlalchemy, and one more drawn with the seed.

Exits 1 when anything is missing.

    python bench/grimp_agreement.py [--trees django,sympy,all] [-v]
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import os
import random
import sys
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from smartrestart.importgraph.build import build_graph
from smartrestart.importgraph.graph import ImportGraph
from smartrestart.importgraph.modules import dependencies
from smartrestart.importgraph.scanner import scan_source
from trees import Tree, ensure_tree

SEED = 20250404
# The packages leaves are drawn from on each tree; None: every package of it.
LEAF_PACKAGES: dict[str, tuple[str, ...] | None] = {
    "django": None,
    "sympy": None,
    "all": ("homeassistant", "pandas", "scipy", "sqlalchemy"),
}


def grimp_graph(tree: Tree) -> Any:
    import grimp

    sys.path.insert(0, str(tree.path))
    importlib.invalidate_caches()
    try:
        for package in tree.packages:  # grimp finds packages on sys.path: ours, not the venv's
            spec = importlib.util.find_spec(package)
            origin = spec.origin if spec else None
            if origin is None or not Path(origin).is_relative_to(tree.path):
                raise SystemExit(f"bench: {package} resolves to {origin}, not under {tree.path}")
        return grimp.build_graph(*tree.packages, cache_dir=None, exclude_type_checking_imports=True)
    finally:
        sys.path.remove(str(tree.path))


def choose_leaves(tree: Tree, graph: Any) -> list[str]:
    wanted = LEAF_PACKAGES[tree.name] or tree.packages
    rng = random.Random(f"{SEED}-{tree.name}")
    importers = {
        module: len(graph.find_modules_that_directly_import(module))
        for module in sorted(graph.modules)
        if module.split(".")[0] in wanted and tree.module_file(module)
    }

    def most_imported(modules: list[str]) -> str:
        return max(modules, key=lambda m: (importers[m], m))

    if LEAF_PACKAGES[tree.name] is None:
        leaves = []
        for _ in range(2):
            leaves.append(most_imported([m for m in importers if m not in leaves]))
        drawn = 3
    else:
        leaves = [most_imported([m for m in importers if m.split(".")[0] == p]) for p in wanted]
        drawn = 1
    pool = sorted(m for m, count in importers.items() if count and m not in leaves)
    return leaves + rng.sample(pool, drawn)


def explain_extra(
    module: str, chain: tuple[str, ...], ours: ImportGraph, theirs: Any, problems: set[str]
) -> str:
    """Why our expansion reaches ``module`` and grimp's does not: the first step grimp lacks."""
    names = [_name(ours, path) for path in chain]
    for imported, imported_path, importer, importer_path in zip(
        names, chain, names[1:], chain[1:], strict=False
    ):
        if importer_path in problems:
            return "importing everything"
        if importer not in theirs.modules:
            return "outside grimp's graph"
        if theirs.direct_import_exists(importer=importer, imported=imported):
            continue
        if imported_path.endswith("__init__.py") and any(
            dep.startswith(imported + ".") for dep in _our_dependencies(ours, importer_path)
        ):
            return "package __init__"
        return f"other: {importer} -> {imported}"
    return f"other: chain {' <- '.join(names)}"


def _our_dependencies(graph: ImportGraph, path: str) -> set[str]:
    """The modules the file at ``path`` depends on at run time, as our scanner reads it."""
    located = graph.locate(path)
    if located is None:
        return set()
    records, _ = scan_source(Path(path).read_bytes())
    return dependencies(records, located[0], located[1])[0]


def _name(graph: ImportGraph, path: str) -> str:
    located = graph.locate(path)
    return located[0] if located else path


def compare(tree: Tree, verbose: bool) -> int:
    theirs = grimp_graph(tree)
    ours = build_graph([tree.path], cache_dir=None)
    problems = set(ours.problems)
    leaves = choose_leaves(tree, theirs)
    print(
        f"\n{tree.name}: {tree.files} .py files; grimp {len(theirs.modules)} modules; "
        f"files ours reads as importing everything: {len(problems)}"
    )
    for path, problem in sorted(ours.problems.items()):
        print(f"  importing everything: {os.path.relpath(path, tree.path)}: {problem}")
    print(f"  {'leaf':52} {'grimp':>6} {'ours':>6} {'missing':>8} {'extra':>6}  extra by kind")
    missing_total = 0
    for leaf in leaves:
        leaf_file = tree.module_file(leaf)
        assert leaf_file is not None, leaf
        found = theirs.find_downstream_modules(leaf)
        chains = ours.expand([str(leaf_file)]).chains()
        added = {_name(ours, path): chain for path, chain in chains.items()}
        missing = sorted(found - added.keys())
        extra = sorted(added.keys() - found)
        kinds = Counter(explain_extra(m, added[m], ours, theirs, problems) for m in extra)
        missing_total += len(missing)
        described = ", ".join(f"{kind} {count}" for kind, count in kinds.most_common())
        print(
            f"  {leaf:52} {len(found):6} {len(added):6} {len(missing):8} {len(extra):6}  "
            f"{described}"
        )
        for module in missing:
            chain = theirs.find_shortest_chain(importer=module, imported=leaf)
            print(f"    MISSING {module}: grimp's chain {' -> '.join(chain or ())}")
        if verbose:
            for module in extra:
                why = explain_extra(module, added[module], ours, theirs, problems)
                chain = " <- ".join(_name(ours, p) for p in added[module])
                print(f"    extra {module} ({why}): {chain}")
    return missing_total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--trees", default="django,sympy,all", help="comma-separated (default: %(default)s)"
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="list every extra module")
    args = parser.parse_args()
    from importlib.metadata import version

    print(f"grimp {version('grimp')} find_downstream_modules against smartrestart's expansion")
    missing = sum(
        compare(ensure_tree(name), args.verbose) for name in args.trees.split(",") if name
    )
    print(f"\nmissing in total: {missing} (must be 0)")
    sys.exit(1 if missing else 0)


if __name__ == "__main__":
    main()
