"""Parallel D-Bus restarts against a shell loop of `systemctl restart`, in a real systemd.

Boots a test bed (root needed), installs N Type=notify services that take
200 ms to send READY=1, and restarts all of them: once with
`for u in ...; do systemctl restart $u; done`, once with `smartrestart apply`
(one order group, all jobs submitted at once). Prints both, the ratio, and
smartrestart's own overhead per unit: its time outside of waiting for systemd.

Targets: at least 10x faster than the loop; overhead under 2 ms per unit.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests import testbed

READY_DELAY = 0.2


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--units", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--bed", choices=testbed.KINDS, default="debian12")
    args = parser.parse_args()
    units = [f"bench-{i:03d}.service" for i in range(args.units)]
    bed = testbed.boot(args.bed)
    try:
        # A light service, so the measure is about orchestration rather than
        # 50 interpreters starting on 2 cores: sleep, then READY=1 from the
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
        loop = "for u in " + " ".join(units) + "; do systemctl restart $u; done"
        loop_times, apply_times, overheads, waits = [], [], [], []
        for _ in range(args.rounds):
            started = time.monotonic()
            bed.run("sh", "-c", loop, timeout=600)
            loop_times.append(time.monotonic() - started)
            started = time.monotonic()
            result = bed.smartrestart(
                "apply",
                "--config-root",
                "/nonexistent",
                "--json",
                "x",
                cwd="/srv/bench",
                check=True,
            )
            apply_times.append(time.monotonic() - started)
            report = json.loads(result.stdout)
            assert all(s["result"] == "restarted" for s in report["steps"]), report["failed"]
            timing = report["timing"]
            overheads.append(timing["cpu"])
            waits.append(timing["submit"] + timing["wait"])
    finally:
        bed.stop()
    loop_s = statistics.median(loop_times)
    apply_s = statistics.median(apply_times)
    overhead = statistics.median(overheads)
    print(
        f"{args.units} Type=notify services, {READY_DELAY * 1e3:.0f} ms to READY=1, "
        f"{args.bed} bed (systemd {bed.systemd_version}), median of {args.rounds} rounds"
    )
    print(f"{'systemctl restart, one by one (shell loop)':46} {loop_s:7.2f} s")
    print(f"{'smartrestart apply, one group (whole process)':46} {apply_s:7.2f} s")
    print(f"  of which submitting and awaiting the jobs    {statistics.median(waits):7.2f} s")
    print(
        f"  smartrestart's own CPU time while acting     {overhead:7.3f} s "
        f"= {overhead / args.units * 1e3:.2f} ms per unit (target < 2 ms)"
    )
    print(f"speed-up: {loop_s / apply_s:.1f}x (target >= 10x)")


if __name__ == "__main__":
    main()
