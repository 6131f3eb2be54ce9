"""`smartrestart decide --root` against grimp, whole processes, on real trees.

Every measurement is one whole process, started and awaited as a deploy script
would, with its wall time, CPU time (user + system, children included, from
``os.wait4``) and peak RSS (``ru_maxrss``: the largest of the process and its
forked scanner, not their sum), started from a small runner process so the
RSS is the command's own (``_spawn.py`` says why). The commands of one tree run interleaved,
round after round, so machine noise hits all of them alike:

* floor: ``python -c "import click, yaml"``; nothing built on these starts faster;
* ours cold: ``python -m smartrestart decide --config-root /nonexistent -r RULES
  --root TREE --cache-dir DIR LEAF`` with a fresh, empty DIR each run;
* ours warm: the same with the cache DIR of the previous runs, nothing changed;
* ours touched: warm, after rewriting LEAF (a comment appended, a new mtime);
  the file is put back (content and mtime) after the run, so "warm" stays warm;
* grimp cold / warm: ``grimp.build_graph(*packages, cache_dir=DIR,
  exclude_type_checking_imports=True).find_downstream_modules(LEAF)`` in
  ``python -c`` as a user would run it, with a fresh or a kept cache DIR.

Targets (the issue): warm within 30 ms of the floor up to 2k files; at 13k
files warm at least 5x faster than grimp warm; cold no slower than grimp cold
on every tree, both cores used (counted as met from CPU/wall 1.5 on); touched
within 20 ms of warm; peak memory no more than grimp's on the same tree.
Ratios and differences are taken round by round (the two commands met the
same machine state) and their median is reported, with the middle half of the
rounds to show how noisy it was.

    python bench/import_graph.py [--trees django,sympy,all] [--runs N] [--runs-large N]
"""

from __future__ import annotations

import argparse
import compileall
import contextlib
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _timing import Sample, Spawner
from trees import Tree, cache_dir, ensure_tree

SOURCE = Path(__file__).resolve().parent.parent / "src"
# The changed file of each tree: modules many others import, as a real change would touch.
LEAVES = {
    "django": "django/utils/functional.py",
    "sympy": "sympy/core/basic.py",
    "all": "homeassistant/const.py",
}
FLOOR = 'python -c "import click, yaml"'
PAIRS = (
    ("ours warm", FLOOR),
    ("ours touched", "ours warm"),
    ("ours warm", "grimp warm"),
    ("ours cold", "grimp cold"),
)
SEED = 20250404
LARGE_FILES = 5000  # trees above this many files get --runs-large rounds
RULES = """\
actions:
  restart_app: {units: [app.service]}
rules:
  - {pattern: "**", actions: [restart_app]}
"""
GRIMP = """\
import sys, grimp
graph = grimp.build_graph(*sys.argv[3:], cache_dir=sys.argv[1], exclude_type_checking_imports=True)
print(len(graph.find_downstream_modules(sys.argv[2])))
"""


@dataclass
class Command:
    """A command to time; ``argv`` is built just before each run (fresh cache dirs)."""

    name: str
    argv: Callable[[], list[str]]
    env: dict[str, str]
    before: Callable[[], None] = lambda: None
    after: Callable[[], None] = lambda: None
    samples: list[Sample] = field(default_factory=list)


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def spread(values: Sequence[float]) -> float:
    """Interquartile range relative to the median: how noisy the runs were."""
    if len(values) < 4:
        return (max(values) - min(values)) / median(values)
    q1, _, q3 = statistics.quantiles(values, n=4)
    return (q3 - q1) / median(values)


@dataclass
class Result:
    tree: Tree
    leaf: str
    commands: dict[str, Command]
    grimp_importers: int
    our_importers: int
    problems: int

    def wall(self, name: str) -> float:
        return median([s.wall for s in self.commands[name].samples])

    def paired(self, a: str, b: str, how: Callable[[float, float], float]) -> list[float]:
        """``how(a, b)`` of each round: both ran in it, so they met the same machine."""
        return [
            how(x.wall, y.wall)
            for x, y in zip(self.commands[a].samples, self.commands[b].samples, strict=True)
        ]

    def ratio(self, a: str, b: str) -> float:
        """Median over the rounds of a's wall time over b's."""
        return median(self.paired(a, b, lambda x, y: x / y))

    def difference_ms(self, a: str, b: str) -> float:
        """Median over the rounds of a's wall time minus b's, in ms."""
        return median(self.paired(a, b, lambda x, y: (x - y) * 1e3))

    def cpu_ratio(self, name: str) -> float:
        return median([s.cpu / s.wall for s in self.commands[name].samples])

    def rss_mb(self, name: str) -> float:
        return median([s.rss_kb for s in self.commands[name].samples]) / 1024


