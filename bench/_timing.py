"""Side-by-side timing of commands: interleaved runs, so machine noise hits all equally."""

from __future__ import annotations

import os
import statistics
import subprocess
import time
from collections.abc import Mapping, Sequence


def time_commands(
    commands: Mapping[str, Sequence[str]],
    *,
    runs: int,
    warmup: int = 3,
    cwd: str | None = None,
    env: Mapping[str, str] | None = None,
) -> dict[str, list[float]]:
    """Wall-clock seconds of each command, ``runs`` times, interleaved."""
    samples: dict[str, list[float]] = {name: [] for name in commands}
    for round_number in range(warmup + runs):
        for name, argv in commands.items():
            started = time.perf_counter()
            subprocess.run(
                argv,
                cwd=cwd,
                stdout=subprocess.DEVNULL,
                check=True,
                env={**os.environ, **(env or {})},
            )
            elapsed = time.perf_counter() - started
            if round_number >= warmup:
                samples[name].append(elapsed)
    return samples


def summary(samples: dict[str, list[float]], baseline: str) -> str:
    """A table of mean, median and min in ms, with ratios to ``baseline``."""
    base_mean = statistics.mean(samples[baseline])
    base_min = min(samples[baseline])
    lines = [f"{'command':<44} {'mean ms':>8} {'median':>8} {'min':>8} {'x mean':>7} {'x min':>6}"]
    for name, values in samples.items():
        mean = statistics.mean(values)
        lines.append(
            f"{name:<44} {mean * 1e3:8.1f} {statistics.median(values) * 1e3:8.1f} "
            f"{min(values) * 1e3:8.1f} {mean / base_mean:7.2f} {min(values) / base_min:6.2f}"
        )
    return "\n".join(lines)
