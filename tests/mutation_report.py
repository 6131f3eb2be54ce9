"""Per-module kill rates from the last `mutmut run` (what `make mutation` prints).

mutmut keeps one result per mutant in mutants/<source>.meta; its own summary is
one total, and the target (85 % killed) holds per module. A timeout counts as
killed (the mutant made a test hang, so the tests noticed), and so does pytest's
"interrupted" (the KeyboardInterrupt a test injects escaped: the mutant let it
through); a mutant no test calls counts as survived. Survivors not named in
tests/mutation-survivors.md (where each one left alive says why) are listed, and
fail the run, as are modules under the target.

    python tests/mutation_report.py [--target 85] [--all-survivors] [PATTERN]

PATTERN (as given to `mutmut run`, e.g. 'smartrestart.budget.*') limits the
table to the modules whose mutants it names.
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXPLAINED = ROOT / "tests" / "mutation-survivors.md"
# mutmut's exit codes (mutmut/stats.py) for the outcomes the table shows.
OUTCOME_BY_EXIT_CODE = {
    1: "killed",
    2: "killed",
    3: "killed",
    0: "survived",
    5: "no tests",
    33: "no tests",
}
TIMEOUT_CODES = {36, 24, -24, 152, 255}


def outcome(exit_code: int | None) -> str:
    """The table's column for one mutant's recorded exit code."""
    if exit_code is None:
        return "not run"
    if exit_code in TIMEOUT_CODES:
        return "timeout"
    return OUTCOME_BY_EXIT_CODE.get(exit_code, "other")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target", type=float, default=85.0, help="least percent killed")
    parser.add_argument("--all-survivors", action="store_true", help="list explained ones too")
    parser.add_argument("pattern", nargs="?", default="*", help="mutant names, as mutmut takes")
    options = parser.parse_args()
    metas = sorted((ROOT / "mutants").rglob("*.py.meta"))
    if not metas:
        print("no mutmut results under mutants/: run `make mutation` first", file=sys.stderr)
        return 2
    explained = EXPLAINED.read_text(encoding="utf-8") if EXPLAINED.exists() else ""
    columns = ("killed", "timeout", "survived", "no tests", "not run", "other")
    print(f"{'module':40} {'mutants':>7} " + " ".join(f"{c:>8}" for c in columns) + "   score")
    failed = False
    unexplained: list[str] = []
    for meta in metas:
        module = str(meta.relative_to(ROOT / "mutants" / "src"))[: -len(".py.meta")]
        module = module.replace("/", ".")
        results: dict[str, int | None] = json.loads(meta.read_text())["exit_code_by_key"]
        if not results or not fnmatch.fnmatch(f"{module}.x_", options.pattern):
            continue  # nothing to mutate in it (rules/model.py), or not asked for
        counts = Counter(outcome(code) for code in results.values())
        score = 100.0 * (counts["killed"] + counts["timeout"]) / len(results)
        below = score < options.target or counts["not run"] > 0
        failed |= below
        row = " ".join(f"{counts[c]:>8}" for c in columns)
        print(f"{module:40} {len(results):>7} {row} {score:6.1f}%{' <' * below}")
        for name, code in sorted(results.items()):
            if outcome(code) in ("survived", "no tests", "other"):
                is_explained = f"`{name}`" in explained
                if not is_explained:
                    unexplained.append(name)
                if options.all_survivors and is_explained:
                    print(f"    explained: {name} ({outcome(code)})")
    for name in unexplained:
        print(f"    unexplained survivor: {name} (see `mutmut show {name}`)")
    if failed or unexplained:
        print(
            f"below {options.target:g} % (<), not run, or survivors not in "
            f"{EXPLAINED.relative_to(ROOT)}",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