class Workspace:
    """Scratch directories (cache dirs, the rules file) under the bench cache."""

    def __init__(self) -> None:
        base = cache_dir() / "work"
        base.mkdir(parents=True, exist_ok=True)
        self.path = Path(tempfile.mkdtemp(prefix="run-", dir=base))
        self.rules = self.path / "restart-rules.yaml"
        self.rules.write_text(RULES)

    def fresh(self, prefix: str) -> str:
        return tempfile.mkdtemp(prefix=prefix, dir=self.path)

    def remove(self) -> None:
        shutil.rmtree(self.path, ignore_errors=True)


@contextlib.contextmanager
def touched(path: Path, round_number: list[int]) -> Iterator[None]:
    """``path`` rewritten in place with a comment appended, then put back exactly."""
    original = path.read_bytes()
    stat = path.stat()
    round_number[0] += 1
    path.write_bytes(original + f"\n# bench edit {round_number[0]}\n".encode())
    try:
        yield
    finally:
        path.write_bytes(original)
        os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))


def our_argv(work: Workspace, tree: Tree, leaf: Path, cache: str, *extra: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "smartrestart",
        "decide",
        "--config-root",
        "/nonexistent",
        "-r",
        str(work.rules),
        "--root",
        str(tree.path),
        "--cache-dir",
        cache,
        *extra,
        str(leaf),
    ]


