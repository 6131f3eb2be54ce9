"""Starts the commands a bench times, from a process kept small on purpose.

Linux hands a process the peak RSS of the memory it replaced at ``exec``
(fs/exec.c saves the old mm's high-water mark in ``signal->maxrss``), so a
command forked straight from a bench that holds 30 MB reports a peak RSS of
at least 30 MB, whatever it really used. This runner is a bare ``python -S -I``
that imports nothing beyond the interpreter's own modules: its few MB are the
least any timed command can report, and every Python command uses more.

Protocol, on stdin and stdout: length-prefixed ``marshal`` frames. A request
is ``(argv, env, cwd)``; the answer is ``(wall seconds, CPU seconds (user +
system, the command's and its waited-for children's), peak RSS KiB, exit
code, this runner's own high-water mark in KiB)``. The command's output goes to
/dev/null. :class:`_timing.Spawner` is the other end.
"""

from __future__ import annotations

import marshal
import os
import struct
import sys
import time

TYPE_CHECKING = False  # not typing's: the runner imports as little as it can
if TYPE_CHECKING:
    from typing import IO, Any

HEADER = struct.Struct("<I")


def read_frame(stream: IO[bytes]) -> Any:
    """The next value, or None at the end of the stream."""
    head = stream.read(HEADER.size)
    if len(head) < HEADER.size:
        return None
    (size,) = HEADER.unpack(head)
    return marshal.loads(stream.read(size))


def write_frame(stream: IO[bytes], value: Any) -> None:
    data = marshal.dumps(value)
    stream.write(HEADER.pack(len(data)) + data)
    stream.flush()


def own_peak_kb() -> int:
    """This runner's memory high-water mark, what a command forked from it starts with.

    Not ``getrusage(RUSAGE_SELF)``: that still holds whatever started the runner.
    """
    with open("/proc/self/status", "rb") as status:  # noqa: PTH123 (pathlib: more memory)
        for line in status:
            if line.startswith(b"VmHWM:"):
                return int(line.split()[1])
    return 0


def run(argv: list[str], env: dict[str, str], cwd: str) -> tuple[float, float, int, int, int]:
    started = time.perf_counter()
    pid = os.fork()
    if pid == 0:  # the child: nothing but redirections before exec
        try:
            os.chdir(cwd)
            null = os.open(os.devnull, os.O_RDWR)
            for fd in (0, 1, 2):
                os.dup2(null, fd)
            os.execve(argv[0], argv, env)
        finally:
            os._exit(127)
    _, status, usage = os.wait4(pid, 0)
    wall = time.perf_counter() - started
    own = own_peak_kb()
    code = os.waitstatus_to_exitcode(status)
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss, code, own


def main() -> None:
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    while True:
        request = read_frame(stdin)
        if request is None:
            return
        argv, env, cwd = request
        write_frame(stdout, run(argv, env, cwd))


if __name__ == "__main__":
    main()
