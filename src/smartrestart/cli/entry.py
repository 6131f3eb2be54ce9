"""The console script's entry: the cyclic garbage collector stays off while the CLI runs.

Starting the CLI builds tens of thousands of objects (click, yaml, the rules,
a cached import graph) and frees almost none of them: the collector's passes
over them find nothing and cost about 4 ms of a warm ``decide`` (measured
whole-process on Django's tree). Nothing a short command builds is cyclic
garbage worth collecting before ``os._exit``. Commands that live long (see
:data:`smartrestart.cli.main.LONG_LIVED`) turn the collector back on.

This module is imported only as the program's entry: tests and the man-page
builder import :mod:`smartrestart.cli.main`, which leaves the collector alone.
"""

import gc

gc.disable()

from smartrestart.cli.main import main  # noqa: E402  (after the collector is off)

__all__ = ["main"]
