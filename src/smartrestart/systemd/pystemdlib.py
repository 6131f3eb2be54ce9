"""pystemd's compiled layers, without running its package ``__init__``.

smartrestart uses three of pystemd's modules: ``dbuslib`` (sd-bus), ``dbusexc``
(its errors) and ``journal`` (``sd_journal_sendv``), compiled modules that
import nothing of pystemd's object layer. But ``import pystemd.dbuslib``
runs ``pystemd/__init__.py`` first, in pystemd 0.11 (Debian 12) and 0.15
alike, and that imports the object layer (``base``, ``systemd1``,
``machine1``) and with it lxml: ~40 ms, a third of what ``apply`` takes as a
whole process at 50 units.

So the three are imported under a bare package object standing in for
``pystemd`` (its ``__path__`` only), which is taken out of ``sys.modules``
again at once: a later ordinary ``import pystemd`` runs the real
``__init__`` as usual, and its ``from pystemd.dbuslib import ...`` finds the
modules already loaded (a compiled module is loaded once per process).
Where pystemd is not installed, the ordinary import raises the ImportError.
"""

from __future__ import annotations

import sys
from importlib.machinery import PathFinder
from types import ModuleType

PACKAGE = "pystemd"
MODULES = ("pystemd.dbusexc", "pystemd.dbuslib", "pystemd.journal")


def _import_compiled_layers() -> None:
    if PACKAGE in sys.modules or all(name in sys.modules for name in MODULES):
        return
    spec = PathFinder.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        return  # not installed as a package: the imports below say so
    package = ModuleType(PACKAGE)
    package.__path__ = list(spec.submodule_search_locations)
    package.__package__ = PACKAGE
    sys.modules[PACKAGE] = package
    try:
        for name in MODULES:
            __import__(name)
    finally:
        if sys.modules.get(PACKAGE) is package:
            del sys.modules[PACKAGE]


_import_compiled_layers()

from pystemd.dbusexc import DBusBaseError  # noqa: E402
from pystemd.dbuslib import DBus, DBusAddress, apply_signature  # noqa: E402
from pystemd.journal import sendv  # noqa: E402

__all__ = ["DBus", "DBusAddress", "DBusBaseError", "apply_signature", "sendv"]
