"""Upgrading the example packages: smartrestart's dpkg trigger against dh_installsystemd's default.

In a test bed (root needed), with Debian's own dpkg, the three example
packages (packaging/examples: hello-lib, hello-api, hello-worker) go from 1.0
to 1.1, built two ways from the same sources:

* ``smartrestart``: ``dh $@ --with smartrestart``, as written; the trigger
  restarts what changed, once, at the end of the dpkg run;
* ``plain``: the same without the add-on: dh_installsystemd's default
  restart-after-upgrade, every unit of each upgraded package restarted by its
  own postinst.

Each upgrade runs as apt runs dpkg: ``dpkg -i --no-triggers DEBS``, then the
triggers: ``dpkg --triggers-only smartrestart`` (timed on its own: the
trigger's own time per dpkg run, Python start-up, decision with the import
graph, restarts awaited and verified, journal) and ``dpkg --triggers-only
--pending`` for the rest. For every scenario it prints the whole time (the
median over the rounds), the trigger's (summed over the scenario's dpkg runs,
one trigger each), how often each unit started (systemd's own journal entries)
and, after each dpkg run, which units still run old code of a package upgraded
so far. That last column is why smartrestart starts each
unit twice when unattended-upgrades runs dpkg once per package: hello-lib
comes first and its services are restarted onto it, while dh_installsystemd
restarts nothing for a package without units and leaves both services on the
old library until their own packages come (or for good, when they do not).
Variants alternate, in a new order every round.

    python bench/dpkg_upgrade.py [--beds debian12,debian13] [--rounds N]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests import testbed
from tests.integration.debs import (
    as_admin,
    bookworm_dependencies,
    build_examples,
    build_smartrestart,
    copy_in,
    install_smartrestart,
)

SEED = 20261122
PACKAGES = ("hello-lib", "hello-api", "hello-worker")
UNITS = ("hello-api.service", "hello-worker.service")
UNIT_STARTED = "39f53479d3a045ac8e11786248231fbf"
VARIANTS = ("smartrestart", "plain")
# Scenario -> the dpkg runs it takes, each a list of packages upgraded to 1.1.
SCENARIOS = {
    "all three, one dpkg run": [list(PACKAGES)],
    "all three, one dpkg run each (unattended-upgrades)": [[p] for p in PACKAGES],
    "hello-lib only": [["hello-lib"]],
}
# What each unit shows in its status once it runs the new files of a package.
NEW = {
    "hello-lib": {"hello-api.service": "hello, world", "hello-worker.service": "hello, world"},
    "hello-api": {"hello-api.service": "hello-api 1.1"},
    "hello-worker": {"hello-worker.service": "batch=20"},
}


@dataclass
class Sample:
    wall: list[float] = field(default_factory=list)
    trigger: list[float] = field(default_factory=list)
    starts: dict[str, list[int]] = field(default_factory=dict)
    # Per round, per dpkg run: the units on old code once that run (and its triggers) ended.
    stale: list[list[list[str]]] = field(default_factory=list)


def reset(bed: testbed.TestBed, debs: dict[str, Path]) -> None:
    """The variant's 1.0 freshly installed, both units up, nothing pending."""
    bed.run("dpkg", "--purge", *PACKAGES, check=False)
    bed.run("sh", "-c", "rm -f /var/lib/smartrestart/pending/*")
    as_admin(bed, "dpkg", "-i", *copy_in(bed, [debs[f"{p}_1.0"] for p in PACKAGES]))
    for unit in UNITS:
        bed.wait_for(lambda unit=unit: bed.show(unit, "ActiveState")["ActiveState"] == "active")


def timed(bed: testbed.TestBed, *argv: str) -> float:
    started = time.perf_counter()
    as_admin(bed, *argv)
    return time.perf_counter() - started


