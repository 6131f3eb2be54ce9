"""`smartrestart status` over 200 budgeted units, against `systemctl show` of the same units.

Boots a test bed (root needed) per systemd version, installs N services under
restart budgets (`generate`), gives them a history (three applies restarting
all of them, and a crash loop of one in ten until its budget is exhausted),
then times, as whole processes started from the host the same way, in
interleaved rounds in a new order each:

* ``systemctl show -p ... U1 ... UN``: the properties status shows, what an
  operator would type instead (it says nothing of budgets, causes or deploys);
* ``smartrestart status --json``: every unit the rules name, journal reading
  (systemd's entries and ours) included.

Target (the issue): status under 0.5 s for 200 units.

    python bench/status_units.py [--configs debian12:200,debian13:200] [--rounds N]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from tests import testbed

from apply_restarts import parse_configs

SEED = 20251122
TARGET = 0.5
SHOW, STATUS = "systemctl show -p ... U1 ... UN", "smartrestart status --json"
PROPERTIES = (
    "Id,LoadState,ActiveState,SubState,Result,StateChangeTimestamp,MainPID,InvocationID,"
    "StatusText,NRestarts,StartLimitBurst,StartLimitIntervalUSec,RestartUSec"
)


@dataclass
class Measured:
    kind: str
    units: int
    systemd: int = 0
    walls: dict[str, list[float]] = field(default_factory=dict)
    # CPU seconds of the command's processes (from the host's view of its
    # children) and of the bed's systemd answering it: unlike wall time, what
    # other load on the machine does not stretch.
    cpus: dict[str, list[tuple[float, float]]] = field(default_factory=dict)
    shown: int = 0
    exhausted: int = 0


def prepare(bed: testbed.TestBed, units: list[str], crashing: list[str]) -> None:
    for unit in units:
        command = "exit 1" if unit in crashing else "exec sleep infinity"
        bed.install_unit(unit, f"[Service]\nExecStart=/bin/sh -c '{command}'\n", reload=False)
    budgets = "".join(f"  {u}: {{restart: transient, intensity: 3, period: 60s}}\n" for u in units)
    healthy = [u for u in units if u not in crashing]
    rules = (
        f"actions:\n  all: {{units: [{', '.join(healthy)}]}}\n"
        "rules:\n  - {pattern: '**', actions: [all]}\n"
        f"budgets:\n{budgets}"
    )
    bed.write("/srv/bench/restart-rules.yaml", rules)
    bed.run(bed.python, "-m", "compileall", "-q", str(testbed.BED_PROJECT / "src"))
    generate = ("generate", "--config-root", "/nonexistent")
    bed.smartrestart(*generate, cwd="/srv/bench", check=True)
    bed.systemctl("start", *units, check=False)
    for round_number in range(3):  # deploys: each restart is in the journal, ours and systemd's
        bed.smartrestart(
            "apply", "--config-root", "/nonexistent", f"round{round_number}.py",
            cwd="/srv/bench", check=True, timeout=600,
        )  # fmt: skip
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:  # until the crash loops have run out of budget
        states = bed.systemctl("is-failed", *crashing, check=False).stdout.split()
        if states == ["failed"] * len(crashing):
            break
        time.sleep(0.2)


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def process_cpu(pid: int) -> float:
    """User and system CPU seconds of ``pid`` so far (/proc/PID/stat, fields 14 and 15)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measure(kind: str, count: int, rounds: int) -> Measured:
    units = [f"bench-{i:03d}.service" for i in range(count)]
    crashing = units[::10]
    result = Measured(kind, count, walls={SHOW: [], STATUS: []}, cpus={SHOW: [], STATUS: []})
    bed = testbed.boot(kind)
    try:
        result.systemd = bed.systemd_version
        prepare(bed, units, crashing)

        def run_show() -> None:
            bed.run("systemctl", "show", "-p", PROPERTIES, *units)

        def run_status() -> None:
            out = bed.smartrestart(
                "status", "--config-root", "/nonexistent", "--json", cwd="/srv/bench"
            )
            assert out.returncode == 3, out.stderr  # the crashed ones are not active
            report = json.loads(out.stdout)
            result.shown = len(report["units"])
            result.exhausted = sum(u["budget"]["exhausted"] for u in report["units"])

        ways: list[tuple[str, Callable[[], None]]] = [(SHOW, run_show), (STATUS, run_status)]
        run_status()  # warm-up: the page cache, the journal files
        order = random.Random(SEED)
        for _ in range(rounds):
            for name, way in order.sample(ways, len(ways)):
                children, manager = children_cpu(), process_cpu(bed.init_pid)
                started = time.monotonic()
                way()
                result.walls[name].append(time.monotonic() - started)
                spent = (children_cpu() - children, process_cpu(bed.init_pid) - manager)
                result.cpus[name].append(spent)
    finally:
        bed.stop()
    return result


def report(result: Measured) -> None:
    print(
        f"\n{result.units} budgeted services ({result.units // 10} of them crashed until their "
        f"budget ran out), {result.kind} bed (systemd {result.systemd}); status showed "
        f"{result.shown} units, {result.exhausted} exhausted"
    )
    print(f"  {'':34} {'rounds':>6} {'median s':>9} {'min s':>7} {'max s':>7}")
    for name, walls in result.walls.items():
        median = statistics.median(walls)
        print(f"  {name:34} {len(walls):6} {median:9.3f} {min(walls):7.3f} {max(walls):7.3f}")
    for name, spent in result.cpus.items():
        own, manager = (statistics.median(s[i] for s in spent) * 1e3 for i in (0, 1))
        print(f"  {name:34} CPU (median): its own {own:.0f} ms, systemd's {manager:.0f} ms")
    status, show = (statistics.median(result.walls[n]) for n in (STATUS, SHOW))
    fastest = min(result.walls[STATUS])
    verdict = "met" if status < TARGET else f"NOT met (fastest round {fastest:.3f} s)"
    print(f"  status / show = {status / show:.2f}; target status < {TARGET} s: {verdict}")
    print(f"  load average at the end: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--configs", default="debian12:200,debian13:200", help="KIND:UNITS, comma-separated"
    )
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    results = [measure(kind, count, args.rounds) for kind, count in parse_configs(args.configs)]
    for result in results:
        report(result)
    print("\n| bed | units | systemctl show s | status s | status / show |")
    print("|---|---:|---:|---:|---:|")
    for r in results:
        show, status = (statistics.median(r.walls[n]) for n in (SHOW, STATUS))
        row = f"| {r.kind} (systemd {r.systemd}) | {r.units} | {show:.3f} | {status:.3f} |"
        print(f"{row} {status / show:.2f} |")


if __name__ == "__main__":
    main()
