"""Side-by-side timing of commands: interleaved runs, so machine noise hits all equally."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import NamedTuple

from _spawn import read_frame, write_frame


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


class Sample(NamedTuple):
    """One whole process, as the small runner (``_spawn.py``) saw it."""

    wall: float  # seconds, fork to reaped
    cpu: float  # seconds, user + system, with the children it waited for
    rss_kb: int  # peak resident set, KiB
    runner_rss_kb: int  # the runner's own peak: no command can report less


class Spawner:
    """Runs commands one at a time from a small process; see ``_spawn.py`` for why."""

    def __init__(self) -> None:
        runner = Path(__file__).resolve().parent / "_spawn.py"
        self._process = subprocess.Popen(
            [sys.executable, "-S", "-I", str(runner)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )

    def __enter__(self) -> Spawner:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        assert self._process.stdin is not None
        self._process.stdin.close()
        self._process.wait()

    def run(self, argv: Sequence[str], env: Mapping[str, str], cwd: str) -> Sample:
        """Run ``argv`` to its end; exits the bench when it fails."""
        assert self._process.stdin is not None and self._process.stdout is not None
        write_frame(self._process.stdin, (list(argv), dict(env), cwd))
        answer = read_frame(self._process.stdout)
        if answer is None:
            raise SystemExit("bench: the command runner ended unexpectedly")
        assert isinstance(answer, tuple) and len(answer) == 5, answer
        wall, cpu, rss, code, own = answer
        if code != 0:
            raise SystemExit(f"bench: {' '.join(argv)} exited {code}")
        return Sample(float(wall), float(cpu), int(rss), int(own))