def upgrade(
    bed: testbed.TestBed, debs: dict[str, Path], runs: list[list[str]], variant: str
) -> tuple[float, float, dict[str, int], list[list[str]]]:
    """(whole seconds, trigger seconds, starts per unit, units on old code after each run)."""
    cursor = bed.journal("-n", "1", "-o", "export").split("__CURSOR=", 1)[1].split("\n", 1)[0]
    wall = trigger = 0.0
    upgraded: set[str] = set()
    stale: list[list[str]] = []
    for packages in runs:
        paths = copy_in(bed, [debs[f"{p}_1.1"] for p in packages])
        wall += timed(bed, "dpkg", "-i", "--no-triggers", *paths)
        if variant == "smartrestart":
            trigger += timed(bed, "dpkg", "--triggers-only", "smartrestart")
        wall += timed(bed, "dpkg", "--triggers-only", "--pending")
        upgraded.update(packages)
        stale.append(on_old_code(bed, upgraded))
    wall += trigger
    entries = [
        json.loads(line)
        for line in bed.journal(f"--after-cursor={cursor}", "-o", "json").splitlines()
        if line.strip()
    ]
    starts = {
        unit: sum(
            1 for e in entries if e.get("MESSAGE_ID") == UNIT_STARTED and e.get("UNIT") == unit
        )
        for unit in UNITS
    }
    return wall, trigger, starts, stale


def on_old_code(bed: testbed.TestBed, upgraded: set[str]) -> list[str]:
    """The units whose status does not show the new files of every package ``upgraded``."""
    status = {unit: bed.show(unit, "StatusText")["StatusText"] for unit in UNITS}
    return sorted(
        {
            unit
            for package in upgraded
            for unit, shown in NEW[package].items()
            if shown not in status[unit]
        }
    )


def measure(kind: str, rounds: int, debs: dict[str, dict[str, Path]], base: list[Path]) -> str:
    bed = testbed.boot(kind)
    try:
        install_smartrestart(bed, base)
        bed.run("rm", "-f", "/usr/sbin/policy-rc.d")  # the debian12 bed's is the host's
        samples = {(s, v): Sample() for s in SCENARIOS for v in VARIANTS}
        order = random.Random(SEED)
        for _ in range(rounds):
            pairs = [(s, v) for s in SCENARIOS for v in VARIANTS]
            order.shuffle(pairs)
            for scenario, variant in pairs:
                reset(bed, debs[variant])
                wall, trigger, starts, stale = upgrade(
                    bed, debs[variant], SCENARIOS[scenario], variant
                )
                sample = samples[scenario, variant]
                sample.wall.append(wall)
                sample.trigger.append(trigger)
                for unit, count in starts.items():
                    sample.starts.setdefault(unit, []).append(count)
                sample.stale.append(stale)
        bed.run("dpkg", "--purge", *PACKAGES, check=False)
        return report(kind, bed.systemd_version, rounds, samples)
    finally:
        bed.stop()


def report(kind: str, version: int, rounds: int, samples: dict[tuple[str, str], Sample]) -> str:
    lines = [
        f"\n{kind} (systemd {version}), {rounds} rounds, medians:",
        f"  {'scenario':<50} {'variant':<13} {'whole':>8} {'trigger':>8} "
        f"{'api starts':>10} {'worker':>6}  on old code after dpkg run 1 | 2 | 3",
    ]
    for (scenario, variant), sample in samples.items():
        starts = {u: statistics.median(c) for u, c in sample.starts.items()}
        stale = " | ".join(
            ", ".join(sorted({u.split(".")[0] for found in per_round for u in found})) or "none"
            for per_round in zip(*sample.stale, strict=True)  # the rounds' lists of one run
        )
        trigger = f"{statistics.median(sample.trigger):.2f}s" if variant == "smartrestart" else "-"
        lines.append(
            f"  {scenario:<50} {variant:<13} {statistics.median(sample.wall):>7.2f}s "
            f"{trigger:>8} {starts['hello-api.service']:>10g} "
            f"{starts['hello-worker.service']:>6g}  {stale}"
        )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--beds", default="debian12,debian13")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir="/var/tmp") as scratch:
        out = Path(scratch)
        (out / "deb").mkdir()
        package = build_smartrestart(out / "deb")["smartrestart"]
        debs = {variant: build_examples(out / variant, variant) for variant in VARIANTS}
        for kind in args.beds.split(","):
            base = [package, *bookworm_dependencies()] if kind == "debian12" else [package]
            print(measure(kind, args.rounds, debs, base), flush=True)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except subprocess.CalledProcessError as error:
        sys.exit(f"bench: {error}")
