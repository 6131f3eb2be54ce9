"""Throughput of the import scanner on real trees, against a baseline copy of it.

In-process: every ``.py`` file of the trees is read into memory first, then
``scan_source`` runs over all of them (best and median of several rounds), so
only the scanner is timed: files/s and MB/s. The files the scanner reports a
problem for are counted and the first few are shown.

Whole process: a fresh interpreter builds the import graph of each tree with
no cache, as a cold ``decide`` does (start-up, walk, read, scan on both cores,
index), interleaved with the same command on the baseline's sources.

Usage::

    python bench/scanner_throughput.py TREE... [--baseline-src DIR]

``DIR`` is a ``src`` directory holding the baseline scanner, for example
``git archive main src | tar -x -C /var/tmp/base`` then ``/var/tmp/base/src``.
"""

from __future__ import annotations

import argparse
import importlib.util
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

sys.path.insert(0, str(Path(__file__).parent))
from _timing import summary, time_commands

SRC = Path(__file__).resolve().parent.parent / "src"
ScanFunction = Callable[[bytes], tuple[tuple[object, ...], str | None]]

COLD_BUILD = """
import sys, tempfile
from pathlib import Path
from smartrestart.importgraph.build import build_graph
with tempfile.TemporaryDirectory() as cache:
    for root in sys.argv[1:]:
        build_graph([Path(root)], cache_dir=Path(cache))
"""


def load_scanner(src: Path, name: str) -> ModuleType:
    """The scanner module under ``src``, loaded under its own name beside ours."""
    sys.path.insert(0, str(src))
    try:
        spec = importlib.util.spec_from_file_location(
            name, src / "smartrestart" / "importgraph" / "scanner.py"
        )
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(src))
    return module


def read_tree(roots: list[str]) -> list[tuple[str, bytes]]:
    """Every ``.py`` file under ``roots`` with its bytes, in a stable order.

    Symbolic links are left out: in a foreign root (a bed's) they point into the host.
    """
    return [
        (str(path), path.read_bytes())
        for root in roots
        for path in sorted(Path(root).rglob("*.py"))
        if not path.is_symlink()
    ]


def time_scans(
    scanners: dict[str, ScanFunction], files: list[tuple[str, bytes]], rounds: int
) -> dict[str, list[tuple[float, float]]]:
    """(wall, CPU) seconds per pass over all files, each scanner once per round (interleaved).

    CPU time is what to compare on a shared machine: other load stretches the
    wall clock, much less the CPU time of one thread.
    """
    samples: dict[str, list[tuple[float, float]]] = {label: [] for label in scanners}
    sources = [source for _, source in files]
    for _ in range(rounds):
        for label, scan in scanners.items():
            wall, cpu = time.perf_counter(), time.process_time()
            for source in sources:
                scan(source)
            samples[label].append((time.perf_counter() - wall, time.process_time() - cpu))
    return samples


def report_in_process(
    label: str,
    scan: ScanFunction,
    files: list[tuple[str, bytes]],
    samples: list[tuple[float, float]],
) -> None:
    size = sum(len(source) for _, source in files)
    wall = min(w for w, _ in samples)
    cpu, cpu_median = min(c for _, c in samples), statistics.median(c for _, c in samples)
    problems = [(path, problem) for path, source in files if (problem := scan(source)[1])]
    print(
        f"{label:10} CPU best {cpu * 1e3:7.1f} ms  median {cpu_median * 1e3:7.1f} ms  "
        f"{len(files) / cpu:6.0f} files/s  {size / cpu / 1e6:5.1f} MB/s  "
        f"(wall best {wall * 1e3:7.1f} ms)  problems {len(problems)}"
    )
    for path, problem in problems[:5]:
        print(f"{'':10}   {path}: {problem}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("trees", nargs="+")
    parser.add_argument("--baseline-src", type=Path)
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--process-runs", type=int, default=7)
    args = parser.parse_args()

    files = read_tree(args.trees)
    size = sum(len(source) for _, source in files)
    print(f"{len(files)} files, {size / 1e6:.1f} MB, Python {sys.version.split()[0]}")
    current = load_scanner(SRC, "scanner_current")
    scanners: dict[str, ScanFunction] = {"current": current.scan_source}
    if args.baseline_src:
        scanners["baseline"] = load_scanner(args.baseline_src, "scanner_baseline").scan_source
    samples = time_scans(scanners, files, args.rounds)
    for label, scan in scanners.items():
        report_in_process(label, scan, files, samples[label])

    if args.baseline_src:
        changed = [
            path
            for path, source in files
            if current.scan_source(source) != scanners["baseline"](source)
        ]
        print(f"files whose scan differs from the baseline: {len(changed)}")
        for path in changed[:10]:
            print(f"  {path}")

    python = sys.executable
    srcs = {"current": SRC, **({"baseline": args.baseline_src} if args.baseline_src else {})}
    commands = {
        f"cold build, {label} ({src})": [
            *("env", f"PYTHONPATH={src}", python, "-c", COLD_BUILD),
            *args.trees,
        ]
        for label, src in srcs.items()
    }
    process_samples = time_commands(commands, runs=args.process_runs, warmup=1)
    print("\nwhole process (fresh interpreter, no cache), wall clock:")
    print(summary(process_samples, next(iter(process_samples))))
    print("whole process, CPU time of both cores (user + system):")
    print(summary(cpu_times(commands, args.process_runs), next(iter(commands))))


def cpu_times(commands: dict[str, list[str]], runs: int) -> dict[str, list[float]]:
    """User + system seconds of each command and its children, interleaved."""
    samples: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(runs):
        for name, argv in commands.items():
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            subprocess.run(argv, stdout=subprocess.DEVNULL, check=True)
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            samples[name].append(
                after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
            )
    return samples


if __name__ == "__main__":
    main()
