"""A rolling deploy over three hosts: the collection's playbook against restarting every unit.

Boots three beds of one kind (root needed) as three Ansible hosts
(tests/integration/fleet.py: community.docker's nsenter connection), each
running N Type=notify services that take 200 ms to send READY=1, one rule per
service (``src/svcK/**`` restarts ``rollout-svcK.service``). Each round deploys
a release that changes one service's file, in batches of one host
(``serial: 1``, ``max_fail_percentage: 0``), three ways side by side, in
interleaved rounds:

* the collection's rolling_deploy playbook (copy, smartrestart.systemd.apply,
  the status module's health gate), with its default ``settle: 1``;
* the same with ``deploy_settle: 0`` (no watch after each start);
* what a play without smartrestart does: the same copy, then
  ``ansible.builtin.systemd_service: state=restarted`` for every unit.

Each is a whole ``ansible-playbook`` process, timed from the host. The units
restarted are counted from the hosts themselves: every unit whose InvocationID
changed. Prints medians side by side.

    python bench/ansible_rollout.py [--kind debian13] [--units 5] [--rounds 3]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests import testbed
from tests.integration.fleet import ROLLING_DEPLOY, Fleet, booted_fleet, failures

APP = "/srv/app"
READY_DELAY = 0.2
OURS, OURS_UNSETTLED, EVERY = (
    "rolling_deploy (smartrestart.systemd.apply, settle 1 s, status gate)",
    "rolling_deploy, deploy_settle: 0",
    "copy + systemd_service state=restarted, every unit",
)


def unit_names(count: int) -> list[str]:
    return [f"rollout-svc{k}.service" for k in range(1, count + 1)]


def set_up(fleet: Fleet, units: list[str]) -> None:
    rules = ["actions:"]
    rules += [f"  restart_svc{k}: {{units: [{u}]}}" for k, u in enumerate(units, 1)]
    rules += ["rules:"]
    rules += [
        f'  - {{pattern: "src/svc{k}/**", actions: [restart_svc{k}]}}'
        for k in range(1, len(units) + 1)
    ]
    program = testbed.BED_PROJECT / "tests/integration/programs/notify_after.py"
    for bed in fleet.beds:
        bed.write(f"{APP}/restart-rules.yaml", "\n".join(rules) + "\n")
        for k, unit in enumerate(units, 1):
            bed.write(f"{APP}/src/svc{k}/app.py", "release = 0\n")
            unit_file = (
                f"[Service]\nType=notify\nExecStart=/usr/bin/python3 {program} {READY_DELAY}\n"
            )
            bed.install_unit(unit, unit_file, reload=False)
        bed.systemctl("daemon-reload")
        bed.systemctl("start", *units)


def restarted(fleet: Fleet, units: list[str], before: dict[str, dict[str, str]]) -> int:
    now = {unit: fleet.invocations(unit) for unit in units}
    return sum(now[u][h] != before[u][h] for u in units for h in before[u])


def run_round(fleet: Fleet, units: list[str], number: int) -> dict[str, tuple[float, int]]:
    measured: dict[str, tuple[float, int]] = {}
    variants: list[tuple[str, str, dict[str, Any]]] = [
        (OURS, ROLLING_DEPLOY, {}),
        (OURS_UNSETTLED, ROLLING_DEPLOY, {"deploy_settle": 0}),
        (EVERY, fleet.systemd_service_play(), {"restart_units": units}),
    ]
    for index, (name, playbook, extra) in enumerate(variants):
        release = f"release = {number * 10 + index + 1}\n"  # a change: set_up wrote 0
        variables = {
            "deploy_hosts": "app",
            "deploy_become": False,
            "deploy_app_dir": APP,
            "deploy_files": [{"dest": "src/svc1/app.py", "content": release}],
            **extra,
        }
        before = {unit: fleet.invocations(unit) for unit in units}
        started = time.perf_counter()
        report = fleet.play(playbook, variables)
        wall = time.perf_counter() - started
        if report["rc"] != 0:
            raise SystemExit(f"bench: {name} failed: {failures(report)}")
        count = restarted(fleet, units, before)
        expected = 3 * len(units) if name == EVERY else 3  # svc1 on each host
        if count != expected:
            raise SystemExit(f"bench: {name} restarted {count} units, not {expected}")
        measured[name] = (wall, count)
    return measured


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kind", choices=testbed.KINDS, default="debian13")
    parser.add_argument("--units", type=int, default=5, help="services per host")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    units = unit_names(args.units)
    with tempfile.TemporaryDirectory(prefix="bench-rollout-") as scratch:
        work = Path(scratch)
        with booted_fleet(args.kind, work) as fleet:
            set_up(fleet, units)
            version = fleet.beds[0].systemd_version
            rounds = [run_round(fleet, units, n) for n in range(args.rounds)]
    print(
        f"rolling deploy over 3 hosts ({args.kind}, systemd {version}), batches of 1, "
        f"{args.units} Type=notify services per host ({READY_DELAY * 1000:.0f} ms to READY=1), "
        f"a release changing one service's file; median of {args.rounds} rounds"
    )
    print(f"{'':70}  {'wall s':>7}  {'min-max':>11}  {'units restarted':>15}")
    for name in (OURS, OURS_UNSETTLED, EVERY):
        walls = [r[name][0] for r in rounds]
        (count,) = {r[name][1] for r in rounds}  # run_round checked it
        spread = f"{min(walls):.2f}-{max(walls):.2f}"
        print(
            f"{name:70}  {statistics.median(walls):7.2f}  {spread:>11}  "
            f"{count:>9} of {3 * args.units:<3}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