def our_json(
    work: Workspace, tree: Tree, leaf: Path, cache: str, env: dict[str, str]
) -> dict[str, object]:
    """One run with --json: the actions, the added files, and the cache statistics."""
    out = subprocess.run(
        our_argv(work, tree, leaf, cache, "--json"),
        cwd=work.path,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    data: dict[str, object] = json.loads(out.stdout)
    return data


def measure_tree(tree: Tree, runs: int, work: Workspace, spawner: Spawner) -> Result:
    leaf = tree.path / LEAVES[tree.name]
    module = LEAVES[tree.name].removesuffix(".py").removesuffix("/__init__").replace("/", ".")
    base_env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    ours_env = {**base_env, "PYTHONPATH": str(SOURCE)}
    grimp_env = {**base_env, "PYTHONPATH": str(tree.path)}
    python = sys.executable
    warm_cache = work.fresh("ours-warm-")
    touched_cache = work.fresh("ours-touched-")
    grimp_warm_cache = work.fresh("grimp-warm-")
    edits = [0]
    cold: dict[str, str] = {}  # command -> its cache dir for this run
    editing: list[contextlib.AbstractContextManager[None]] = []

    def grimp(cache: str) -> list[str]:
        return [python, "-c", GRIMP, cache, module, *tree.packages]

    def make_cold(key: str) -> Callable[[], None]:
        return lambda: cold.__setitem__(key, work.fresh(key.replace(" ", "-") + "-"))

    def drop_cold(key: str) -> Callable[[], None]:
        return lambda: shutil.rmtree(cold.pop(key), ignore_errors=True)

    def start_edit() -> None:
        editing.append(touched(leaf, edits))
        editing[-1].__enter__()

    def end_edit() -> None:
        editing.pop().__exit__(None, None, None)

    commands = [
        Command(FLOOR, lambda: [python, "-c", "import click, yaml"], ours_env),
        Command(
            "ours cold",
            lambda: our_argv(work, tree, leaf, cold["ours cold"]),
            ours_env,
            make_cold("ours cold"),
            drop_cold("ours cold"),
        ),
        Command("ours warm", lambda: our_argv(work, tree, leaf, warm_cache), ours_env),
        Command(
            "ours touched",
            lambda: our_argv(work, tree, leaf, touched_cache),
            ours_env,
            start_edit,
            end_edit,
        ),
        Command(
            "grimp cold",
            lambda: grimp(cold["grimp cold"]),
            grimp_env,
            make_cold("grimp cold"),
            drop_cold("grimp cold"),
        ),
        Command("grimp warm", lambda: grimp(grimp_warm_cache), grimp_env),
    ]

    # Check what is measured before measuring it: this fills the warm caches,
    # and the JSON of warm and touched runs says how many files were re-read.
    our_importers, problems = check_ours(
        work, tree, leaf, warm_cache, touched_cache, edits, ours_env
    )
    grimp_out = subprocess.run(
        grimp(grimp_warm_cache),
        cwd=work.path,
        env=grimp_env,
        capture_output=True,
        text=True,
        check=True,
    )
    grimp_importers = int(grimp_out.stdout)

    # A new order every round (seeded): rotating would keep each command behind
    # the same one, and one that just wrote a cache leaves dirty pages behind.
    order = random.Random(SEED)
    for _ in range(runs):
        for command in order.sample(commands, len(commands)):
            command.before()
            try:
                command.samples.append(spawner.run(command.argv(), command.env, str(work.path)))
            finally:
                command.after()
    return Result(
        tree,
        LEAVES[tree.name],
        {c.name: c for c in commands},
        grimp_importers,
        our_importers,
        problems,
    )


def check_ours(
    work: Workspace,
    tree: Tree,
    leaf: Path,
    warm_cache: str,
    touched_cache: str,
    edits: list[int],
    env: dict[str, str],
) -> tuple[int, int]:
    """Fill both caches; make sure warm re-reads nothing and touched re-reads one file."""
    first = our_json(work, tree, leaf, warm_cache, env)
    our_json(work, tree, leaf, touched_cache, env)
    warm = our_json(work, tree, leaf, warm_cache, env)
    with touched(leaf, edits):
        edited = our_json(work, tree, leaf, touched_cache, env)
    again = our_json(work, tree, leaf, warm_cache, env)
    for data, scanned in ((warm, 0), (edited, 1), (again, 0)):
        stats = data["graph"]
        assert isinstance(stats, dict), stats
        if stats["scanned"] != scanned:
            raise SystemExit(f"bench: expected {scanned} file(s) re-read, got {stats}")
    actions = first["actions"]
    assert isinstance(actions, list) and [a["name"] for a in actions] == ["restart_app"], actions
    expanded = first["expanded"]
    assert isinstance(expanded, list), expanded
    warnings = first.get("warnings", [])
    assert isinstance(warnings, list)
    problems = sum(1 for w in warnings if "treated as importing everything" in w)
    problems += sum(int(w.split()[2]) for w in warnings if w.startswith("... and "))
    return len(expanded), problems


def print_tree(result: Result, runs: int) -> None:
    tree = result.tree
    print(
        f"\n{tree.name}: {tree.files} .py files ({', '.join(tree.packages)}), "
        f"changed {result.leaf}; median of {runs} interleaved rounds"
    )
    print(
        f"  importers found: ours {result.our_importers} files, "
        f"grimp {result.grimp_importers} modules; "
        f"files ours reads as importing everything: {result.problems}"
    )
    print(f"  {'command':32} {'wall ms':>9} {'IQR/med':>8} {'CPU/wall':>9} {'peak RSS MB':>12}")
    for name, command in result.commands.items():
        walls = [s.wall for s in command.samples]
        print(
            f"  {name:32} {median(walls) * 1e3:9.1f} {spread(walls) * 100:7.0f}% "
            f"{result.cpu_ratio(name):9.2f} {result.rss_mb(name):12.1f}"
        )
    print("  paired by round (median, and the middle half of the rounds):")
    for a, b in PAIRS:
        rounds = sorted(result.paired(a, b, lambda x, y: (x - y) * 1e3))
        quarter = len(rounds) // 4
        print(
            f"    {a} minus {b}: {median(rounds):+.0f} ms "
            f"({rounds[quarter]:+.0f} .. {rounds[-1 - quarter]:+.0f})"
        )


def print_summary(results: list[Result]) -> None:
    print(
        "\nThe issue's table, whole processes: the ms are each command's median; a ratio"
        " or a difference is the median of the per-round ones (paired, same machine state)."
    )
    print(
        "| tree | files | ours cold / grimp cold | ours warm / grimp warm "
        "| ours warm minus start-up floor | touched minus warm | peak RSS ours / grimp (cold) |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|")
    for r in results:
        cold = r.ratio("ours cold", "grimp cold")
        warm = r.ratio("ours warm", "grimp warm")
        over_floor = r.difference_ms("ours warm", FLOOR)
        edit = r.difference_ms("ours touched", "ours warm")
        rss = r.rss_mb("ours cold") / r.rss_mb("grimp cold")
        print(
            f"| {r.tree.name} | {r.tree.files} "
            f"| {r.wall('ours cold') * 1e3:.0f} / {r.wall('grimp cold') * 1e3:.0f} ms = {cold:.2f} "
            f"| {r.wall('ours warm') * 1e3:.0f} / {r.wall('grimp warm') * 1e3:.0f} ms = {warm:.2f} "
            f"| {over_floor:+.0f} ms | {edit:+.0f} ms | {rss:.2f} |"
        )
    print("\nTargets:")
    for r in results:
        name = r.tree.name
        checks: list[tuple[str, bool]] = []
        if r.tree.files <= 2000:
            over = r.difference_ms("ours warm", FLOOR)
            checks.append((f"warm within 30 ms of the floor: {over:+.0f} ms", over <= 30))
        else:
            speedup = r.ratio("grimp warm", "ours warm")
            checks.append((f"warm >= 5x faster than grimp warm: {speedup:.2f}x", speedup >= 5))
        cold = r.ratio("ours cold", "grimp cold")
        checks.append((f"cold no slower than grimp cold: {cold:.2f}x its time", cold <= 1))
        cpu = r.cpu_ratio("ours cold")
        checks.append((f"cold uses both cores: CPU/wall {cpu:.2f} (met from 1.5 on)", cpu >= 1.5))
        edit = r.difference_ms("ours touched", "ours warm")
        checks.append((f"touched within 20 ms of warm: {edit:+.0f} ms", edit <= 20))
        for kind in ("cold", "warm"):
            ours, theirs = r.rss_mb(f"ours {kind}"), r.rss_mb(f"grimp {kind}")
            checks.append(
                (
                    f"peak RSS {kind} no more than grimp's: {ours:.0f} vs {theirs:.0f} MB",
                    ours <= theirs,
                )
            )
        for text, met in checks:
            print(f"  {name:7} {'met ' if met else 'MISS'}  {text}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--trees", default="django,sympy,all", help="comma-separated (default: %(default)s)"
    )
    parser.add_argument("--runs", type=int, default=31, help="rounds on trees up to 5k files")
    parser.add_argument("--runs-large", type=int, default=9, help="rounds on larger trees")
    args = parser.parse_args()
    # Installed packages carry bytecode; a checkout would recompile every run.
    compileall.compile_dir(str(SOURCE), quiet=1)
    trees = [ensure_tree(name) for name in args.trees.split(",") if name]
    try:
        grimp_version = version("grimp")
    except PackageNotFoundError:
        sys.exit("bench: grimp is not installed here: pip install -e '.[bench]'")
    print(
        f"smartrestart decide --root vs grimp {grimp_version}, Python "
        f"{sys.version.split()[0]}, {os.cpu_count()} CPUs, load average before "
        f"{os.getloadavg()[0]:.2f}"
    )
    work = Workspace()
    results: list[Result] = []
    try:
        with Spawner() as spawner:
            for tree in trees:
                runs = args.runs_large if tree.files > LARGE_FILES else args.runs
                result = measure_tree(tree, runs, work, spawner)
                print_tree(result, runs)
                results.append(result)
    finally:
        work.remove()
    runner = max(s.runner_rss_kb for r in results for c in r.commands.values() for s in c.samples)
    print(f"(peak RSS below the runner's own {runner / 1024:.1f} MB would read as that)")
    print(f"\nload average after: {os.getloadavg()[0]:.2f}")
    print_summary(results)


if __name__ == "__main__":
    main()
