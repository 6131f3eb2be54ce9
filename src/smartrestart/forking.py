"""Forking a helper process: when it is safe and can pay, and handing it bytes.

The cold scan (:mod:`smartrestart.importgraph.parallel`) and the syntax check
of changed files (:mod:`smartrestart.decide.syntax`) each fork one child to
use a second CPU. Both follow the same rule: a second CPU this process may run
on (a unit's ``CPUAffinity=`` and ``taskset`` leave ``os.cpu_count()`` as it
is), and no other thread, whose locks ``fork`` would copy in whatever state
they happen to be.
"""

from __future__ import annotations

import os
import threading


def usable_cpus() -> int:
    """The CPUs this process may run on."""
    return len(os.sched_getaffinity(0))


def fork_allowed() -> bool:
    """Two CPUs this process may run on, and no thread but this one."""
    return usable_cpus() >= 2 and threading.active_count() == 1


def write_all(fd: int, data: bytes) -> None:
    """Every byte of ``data`` to a blocking descriptor (a pipe takes it in parts)."""
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]
