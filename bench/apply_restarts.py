"""`smartrestart apply` against what an operator would type instead, in a real systemd.

Boots a test bed (root needed) per configuration, installs N Type=notify
services that take 200 ms to send READY=1, and restarts all of them, three
ways side by side, in interleaved rounds (in a new order every round):

* the loop: ``for u in U1 ... UN; do systemctl restart $u; done``;
* the single call: ``systemctl restart U1 ... UN``, which queues every job at
  once and waits for all of them: what an operator would type instead;
* ``smartrestart apply`` (one order group, all jobs submitted at once, then
  awaited, verified and logged to the journal), as a whole process.

Each is a whole process started from the host with nsenter, the same way for
all three. The loop, the far anchor, runs in the first few rounds only; the
single call and apply in every round, and their difference is taken round by
round. Prints medians, apply minus the single call in ms, the ratios, and
apply's own time split (its JSON report's ``timing``).

Target (the issue): apply within 150 ms of the single ``systemctl restart``,
verification and journal entries included.

    python bench/apply_restarts.py [--configs debian12:50,debian13:200] [--rounds N]
        [--loop-rounds N]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests import testbed

READY_DELAY = 0.2
SEED = 20250404
LOOP, SINGLE, APPLY = "systemctl restart, one by one (loop)", "systemctl restart U1 ... UN", "apply"


@dataclass
class Measured:
    kind: str
    units: int
    systemd: int = 0
    walls: dict[str, list[float]] = field(default_factory=dict)
    timings: list[dict[str, float]] = field(default_factory=list)


def parse_configs(text: str) -> list[tuple[str, int]]:
    configs = []
    for item in text.split(","):
        kind, _, count = item.partition(":")
        if kind not in testbed.KINDS or not count.isdigit():
            raise SystemExit(f"bench: --configs wants KIND:UNITS with KIND in {testbed.KINDS}")
        configs.append((kind, int(count)))
    return configs


def measure(kind: str, count: int, rounds: int, loop_rounds: int) -> Measured:
    units = [f"bench-{i:03d}.service" for i in range(count)]
    result = Measured(kind, count, walls={LOOP: [], SINGLE: [], APPLY: []})
    bed = testbed.boot(kind)
    try:
        result.systemd = bed.systemd_version
        # A light service, so the measure is about orchestration rather than
        # N interpreters starting on 2 cores: sleep, then READY=1 from the
        # C systemd-notify (a child process, hence NotifyAccess=all).
        service = (
            "[Service]\nType=notify\nNotifyAccess=all\n"
            f"ExecStart=/bin/sh -c 'sleep {READY_DELAY}; systemd-notify --ready; "
            "exec sleep infinity'\n"
        )
        for unit in units:
            bed.install_unit(unit, service, reload=False)
        bed.systemctl("daemon-reload")
        bed.systemctl("start", *units)
        rules = f"actions:\n  all: {{units: [{', '.join(units)}]}}\n"
        bed.write(
            "/srv/bench/restart-rules.yaml", rules + "rules:\n  - {pattern: '**', actions: [all]}\n"
        )
        # An installed smartrestart has bytecode (pip, Debian's py3compile);
        # the bed's environment says not to write any, so compile once here.
        bed.run(bed.python, "-m", "compileall", "-q", str(testbed.BED_PROJECT / "src"))
        loop = "for u in " + " ".join(units) + "; do systemctl restart $u; done"

        def run_loop() -> None:
            bed.run("sh", "-c", loop, timeout=900)

        def run_single() -> None:
            bed.run("systemctl", "restart", *units, timeout=900)

        def run_apply() -> None:
            out = bed.smartrestart(
                *("apply", "--config-root", "/nonexistent", "--json", "x"),
                cwd="/srv/bench",
                check=True,
            )
            report = json.loads(out.stdout)
            assert all(s["result"] == "restarted" for s in report["steps"]), report["failed"]
            assert len(report["steps"]) == count, len(report["steps"])
            result.timings.append({**report["timing"], "command": report["seconds"]})

        ways: list[tuple[str, Callable[[], None]]] = [
            (LOOP, run_loop),
            (SINGLE, run_single),
            (APPLY, run_apply),
        ]
        run_apply()  # warm-up: the page cache, the journal, the first lock
        result.timings.clear()
        order = random.Random(SEED)  # a new order every round, the same every run
        for round_number in range(rounds):
            # The loop is the far anchor (N x 200 ms and more): a few rounds
            # place it; the 150 ms target between apply and the single call
            # needs many more.
            taking = ways if round_number < loop_rounds else ways[1:]
            for name, way in order.sample(taking, len(taking)):
                started = time.monotonic()
                way()
                result.walls[name].append(time.monotonic() - started)
            inactive = bed.systemctl("is-active", *units, check=False).stdout.split()
            assert inactive == ["active"] * count, "a unit is not active after the round"
    finally:
        bed.stop()
    return result


def report(result: Measured) -> None:
    median = {name: statistics.median(walls) for name, walls in result.walls.items() if walls}
    print(
        f"\n{result.units} Type=notify services, {READY_DELAY * 1e3:.0f} ms to READY=1, "
        f"{result.kind} bed (systemd {result.systemd}), interleaved rounds in a new order each"
    )
    print(f"  {'':42} {'rounds':>6} {'median s':>9} {'min s':>7} {'max s':>7}")
    for name, walls in result.walls.items():
        if not walls:  # --loop-rounds 0
            continue
        print(f"  {name:42} {len(walls):6} {median[name]:9.3f} {min(walls):7.3f} {max(walls):7.3f}")
    # Paired round by round: both met the same machine state.
    differences = sorted(
        (a - b) * 1e3 for a, b in zip(result.walls[APPLY], result.walls[SINGLE], strict=True)
    )
    difference = statistics.median(differences)
    quarter = len(differences) // 4
    print(
        f"  apply minus the single call, per round: median {difference:+.0f} ms, middle half "
        f"{differences[quarter]:+.0f} .. {differences[-1 - quarter]:+.0f} ms (target <= 150 ms)"
    )
    ratios = f"  apply / single call = {median[APPLY] / median[SINGLE]:.2f}"
    if LOOP in median:
        ratios += (
            f"; loop / apply = {median[LOOP] / median[APPLY]:.1f}x; "
            f"loop / single call = {median[LOOP] / median[SINGLE]:.1f}x"
        )
    print(ratios)

    def phase(name: str) -> float:
        return statistics.median(t.get(name, 0.0) for t in result.timings) * 1e3

    split = ", ".join(f"{name} {phase(name):.0f}" for name in ("check", "submit", "wait", "verify"))
    print(
        f"  apply's own report (medians, ms): the command {phase('command'):.0f} "
        f"(whole process {median[APPLY] * 1e3:.0f}), of which {split}"
    )
    print(f"  apply's CPU time while acting: {phase('cpu') / result.units:.2f} ms per unit")


def paired_difference(result: Measured) -> float:
    """Median over the rounds of apply's wall time minus the single call's."""
    pairs = zip(result.walls[APPLY], result.walls[SINGLE], strict=True)
    return statistics.median(a - b for a, b in pairs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--configs",
        default="debian12:50,debian13:200",
        help="comma-separated KIND:UNITS (default: %(default)s)",
    )
    parser.add_argument("--rounds", type=int, default=15, help="of the single call and apply")
    parser.add_argument("--loop-rounds", type=int, default=3, help="of the loop (the first ones)")
    args = parser.parse_args()
    results = [
        measure(kind, count, args.rounds, args.loop_rounds)
        for kind, count in parse_configs(args.configs)
    ]
    for result in results:
        report(result)
    print("\n| bed | units | loop s | single call s | apply s | apply - single | apply / single |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for r in results:
        loops = r.walls.get(LOOP)
        loop = f"{statistics.median(loops):.2f}" if loops else "-"
        single, apply = (statistics.median(r.walls[n]) for n in (SINGLE, APPLY))
        print(
            f"| {r.kind} (systemd {r.systemd}) | {r.units} | {loop} | {single:.3f} "
            f"| {apply:.3f} | {paired_difference(r) * 1e3:+.0f} ms | {apply / single:.2f} |"
        )


if __name__ == "__main__":
    main()
