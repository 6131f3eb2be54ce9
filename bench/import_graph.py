"""Our import graph against grimp's Rust core, on Django's source tree.

Each measurement runs in a fresh interpreter and times only the graph work
(not interpreter start-up). Cold: no cache. Warm: our cache from the previous
run (grimp has no cross-process cache without its own cache dir, and its
cold time is the baseline the issue sets). Also checks that both find the
same importers of one leaf module.

Targets: cold no slower than grimp; warm at least 5x faster than grimp cold.
"""

from __future__ import annotations

import importlib.util
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

LEAF = "django.utils.functional"
RUNS = 7

GRIMP = """
import json, sys, time
import grimp
t = time.perf_counter()
graph = grimp.build_graph("django", cache_dir=None, exclude_type_checking_imports=True)
built = time.perf_counter() - t
t = time.perf_counter()
importers = graph.find_downstream_modules(sys.argv[1])
queried = time.perf_counter() - t
print(json.dumps({"build": built, "query": queried, "modules": len(graph.modules),
                  "importers": sorted(importers)}))
"""

OURS = """
import json, sys, time
from pathlib import Path
from typing import Any
from smartrestart.importgraph.build import build_graph
root, leaf_file, cache = Path(sys.argv[1]), sys.argv[2], sys.argv[3]
t = time.perf_counter()
graph = build_graph([root], cache_dir=Path(cache))
built = time.perf_counter() - t
t = time.perf_counter()
chains = graph.expand([leaf_file])
queried = time.perf_counter() - t
modules = sorted(graph.locate(p)[0] for p in chains)
print(json.dumps({"build": built, "query": queried, "modules": graph.stats.files,
                  "scanned": graph.stats.scanned, "importers": modules}))
"""


def run(code: str, *args: str) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, check=True
    )
    result: dict[str, Any] = json.loads(out.stdout)
    return result


def main() -> None:
    spec = importlib.util.find_spec("django")
    if spec is None or not spec.submodule_search_locations:
        sys.exit("Django is not installed here: pip install '.[bench]'")
    root = Path(next(iter(spec.submodule_search_locations)))
    leaf_file = str(root / "utils" / "functional.py")
    grimp_runs: list[dict[str, Any]] = []
    cold_runs: list[dict[str, Any]] = []
    warm_runs: list[dict[str, Any]] = []
    for _ in range(RUNS):
        grimp_runs.append(run(GRIMP, LEAF))
        with tempfile.TemporaryDirectory() as cache:
            cold_runs.append(run(OURS, str(root), leaf_file, cache))
            warm_runs.append(run(OURS, str(root), leaf_file, cache))

    def median(runs: list[dict[str, Any]], key: str) -> float:
        return statistics.median(float(r[key]) for r in runs)

    grimp_build = median(grimp_runs, "build")
    cold = median(cold_runs, "build")
    warm = median(warm_runs, "build")

    def row(label: str, runs: list[dict[str, Any]]) -> str:
        build = median(runs, "build")
        query = median(runs, "query")
        return f"{label:32} {build * 1e3:9.1f} {query * 1e3:9.2f} {build / grimp_build:9.2f}"

    print(f"Django {root} ({grimp_runs[0]['modules']} modules), median of {RUNS} fresh processes")
    print(f"{'':32} {'build ms':>9} {'query ms':>9} {'vs grimp':>9}")
    print(row("grimp (Rust core), cold", grimp_runs))
    print(row("smartrestart, cold (no cache)", cold_runs))
    print(row("smartrestart, warm (cache)", warm_runs))
    print(f"smartrestart cold / grimp cold = {cold / grimp_build:.2f} (target <= 1)")
    print(f"grimp cold / smartrestart warm = {grimp_build / warm:.1f}x (target >= 5x)")
    assert all(r["scanned"] == 0 for r in warm_runs), "warm runs re-scanned files"

    theirs: set[str] = set(grimp_runs[0]["importers"])
    ours: set[str] = set(warm_runs[0]["importers"])
    print(
        f"\nimporters of {LEAF}: grimp {len(theirs)}, smartrestart {len(ours)}, "
        f"common {len(theirs & ours)}"
    )
    only_ours = sorted(ours - theirs)
    if only_ours:
        print(
            f"only smartrestart ({len(only_ours)}; it also counts the package __init__ modules "
            f"that importing a submodule runs), e.g. {only_ours[:3]}"
        )
    only_theirs = sorted(theirs - ours)
    if only_theirs:
        print(f"only grimp ({len(only_theirs)}), e.g. {only_theirs[:5]}")


if __name__ == "__main__":
    main()
